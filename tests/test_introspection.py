"""POST /oauth/introspect (RFC 7662, DESIGN endpoint 11): resource servers learn about tokens meant for them,
and about nothing else."""

import pytest

from app.store.clients import find_client
from tests.helpers import (LOGOUT_PATH, POST_LOGOUT_REDIRECT_URI, basic, client_credentials, refresh, set_status,
                           sign_in_tokens, web_client)

INTROSPECT_PATH = "/api/v1/platform/oauth/introspect"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ISSUER = "http://localhost/api/v1/platform/oauth"
INACTIVE = {"active": False}


def introspect(http, client, token, status=200, **params):
    return http.post(INTROSPECT_PATH, {"token": token, **params},
                     headers={"Authorization": basic(client["client_id"], client["client_secret"])}, status=status)


@pytest.fixture
def web(make_client):
    return web_client(make_client, public=False, name="Acme Web",
                      grants=("authorization_code", "refresh_token", TOKEN_EXCHANGE))


@pytest.fixture
def api(make_client):
    """A resource server: it only introspects (and exchanges onwards)."""
    return make_client(name="Orders API", grants=[TOKEN_EXCHANGE])


def exchange(http, client, token, audience):
    return http.post("/api/v1/platform/oauth/token", {
        "grant_type": TOKEN_EXCHANGE, "subject_token": token, "subject_token_type": ACCESS_TOKEN_TYPE,
        "audience": audience}, headers={"Authorization": basic(client["client_id"], client["client_secret"])}
    ).json["access_token"]


def test_discovery_advertises_the_endpoint_for_confidential_clients(http):
    document = http.get("/api/v1/platform/oauth/.well-known/openid-configuration").json
    assert document["introspection_endpoint"] == "http://localhost" + INTROSPECT_PATH
    methods = document["introspection_endpoint_auth_methods_supported"]
    assert "none" not in methods and "client_secret_basic" in methods
    assert set(methods) == set(document["token_endpoint_auth_methods_supported"]) - {"none"}


def test_a_token_issued_to_the_caller_is_active_with_its_claims(http, web, user, clock):
    tokens = sign_in_tokens(http, web, scope="openid profile")
    response = introspect(http, web, tokens["access_token"])
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert set(body) == {"active", "iss", "sub", "client_id", "aud", "scope", "exp", "iat", "token_type",
                         "tenant_id"}
    assert body["active"] is True and body["token_type"] == "Bearer"
    assert body["iss"] == ISSUER and body["sub"] == str(user["id"]) and body["tenant_id"] == str(user["tenant_id"])
    assert body["client_id"] == body["aud"] == web["client_id"]
    assert body["scope"] == "openid profile"
    assert body["iat"] == int(clock.now()) and body["exp"] == body["iat"] + 3600


def test_a_token_whose_aud_names_the_caller_is_active_and_carries_act(http, web, api, user):
    tokens = sign_in_tokens(http, web, scope="openid profile")
    exchanged = exchange(http, web, tokens["access_token"], api["client_id"])
    body = introspect(http, api, exchanged).json
    assert body["active"] is True and body["aud"] == api["client_id"] and body["client_id"] == web["client_id"]
    assert body["act"] == {"sub": web["client_id"]}
    assert body["sub"] == str(user["id"])
    # The caller of the first token is not the audience of the exchanged one.
    assert introspect(http, api, tokens["access_token"]).json == INACTIVE


def test_a_client_credentials_token_is_active_for_its_client(http, service_client):
    token = client_credentials(http, service_client).json["access_token"]
    body = introspect(http, service_client, token).json
    assert body["active"] is True and body["sub"] == service_client["client_id"] and "tenant_id" not in body
    assert body["scope"] == "api.read api.write"


def test_cnf_is_echoed_and_a_dpop_bound_token_says_so(http, services, service_client):
    """RFC 9449 §6.2: a DPoP-bound access token carries cnf.jkt; introspection tells the resource server."""
    client = find_client(services.database, service_client["client_id"])
    token, _ = services.tokens.access_token(client=client, subject=client.client_id, scope="api.read",
                                            jkt="0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
    body = introspect(http, service_client, token).json
    assert body["cnf"] == {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}
    assert body["token_type"] == "DPoP"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 5000, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
                                   "\u00e9t\u00e9", "\x7f"])
def test_garbage_is_exactly_inactive(http, service_client, token):
    assert introspect(http, service_client, token).json == INACTIVE


