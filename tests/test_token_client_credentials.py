"""POST /oauth/token: client authentication (RFC 6749 §2.3) and the client_credentials grant (§4.4)."""

import base64
from urllib.parse import quote_plus

import pytest

from app import opaque
from tests.conftest import TOKEN_PATH
from tests.helpers import basic, client_credentials, set_application, verify_with_jwks


def test_basic_auth_issues_an_rfc9068_access_token_that_verifies_against_the_jwks(http, service_client, clock):
    response = client_credentials(http, service_client)
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "api.read api.write"
    assert response.headers["Cache-Control"] == "no-store"
    claims = verify_with_jwks(http, body["access_token"], service_client["client_id"], typ="at+jwt")
    assert claims["sub"] == claims["client_id"] == service_client["client_id"]
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["iat"] == int(clock.now())
    assert claims["jti"] and claims["scope"] == "api.read api.write"
    assert "tenant_id" not in claims


def test_secret_in_the_body_is_accepted(http, service_client):
    response = http.post(TOKEN_PATH, {"grant_type": "client_credentials", "client_id": service_client["client_id"],
                                      "client_secret": service_client["client_secret"]})
    assert response.json["access_token"]


def test_each_token_has_its_own_jti(http, service_client):
    first = verify_with_jwks(http, client_credentials(http, service_client).json["access_token"],
                             service_client["client_id"])
    second = verify_with_jwks(http, client_credentials(http, service_client).json["access_token"],
                              service_client["client_id"])
    assert first["jti"] != second["jti"]


def test_basic_credentials_are_form_url_decoded(http, service_client, services):
    """RFC 6749 §2.3.1: client_id and secret are form-urlencoded before base64."""
    awkward_secret = "a b:c%d+é"
    set_application(services, service_client, "client_secret_hash", opaque.digest(awkward_secret))
    header = "Basic " + base64.b64encode(
        f"{quote_plus(service_client['client_id'])}:{quote_plus(awkward_secret)}".encode()).decode()
    response = http.post(TOKEN_PATH, {"grant_type": "client_credentials"}, headers={"Authorization": header})
    assert response.json["access_token"]


def test_two_authentication_methods_at_once_are_refused(http, service_client):
    response = http.post(TOKEN_PATH, {"grant_type": "client_credentials",
                                      "client_secret": service_client["client_secret"]},
                         headers={"Authorization": basic(service_client["client_id"], service_client["client_secret"])},
                         status=400)
    assert response.json["error"] == "invalid_request"


