"""POST /oauth/token with the token-exchange grant (RFC 8693)."""

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.store.clients import find_client
from tests.conftest import DISCOVERY_PATH, TOKEN_PATH
from tests.helpers import basic, client_credentials, set_application, verify_with_jwks

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


def exchange(http, client, subject_token, status=200, **params):
    form = {"grant_type": TOKEN_EXCHANGE, "subject_token": subject_token, "subject_token_type": ACCESS_TOKEN_TYPE,
            **params}
    form = {name: value for name, value in form.items() if value is not None}
    return http.post(TOKEN_PATH, form, headers={"Authorization": basic(client["client_id"], client["client_secret"])},
                     status=status)


def unverified(token):
    return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def gateway(make_client):
    """A confidential client that gets its own tokens and exchanges them."""
    return make_client(name="Gateway", grants=["client_credentials", TOKEN_EXCHANGE], scopes=["api.read", "api.write"])


@pytest.fixture
def orders_api(make_client):
    """The downstream application a gateway token is exchanged for; it may exchange onwards."""
    return make_client(name="Orders API", grants=[TOKEN_EXCHANGE])


@pytest.fixture
def ledger_api(make_client):
    return make_client(name="Ledger API", grants=["client_credentials"])


@pytest.fixture
def gateway_token(http, gateway):
    return client_credentials(http, gateway).json["access_token"]


@pytest.fixture
def user_token(services, gateway):
    """An access token for user 42 of tenant 7, as the user-facing grants issue them to the gateway."""
    def make(tenant_id="7", scope="openid profile api.read"):
        token, _ = services.tokens.access_token(client=find_client(services.database, gateway["client_id"]),
                                                subject="42", scope=scope, tenant_id=tenant_id)
        return token
    return make


def test_the_new_token_keeps_the_subject_names_the_audience_and_records_the_requester_as_actor(
        http, gateway, orders_api, gateway_token, clock):
    response = exchange(http, gateway, gateway_token, audience=orders_api["client_id"])
    body = response.json
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "api.read api.write"
    assert "refresh_token" not in body and "id_token" not in body
    assert response.headers["Cache-Control"] == "no-store"
    claims = verify_with_jwks(http, body["access_token"], audience=orders_api["client_id"], typ="at+jwt")
    assert claims["sub"] == gateway["client_id"]
    assert claims["aud"] == orders_api["client_id"]
    assert claims["client_id"] == gateway["client_id"]
    assert claims["act"] == {"sub": gateway["client_id"]}
    assert claims["scope"] == "api.read api.write"
    assert claims["iat"] == int(clock.now()) and claims["exp"] - claims["iat"] == 3600
    assert claims["jti"] != unverified(gateway_token)["jti"]
    assert "tenant_id" not in claims


def test_a_user_token_keeps_its_subject_and_tenant(http, gateway, orders_api, user_token):
    body = exchange(http, gateway, user_token(), audience=orders_api["client_id"]).json
    claims = verify_with_jwks(http, body["access_token"], audience=orders_api["client_id"], typ="at+jwt")
    assert claims["sub"] == "42"
    assert claims["tenant_id"] == "7"
    assert claims["scope"] == body["scope"] == "openid profile api.read"
    assert claims["act"] == {"sub": gateway["client_id"]}


def test_exchanging_an_exchanged_token_nests_the_earlier_actor(http, gateway, orders_api, ledger_api, user_token):
    first = exchange(http, gateway, user_token(), audience=orders_api["client_id"]).json["access_token"]
    # The orders API may trade it on: the token's aud names it.
    second = exchange(http, orders_api, first, audience=ledger_api["client_id"]).json["access_token"]
    claims = verify_with_jwks(http, second, audience=ledger_api["client_id"], typ="at+jwt")
    assert claims["sub"] == "42" and claims["tenant_id"] == "7"
    assert claims["client_id"] == orders_api["client_id"]
    assert claims["act"] == {"sub": orders_api["client_id"], "act": {"sub": gateway["client_id"]}}


