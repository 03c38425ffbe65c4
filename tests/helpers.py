"""Helpers shared by the tests: token requests and verifying JWTs against the published JWKS."""

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import jwt

from tests.conftest import ISSUER_BASE, JWKS_PATH, TOKEN_PATH

ISSUER = ISSUER_BASE + "/api/v1/platform/oauth"


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def client_credentials(http, client, status=200, **params):
    form = {"grant_type": "client_credentials", **params}
    return http.post(TOKEN_PATH, form, headers={"Authorization": basic(client["client_id"], client["client_secret"])},
                     status=status)


def verify_with_jwks(http, token, audience, typ=None, clock=None):
    """Verify a JWT the way a resource server would: with the key the JWKS publishes under its kid.

    With a clock, time claims are checked against it instead of the wall clock."""
    header = jwt.get_unverified_header(token)
    if typ is not None:
        assert header["typ"] == typ
    keys = {k["kid"]: k for k in http.get(JWKS_PATH).json["keys"]}
    assert header["kid"] in keys, "the signing key is not published"
    key = jwt.PyJWK(keys[header["kid"]])
    options = {"verify_iat": False, "verify_exp": False, "verify_nbf": False} if clock else {}
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer=ISSUER, options=options)
    if clock is not None:
        assert claims["iat"] <= clock.now() < claims["exp"]
    return claims


def b64json(segment):
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


# --- Browser sign-in flows (authorize → login pages → code → tokens) ---------------------------

AUTHORIZE_PATH = "/api/v1/platform/oauth/authorize"
USERINFO_PATH = "/api/v1/platform/oauth/userinfo"
LOGOUT_PATH = "/api/v1/platform/oauth/logout"
LOGIN_PATH = "/login"
SESSION_COOKIE = "oauth_session"
CSRF_COOKIE = "oauth_csrf"
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
                           "base-uri 'none'")
REDIRECT_URI = "https://app.example/callback"
POST_LOGOUT_REDIRECT_URI = "https://app.example/signed-out"
EMAIL = "ada@example.com"
PASSWORD = "correct horse battery"
USER_SCOPES = ["openid", "profile", "email", "offline_access"]


def web_client(make_client, *, public=True, grants=("authorization_code", "refresh_token"), **extra):
    """A GLOBAL client of the browser flow: public (PKCE) by default, with refresh tokens and user scopes."""
    extra.setdefault("redirect_uris", [REDIRECT_URI])
    extra.setdefault("post_logout_redirect_uris", [POST_LOGOUT_REDIRECT_URI])
    extra.setdefault("scopes", USER_SCOPES)
    extra.setdefault("name", "Web App")
    return make_client(grants=grants, public=public, **extra)


def s256(verifier):
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))), computed here independently of the app."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_pair():
    """(code_verifier, code_challenge) for S256."""
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


def expected_at_hash(access_token):
    """OIDC Core §3.1.3.6: base64url of the left-most half of SHA-256 of the access token's ASCII."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:len(digest) // 2]).rstrip(b"=").decode("ascii")


def authorize_params(client, **overrides):
    """The parameters of an authorization request; an override of None drops the parameter."""
    params = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": client["redirect_uris"][0],
              "scope": "openid", "state": "state-123"}
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}


def redirect_query(response, redirect_uri=REDIRECT_URI):
    """The query parameters of a redirect to the client's redirect_uri (asserting that is where it goes)."""
    location = response.headers["Location"]
    assert location.startswith(redirect_uri + ("&" if "?" in redirect_uri else "?")), location
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def is_login_redirect(response):
    return response.status_int == 303 and urlsplit(response.headers["Location"]).path == LOGIN_PATH


def sign_in(http, email=EMAIL, password=PASSWORD, *, page=None, tenant=None):
    """Fill in the login pages as a person would: email, then password, then (if given) the tenant.

    page is the email page to start from (default: GET /login). Returns the last response."""
    page = page if page is not None else http.get(LOGIN_PATH)
    form = page.forms[0]
    form["email"] = email
    page = form.submit()
    form = page.forms[0]
    form["password"] = password
    response = form.submit()
    if tenant is not None:
        form = response.forms[0]
        form["tenant"] = tenant
        response = form.submit()
    return response


@dataclass
class Authorization:
    """What came back on the client's redirect_uri, plus what the client must send with the code."""

    code: str
    state: str | None
    iss: str
    redirect_uri: str
    verifier: str | None
    login_shown: bool


