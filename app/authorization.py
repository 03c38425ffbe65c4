"""The authorization endpoint's work (RFC 6749 §4.1, OIDC Core §3.1.2, RFC 7636, RFC 9207).

Checks run in a fixed order: the client and its redirect_uri first (failures are a page, never a
redirect); after that every error goes back to the client's redirect_uri.
"""

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

from app import opaque
from app.clients import find_client
from app.errors import (AuthorizationRedirect, InvalidRequest, InvalidScope, LoginRequired, OAuthError,
                        PageError, UnauthorizedClient, UnsupportedResponseType)
from app.scopes import parse_scope, require_subset
from app.urls import add_query
from app.users import find_user

REQUIRED = ("response_type", "client_id", "redirect_uri", "scope")
PROMPTS = ("none", "login", "consent", "select_account")
_PKCE_VALUE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
RESUME_PATH = "/authorize/continue"


class RequestNotSupported(OAuthError):
    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"


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


def check_client_and_redirect_uri(database, params):
    """The client must be an active GLOBAL app and redirect_uri one of its URIs, character for character."""
    client = find_client(database, params["client_id"])
    if client is None or not client.is_active or not client.is_global:
        raise PageError("Unknown application",
                        "The application that sent you here is not registered for platform sign-in. "
                        "Return to it and contact its support.", status=400)
    if params["redirect_uri"] not in client.redirect_uris:
        raise PageError("Invalid redirect address",
                        f"{client.name} asked to send you to an address it has not registered, so the "
                        "sign-in was stopped. Return to the application and contact its support.", status=400)
    return client


def check_request(client, params, issuer):
    """The remaining checks; errors redirect to the validated redirect_uri with state and iss."""
    redirect_uri, state = params["redirect_uri"], params.get("state")
    try:
        return _checked_params(client, params)
    except OAuthError as error:
        raise AuthorizationRedirect(error, redirect_uri, state, issuer) from None


def _checked_params(client, params):
    if params["response_type"] != "code":
        raise UnsupportedResponseType("Only response_type=code is supported")
    if "request" in params:
        raise RequestNotSupported("Request objects are not supported")
    if "request_uri" in params:
        raise RequestUriNotSupported("request_uri is not supported")
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
    return AuthorizationParams(client, params["redirect_uri"], " ".join(scopes), params.get("state"),
                               params.get("nonce"), challenge, method, prompt,
                               params.get("login_hint"), max_age)


def needs_sign_in(request, session, now, requested_at=None):
    """A fresh sign-in is needed: no session, prompt=login, or an authentication older than max_age.

    requested_at is when a stored request was made: a sign-in since then is the one it asked for,
    even when the redirect back crosses a second (max_age=0 would otherwise loop).
    """
    if session is None:
        return True
    if requested_at is not None and session.auth_time >= requested_at:
        return False
    if "login" in request.prompt or "select_account" in request.prompt:
        return True
    return request.max_age is not None and now - session.auth_time > request.max_age


