"""private_key_jwt client authentication (RFC 7523 §2.2 and §3, OIDC Core §9) at every client-authenticated endpoint."""

import base64
import hashlib
import hmac
import json
import shlex
import subprocess
import sys

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from app import opaque
from app.admin import AdminError
from app.demo import create_demo
from app.housekeeping import prune
from tests.client_keys import ASSERTION_TYPE, TOKEN_URL, ClientKey, assertion_claims, assertion_form, jwks, new_key
from tests.conftest import DISCOVERY_PATH, TOKEN_PATH
from tests.helpers import DEVICE_AUTHORIZE_PATH, DEVICE_GRANT, ISSUER, basic, set_application, verify_with_jwks

DEVICE_URL = ISSUER + "/device/authorize"


@pytest.fixture(scope="module")
def es_key():
    return new_key("ES256", "es-1")


@pytest.fixture(scope="module")
def rs_key():
    return new_key("RS256", "rs-1")


@pytest.fixture(scope="module")
def stranger_key():
    """A key nobody registered."""
    return new_key("ES256", "es-1")


@pytest.fixture
def key_client(make_client, es_key, rs_key):
    """A confidential GLOBAL service that authenticates with its two registered keys (no secret)."""
    return make_client(name="Key Service", grants=["client_credentials", DEVICE_GRANT],
                       scopes=["api.read", "openid"], auth_method="private_key_jwt", jwks=jwks(es_key, rs_key))


def post_token(http, assertion, status=200, **form):
    return http.post(TOKEN_PATH, {"grant_type": "client_credentials", **assertion_form(assertion), **form},
                     status=status)


def signed(key, client, clock, **overrides):
    return key.sign(assertion_claims(client["client_id"], clock.now(), **overrides))


def refused(response, error="invalid_client", status=401):
    assert response.status_int == status, response.text
    assert response.json["error"] == error, response.json
    return response.json.get("error_description", "")


# --- Accepted ----------------------------------------------------------------------------------

@pytest.mark.parametrize("key_name", ["es_key", "rs_key"])
def test_an_assertion_signed_by_a_registered_key_authenticates_the_client(request, http, key_client, clock, key_name):
    key = request.getfixturevalue(key_name)
    response = post_token(http, signed(key, key_client, clock))
    assert response.headers["Cache-Control"] == "no-store"
    claims = verify_with_jwks(http, response.json["access_token"], key_client["client_id"])
    assert claims["sub"] == claims["client_id"] == key_client["client_id"]


@pytest.mark.parametrize("audience", [TOKEN_URL, ISSUER, [ISSUER], ["https://elsewhere.example", TOKEN_URL]])
def test_aud_may_be_the_issuer_or_the_endpoint_url_or_a_list_holding_one(http, key_client, es_key, clock, audience):
    post_token(http, signed(es_key, key_client, clock, aud=audience))


def test_client_id_in_the_body_may_accompany_the_assertion(http, key_client, es_key, clock):
    post_token(http, signed(es_key, key_client, clock), client_id=key_client["client_id"])


def test_an_assertion_without_kid_is_tried_with_every_key_of_its_alg(http, key_client, rs_key, clock):
    claims = assertion_claims(key_client["client_id"], clock.now())
    post_token(http, jwt.encode(claims, rs_key.private_key, algorithm="RS256"))


def test_exp_up_to_five_minutes_ahead_and_iat_slightly_ahead_are_accepted(http, key_client, es_key, clock):
    now = int(clock.now())
    post_token(http, signed(es_key, key_client, clock, exp=now + 300, iat=now + 60, nbf=now + 60))


def test_the_jti_is_kept_until_the_assertion_expires(http, key_client, es_key, clock, services):
    exp = int(clock.now()) + 120
    assertion = signed(es_key, key_client, clock, jti="kept", exp=exp)
    post_token(http, assertion)
    clock.advance(119)  # the assertion's last second
    prune(services.database, clock.now())
    refused = post_token(http, assertion, status=401)
    assert "already used" in refused.json["error_description"]