def get_code(http, client, email=EMAIL, password=PASSWORD, *, pkce=True, tenant=None, method="GET", **params):
    """Run /authorize in the browser `http`, signing in when the login page appears; return the code."""
    verifier = None
    if pkce:
        verifier, challenge = pkce_pair()
        params = {"code_challenge": challenge, "code_challenge_method": "S256", **params}
    params = authorize_params(client, **params)
    if method == "GET":
        response = http.get(AUTHORIZE_PATH, params, status=303)
    else:
        response = http.post(AUTHORIZE_PATH, params, status=303)
    login_shown = is_login_redirect(response)
    if login_shown:
        response = sign_in(http, email, password, page=response.follow(), tenant=tenant)
        assert response.status_int == 303, response.text
        response = response.follow(status=303)
    query = redirect_query(response, params["redirect_uri"])
    assert "error" not in query, query
    return Authorization(query["code"], query.get("state"), query["iss"], params["redirect_uri"], verifier,
                         login_shown)


def token_request(http, client, form, status=200):
    """POST /token, authenticating as the client: Basic with its secret, or client_id alone if public."""
    form = {name: value for name, value in form.items() if value is not None}
    headers = {}
    if client.get("client_secret"):
        headers["Authorization"] = basic(client["client_id"], client["client_secret"])
    else:
        form.setdefault("client_id", client["client_id"])
    return http.post(TOKEN_PATH, form, headers=headers, status=status)


def exchange_code(http, client, authorization, status=200, **overrides):
    """Redeem an Authorization at the token endpoint; overrides replace (or, with None, drop) form fields."""
    form = {"grant_type": "authorization_code", "code": authorization.code,
            "redirect_uri": authorization.redirect_uri, "code_verifier": authorization.verifier, **overrides}
    return token_request(http, client, form, status=status)


def refresh(http, client, refresh_token, status=200, **params):
    return token_request(http, client, {"grant_type": "refresh_token", "refresh_token": refresh_token, **params},
                         status=status)


def sign_in_tokens(http, client, email=EMAIL, password=PASSWORD, **params):
    """The whole flow: authorize, sign in, redeem the code; returns the token response body."""
    return exchange_code(http, client, get_code(http, client, email, password, **params)).json


def bearer(access_token):
    return {"Authorization": "Bearer " + access_token}


def set_status(services, table, row_id, status):
    """Suspend (or reactivate) a row of table "tenant" or "user" directly in the database."""
    services.database.execute_sql(f'UPDATE "{table}" SET status = {services.database.param} WHERE id = '
                                  f'{services.database.param}', (status, row_id))


def set_application(services, client, column, value):
    """Change a client's row as an operator would, then wait until the app's client cache (PostgreSQL) has heard
    of it: the change's notification arrives a moment after its commit (app/client_cache.py), not with it."""
    cache = getattr(services.database, "client_cache", None)
    # A cache that is not listening holds nothing, and what it keeps once it listens is read after this change.
    was_listening = cache is not None and cache.listening
    seen = cache.notifications if cache is not None else 0
    p = services.database.param
    services.database.execute_sql(f"UPDATE application SET {column} = {p} WHERE client_id = {p}",
                                  (value, client["client_id"]))
    deadline = time.monotonic() + 2
    while was_listening and cache.listening and cache.notifications == seen:
        assert time.monotonic() < deadline, "the client cache never heard of the change"
        time.sleep(0.0005)


# --- Device authorization grant (RFC 8628) -------------------------------------------------------

DEVICE_AUTHORIZE_PATH = "/api/v1/platform/oauth/device/authorize"
DEVICE_VERIFY_PATH = "/api/v1/platform/oauth/device/verify"
DEVICE_PAGE_PATH = "/device"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_CODE_PATTERN = r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$"


def device_client(make_client, *, public=True, grants=(DEVICE_GRANT, "refresh_token"), **extra):
    """A GLOBAL client of the device flow (a TV app): public by default, with refresh tokens and user scopes."""
    extra.setdefault("scopes", USER_SCOPES)
    extra.setdefault("name", "TV App")
    return make_client(grants=grants, public=public, **extra)


def start_device(http, client, scope=None, status=200):
    """POST device/authorize as the device would (RFC 8628 §3.1); returns the response.

    client_id always goes in the body (the spec marks it required); a confidential client adds its
    secret in the Basic header."""
    form = {"client_id": client["client_id"]}
    if scope is not None:
        form["scope"] = scope
    headers = {}
    if client.get("client_secret"):
        headers["Authorization"] = basic(client["client_id"], client["client_secret"])
    return http.post(DEVICE_AUTHORIZE_PATH, form, headers=headers, status=status)


def poll_device(http, client, device_code, status=400):
    """One device access token request (RFC 8628 §3.4); errors are 400, so that is the default."""
    return token_request(http, client, {"grant_type": DEVICE_GRANT, "device_code": device_code}, status=status)


def decide_device(http, user_code, action="approve", status=200, headers=None):
    """The signed-in person's decision through the JSON API (POST device/verify)."""
    return http.post_json(DEVICE_VERIFY_PATH, {"user_code": user_code, "action": action}, headers=headers or {},
                          status=status)