@pytest.mark.parametrize("credentials", [
    lambda c: {"Authorization": basic(c["client_id"], "wrong-secret")},
    lambda c: {"Authorization": basic("no-such-client", c["client_secret"])},
    lambda c: {"Authorization": "Basic !!!not-base64"},
    lambda c: {"Authorization": "Basic \u00e9t\u00e9=="},  # non-ASCII text is not base64 either (not a 500)
    lambda c: {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    lambda c: {"Authorization": "Bearer something"},
    lambda c: {},
])
def test_failed_client_authentication_is_401_with_a_challenge_when_basic_was_tried(http, service_client, credentials):
    headers = credentials(service_client)
    response = http.post(TOKEN_PATH, {"grant_type": "client_credentials"}, headers=headers, status=401)
    assert response.json["error"] == "invalid_client"
    if headers:
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    else:
        assert "WWW-Authenticate" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_a_confidential_client_without_its_secret_is_refused(http, service_client):
    response = http.post(TOKEN_PATH, {"grant_type": "client_credentials", "client_id": service_client["client_id"]},
                         status=401)
    assert response.json["error"] == "invalid_client"


def test_a_disabled_client_cannot_authenticate(http, service_client, services):
    set_application(services, service_client, "status", "disabled")
    assert client_credentials(http, service_client, status=401).json["error"] == "invalid_client"


def test_missing_grant_type_is_422_with_the_validation_body(http, service_client):
    response = http.post(TOKEN_PATH, {"client_id": service_client["client_id"]}, status=422)
    assert response.json == {"detail": [{"loc": ["body", "grant_type"], "msg": "Field required", "type": "missing"}]}


def test_validation_runs_before_client_authentication(http):
    response = http.post(TOKEN_PATH, {"client_id": "nobody"}, status=422)
    assert response.json["detail"][0]["loc"] == ["body", "grant_type"]


def test_unknown_grant_type_is_unsupported_grant_type(http, service_client):
    response = client_credentials(http, service_client, status=400, grant_type="password")
    assert response.json["error"] == "unsupported_grant_type"


def test_a_client_without_the_grant_is_unauthorized_client(http, make_client):
    client = make_client(grants=["authorization_code"], redirect_uris=["https://app.example/cb"])
    assert client_credentials(http, client, status=400).json["error"] == "unauthorized_client"


def test_a_public_client_cannot_use_client_credentials(http, make_client):
    public = make_client(grants=["urn:ietf:params:oauth:grant-type:device_code"], public=True)
    response = http.post(TOKEN_PATH, {"grant_type": "client_credentials", "client_id": public["client_id"]},
                         status=400)
    assert response.json["error"] == "unauthorized_client"


def test_a_public_client_presenting_a_secret_is_refused(http, make_client):
    public = make_client(grants=["urn:ietf:params:oauth:grant-type:device_code"], public=True)
    response = http.post(TOKEN_PATH, {"grant_type": "client_credentials", "client_id": public["client_id"],
                                      "client_secret": "guess"}, status=401)
    assert response.json["error"] == "invalid_client"


def test_a_tenant_application_is_not_served_by_the_platform_endpoint(http, make_client, make_tenant):
    make_tenant()
    client = make_client(audience="tenant", tenant="acme")
    assert client_credentials(http, client, status=400).json["error"] == "unauthorized_client"


def test_a_narrower_scope_is_granted(http, service_client):
    body = client_credentials(http, service_client, scope="api.read").json
    assert body["scope"] == "api.read"
    assert verify_with_jwks(http, body["access_token"], service_client["client_id"])["scope"] == "api.read"


@pytest.mark.parametrize("scope", ["api.admin", "api.read api.admin", "openid", "api.read offline_access",
                                   'bad"scope'])
def test_a_scope_outside_the_clients_allowed_scopes_is_invalid_scope(http, service_client, scope):
    assert client_credentials(http, service_client, status=400, scope=scope).json["error"] == "invalid_scope"


def test_a_client_specific_access_token_lifetime_is_used(http, make_client):
    client = make_client(access_token_ttl=120)
    body = client_credentials(http, client).json
    assert body["expires_in"] == 120
    claims = verify_with_jwks(http, body["access_token"], client["client_id"])
    assert claims["exp"] - claims["iat"] == 120


def test_a_repeated_parameter_is_invalid_request(http, service_client):
    response = http.post(TOKEN_PATH, "grant_type=client_credentials&scope=api.read&scope=api.write",
                         headers={"Authorization": basic(service_client["client_id"], service_client["client_secret"]),
                                  "Content-Type": "application/x-www-form-urlencoded"}, status=400)
    assert response.json["error"] == "invalid_request"
    assert "scope" in response.json["error_description"]


def test_a_json_body_is_refused_with_a_clear_error(http, service_client):
    response = http.post_json(TOKEN_PATH, {"grant_type": "client_credentials"}, status=400)
    assert response.json["error"] == "invalid_request"
    assert "x-www-form-urlencoded" in response.json["error_description"]


@pytest.mark.parametrize("body", [b"grant_type=\xff\xfe", b"grant_type=%FF%FE"])
def test_a_non_utf8_body_is_refused(http, body):
    response = http.post(TOKEN_PATH, body, headers={"Content-Type": "application/x-www-form-urlencoded"}, status=400)
    assert response.json["error"] == "invalid_request"


def test_an_oversized_body_is_refused(http):
    response = http.post(TOKEN_PATH, "grant_type=client_credentials&scope=" + "a" * 70_000, headers={
        "Content-Type": "application/x-www-form-urlencoded"}, status=413)
    assert response.json["error"] == "invalid_request"
