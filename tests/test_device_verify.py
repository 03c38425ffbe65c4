"""GET and POST /oauth/device/verify: what the verification page shows, and the signed-in user's decision."""

import pytest

from tests.helpers import (DEVICE_PAGE_PATH, DEVICE_VERIFY_PATH, EMAIL, PASSWORD, decide_device,
                           poll_device, sign_in, start_device, verify_with_jwks)

NEVER_ISSUED = "BCDF-GHJK"


def verify_info(http, user_code, status=200):
    return http.get(DEVICE_VERIFY_PATH, {"user_code": user_code}, status=status)


# --- GET: what the page shows -------------------------------------------------------------------

def test_missing_user_code_is_422_naming_the_query_field(http):
    response = http.get(DEVICE_VERIFY_PATH, status=422)
    assert response.json == {"detail": [{"loc": ["query", "user_code"], "msg": "Field required", "type": "missing"}]}


def test_info_names_the_application_the_scopes_in_words_and_the_expiry(http, tv, clock):
    started = int(clock.now())
    user_code = start_device(http, tv, scope="openid profile email").json["user_code"]
    clock.advance(100)
    body = verify_info(http, user_code).json
    assert body["user_code"] == user_code
    assert body["application"]["name"] == "TV App"
    assert body["application"]["client_id"] == tv["client_id"]
    assert [item["scope"] for item in body["scopes"]] == ["openid", "profile", "email"]
    descriptions = [item["description"] for item in body["scopes"]]
    assert len(set(descriptions)) == 3
    for item in body["scopes"]:
        assert item["description"] != item["scope"] and " " in item["description"], item
    assert body["expires_at"] == started + 600
    assert body["expires_in"] == 500
    assert body["status"] == "pending"


@pytest.mark.parametrize("typed", [
    pytest.param(lambda code: code.lower(), id="lower-case"),
    pytest.param(lambda code: code.replace("-", ""), id="no-dash"),
    pytest.param(lambda code: code.replace("-", " "), id="space"),
    pytest.param(lambda code: f"  {code[:2]} {code[2:]}  ", id="spaces-around-and-inside"),
    pytest.param(lambda code: "-".join(code.replace("-", "")), id="dash-between-every-letter"),
    pytest.param(lambda code: code.replace("-", "--").lower(), id="double-dash-lower-case"),
])
def test_the_typed_code_is_normalised(http, tv, typed):
    user_code = start_device(http, tv).json["user_code"]
    assert verify_info(http, typed(user_code)).json["user_code"] == user_code


def _unknown(http, tv, clock):
    return NEVER_ISSUED


def _malformed(http, tv, clock):
    return "AEIO-U123"


def _expired(http, tv, clock):
    user_code = start_device(http, tv).json["user_code"]
    clock.advance(600)
    return user_code


def _approved(http, tv, clock):
    user_code = start_device(http, tv).json["user_code"]
    decide_device(http, user_code, "approve")
    return user_code


def _denied(http, tv, clock):
    user_code = start_device(http, tv).json["user_code"]
    decide_device(http, user_code, "deny")
    return user_code


def _redeemed(http, tv, clock):
    body = start_device(http, tv).json
    decide_device(http, body["user_code"], "approve")
    poll_device(http, tv, body["device_code"], status=200)
    return body["user_code"]


@pytest.mark.parametrize("make_code", [_unknown, _malformed, _expired, _approved, _denied, _redeemed],
                         ids=["unknown", "malformed", "expired", "approved", "denied", "redeemed"])
def test_unknown_expired_and_decided_codes_all_give_the_same_404(http, tv, clock, signed_in, make_code):
    """No oracle: a guesser cannot tell a used or expired code from one never issued."""
    reference = verify_info(http, NEVER_ISSUED, status=404)
    response = verify_info(http, make_code(http, tv, clock), status=404)
    assert response.status == reference.status
    assert response.body == reference.body
    assert response.json["error"] == "not_found"


