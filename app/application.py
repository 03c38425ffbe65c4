"""create_app: builds every collaborator once and wires the routes."""

from dataclasses import dataclass

import falcon

from app import db as dbmod
from app import errorhandling
from app.audit import Audit
from app.authorization import CONSENT_PATH, RESUME_PATH, Authorizer
from app.client_assertions import ClientAssertions
from app.client_cache import ClientCache
from app.clock import SystemClock
from app.consent import ConsentPage, Consents
from app.device import DEVICE_PAGE, DeviceAuthorizations
from app.dpop import DPoPVerifier
from app.config import API_PREFIX, ISSUER_PATH
from app.grants import build_grants
from app.introspection import Introspection
from app.keyring import KeyRing
from app.store.signing_keys import ensure_active_key
from app.logout import Logout
from app.logs import RequestId
from app.models import ALL_MODELS
from app.pages import Pages
from app.pushed_authorization import PAR_PATH, PushedAuthorizations
from app.ratelimit import Throttle
from app.revocation import GrantRevocation, Revocation
from app.resources.authorize import AuthorizeContinueResource, AuthorizeResource
from app.resources.consent import ConsentResource
from app.resources.device import DeviceAuthorizeResource, DeviceVerifyResource
from app.resources.device_page import DevicePageResource
from app.resources.discovery import discovery_document
from app.resources.document import JsonDocumentResource
from app.resources.health import HealthResource
from app.resources.introspection import IntrospectionResource
from app.resources.jwks import JwksResource
from app.resources.login import LoginResource, LoginTenantResource
from app.resources.logout import LogoutResource
from app.resources.openapi import openapi_document
from app.resources.par import ParResource
from app.resources.revocation import RevocationResource
from app.resources.static import StaticResource
from app.resources.token import TokenResource
from app.resources.userinfo import UserinfoResource
from app.sessions import Sessions
from app.signin import SignIn
from app.token_endpoint import TokenEndpoint
from app.tokens import TokenIssuer


@dataclass(frozen=True)
class Services:
    """Everything a resource or grant may need, built once per process."""

    config: object
    database: object
    clock: object
    keyring: KeyRing
    tokens: TokenIssuer
    sessions: Sessions
    audit: Audit
    throttle: Throttle
    client_assertions: ClientAssertions


class RequestContext:
    """Puts the database and page renderer where the error handlers find them; sets default headers."""

    def __init__(self, database, pages):
        self._database = database
        self._pages = pages

    def process_request(self, req, resp):
        req.context.database = self._database
        req.context.pages = self._pages

    def process_response(self, req, resp, resource, req_succeeded):
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Referrer-Policy", "no-referrer")
        if resp.get_header("Cache-Control") is None:
            resp.set_header("Cache-Control", "no-store")


class ServiceApp(falcon.App):
    """falcon.App that also carries its Services, so tests and the CLI reach the same objects."""

    services = None
    client_cache = None

    def close(self):
        """Close this thread's database connection and stop the client cache's listener (tests build many apps)."""
        self.services.database.close()
        if self.client_cache is not None:
            self.client_cache.close()


def prepare_database(database, config, clock):
    """Apply pending migrations and make sure one signing key is active (safe under racing workers)."""
    dbmod.migrate(database, clock.now())
    ensure_active_key(database, config, clock.now())


def build_services(config, clock=None, database=None):
    clock = clock or SystemClock()
    database = database or dbmod.connect(config.database_url)
    database.bind(ALL_MODELS)
    audit = Audit(database, clock, config.audit_flush_interval)
    keyring = KeyRing(database, config, clock, audit)
    return Services(config=config, database=database, clock=clock, keyring=keyring,
                    tokens=TokenIssuer(config, keyring, clock), sessions=Sessions(database, config, clock),
                    audit=audit, throttle=Throttle(database, clock),
                    client_assertions=ClientAssertions(database, clock, config.issuer))


def client_cache_for(config, database):
    """The client cache a served app keeps on PostgreSQL (None on SQLite, where a lookup costs ~10 µs, or when off)."""
    if not config.client_cache or dbmod.dialect(database) != "postgres":
        return None
    return ClientCache(dbmod.separate_connector(database))