def test_two_clients_may_use_the_same_jti(http, make_client, key_client, es_key, clock):
    other = make_client(name="Other Key Service", auth_method="private_key_jwt", jwks=jwks(es_key))
    post_token(http, signed(es_key, key_client, clock, jti="same"))
    post_token(http, signed(es_key, other, clock, jti="same"))


def test_a_refused_forgery_does_not_use_up_its_jti(http, key_client, es_key, stranger_key, clock):
    refused(post_token(http, signed(stranger_key, key_client, clock, jti="precious"), status=401))
    post_token(http, signed(es_key, key_client, clock, jti="precious"))


def test_new_keys_are_used_when_the_registration_changes(http, key_client, es_key, stranger_key, clock, services):
    post_token(http, signed(es_key, key_client, clock))  # the parsed keys are now cached
    set_application(services, key_client, "jwks", json.dumps(jwks(stranger_key)))
    refused(post_token(http, signed(es_key, key_client, clock), status=401))
    post_token(http, signed(stranger_key, key_client, clock))


# --- Refused: the assertion --------------------------------------------------------------------

def test_an_assertion_is_accepted_once(http, key_client, es_key, clock):
    assertion = signed(es_key, key_client, clock)
    post_token(http, assertion)
    assert "already used" in refused(post_token(http, assertion, status=401))


def test_an_assertion_expires(http, key_client, es_key, clock):
    assertion = signed(es_key, key_client, clock, exp=int(clock.now()) + 30)
    clock.advance(30)
    assert "expired" in refused(post_token(http, assertion, status=401))


@pytest.mark.parametrize("overrides, words", [
    ({"exp": None}, "no exp"),
    ({"exp": "soon"}, "must be a number"),
    ({"exp": True}, "must be a number"),
    ({"exp": -1}, "expired"),
    ({"exp": "+361"}, "more than 300 seconds"),
    ({"exp": "+3600"}, "more than 300 seconds"),
    ({"iat": "+61"}, "iat is in the future"),
    ({"nbf": "+61"}, "nbf is in the future"),
    ({"iat": "yesterday"}, "must be a number"),
    ({"iss": "someone-else"}, "iss and sub"),
    ({"sub": "someone-else"}, "iss and sub"),
    ({"iss": None}, "iss and sub"),
    ({"aud": None}, "aud must be"),
    ({"aud": "https://elsewhere.example/token"}, "aud must be"),
    ({"aud": ISSUER + "/userinfo"}, "aud must be"),
    ({"aud": DEVICE_URL}, "aud must be"),
    ({"aud": [ISSUER + "/"]}, "aud must be"),
    ({"aud": {"url": ISSUER}}, "aud must be"),
    ({"jti": None}, "needs a jti"),
    ({"jti": ""}, "needs a jti"),
    ({"jti": 42}, "needs a jti"),
    ({"jti": "j" * 257}, "needs a jti"),
])
def test_each_claim_rule_is_enforced(http, key_client, es_key, clock, overrides, words):
    now = int(clock.now())
    overrides = {name: now + int(value) if isinstance(value, str) and value.startswith("+") else value
                 for name, value in overrides.items()}
    overrides = {name: now - 1 if value == -1 else value for name, value in overrides.items()}
    claims = assertion_claims(key_client["client_id"], now)
    claims.update(overrides)
    claims = {name: value for name, value in claims.items() if value is not None}
    # client_id in the body names the client, so a wrong iss or sub is told apart from an unknown client.
    response = post_token(http, es_key.sign(claims), client_id=key_client["client_id"], status=401)
    assert words in refused(response)


def test_a_key_nobody_registered_is_refused(http, key_client, stranger_key, clock):
    assert "does not verify" in refused(post_token(http, signed(stranger_key, key_client, clock), status=401))


