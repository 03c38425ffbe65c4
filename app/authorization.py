"""The authorization endpoint's work (RFC 6749 §4.1, OIDC Core §3.1.2, RFC 7636, RFC 9207).

Checks run in a fixed order: the client and its redirect_uri first (failures are a page, never a
redirect); after that every error goes back to the client's redirect_uri.
"""

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

from app.errors import (AuthorizationRedirect, ConsentRequired, InvalidRequest, InvalidScope, LoginRequired,
                        OAuthError, PageError, RequestNotSupported, UnauthorizedClient, UnsupportedResponseType)
from app.redirect_uris import redirect_uri_matches
from app.scopes import parse_scope, require_subset
from app.store import authorization_codes, authorization_requests
from app.store.clients import find_client
from app.store.users import find_active_user
from app.urls import add_query, login_url

REQUIRED = ("response_type", "client_id", "redirect_uri", "scope")
PROMPTS = ("none", "login", "consent", "select_account")
_PKCE_VALUE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# RFC 9449 §10: a SHA-256 JWK thumbprint (RFC 7638), base64url without padding.
_JKT_VALUE = re.compile(r"^[A-Za-z0-9_-]{43}$")
RESUME_PATH = "/authorize/continue"
CONSENT_PATH = "/authorize/consent"


@dataclass(frozen=True)
class AuthorizationParams:
    client: object
    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    prompt: frozenset
    login_hint: str | None
    max_age: int | None
    dpop_jkt: str | None = None


def check_client_and_redirect_uri(database, params):
    """The client must be an active GLOBAL app and redirect_uri one it registered (RFC 6749 §3.1.2.3, RFC 8252 §7.3)."""
    client = find_client(database, params["client_id"])
    if client is None or not client.is_active or not client.is_global:
        raise PageError("Unknown application",
                        "The application that sent you here is not registered for platform sign-in. "
                        "Return to it and contact its support.", status=400)
    if not redirect_uri_matches(client, params["redirect_uri"]):
        raise PageError("Invalid redirect address",
                        f"{client.name} asked to send you to an address it has not registered, so the "
                        "sign-in was stopped. Return to the application and contact its support.", status=400)
    return client


def check_request(client, params, issuer, pushed=False):
    """The remaining checks; errors redirect to the validated redirect_uri with state and iss.

    pushed: the parameters came from the PAR endpoint through request_uri (RFC 9126 §4).
    """
    redirect_uri, state = params["redirect_uri"], params.get("state")
    try:
        return _checked_params(client, params, pushed)
    except OAuthError as error:
        raise AuthorizationRedirect(error, redirect_uri, state, issuer) from None


def check_pushed_request(client, params):
    """The same checks for the PAR endpoint (RFC 9126 §2.1), whose errors are JSON, not redirects."""
    return _checked_params(client, params, pushed=True)


def _checked_params(client, params, pushed):
    if client.require_par and not pushed:
        raise InvalidRequest("This client must push its authorization request to the PAR endpoint and send "
                             "its request_uri (RFC 9126 §5)")
    if params["response_type"] != "code":
        raise UnsupportedResponseType("Only response_type=code is supported")
    if "request" in params:
        raise RequestNotSupported("Request objects are not supported")
    if "request_uri" in params:
        # /authorize replaces request_uri by the pushed parameters, so only a push itself can hold one.
        raise InvalidRequest("request_uri must not be part of a pushed authorization request (RFC 9126 §2.1)")
    if params.get("response_mode", "query") != "query":
        raise InvalidRequest("Only response_mode=query is supported")
    if "authorization_code" not in client.grant_types:
        raise UnauthorizedClient("This client may not use the authorization code flow")
    scopes = parse_scope(params["scope"])
    if not scopes:
        raise InvalidScope("scope must name at least one scope")
    require_subset(scopes, client.allowed_scopes)

    challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
    if method is not None and method != "S256":
        raise InvalidRequest("code_challenge_method must be S256 (plain is not accepted)")
    if challenge is not None:
        if method is None:
            # RFC 7636 §4.3 would default to plain, which is refused; say so rather than guess.
            raise InvalidRequest("code_challenge_method=S256 is required with code_challenge")
        if not _PKCE_VALUE.match(challenge):
            raise InvalidRequest("code_challenge must be 43-128 characters of [A-Za-z0-9-._~]")
    elif method is not None:
        raise InvalidRequest("code_challenge_method was sent without code_challenge")
    elif client.is_public:
        raise InvalidRequest("PKCE (code_challenge with S256) is required for public clients")

    prompt = frozenset(params.get("prompt", "").split())
    unknown = prompt - set(PROMPTS)
    if unknown:
        raise InvalidRequest("Unsupported prompt value: " + " ".join(sorted(unknown)))
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values")

    max_age = params.get("max_age")
    if max_age is not None:
        if not max_age.isdigit():
            raise InvalidRequest("max_age must be a non-negative number of seconds")
        max_age = int(max_age)
    dpop_jkt = params.get("dpop_jkt")
    if dpop_jkt is not None and not _JKT_VALUE.match(dpop_jkt):
        raise InvalidRequest("dpop_jkt must be the base64url SHA-256 JWK thumbprint of the DPoP key (RFC 9449 §10)")
    return AuthorizationParams(client, params["redirect_uri"], " ".join(scopes), params.get("state"),
                               params.get("nonce"), challenge, method, prompt,
                               params.get("login_hint"), max_age, dpop_jkt)


