"""POST /oauth/device/authorize: the device authorization request and response (RFC 8628 §3.1-3.2)."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from app import opaque
from tests.conftest import DISCOVERY_PATH, ISSUER_BASE
from tests.helpers import (DEVICE_AUTHORIZE_PATH, DEVICE_GRANT, DEVICE_VERIFY_PATH, USER_CODE_PATTERN, basic,
                           device_client, set_application, start_device)


@pytest.fixture
def tv(make_client):
    return device_client(make_client)


@pytest.fixture
def confidential_tv(make_client):
    return device_client(make_client, public=False, name="Set-top Box")


def requested_scopes(http, user_code):
    return [item["scope"] for item in http.get(DEVICE_VERIFY_PATH, {"user_code": user_code}).json["scopes"]]


def test_discovery_advertises_the_device_endpoint_and_grant_and_they_work(http, tv):
    document = http.get(DISCOVERY_PATH).json
    assert DEVICE_GRANT in document["grant_types_supported"]
    endpoint = urlsplit(document["device_authorization_endpoint"])
    assert endpoint.scheme + "://" + endpoint.netloc == ISSUER_BASE
    assert endpoint.path == DEVICE_AUTHORIZE_PATH
    assert http.post(endpoint.path, {"client_id": tv["client_id"]}).json["device_code"]


def test_missing_client_id_is_422_naming_the_body_field(http):
    response = http.post(DEVICE_AUTHORIZE_PATH, {"scope": "openid"}, status=422)
    assert response.json == {"detail": [{"loc": ["body", "client_id"], "msg": "Field required", "type": "missing"}]}


def test_an_empty_body_is_422_naming_client_id(http):
    response = http.post(DEVICE_AUTHORIZE_PATH, "", headers={"Content-Type": "application/x-www-form-urlencoded"},
                         status=422)
    assert response.json["detail"][0]["loc"] == ["body", "client_id"]


def test_response_carries_both_codes_the_verification_uris_the_lifetime_and_the_interval(http, tv):
    response = start_device(http, tv)
    body = response.json
    assert set(body) >= {"device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in",
                         "interval"}
    assert re.match(USER_CODE_PATTERN, body["user_code"]), body["user_code"]
    assert len(body["device_code"]) >= 43  # 256 bits, base64url
    assert body["verification_uri"] == "http://localhost/device"
    complete = urlsplit(body["verification_uri_complete"])
    assert complete._replace(query="").geturl() == body["verification_uri"]
    assert parse_qs(complete.query) == {"user_code": [body["user_code"]]}
    assert body["expires_in"] == 600
    assert body["interval"] == 5
    assert response.headers["Cache-Control"] == "no-store"


def test_each_request_gets_its_own_codes(http, tv):
    first, second = start_device(http, tv).json, start_device(http, tv).json
    assert first["device_code"] != second["device_code"]
    assert first["user_code"] != second["user_code"]


def test_scope_defaults_to_openid(http, tv):
    assert requested_scopes(http, start_device(http, tv).json["user_code"]) == ["openid"]


def test_the_requested_scopes_are_kept_in_order_without_duplicates(http, tv):
    user_code = start_device(http, tv, scope="openid email profile email").json["user_code"]
    assert requested_scopes(http, user_code) == ["openid", "email", "profile"]


@pytest.mark.parametrize("scope", ["api.read", "openid api.read", "admin", 'bad"scope'])
def test_a_scope_outside_the_clients_scopes_is_invalid_scope(http, make_client, scope):
    client = device_client(make_client, scopes=["openid", "profile"])
    response = start_device(http, client, scope=scope, status=400)
    assert response.json["error"] == "invalid_scope"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("scope", [" ", "   "])
def test_a_scope_of_only_spaces_is_invalid_scope_not_an_empty_grant(http, tv, scope):
    assert start_device(http, tv, scope=scope, status=400).json["error"] == "invalid_scope"


def test_offline_access_is_invalid_scope_for_a_client_not_allowed_it(http, make_client):
    client = device_client(make_client, scopes=["openid", "profile"])
    assert start_device(http, client, scope="openid offline_access", status=400).json["error"] == "invalid_scope"


@pytest.mark.parametrize("public", [True, False], ids=["public", "confidential"])
def test_a_client_without_the_device_grant_is_unauthorized_client(http, make_client, public):
    grants = ["authorization_code", "refresh_token"] if public else ["client_credentials"]
    client = make_client(grants=grants, public=public, redirect_uris=["https://app.example/cb"],
                         scopes=["openid", "profile"])
    assert start_device(http, client, status=400).json["error"] == "unauthorized_client"


def test_a_tenant_application_is_unauthorized_client(http, make_client, make_tenant):
    make_tenant()
    client = make_client(audience="tenant", tenant="acme", grants=[DEVICE_GRANT], public=True, scopes=["openid"])
    assert start_device(http, client, status=400).json["error"] == "unauthorized_client"


def test_a_confidential_client_authenticates_with_the_basic_header(http, confidential_tv):
    response = http.post(DEVICE_AUTHORIZE_PATH, {"client_id": confidential_tv["client_id"]},
                         headers={"Authorization": basic(confidential_tv["client_id"],
                                                         confidential_tv["client_secret"])})
    assert response.json["device_code"]


def test_a_confidential_client_authenticates_with_the_secret_in_the_body(http, confidential_tv):
    response = http.post(DEVICE_AUTHORIZE_PATH, {"client_id": confidential_tv["client_id"],
                                                 "client_secret": confidential_tv["client_secret"]})
    assert response.json["device_code"]


@pytest.mark.parametrize("credentials", [
    pytest.param(lambda c: ({"client_id": c["client_id"]}, {"Authorization": basic(c["client_id"], "wrong")}),
                 id="wrong-basic-secret"),
    pytest.param(lambda c: ({"client_id": c["client_id"], "client_secret": "wrong"}, {}), id="wrong-body-secret"),
    pytest.param(lambda c: ({"client_id": c["client_id"]}, {}), id="no-secret"),
    pytest.param(lambda c: ({"client_id": "no-such-client", "client_secret": c["client_secret"]}, {}),
                 id="unknown-client"),
])
def test_failed_client_authentication_is_401_invalid_client_challenging_basic_only_if_tried(
        http, confidential_tv, credentials):
    form, headers = credentials(confidential_tv)
    response = http.post(DEVICE_AUTHORIZE_PATH, form, headers=headers, status=401)
    assert response.json["error"] == "invalid_client"
    if headers:
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    else:
        assert "WWW-Authenticate" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_a_basic_header_naming_another_client_than_the_body_is_refused(http, confidential_tv, tv):
    response = http.post(DEVICE_AUTHORIZE_PATH, {"client_id": tv["client_id"]},
                         headers={"Authorization": basic(confidential_tv["client_id"],
                                                         confidential_tv["client_secret"])}, status=400)
    assert response.json["error"] == "invalid_request"


def test_a_public_client_needs_only_its_client_id(http, tv):
    response = http.post(DEVICE_AUTHORIZE_PATH, {"client_id": tv["client_id"]})
    assert re.match(USER_CODE_PATTERN, response.json["user_code"])


def test_a_public_client_presenting_a_secret_is_refused(http, tv):
    response = http.post(DEVICE_AUTHORIZE_PATH, {"client_id": tv["client_id"], "client_secret": "guess"},
                         status=401)
    assert response.json["error"] == "invalid_client"


def test_a_disabled_client_is_refused(http, tv, services):
    set_application(services, tv, "status", "disabled")
    assert start_device(http, tv, status=401).json["error"] == "invalid_client"


def test_a_repeated_parameter_is_invalid_request(http, tv):
    response = http.post(DEVICE_AUTHORIZE_PATH, f"client_id={tv['client_id']}&scope=openid&scope=profile",
                         headers={"Content-Type": "application/x-www-form-urlencoded"}, status=400)
    assert response.json["error"] == "invalid_request"


def test_both_codes_are_stored_only_as_hashes(http, tv, services):
    body = start_device(http, tv, scope="openid profile").json
    user_code = body["user_code"]
    secrets = {body["device_code"], user_code, user_code.replace("-", ""), user_code.lower(),
               user_code.replace("-", "").lower()}
    cursor = services.database.execute_sql("SELECT * FROM device_authorization")
    columns = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    assert len(rows) == 1
    stored = dict(zip(columns, rows[0]))
    for column, value in stored.items():
        for secret in secrets:
            assert secret not in str(value), f"{column} holds a raw code"
    assert stored["device_code_hash"] == opaque.digest(body["device_code"])
    assert stored["user_code_hash"] == opaque.digest(user_code.replace("-", ""))