def test_another_clients_token_is_exactly_inactive(http, web, service_client, user):
    tokens = sign_in_tokens(http, web, scope="openid profile")
    assert introspect(http, service_client, tokens["access_token"]).json == INACTIVE
    assert introspect(http, service_client, tokens["refresh_token"]).json == INACTIVE
    assert introspect(http, web, client_credentials(http, service_client).json["access_token"]).json == INACTIVE


def test_an_id_token_is_not_an_access_token(http, web, user):
    assert introspect(http, web, sign_in_tokens(http, web)["id_token"]).json == INACTIVE


def test_an_expired_token_is_exactly_inactive(http, web, user, clock):
    tokens = sign_in_tokens(http, web, scope="openid profile")
    clock.advance(3600)
    assert introspect(http, web, tokens["access_token"]).json == INACTIVE


@pytest.mark.parametrize("suspend", ["user", "tenant"])
def test_a_suspended_users_token_is_exactly_inactive(http, services, web, user, suspend):
    tokens = sign_in_tokens(http, web, scope="openid offline_access")
    set_status(services, suspend, user["id"] if suspend == "user" else user["tenant_id"], "suspended")
    assert introspect(http, web, tokens["access_token"]).json == INACTIVE
    assert introspect(http, web, tokens["refresh_token"]).json == INACTIVE


def test_a_refresh_token_is_active_only_for_the_client_holding_it(http, web, user, clock):
    tokens = sign_in_tokens(http, web, scope="openid offline_access")
    body = introspect(http, web, tokens["refresh_token"], token_type_hint="refresh_token").json
    assert body == {"active": True, "iss": ISSUER, "sub": str(user["id"]), "client_id": web["client_id"],
                    "scope": "openid offline_access", "exp": int(clock.now()) + 30 * 86400,
                    "iat": int(clock.now()), "tenant_id": str(user["tenant_id"])}


def test_a_rotated_out_or_revoked_refresh_token_is_inactive_and_introspection_changes_nothing(http, web, user):
    first = sign_in_tokens(http, web)["refresh_token"]
    second = refresh(http, web, first).json["refresh_token"]
    assert introspect(http, web, first).json == INACTIVE
    # Introspecting a rotated-out token is no reuse: the family lives on.
    assert introspect(http, web, second).json["active"] is True
    http.post("/api/v1/platform/oauth/revoke", {"token": second},
              headers={"Authorization": basic(web["client_id"], web["client_secret"])})
    assert introspect(http, web, second).json == INACTIVE


def test_a_session_bound_refresh_token_is_inactive_once_its_session_ends(http, web, user):
    tokens = sign_in_tokens(http, web, scope="openid profile")
    assert introspect(http, web, tokens["refresh_token"]).json["active"] is True
    http.get(LOGOUT_PATH, {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI},
             status=303)
    assert introspect(http, web, tokens["refresh_token"]).json == INACTIVE


def test_a_public_client_may_not_introspect(http, client, user):
    tokens = sign_in_tokens(http, client)
    response = http.post(INTROSPECT_PATH, {"token": tokens["access_token"], "client_id": client["client_id"]},
                         status=401)
    assert response.json["error"] == "invalid_client"
    assert "WWW-Authenticate" not in response.headers  # it authenticated in the body, not with Basic


@pytest.mark.parametrize("how", ["basic", "body", "none"])
def test_failed_client_authentication_is_401_challenging_basic_only_when_tried(http, service_client, how):
    token = client_credentials(http, service_client).json["access_token"]
    form, headers = {"token": token}, {}
    if how == "basic":
        headers["Authorization"] = basic(service_client["client_id"], "wrong")
    elif how == "body":
        form.update(client_id=service_client["client_id"], client_secret="wrong")
    response = http.post(INTROSPECT_PATH, form, headers=headers, status=401)
    assert response.json["error"] == "invalid_client"
    assert ("WWW-Authenticate" in response.headers) == (how == "basic")


def test_a_confidential_client_may_authenticate_in_the_body(http, service_client):
    token = client_credentials(http, service_client).json["access_token"]
    body = http.post(INTROSPECT_PATH, {"token": token, "client_id": service_client["client_id"],
                                       "client_secret": service_client["client_secret"]}).json
    assert body["active"] is True


def test_a_missing_token_is_422_before_client_authentication(http):
    response = http.post(INTROSPECT_PATH, {"token_type_hint": "access_token"}, status=422)
    assert response.json == {"detail": [{"loc": ["body", "token"], "msg": "Field required", "type": "missing"}]}