def test_an_unknown_kid_is_refused(http, key_client, es_key, clock):
    assertion = es_key.sign(assertion_claims(key_client["client_id"], clock.now()), headers={"kid": "nope"})
    assert "kid" in refused(post_token(http, assertion, status=401))


def test_a_key_of_the_wrong_type_for_the_alg_is_refused(http, key_client, es_key, clock):
    """kid names the EC key but alg says RS256: no key of that alg has that kid."""
    header = {"alg": "RS256", "kid": es_key.kid, "typ": "JWT"}
    assertion = _raw_jwt(header, assertion_claims(key_client["client_id"], clock.now()), b"x" * 256)
    refused(post_token(http, assertion, status=401))


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw_jwt(header, claims, signature=b""):
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(signature)])


@pytest.mark.parametrize("alg", ["none", "HS256", "PS256", "ES384", "EdDSA", None])
def test_algorithms_other_than_rs256_and_es256_are_refused(http, key_client, clock, alg):
    header = {"typ": "JWT", "kid": "es-1"} | ({"alg": alg} if alg else {})
    assertion = _raw_jwt(header, assertion_claims(key_client["client_id"], clock.now()), b"sig")
    assert "RS256 or ES256" in refused(post_token(http, assertion, status=401))


def test_an_hs256_assertion_keyed_with_the_public_key_is_refused(http, key_client, es_key, clock):
    """The classic algorithm confusion: an HMAC over the public key's text."""
    secret = json.dumps(es_key.public_jwk).encode()
    signing_input = _raw_jwt({"alg": "HS256", "kid": es_key.kid},
                             assertion_claims(key_client["client_id"], clock.now())).rstrip(".")
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    assertion = signing_input + "." + _b64(signature)
    assert "RS256 or ES256" in refused(post_token(http, assertion, status=401))


def test_critical_header_parameters_are_refused(http, key_client, es_key, clock):
    assertion = es_key.sign(assertion_claims(key_client["client_id"], clock.now()),
                            headers={"crit": ["exp"]})
    assert "critical" in refused(post_token(http, assertion, status=401))


def test_a_tampered_payload_is_refused(http, key_client, es_key, clock):
    header, _, signature = signed(es_key, key_client, clock).split(".")
    payload = _b64(json.dumps(assertion_claims(key_client["client_id"], clock.now(), scope="admin")).encode())
    refused(post_token(http, ".".join([header, payload, signature]), status=401))


@pytest.mark.parametrize("assertion", [
    "abc", "a.b", "a.b.c.d", "...", "a.b.c", "\u00e9.\u00e9.\u00e9", "eyJ.eyJ.x", "e30.W10.", "W10.e30.",
    _raw_jwt({"alg": "ES256"}, {"sub": 1}), "x" * 60_000, "a" * 10 + "." + "[" * 5000 + ".x",
    _b64(b"[" * 40_000) + "." + _b64(b"{}") + ".x",
])
def test_garbage_assertions_are_401_never_500(http, key_client, assertion):
    refused(post_token(http, assertion, status=401))


# --- Refused: the combination of methods and the registered class --------------------------------

def test_basic_and_an_assertion_together_are_refused(http, key_client, es_key, clock):
    response = http.post(TOKEN_PATH, {"grant_type": "client_credentials",
                                      **assertion_form(signed(es_key, key_client, clock))},
                         headers={"Authorization": basic(key_client["client_id"], "x")}, status=400)
    assert "one client authentication method" in refused(response, "invalid_request", 400)


def test_client_secret_and_an_assertion_together_are_refused(http, key_client, es_key, clock):
    response = post_token(http, signed(es_key, key_client, clock), client_secret="x", status=400)
    refused(response, "invalid_request", 400)