def test_a_token_whose_aud_list_names_the_requester_may_be_exchanged(http, services, gateway, orders_api, ledger_api):
    token, _ = services.tokens.access_token(client=find_client(services.database, ledger_api["client_id"]),
                                            subject="42", scope="api.read", tenant_id="7",
                                            audience=[ledger_api["client_id"], gateway["client_id"]])
    body = exchange(http, gateway, token, audience=orders_api["client_id"]).json
    assert verify_with_jwks(http, body["access_token"], audience=orders_api["client_id"])["sub"] == "42"


def test_the_requester_may_name_itself_as_audience_to_narrow_its_token(http, gateway, gateway_token):
    body = exchange(http, gateway, gateway_token, audience=gateway["client_id"], scope="api.read").json
    assert verify_with_jwks(http, body["access_token"], audience=gateway["client_id"])["scope"] == "api.read"


def test_a_narrower_scope_is_granted(http, gateway, orders_api, gateway_token):
    body = exchange(http, gateway, gateway_token, audience=orders_api["client_id"], scope="api.write").json
    assert body["scope"] == "api.write"
    assert verify_with_jwks(http, body["access_token"], audience=orders_api["client_id"])["scope"] == "api.write"


def test_requested_token_type_access_token_is_accepted(http, gateway, orders_api, gateway_token):
    body = exchange(http, gateway, gateway_token, audience=orders_api["client_id"],
                    requested_token_type=ACCESS_TOKEN_TYPE).json
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE


@pytest.mark.parametrize("scope", ["api.admin", "api.read api.admin", "openid", 'bad"scope'])
def test_scope_beyond_the_subject_tokens_is_invalid_scope(http, gateway, orders_api, gateway_token, scope):
    response = exchange(http, gateway, gateway_token, status=400, audience=orders_api["client_id"], scope=scope)
    assert response.json["error"] == "invalid_scope"


def test_the_new_token_never_outlives_the_subject_token(http, gateway, orders_api, gateway_token, clock):
    clock.advance(3000)
    body = exchange(http, gateway, gateway_token, audience=orders_api["client_id"]).json
    assert body["expires_in"] == 600
    claims = verify_with_jwks(http, body["access_token"], audience=orders_api["client_id"], clock=clock)
    assert claims["exp"] == unverified(gateway_token)["exp"]


def test_without_audience_the_token_is_for_the_requesting_client(http, gateway, user_token):
    """RFC 8693 §2.1: audience is optional; the requester itself is then the target."""
    body = exchange(http, gateway, user_token(scope="openid api.read")).json
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    claims = verify_with_jwks(http, body["access_token"], audience=gateway["client_id"], typ="at+jwt")
    assert (claims["sub"], claims["tenant_id"], claims["scope"]) == ("42", "7", "openid api.read")
    assert claims["act"] == {"sub": gateway["client_id"]}


def test_without_audience_the_token_still_never_outlives_the_subject_token(http, gateway, gateway_token, clock):
    clock.advance(3000)
    body = exchange(http, gateway, gateway_token).json
    assert body["expires_in"] == 600
    claims = verify_with_jwks(http, body["access_token"], audience=gateway["client_id"], clock=clock)
    assert claims["exp"] == unverified(gateway_token)["exp"]


def test_the_requesters_own_shorter_lifetime_applies(http, services, gateway, orders_api, user_token):
    set_application(services, gateway, "access_token_ttl", 120)
    body = exchange(http, gateway, user_token(), audience=orders_api["client_id"]).json
    assert body["expires_in"] == 120
    claims = verify_with_jwks(http, body["access_token"], audience=orders_api["client_id"])
    assert claims["exp"] - claims["iat"] == 120


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _signed_by_a_stranger(token):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(unverified(token), stranger, algorithm="RS256", headers=jwt.get_unverified_header(token))


def _alg_none(token):
    header = {**jwt.get_unverified_header(token), "alg": "none"}
    return f"{_b64(header)}.{_b64(unverified(token))}."