def test_a_code_is_still_found_just_before_it_expires(http, tv, clock):
    user_code = start_device(http, tv).json["user_code"]
    clock.advance(599)
    assert verify_info(http, user_code).json["expires_in"] == 1


# --- POST: the decision --------------------------------------------------------------------------

@pytest.mark.parametrize("send", [
    pytest.param(lambda http: http.post_json(DEVICE_VERIFY_PATH, {"user_code": NEVER_ISSUED, "action": "approve"},
                                             status="*"), id="valid-json"),
    pytest.param(lambda http: http.post_json(DEVICE_VERIFY_PATH, {}, status="*"), id="empty-json"),
    pytest.param(lambda http: http.post(DEVICE_VERIFY_PATH, "{not json", headers={
        "Content-Type": "application/json"}, status="*"), id="broken-json"),
    pytest.param(lambda http: http.post(DEVICE_VERIFY_PATH, {"user_code": NEVER_ISSUED, "action": "approve"},
                                        status="*"), id="form-without-csrf"),
    pytest.param(lambda http: http.post_json(DEVICE_VERIFY_PATH, {"action": "launch"}, headers={
        "Origin": "https://evil.example"}, status="*"), id="foreign-origin"),
])
def test_without_a_session_the_answer_is_401_before_the_body_is_looked_at(http, send):
    response = send(http)
    assert response.status_int == 401
    assert response.json["error"] == "login_required"


def test_without_a_session_a_pending_code_stays_pending(http, tv):
    user_code = start_device(http, tv).json["user_code"]
    decide_device(http, user_code, "approve", status=401)
    assert verify_info(http, user_code).json["status"] == "pending"


def test_a_signed_in_user_approves_with_json(http, tv, signed_in):
    user_code = start_device(http, tv).json["user_code"]
    body = decide_device(http, user_code, "approve").json
    assert body["status"] == "approved"
    assert body["user_code"] == user_code
    assert body["application"]["name"] == "TV App"


def test_a_signed_in_user_denies_with_json(http, tv, signed_in):
    body = start_device(http, tv).json
    assert decide_device(http, body["user_code"], "deny").json["status"] == "denied"
    assert poll_device(http, tv, body["device_code"]).json["error"] == "access_denied"


def test_the_decision_accepts_the_code_as_typed(http, tv, signed_in):
    user_code = start_device(http, tv).json["user_code"]
    assert decide_device(http, user_code.replace("-", " ").lower()).json["user_code"] == user_code


@pytest.mark.parametrize("body, missing", [
    ({}, ["user_code", "action"]),
    ({"action": "approve"}, ["user_code"]),
    ({"user_code": NEVER_ISSUED}, ["action"]),
])
def test_missing_fields_are_422(http, signed_in, body, missing):
    response = http.post_json(DEVICE_VERIFY_PATH, body, status=422)
    assert [item["loc"] for item in response.json["detail"]] == [["body", name] for name in missing]