def needs_sign_in(request, session, now, signed_in_for_request=False):
    """A fresh sign-in is needed: no session, prompt=login, max_age=0, or an authentication older than max_age.

    signed_in_for_request: the session signed in on the login page this stored request led to, which is
    the sign-in it asked for; time cannot tell, as both can fall within the same second (OIDC Core §3.1.2.1).
    """
    if session is None:
        return True
    if signed_in_for_request:
        return False
    if "login" in request.prompt or "select_account" in request.prompt or request.max_age == 0:
        return True
    return request.max_age is not None and now - session.auth_time > request.max_age


def resume_path(request_id):
    """Where the browser returns after signing in for a stored request."""
    return RESUME_PATH + "?request=" + quote(request_id)


def consent_path(request_id):
    """The consent page of a stored request (OIDC Core §3.1.2.4)."""
    return CONSENT_PATH + "?request=" + quote(request_id)


def resumed_request_id(next_path):
    """The stored request a login page's next path resumes, or None."""
    parts = urlsplit(next_path or "")
    if parts.path != RESUME_PATH:
        return None
    return parse_qs(parts.query).get("request", [None])[0]


def _expired_link():
    return PageError("This sign-in link has expired", "Return to the application and start signing in again.",
                     status=400)


class Authorizer:
    """Decides what a valid authorization request leads to, and issues codes."""

    def __init__(self, database, config, clock, consents):
        self._database = database
        self._config = config
        self._clock = clock
        self._consents = consents

    def _usable(self, session):
        """The session, unless its user or tenant was suspended after signing in."""
        if session is None:
            return None
        return session if find_active_user(self._database, session.user_id, session.tenant_id) else None

    def authorize(self, request, session):
        """The URL to send the browser to: the client with a code, the consent page, or the login page."""
        session = self._usable(session)
        now = int(self._clock.now())
        if "none" in request.prompt:
            if needs_sign_in(request, session, now):
                raise AuthorizationRedirect(LoginRequired("The user is not signed in"), request.redirect_uri,
                                            request.state, self._config.issuer)
            if self._consents.needed(request, session):
                raise AuthorizationRedirect(ConsentRequired("The user has not allowed this application yet"),
                                            request.redirect_uri, request.state, self._config.issuer)
            return self.issue_code(request, session)
        if not needs_sign_in(request, session, now):
            if not self._consents.needed(request, session):
                return self.issue_code(request, session)
            return consent_path(self._store(request, now))
        request_id = self._store(request, now)
        return self.sign_in_url(request_id, request)

    def _store(self, request, now):
        """Keep the request for the page that finishes it; returns its id (the browser's only handle)."""
        return authorization_requests.insert(
            self._database, application_id=request.client.id, redirect_uri=request.redirect_uri,
            scope=request.scope, state=request.state, nonce=request.nonce, code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method, prompts=request.prompt,
            login_hint=request.login_hint, max_age=request.max_age, now=now,
            ttl=self._config.authorization_request_ttl, dpop_jkt=request.dpop_jkt)

    @staticmethod
    def sign_in_url(request_id, request):
        return login_url(resume_path(request_id), request.login_hint)

    def open_request(self, request_id, session):
        """(stored, request, session) of an open stored request; session is None while a sign-in is needed."""
        stored = authorization_requests.find(self._database, request_id)
        now = int(self._clock.now())
        if stored is None or not stored.is_open(now):
            raise _expired_link()
        client = find_client(self._database, stored.client_id)
        if client is None or not client.is_active:
            raise PageError("Unknown application", "The application is no longer available.", status=400)
        request = AuthorizationParams(client, stored.redirect_uri, stored.scope, stored.state, stored.nonce,
                                      stored.code_challenge, stored.code_challenge_method, stored.prompts,
                                      stored.login_hint, stored.max_age, stored.dpop_jkt)
        session = self._usable(session)
        signed_in = session is not None and stored.signed_in_session_id == session.id
        if needs_sign_in(request, session, now, signed_in):
            session = None
        return stored, request, session

    def consume(self, stored):
        """Single use: this caller completes the request, or it is an expired link."""
        if not authorization_requests.complete(self._database, stored.id, int(self._clock.now())):
            raise _expired_link()

    def resume(self, request_id, session):
        """After sign-in: the consent page when needed, else a code (once); or sign in again."""
        stored, request, session = self.open_request(request_id, session)
        if session is None:
            return self.sign_in_url(request_id, request)
        if self._consents.needed(request, session):
            return consent_path(request_id)
        self.consume(stored)
        return self.issue_code(request, session)

    def issue_code(self, request, session):
        """Store a single-use code (hashed) and return the client redirect carrying it."""
        code = authorization_codes.insert(
            self._database, application_id=request.client.id, user_id=session.user_id,
            tenant_id=session.tenant_id, session_id=session.id, redirect_uri=request.redirect_uri,
            scope=request.scope, nonce=request.nonce, code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method, auth_time=session.auth_time,
            now=self._clock.now(), ttl=self._config.code_ttl, dpop_jkt=request.dpop_jkt)
        return add_query(request.redirect_uri, {"code": code, "state": request.state, "iss": self._config.issuer})