class Authorizer:
    """Decides what a valid authorization request leads to, and issues codes."""

    def __init__(self, database, config, clock):
        self._database = database
        self._config = config
        self._clock = clock

    def _usable(self, session):
        """The session, unless its user or tenant was suspended after signing in."""
        if session is None:
            return None
        user = find_user(self._database, session.user_id)
        return session if user is not None and user.is_active else None

    def authorize(self, request, session):
        """The URL to send the browser to: the client with a code, or the login page."""
        session = self._usable(session)
        now = int(self._clock.now())
        if "none" in request.prompt:
            if needs_sign_in(request, session, now):
                raise AuthorizationRedirect(LoginRequired("The user is not signed in"), request.redirect_uri,
                                            request.state, self._config.issuer)
            return self.issue_code(request, session)
        if not needs_sign_in(request, session, now):
            return self.issue_code(request, session)
        return self.login_url(self._store(request, now), request.login_hint)

    def application_name(self, next_path):
        """The name of the application a stored request belongs to, when next_path resumes one."""
        parts = urlsplit(next_path or "")
        if parts.path != RESUME_PATH:
            return None
        request_id = parse_qs(parts.query).get("request", [""])[0]
        p = self._database.param
        row = self._database.execute_sql(
            "SELECT a.name FROM authorization_request r JOIN application a ON a.id = r.application_id"
            f" WHERE r.request_hash = {p} AND r.completed_at IS NULL AND r.expires_at > {p}",
            (opaque.digest(request_id), int(self._clock.now()))).fetchone()
        return row[0] if row else None

    def login_url(self, request_id, login_hint):
        next_path = RESUME_PATH + "?request=" + quote(request_id)
        return add_query("/login", {"next": next_path, "login_hint": login_hint})

    def _store(self, request, now):
        request_id = opaque.new_secret()
        p = self._database.param
        self._database.execute_sql(
            "INSERT INTO authorization_request (request_hash, application_id, redirect_uri, scope, state, nonce,"
            " code_challenge, code_challenge_method, prompt, login_hint, max_age, created_at, expires_at)"
            f" VALUES ({', '.join([p] * 13)})",
            (opaque.digest(request_id), request.client.id, request.redirect_uri, request.scope, request.state,
             request.nonce, request.code_challenge, request.code_challenge_method, " ".join(sorted(request.prompt)),
             request.login_hint, request.max_age, now, now + self._config.authorization_request_ttl))
        return request_id

    def resume(self, request_id, session):
        """After sign-in: finish a stored request with a code (once), or send the user to sign in again."""
        p = self._database.param
        row = self._database.execute_sql(
            "SELECT r.id, a.client_id, r.redirect_uri, r.scope, r.state, r.nonce, r.code_challenge,"
            " r.code_challenge_method, r.prompt, r.login_hint, r.max_age, r.created_at, r.expires_at,"
            " r.completed_at FROM authorization_request r JOIN application a ON a.id = r.application_id"
            f" WHERE r.request_hash = {p}", (opaque.digest(request_id or ""),)).fetchone()
        now = int(self._clock.now())
        if row is None or row[13] is not None or now >= row[12]:
            raise PageError("This sign-in link has expired",
                            "Return to the application and start signing in again.", status=400)
        client = find_client(self._database, row[1])
        if client is None or not client.is_active:
            raise PageError("Unknown application", "The application is no longer available.", status=400)
        request = AuthorizationParams(client, row[2], row[3], row[4], row[5], row[6], row[7],
                                      frozenset((row[8] or "").split()), row[9], row[10])
        session = self._usable(session)
        if needs_sign_in(request, session, now, row[11]):
            return self.login_url(request_id, request.login_hint)
        cursor = self._database.execute_sql(
            f"UPDATE authorization_request SET completed_at = {p} WHERE id = {p} AND completed_at IS NULL",
            (now, row[0]))
        if cursor.rowcount != 1:
            raise PageError("This sign-in link has expired",
                            "Return to the application and start signing in again.", status=400)
        return self.issue_code(request, session)

    def issue_code(self, request, session):
        """Store a single-use code (hashed) and return the client redirect carrying it."""
        code = opaque.new_secret()
        now = int(self._clock.now())
        p = self._database.param
        self._database.execute_sql(
            "INSERT INTO authorization_code (code_hash, application_id, user_id, tenant_id, session_id,"
            " redirect_uri, scope, nonce, code_challenge, code_challenge_method, auth_time, created_at, expires_at)"
            f" VALUES ({', '.join([p] * 13)})",
            (opaque.digest(code), request.client.id, session.user_id, session.tenant_id, session.id,
             request.redirect_uri, request.scope, request.nonce, request.code_challenge,
             request.code_challenge_method, session.auth_time, now, now + self._config.code_ttl))
        return add_query(request.redirect_uri, {"code": code, "state": request.state, "iss": self._config.issuer})