def _hmac(token):
    return jwt.encode(unverified(token), "a-guessed-secret-of-at-least-32-bytes!", algorithm="HS256",
                      headers={k: v for k, v in jwt.get_unverified_header(token).items() if k != "alg"})


def _payload_swapped(token):
    header, _, signature = token.split(".")
    return f"{header}.{_b64({**unverified(token), 'scope': 'api.read api.write api.admin'})}.{signature}"


def _unknown_kid(token):
    header, payload, signature = token.split(".")
    return f"{_b64({**jwt.get_unverified_header(token), 'kid': 'no-such-key'})}.{payload}.{signature}"


@pytest.mark.parametrize("forge", [_signed_by_a_stranger, _alg_none, _hmac, _payload_swapped, _unknown_kid,
                                   lambda token: "not-a-jwt", lambda token: token[:-4]])
def test_a_forged_or_mangled_subject_token_is_invalid_request(http, gateway, orders_api, gateway_token, forge):
    """RFC 8693 §2.2.2: an invalid subject_token is invalid_request."""
    response = exchange(http, gateway, forge(gateway_token), status=400, audience=orders_api["client_id"])
    assert response.json["error"] == "invalid_request"
    assert "subject_token" in response.json["error_description"]


def test_an_expired_subject_token_is_invalid_request(http, gateway, orders_api, gateway_token, clock):
    clock.advance(3600)
    response = exchange(http, gateway, gateway_token, status=400, audience=orders_api["client_id"])
    assert response.json["error"] == "invalid_request"


@pytest.mark.parametrize("typ", ["JWT", "id_token", "application/jwt", None])
def test_a_jwt_signed_with_our_key_but_not_typed_at_jwt_is_invalid_request(
        http, cached_key, gateway, orders_api, gateway_token, typ):
    kid, pem, _ = cached_key
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    headers = {"kid": kid, "typ": typ}
    token = jwt.encode(unverified(gateway_token), key, algorithm="RS256", headers=headers)
    if typ is None:
        assert "typ" not in jwt.get_unverified_header(token)
    response = exchange(http, gateway, token, status=400, audience=orders_api["client_id"])
    assert response.json["error"] == "invalid_request"


def test_an_id_token_signed_by_us_is_not_accepted_as_subject_token(http, services, gateway, orders_api, clock):
    now = int(clock.now())
    id_token = services.keyring.sign({"iss": services.config.issuer, "sub": "42", "aud": gateway["client_id"],
                                      "iat": now, "exp": now + 600, "tenant_id": "7"}, typ="JWT")
    response = exchange(http, gateway, id_token, status=400, audience=orders_api["client_id"])
    assert response.json["error"] == "invalid_request"


def test_a_token_issued_to_another_client_and_not_meant_for_the_requester_is_invalid_request(
        http, gateway, orders_api, ledger_api):
    ledger_token = client_credentials(http, ledger_api).json["access_token"]
    response = exchange(http, gateway, ledger_token, status=400, audience=orders_api["client_id"])
    assert response.json["error"] == "invalid_request"
    assert "subject_token" in response.json["error_description"]


def test_an_upstream_client_cannot_trade_a_token_issued_further_down_the_chain(
        http, gateway, orders_api, ledger_api, user_token):
    to_orders = exchange(http, gateway, user_token(), audience=orders_api["client_id"]).json["access_token"]
    to_ledger = exchange(http, orders_api, to_orders, audience=ledger_api["client_id"]).json["access_token"]
    # Neither issued to the gateway nor naming it.
    response = exchange(http, gateway, to_ledger, status=400, audience=orders_api["client_id"])
    assert response.json["error"] == "invalid_request"


def test_an_unknown_audience_is_invalid_target(http, gateway, gateway_token):
    response = exchange(http, gateway, gateway_token, status=400, audience="no-such-application")
    assert response.json["error"] == "invalid_target"