def create_app(config, *, clock=None, database=None, prepare=True):
    """The WSGI application. With prepare=True the schema and first key are made ready first."""
    services = build_services(config, clock, database)
    if config.sqlite_checkpoint_interval and hasattr(services.database, "checkpoint_in_background"):
        services.database.checkpoint_in_background(config.sqlite_checkpoint_interval)
    if prepare:
        try:
            prepare_database(services.database, config, services.clock)
            # Fail at start, not at the first token, when the key cannot be decrypted.
            services.keyring.active_kid()
        except BaseException:
            services.database.close()
            raise
    database, sessions = services.database, services.sessions
    # Only a served app caches clients (find_client looks here); the CLI and migrations read every time.
    database.client_cache = client_cache = client_cache_for(config, database)
    grants = build_grants(database=database, clock=services.clock, config=config, keyring=services.keyring,
                          tokens=services.tokens, audit=services.audit)
    pages = Pages(sessions)
    consents = Consents(database, services.clock, services.audit)
    authorizer = Authorizer(database, config, services.clock, consents)
    signin = SignIn(database, services.clock, services.throttle, services.audit)
    devices = DeviceAuthorizations(database, config, services.clock, services.throttle, services.audit)
    dpop = DPoPVerifier(database, services.clock)

    app = ServiceApp(middleware=[RequestId(), RequestContext(database, pages)])
    app.req_options.auto_parse_form_urlencoded = False
    errorhandling.install(app)

    app.add_route(API_PREFIX + "/.well-known/jwks.json", JwksResource(services.keyring))
    app.add_route(API_PREFIX + "/openapi.json", JsonDocumentResource(openapi_document(config)))
    discovery = JsonDocumentResource(discovery_document(config, grants.keys()))
    app.add_route(ISSUER_PATH + "/.well-known/openid-configuration", discovery)
    app.add_route("/.well-known/oauth-authorization-server" + ISSUER_PATH, discovery)
    pushed = PushedAuthorizations(database, config, services.clock, services.client_assertions, dpop)
    app.add_route(ISSUER_PATH + "/authorize", AuthorizeResource(authorizer, sessions, database, config, pushed))
    app.add_route(ISSUER_PATH + PAR_PATH, ParResource(pushed, config))
    token_endpoint = TokenEndpoint(database, grants, services.audit, dpop, config.issuer + "/token",
                                   services.client_assertions)
    app.add_route(ISSUER_PATH + "/token", TokenResource(token_endpoint, config))
    app.add_route(ISSUER_PATH + "/device/authorize",
                  DeviceAuthorizeResource(devices, database, config, services.client_assertions))
    app.add_route(ISSUER_PATH + "/device/verify", DeviceVerifyResource(devices, sessions, config))
    app.add_route(DEVICE_PAGE, DevicePageResource(devices, sessions, pages, database, config))
    app.add_route(ISSUER_PATH + "/userinfo", UserinfoResource(services.keyring, database, dpop,
                                                              config.issuer + "/userinfo"))
    revocation = Revocation(database, services.keyring, services.clock, services.audit,
                            GrantRevocation(database, config, services.tokens), services.client_assertions,
                            config.issuer + "/revoke")
    app.add_route(ISSUER_PATH + "/revoke", RevocationResource(revocation, config))
    app.add_route(ISSUER_PATH + "/introspect",
                  IntrospectionResource(Introspection(database, services.keyring, services.clock, config,
                                                      services.client_assertions), config))
    app.add_route(ISSUER_PATH + "/logout",
                  LogoutResource(Logout(database, services.keyring, sessions, services.audit), sessions, pages, config))
    app.add_route(RESUME_PATH, AuthorizeContinueResource(authorizer, sessions))
    app.add_route(CONSENT_PATH, ConsentResource(ConsentPage(database, config, authorizer, consents), sessions, pages,
                                                config))
    app.add_route("/login", LoginResource(signin, sessions, pages, config))
    app.add_route("/login/tenant", LoginTenantResource(signin, sessions, pages, config))
    app.add_route("/static/{name}", StaticResource())
    app.add_route("/healthz", HealthResource(database))
    app.services = services
    app.client_cache = client_cache
    return app
