"""GET and POST /oauth/userinfo (OIDC Core §5.3), bearer tokens per RFC 6750."""

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.store.clients import find_client
from tests.conftest import JWKS_PATH
from tests.helpers import USERINFO_PATH, bearer, client_credentials, set_status, sign_in_tokens, verify_with_jwks


BASE_CLAIMS = {"sub", "tenant_id", "tenant"}
PROFILE_CLAIMS = {"name", "given_name", "family_name", "updated_at"}
EMAIL_CLAIMS = {"email", "email_verified"}


@pytest.fixture
def access_token(http, client, user):
    return sign_in_tokens(http, client, scope="openid profile email")["access_token"]


@pytest.fixture(scope="module")
def foreign_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def userinfo(http, method, token=None, status=200, headers=None):
    headers = headers if headers is not None else bearer(token)
    if method == "GET":
        return http.get(USERINFO_PATH, headers=headers, status=status)
    return http.post(USERINFO_PATH, headers=headers, status=status)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segments(token):
    header, payload, signature = token.split(".")
    return (json.loads(base64.urlsafe_b64decode(header + "==")), json.loads(base64.urlsafe_b64decode(payload + "==")),
            signature)


def assemble(header, payload, signature=""):
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode()), signature])


# --- Claims by scope --------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("scope, claims", [
    ("openid", BASE_CLAIMS),
    ("openid profile", BASE_CLAIMS | PROFILE_CLAIMS),
    ("openid email", BASE_CLAIMS | EMAIL_CLAIMS),
    ("openid profile email", BASE_CLAIMS | PROFILE_CLAIMS | EMAIL_CLAIMS),
])
def test_claims_follow_the_tokens_scopes(http, client, user, tenant, method, scope, claims):
    token = sign_in_tokens(http, client, scope=scope)["access_token"]
    response = userinfo(http, method, token)
    assert set(response.json) == claims
    assert response.headers["Cache-Control"] == "no-store"


def test_the_claim_values_describe_the_signed_in_user_and_tenant(http, access_token, user, tenant, clock):
    body = userinfo(http, "GET", access_token).json
    assert body["sub"] == str(user["id"])
    assert body["tenant_id"] == str(tenant["id"])
    assert body["tenant"] == "acme"
    assert (body["name"], body["given_name"], body["family_name"]) == ("Ada Lovelace", "Ada", "Lovelace")
    assert isinstance(body["updated_at"], int) and body["updated_at"] <= clock.now()
    assert body["email"] == "ada@example.com"
    assert body["email_verified"] is True


def test_claims_without_a_value_are_left_out_not_sent_empty(http, client, tenant, make_user):
    """OIDC Core §5.3.2: a claim with no value is omitted (a user created without given or family name)."""
    make_user(email="bo@example.com", name="Bo", email_verified=False)
    tokens = sign_in_tokens(http, client, "bo@example.com", scope="openid profile email")
    body = userinfo(http, "GET", tokens["access_token"]).json
    assert "given_name" not in body and "family_name" not in body
    assert body["name"] == "Bo" and body["email_verified"] is False  # false is a value, not an absence
    assert "" not in body.values() and None not in body.values()


def test_an_id_token_has_no_empty_claims(http, client, tenant, make_user, clock):
    make_user(email="bo@example.com", name="Bo")
    tokens = sign_in_tokens(http, client, "bo@example.com", scope="openid profile")
    claims = verify_with_jwks(http, tokens["id_token"], client["client_id"], clock=clock)
    assert "nonce" not in claims  # the request sent none
    assert "" not in claims.values() and None not in claims.values()


def test_sub_and_tenant_match_the_id_token(http, client, user, clock):
    tokens = sign_in_tokens(http, client)
    claims = verify_with_jwks(http, tokens["id_token"], client["client_id"], clock=clock)
    body = userinfo(http, "GET", tokens["access_token"]).json
    assert (body["sub"], body["tenant_id"]) == (claims["sub"], claims["tenant_id"])


# --- Missing and bad tokens ----------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_without_an_authorization_header_it_is_422(http, method):
    response = userinfo(http, method, headers={}, status=422)
    assert response.json == {"detail": [{"loc": ["header", "authorization"], "msg": "Field required",
                                         "type": "missing"}]}


def _garbage(http, services, token, clock, key):
    return "not-a-jwt"