def test_a_disabled_audience_application_is_invalid_target(http, services, gateway, orders_api, gateway_token):
    set_application(services, orders_api, "status", "disabled")
    response = exchange(http, gateway, gateway_token, status=400, audience=orders_api["client_id"])
    assert response.json["error"] == "invalid_target"


def test_a_tenant_application_receives_a_token_of_its_own_tenant(http, make_tenant, make_client, gateway,
                                                                 user_token):
    acme = make_tenant()
    tenant_app = make_client(name="Acme Portal", audience="tenant", tenant="acme")
    body = exchange(http, gateway, user_token(tenant_id=str(acme["id"])), audience=tenant_app["client_id"]).json
    claims = verify_with_jwks(http, body["access_token"], audience=tenant_app["client_id"])
    assert claims["tenant_id"] == str(acme["id"])


@pytest.mark.parametrize("tenant_id", ["another", None])
def test_a_tenant_application_refuses_tokens_of_another_tenant_or_none(http, make_tenant, make_client, gateway,
                                                                       user_token, tenant_id):
    acme = make_tenant()
    tenant_app = make_client(name="Acme Portal", audience="tenant", tenant="acme")
    token = user_token(tenant_id=str(acme["id"] + 1) if tenant_id == "another" else None)
    response = exchange(http, gateway, token, status=400, audience=tenant_app["client_id"])
    assert response.json["error"] == "invalid_target"


def test_the_resource_parameter_is_invalid_target(http, gateway, orders_api, gateway_token):
    response = exchange(http, gateway, gateway_token, status=400, audience=orders_api["client_id"],
                        resource="https://orders.example/")
    assert response.json["error"] == "invalid_target"


@pytest.mark.parametrize("params", [
    {"subject_token": None},
    {"subject_token_type": None},
    {"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"},
    {"subject_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
    {"subject_token_type": "urn:ietf:params:oauth:token-type:jwt"},
    {"subject_token_type": "access_token"},
    {"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
    {"requested_token_type": "urn:ietf:params:oauth:token-type:id_token"},
    {"actor_token": "something", "actor_token_type": ACCESS_TOKEN_TYPE},
], ids=["no-subject_token", "no-subject_token_type", "id_token-type", "refresh_token-type", "jwt-type",
        "bare-type", "requested-refresh_token", "requested-id_token", "actor_token"])
def test_a_malformed_exchange_request_is_invalid_request(http, gateway, orders_api, gateway_token, params):
    """RFC 8693 §2.2.2: a request that is not valid is invalid_request."""
    form = {"audience": orders_api["client_id"], **params}
    subject_token = form.pop("subject_token", gateway_token)
    response = exchange(http, gateway, subject_token, status=400, **form)
    assert response.json["error"] == "invalid_request"


def test_a_client_without_the_grant_is_unauthorized_client(http, orders_api, ledger_api):
    ledger_token = client_credentials(http, ledger_api).json["access_token"]
    response = exchange(http, ledger_api, ledger_token, status=400, audience=orders_api["client_id"])
    assert response.json["error"] == "unauthorized_client"


def test_a_public_client_is_unauthorized_client_even_if_it_holds_the_grant(
        http, services, make_client, orders_api, user_token):
    public = make_client(name="CLI", grants=["urn:ietf:params:oauth:grant-type:device_code"], public=True)
    # The CLI refuses this combination, so only a hand-edited row could hold it.
    grants = ["urn:ietf:params:oauth:grant-type:device_code", TOKEN_EXCHANGE]
    set_application(services, public, "grant_types", json.dumps(grants))
    response = http.post(TOKEN_PATH, {"grant_type": TOKEN_EXCHANGE, "client_id": public["client_id"],
                                      "subject_token": user_token(), "subject_token_type": ACCESS_TOKEN_TYPE,
                                      "audience": orders_api["client_id"]}, status=400)
    assert response.json["error"] == "unauthorized_client"


def test_discovery_advertises_token_exchange(http):
    assert TOKEN_EXCHANGE in http.get(DISCOVERY_PATH).json["grant_types_supported"]
