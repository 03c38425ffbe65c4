"""Fixtures: a real database (SQLite by default, Postgres when OAUTH_TEST_DATABASE_URL is set),
the app built by create_app with a test config and a clock the tests move by hand."""

import os
import time
from urllib.parse import urlsplit

import pytest
import webtest

from app import admin
from app.application import create_app
from app.clock import FrozenClock
from app.config import Config
from app.db import connect, dialect, migrate
from app.jws import ALGORITHM
from app.keygen import new_rsa_key
from app.store import signing_keys

TEST_DATABASE_URL = os.environ.get("OAUTH_TEST_DATABASE_URL")
ISSUER_BASE = "http://localhost"
TOKEN_PATH = "/api/v1/platform/oauth/token"
JWKS_PATH = "/api/v1/platform/.well-known/jwks.json"
DISCOVERY_PATH = "/api/v1/platform/oauth/.well-known/openid-configuration"

# Children before parents, so deleting in this order respects foreign keys.
TABLES = ["pushed_authorization_request", "token_revocation", "consent", "used_jti", "rate_counter", "audit_event",
          "refresh_token", "device_authorization", "authorization_code", "authorization_request", "login_challenge",
          "sso_session", "application", '"user"', "tenant", "signing_key", "server_secret"]


def _reset_schema(database):
    if dialect(database) == "postgres":
        database.execute_sql("DROP SCHEMA public CASCADE")
        database.execute_sql("CREATE SCHEMA public")
    else:
        for (name,) in database.execute_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").fetchall():
            database.execute_sql(f'DROP TABLE "{name}"')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session")
def admin_database(database_url):
    """A session-wide connection used to set up and clean the schema between tests."""
    database = connect(database_url)
    _reset_schema(database)
    migrate(database, time.time())
    yield database
    database.close()


@pytest.fixture(scope="session")
def cached_key():
    """One RSA key generated per session: inserting it is much faster than generating one per test."""
    return new_rsa_key(None)


def insert_signing_key(database, key):
    """Store key (kid, PEM, JWK) as the RS256 key, signing since a minute ago: before any test's clock,
    which starts at the real time."""
    kid, pem, public_jwk = key
    since = int(time.time()) - 60
    signing_keys.insert(database, kid, ALGORITHM, pem, public_jwk, since, since, activation_recorded_at=since)


@pytest.fixture
def clean_database(admin_database, cached_key):
    for table in TABLES:
        admin_database.execute_sql(f"DELETE FROM {table}")
    if getattr(admin_database, "used_jti_file", None) is not None:
        admin_database.used_jti_file.clear()
    insert_signing_key(admin_database, cached_key)
    return admin_database


@pytest.fixture
def clock():
    # Starts at the real time so that libraries checking exp against the wall clock agree.
    return FrozenClock(time.time())


@pytest.fixture
def config(database_url):
    # Audit rows written at once, so a test can read them right after its request (group commit: test_audit_*).
    return Config(issuer_base=ISSUER_BASE, database_url=database_url, cookie_secure=False, audit_flush_interval=0)


@pytest.fixture
def app(config, clock, clean_database):
    application = create_app(config, clock=clock)
    yield application
    application.close()


@pytest.fixture
def services(app):
    return app.services


@pytest.fixture
def http(app):
    return webtest.TestApp(app)


@pytest.fixture
def make_tenant(services):
    def make(slug="acme", name="Acme Inc."):
        return admin.create_tenant(services.database, services.clock, slug=slug, name=name)
    return make


@pytest.fixture
def make_user(services):
    def make(tenant="acme", email="ada@example.com", password="correct horse battery", name="Ada Lovelace",
             **extra):
        return admin.create_user(services.database, services.clock, tenant=tenant, email=email, name=name,
                                 password=password, **extra)
    return make


@pytest.fixture
def make_client(services):
    def make(name="Test App", audience="global", grants=("client_credentials",), **extra):
        return admin.create_client(services.database, services.clock, name=name, audience=audience,
                                   grants=list(grants), **extra)
    return make


@pytest.fixture
def tenant(make_tenant):
    """The Acme tenant (slug acme), the one `user` belongs to."""
    return make_tenant()


@pytest.fixture
def user(tenant, make_user):
    """Ada Lovelace in Acme with her whole profile and a verified email (tests/helpers.py EMAIL / PASSWORD)."""
    return make_user(given_name="Ada", family_name="Lovelace", email_verified=True)


@pytest.fixture
def client(make_client):
    """A public GLOBAL client of the browser flow (PKCE), with refresh tokens and the user scopes."""
    from tests.helpers import web_client
    return web_client(make_client)


@pytest.fixture
def tv(make_client):
    """A public GLOBAL device-flow client with refresh tokens."""
    from tests.helpers import device_client
    return device_client(make_client)


@pytest.fixture
def signed_in(http, user):
    """The test browser `http` signed in as `user` through the login pages."""
    from tests.helpers import sign_in
    assert sign_in(http).status_int == 200
    return user


@pytest.fixture
def service_client(make_client):
    """A confidential GLOBAL client holding client_credentials with two API scopes."""
    return make_client(name="Billing Service", scopes=["api.read", "api.write"])


@pytest.fixture
def whole_second_clock(clock):
    """The clock on a whole second: DPoP proofs carry whole-second iat values, so the 60 s edges are exact."""
    clock.current = float(int(clock.current))
    return clock


@pytest.fixture(scope="session")
def dpop_key():
    """A client's ES256 DPoP key (tests/dpop_proofs.py)."""
    from tests.dpop_proofs import ProofKey
    return ProofKey("ES256")


def postgres_admin_url(url):
    """The URL of the 'postgres' maintenance database on the same server."""
    parts = urlsplit(url)
    return parts._replace(path="/postgres").geturl()