def _tampered(http, services, token, clock, key):
    header, payload, signature = segments(token)
    return assemble(header, {**payload, "sub": str(int(payload["sub"]) + 1)}, signature)


def _alg_none(http, services, token, clock, key):
    header, payload, _ = segments(token)
    return assemble({**header, "alg": "none"}, payload)


def _foreign_signature(http, services, token, clock, key):
    header, payload, _ = segments(token)
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": header["kid"], "typ": "at+jwt"})


def _unknown_kid(http, services, token, clock, key):
    header, payload, _ = segments(token)
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "someone-elses-key", "typ": "at+jwt"})


def _hmac_with_the_public_key(http, services, token, clock, key):
    """The classic algorithm confusion: HS256 keyed with our published RSA key."""
    header, payload, _ = segments(token)
    public = jwt.PyJWK(http.get(JWKS_PATH).json["keys"][0]).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = ".".join(assemble({**header, "alg": "HS256"}, payload).split(".")[:2])
    signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def _expired(http, services, token, clock, key):
    clock.advance(3601)
    return token


def _other_issuer(http, services, token, clock, key):
    _, payload, _ = segments(token)
    return services.keyring.sign({**payload, "iss": "https://evil.example"}, typ="at+jwt")


def _id_token_instead(http, services, token, clock, key):
    _, payload, _ = segments(token)
    return services.keyring.sign(payload, typ="JWT")


def _sub_not_a_plain_integer(http, services, token, clock, key):
    """str.isdigit() accepts '²', which int() refuses: the sub must not reach the database as a number."""
    _, payload, _ = segments(token)
    return services.keyring.sign({**payload, "sub": "\u00b2"}, typ="at+jwt")


def _issued_in_the_future(http, services, token, clock, key):
    _, payload, _ = segments(token)
    return services.keyring.sign({**payload, "iat": int(clock.now()) + 3600}, typ="at+jwt")


def _not_yet_valid(http, services, token, clock, key):
    _, payload, _ = segments(token)
    return services.keyring.sign({**payload, "nbf": int(clock.now()) + 3600}, typ="at+jwt")


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("make_token", [
    _garbage, _tampered, _alg_none, _foreign_signature, _unknown_kid, _hmac_with_the_public_key, _expired,
    _other_issuer, _id_token_instead, _sub_not_a_plain_integer, _issued_in_the_future, _not_yet_valid,
], ids=lambda f: f.__name__.strip("_"))
def test_a_bad_token_is_401_with_a_bearer_invalid_token_challenge(
        http, services, access_token, clock, foreign_key, method, make_token):
    bad = make_token(http, services, access_token, clock, foreign_key)
    response = userinfo(http, method, bad, status=401)
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert response.json["error"] == "invalid_token"


def test_the_same_token_is_accepted_before_it_expires(http, access_token, clock):
    clock.advance(3599)
    assert userinfo(http, "GET", access_token).json["sub"]


@pytest.mark.parametrize("authorization", ["Basic YTpi", "Bearer", "Bearer ", "token-without-scheme"])
def test_an_authorization_header_without_a_bearer_token_is_401(http, authorization):
    response = userinfo(http, "GET", headers={"Authorization": authorization}, status=401)
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_a_client_credentials_token_is_401(http, make_client):
    service = make_client(name="Billing", scopes=["api.read"])
    token = client_credentials(http, service).json["access_token"]
    response = userinfo(http, "GET", token, status=401)
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_a_token_for_a_client_rather_than_a_user_is_401_even_with_openid(http, services, make_client):
    service = make_client(name="Billing", scopes=["api.read"])
    token, _ = services.tokens.access_token(client=find_client(services.database, service["client_id"]),
                                            subject=service["client_id"], scope="openid profile")
    userinfo(http, "GET", token, status=401)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_token_without_openid_is_403_insufficient_scope(http, client, user, method):
    token = sign_in_tokens(http, client, scope="profile email")["access_token"]
    response = userinfo(http, method, token, status=403)
    assert response.json["error"] == "insufficient_scope"
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="insufficient_scope"')


@pytest.mark.parametrize("suspend", ["user", "tenant"])
def test_a_suspended_user_or_tenant_gets_401(http, services, access_token, user, tenant, suspend):
    set_status(services, suspend, user["id"] if suspend == "user" else tenant["id"], "suspended")
    response = userinfo(http, "GET", access_token, status=401)
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