@pytest.mark.parametrize("form", [
    {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer", "client_assertion": "x"},
    {"client_assertion": "x"},
    {"client_assertion_type": ASSERTION_TYPE},
])
def test_an_incomplete_or_unknown_assertion_pair_is_invalid_request(http, key_client, form):
    response = http.post(TOKEN_PATH, {"grant_type": "client_credentials", "client_id": key_client["client_id"], **form},
                         status=400)
    refused(response, "invalid_request", 400)


def test_a_key_client_cannot_use_a_secret(http, key_client, services):
    response = http.post(TOKEN_PATH, {"grant_type": "client_credentials"},
                         headers={"Authorization": basic(key_client["client_id"], "guess")}, status=401)
    assert "private_key_jwt" in refused(response)
    response = http.post(TOKEN_PATH, {"grant_type": "client_credentials", "client_id": key_client["client_id"],
                                      "client_secret": "guess"}, status=401)
    assert "private_key_jwt" in refused(response)


def test_a_key_client_cannot_go_without_authentication(http, key_client):
    response = http.post(TOKEN_PATH, {"grant_type": "client_credentials", "client_id": key_client["client_id"]},
                         status=401)
    refused(response)


def test_a_secret_client_cannot_use_an_assertion(http, service_client, es_key, clock):
    """Even a well-signed assertion: the client registered a secret, so only its secret authenticates it."""
    response = post_token(http, signed(es_key, service_client, clock), status=401)
    assert "not registered for private_key_jwt" in refused(response)


def test_a_public_client_cannot_use_an_assertion(http, tv, es_key, clock):
    response = http.post(DEVICE_AUTHORIZE_PATH, {"client_id": tv["client_id"],
                                                 **assertion_form(signed(es_key, tv, clock, aud=DEVICE_URL))},
                         status=401)
    assert "not registered for private_key_jwt" in refused(response)


def test_an_unknown_client_is_refused(http, es_key, clock):
    refused(post_token(http, es_key.sign(assertion_claims("no-such-client", clock.now())), status=401))


def test_a_disabled_key_client_is_refused(http, key_client, es_key, clock, services):
    set_application(services, key_client, "status", "disabled")
    refused(post_token(http, signed(es_key, key_client, clock), status=401))


def test_a_client_id_in_the_body_must_be_the_assertions_client(http, make_client, key_client, es_key, clock):
    other = make_client(name="Other Key Service", auth_method="private_key_jwt", jwks=jwks(es_key))
    response = post_token(http, signed(es_key, key_client, clock), client_id=other["client_id"], status=401)
    assert "iss and sub" in refused(response)


def test_a_key_client_is_made_without_a_secret(key_client, services):
    assert "client_secret" not in key_client
    p = services.database.param
    stored = services.database.execute_sql(f"SELECT client_secret_hash FROM application WHERE client_id = {p}",
                                           (key_client["client_id"],)).fetchone()
    assert stored == (None,)
    assert not opaque.matches("", stored[0])


# --- Other endpoints and discovery -------------------------------------------------------------

@pytest.mark.parametrize("audience", [DEVICE_URL, ISSUER])
def test_device_authorization_accepts_an_assertion_for_itself(http, key_client, es_key, clock, audience):
    response = http.post(DEVICE_AUTHORIZE_PATH, {"client_id": key_client["client_id"], "scope": "openid",
                                                 **assertion_form(signed(es_key, key_client, clock, aud=audience))})
    assert response.json["device_code"]


def test_device_authorization_refuses_an_assertion_meant_for_the_token_endpoint(http, key_client, es_key, clock):
    response = http.post(DEVICE_AUTHORIZE_PATH, {"client_id": key_client["client_id"],
                                                 **assertion_form(signed(es_key, key_client, clock, aud=TOKEN_URL))},
                         status=401)
    assert "aud must be" in refused(response)


def test_discovery_advertises_private_key_jwt_and_its_algorithms(http):
    document = http.get(DISCOVERY_PATH).json
    assert set(document["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
    for endpoint in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        assert "private_key_jwt" in document[endpoint + "_auth_methods_supported"]
        assert document[endpoint + "_auth_signing_alg_values_supported"] == ["RS256", "ES256"]


def test_every_endpoint_advertising_private_key_jwt_accepts_it(http, key_client, es_key, clock):
    """Each `<name>_endpoint_auth_methods_supported` with private_key_jwt: the endpoint takes an assertion."""
    document = http.get(DISCOVERY_PATH).json
    advertised = [name[:-len("_auth_methods_supported")] for name, methods in document.items()
                  if name.endswith("_endpoint_auth_methods_supported") and "private_key_jwt" in methods]
    assert {"token_endpoint", "revocation_endpoint", "introspection_endpoint"} <= set(advertised)
    for name in advertised:
        url = document[name]
        path = url[len("http://localhost"):]
        form = {"grant_type": "client_credentials", "client_id": key_client["client_id"], "token": "x",
                **assertion_form(signed(es_key, key_client, clock, aud=url))}
        response = http.post(path, form, expect_errors=True)
        assert response.status_int != 401, (name, response.text)


# --- The demo's key-authenticated service -------------------------------------------------------------

def test_the_demo_key_service_gets_a_token_with_the_walkthroughs_own_commands(http, services, tmp_path):
    """The walkthrough's heredoc and assertion program, run as printed; the assertion buys one token."""
    demo = create_demo(services.database, services.clock, services.config)
    service = demo["clients"]["key_service"]
    assert service["token_endpoint_auth_method"] == "private_key_jwt" and "client_secret" not in service
    lines = demo["walkthrough"]["private_key_jwt"]
    heredoc = lines[lines.index("cat > demo-service-key.pem <<'EOF'") + 1:lines.index("EOF")]
    assert "\n".join(heredoc) == service["private_key_pem"].strip()
    (tmp_path / "demo-service-key.pem").write_text(service["private_key_pem"])
    command = next(line for line in lines if line.startswith("ASSERTION=$("))
    argv = shlex.split(command[len("ASSERTION=$("):-1])
    assert argv[:2] == ["python3", "-c"]
    assertion = subprocess.run([sys.executable, "-c", argv[2]], cwd=tmp_path, capture_output=True, text=True,
                               check=True, timeout=60).stdout.strip()
    curl = next(line for line in lines if line.startswith("curl "))
    assert "client_assertion_type=" + ASSERTION_TYPE in curl and TOKEN_URL in curl
    token = post_token(http, assertion, scope="reports.read").json["access_token"]
    assert verify_with_jwks(http, token, service["client_id"])["scope"] == "reports.read"
    refused(post_token(http, assertion, status=401))


def test_registering_an_rsa_key_under_2048_bits_is_refused(make_client):
    weak = ClientKey("RS256", "weak", rsa.generate_private_key(public_exponent=65537, key_size=1024))
    with pytest.raises(AdminError, match="2048 bits"):
        make_client(name="Weak", auth_method="private_key_jwt", jwks=jwks(weak))


def test_a_key_client_introspects_and_revokes_its_token_with_assertions(http, key_client, es_key, clock):
    token = post_token(http, signed(es_key, key_client, clock)).json["access_token"]
    introspect, revoke = ISSUER + "/introspect", ISSUER + "/revoke"
    answer = http.post("/api/v1/platform/oauth/introspect", {
        "token": token, **assertion_form(signed(es_key, key_client, clock, aud=introspect))}).json
    assert answer["active"] is True and answer["client_id"] == key_client["client_id"]
    http.post("/api/v1/platform/oauth/revoke", {
        "token": token, **assertion_form(signed(es_key, key_client, clock, aud=revoke))}, status=200)
    answer = http.post("/api/v1/platform/oauth/introspect", {
        "token": token, **assertion_form(signed(es_key, key_client, clock, aud=ISSUER))}).json
    assert answer == {"active": False}
    response = http.post("/api/v1/platform/oauth/introspect", {
        "token": token, **assertion_form(signed(es_key, key_client, clock, aud=revoke))}, status=401)
    assert "aud must be" in refused(response)