@pytest.mark.parametrize("action", ["allow", "APPROVE", "approve ", "", 1, None, ["approve"]])
def test_an_action_other_than_approve_or_deny_is_422(http, tv, signed_in, action):
    user_code = start_device(http, tv).json["user_code"]
    response = http.post_json(DEVICE_VERIFY_PATH, {"user_code": user_code, "action": action}, status=422)
    assert response.json["detail"][0]["loc"] == ["body", "action"]
    assert verify_info(http, user_code).json["status"] == "pending"


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "http://localhost:8080"},
    {"Origin": "https://localhost"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
def test_json_from_another_origin_is_403(http, tv, signed_in, headers):
    user_code = start_device(http, tv).json["user_code"]
    decide_device(http, user_code, "approve", status=403, headers=headers)
    assert verify_info(http, user_code).json["status"] == "pending"


@pytest.mark.parametrize("headers", [{"Origin": "http://localhost"}, {"Sec-Fetch-Site": "same-origin"}, {}])
def test_json_from_our_own_origin_or_without_origin_is_accepted(http, tv, signed_in, headers):
    user_code = start_device(http, tv).json["user_code"]
    assert decide_device(http, user_code, "approve", headers=headers).json["status"] == "approved"


@pytest.mark.parametrize("csrf_token", [None, "wrong-token-" + "x" * 40])
def test_a_form_post_without_the_right_csrf_token_is_403(http, tv, signed_in, csrf_token):
    user_code = start_device(http, tv).json["user_code"]
    form = {"user_code": user_code, "action": "approve"}
    if csrf_token:
        form["csrf_token"] = csrf_token
    http.post(DEVICE_VERIFY_PATH, form, status=403)
    assert verify_info(http, user_code).json["status"] == "pending"


def test_a_form_post_with_the_csrf_token_from_a_page_is_accepted(http, tv, signed_in):
    user_code = start_device(http, tv).json["user_code"]
    page = http.get(DEVICE_PAGE_PATH, {"user_code": user_code})
    token = page.html.find("input", attrs={"name": "csrf_token"})["value"]
    response = http.post(DEVICE_VERIFY_PATH, {"user_code": user_code, "action": "approve", "csrf_token": token})
    assert response.json["status"] == "approved"


@pytest.mark.parametrize("first, second", [("approve", "approve"), ("approve", "deny"), ("deny", "approve"),
                                           ("deny", "deny")])
def test_a_code_is_decided_once(http, tv, signed_in, first, second):
    body = start_device(http, tv).json
    decide_device(http, body["user_code"], first)
    decide_device(http, body["user_code"], second, status=404)
    expected = "access_denied" if first == "deny" else None
    response = poll_device(http, tv, body["device_code"], status=400 if expected else 200)
    assert response.json.get("error") == expected


def test_an_expired_code_cannot_be_approved(http, tv, signed_in, clock):
    user_code = start_device(http, tv).json["user_code"]
    clock.advance(600)
    decide_device(http, user_code, "approve", status=404)


def test_approval_binds_the_approving_user_and_their_tenant(http, tv, make_tenant, make_user, clock):
    """The same email exists in two tenants; signing in with tenant B's password makes B the tenant."""
    tenant_a, tenant_b = make_tenant("alpha", "Alpha"), make_tenant("beta", "Beta")
    user_a = make_user(tenant="alpha", email=EMAIL, password=PASSWORD)
    user_b = make_user(tenant="beta", email=EMAIL, password="beta's own password")
    assert user_a["id"] != user_b["id"]
    assert sign_in(http, EMAIL, "beta's own password").status_int == 200
    body = start_device(http, tv).json
    decide_device(http, body["user_code"], "approve")
    tokens = poll_device(http, tv, body["device_code"], status=200).json
    access = verify_with_jwks(http, tokens["access_token"], tv["client_id"], typ="at+jwt", clock=clock)
    assert access["sub"] == str(user_b["id"])
    assert access["tenant_id"] == str(tenant_b["id"]) != str(tenant_a["id"])
    identity = verify_with_jwks(http, tokens["id_token"], tv["client_id"], clock=clock)
    assert (identity["sub"], identity["tenant_id"]) == (str(user_b["id"]), str(tenant_b["id"]))


def test_approval_binds_the_tenant_chosen_on_the_tenant_page(http, tv, make_tenant, make_user, clock):
    make_tenant("alpha", "Alpha")
    tenant_b = make_tenant("beta", "Beta")
    make_user(tenant="alpha")
    user_b = make_user(tenant="beta")
    assert sign_in(http, tenant="beta").status_int == 200
    body = start_device(http, tv).json
    decide_device(http, body["user_code"], "approve")
    tokens = poll_device(http, tv, body["device_code"], status=200).json
    access = verify_with_jwks(http, tokens["access_token"], tv["client_id"], clock=clock)
    assert (access["sub"], access["tenant_id"]) == (str(user_b["id"]), str(tenant_b["id"]))
