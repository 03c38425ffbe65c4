"""POST /oauth/token with the device_code grant: polling, slow_down and issuing tokens once (RFC 8628 §3.4-3.5)."""

import pytest

from tests.conftest import TOKEN_PATH
from tests.helpers import (DEVICE_GRANT, basic, decide_device, device_client, expected_at_hash, poll_device, refresh,
                           set_status, sign_in, start_device, token_request, verify_with_jwks)


@pytest.fixture
def tv(make_client):
    return device_client(make_client)


@pytest.fixture
def ada(make_tenant, make_user):
    tenant = make_tenant()
    return {**make_user(), "tenant_id": tenant["id"]}


@pytest.fixture
def signed_in(http, ada):
    assert sign_in(http).status_int == 200
    return ada


def error_of(response):
    return response.json["error"]


def test_polling_is_pending_then_slow_down_when_too_fast_and_tokens_once_after_approval(http, tv, signed_in, clock):
    body = start_device(http, tv, scope="openid profile").json
    device_code = body["device_code"]
    assert error_of(poll_device(http, tv, device_code)) == "authorization_pending"
    assert error_of(poll_device(http, tv, device_code)) == "slow_down"
    clock.advance(10)  # the interval is now 5 + 5 s
    assert error_of(poll_device(http, tv, device_code)) == "authorization_pending"
    clock.advance(5)  # the grown interval stays grown: the original 5 s is too fast now
    assert error_of(poll_device(http, tv, device_code)) == "slow_down"
    clock.advance(15)  # and a second slow_down grew it by another 5 s
    assert error_of(poll_device(http, tv, device_code)) == "authorization_pending"

    decide_device(http, body["user_code"], "approve")
    clock.advance(15)
    tokens = poll_device(http, tv, device_code, status=200)
    assert tokens.headers["Cache-Control"] == "no-store"
    assert tokens.json["token_type"] == "Bearer"
    assert tokens.json["scope"] == "openid profile"

    clock.advance(15)
    assert error_of(poll_device(http, tv, device_code)) == "invalid_grant"


def test_slow_down_grows_the_interval_by_five_seconds_for_every_later_poll(http, tv, clock):
    device_code = start_device(http, tv).json["device_code"]
    poll_device(http, tv, device_code)
    response = poll_device(http, tv, device_code)
    assert error_of(response) == "slow_down"
    assert "10 seconds" in response.json["error_description"]
    clock.advance(5)
    assert error_of(poll_device(http, tv, device_code)) == "slow_down"


def test_after_slow_down_waiting_the_grown_interval_is_on_time(http, tv, clock):
    device_code = start_device(http, tv).json["device_code"]
    poll_device(http, tv, device_code)
    assert error_of(poll_device(http, tv, device_code)) == "slow_down"
    clock.advance(10)
    assert error_of(poll_device(http, tv, device_code)) == "authorization_pending"


@pytest.mark.parametrize("wait, expected", [(4.9, "slow_down"), (5, "authorization_pending"),
                                            (30, "authorization_pending")])
def test_a_poll_one_interval_after_the_last_is_on_time(http, tv, clock, wait, expected):
    device_code = start_device(http, tv).json["device_code"]
    poll_device(http, tv, device_code)
    clock.advance(wait)
    assert error_of(poll_device(http, tv, device_code)) == expected


def test_the_tokens_carry_the_approving_user_and_verify_against_the_jwks(http, tv, signed_in, clock):
    signed_in_at = int(clock.now())
    clock.advance(120)
    body = start_device(http, tv, scope="openid profile email").json
    decide_device(http, body["user_code"], "approve")
    tokens = poll_device(http, tv, body["device_code"], status=200).json
    assert tokens["expires_in"] == 3600
    access = verify_with_jwks(http, tokens["access_token"], tv["client_id"], typ="at+jwt", clock=clock)
    assert access["sub"] == str(signed_in["id"])
    assert access["tenant_id"] == str(signed_in["tenant_id"])
    assert access["client_id"] == tv["client_id"]
    assert access["scope"] == "openid profile email"
    identity = verify_with_jwks(http, tokens["id_token"], tv["client_id"], clock=clock)
    assert identity["sub"] == str(signed_in["id"])
    assert identity["tenant_id"] == str(signed_in["tenant_id"])
    assert identity["at_hash"] == expected_at_hash(tokens["access_token"])
    assert identity["auth_time"] == signed_in_at  # when the person signed in, not when the device asked
    assert access["iat"] == identity["iat"] == int(clock.now())


def test_no_id_token_without_openid(http, tv, signed_in):
    body = start_device(http, tv, scope="profile").json
    decide_device(http, body["user_code"], "approve")
    tokens = poll_device(http, tv, body["device_code"], status=200).json
    assert "id_token" not in tokens
    assert tokens["access_token"]


def test_a_refresh_token_comes_when_the_client_holds_the_refresh_grant_and_it_works(http, tv, signed_in, clock):
    body = start_device(http, tv).json
    decide_device(http, body["user_code"], "approve")
    tokens = poll_device(http, tv, body["device_code"], status=200).json
    refreshed = refresh(http, tv, tokens["refresh_token"]).json
    access = verify_with_jwks(http, refreshed["access_token"], tv["client_id"], clock=clock)
    assert (access["sub"], access["tenant_id"]) == (str(signed_in["id"]), str(signed_in["tenant_id"]))


def test_no_refresh_token_when_the_client_lacks_the_refresh_grant(http, make_client, signed_in):
    client = device_client(make_client, grants=[DEVICE_GRANT])
    body = start_device(http, client).json
    decide_device(http, body["user_code"], "approve")
    tokens = poll_device(http, client, body["device_code"], status=200).json
    assert "refresh_token" not in tokens
    assert tokens["access_token"]


def test_a_confidential_client_polls_with_its_secret(http, make_client, signed_in):
    client = device_client(make_client, public=False)
    body = start_device(http, client).json
    decide_device(http, body["user_code"], "approve")
    assert poll_device(http, client, body["device_code"], status=200).json["access_token"]


def test_a_confidential_client_polling_with_a_wrong_secret_is_invalid_client(http, make_client, signed_in):
    client = device_client(make_client, public=False)
    body = start_device(http, client).json
    decide_device(http, body["user_code"], "approve")
    response = http.post(TOKEN_PATH, {"grant_type": DEVICE_GRANT, "device_code": body["device_code"]},
                         headers={"Authorization": basic(client["client_id"], "wrong")}, status=401)
    assert error_of(response) == "invalid_client"
    assert poll_device(http, client, body["device_code"], status=200).json["access_token"]


def test_tokens_are_issued_once(http, tv, signed_in, clock):
    body = start_device(http, tv).json
    decide_device(http, body["user_code"], "approve")
    poll_device(http, tv, body["device_code"], status=200)
    for wait in (0, 60):
        clock.advance(wait)
        assert error_of(poll_device(http, tv, body["device_code"])) == "invalid_grant"


def test_a_denied_request_is_access_denied(http, tv, signed_in):
    body = start_device(http, tv).json
    decide_device(http, body["user_code"], "deny")
    response = poll_device(http, tv, body["device_code"])
    assert error_of(response) == "access_denied"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("decision", [None, "approve", "deny"])
def test_after_the_lifetime_the_device_code_is_expired_token(http, tv, signed_in, clock, decision):
    body = start_device(http, tv).json
    if decision:
        decide_device(http, body["user_code"], decision)
    clock.advance(600)
    assert error_of(poll_device(http, tv, body["device_code"])) == "expired_token"


def test_just_before_the_lifetime_ends_the_device_code_still_works(http, tv, signed_in, clock):
    body = start_device(http, tv).json
    clock.advance(599)
    decide_device(http, body["user_code"], "approve")
    assert poll_device(http, tv, body["device_code"], status=200).json["access_token"]


def test_a_device_code_of_another_client_is_invalid_grant_and_leaves_it_usable(http, tv, make_client, signed_in):
    other = device_client(make_client, name="Other TV")
    body = start_device(http, tv).json
    decide_device(http, body["user_code"], "approve")
    assert error_of(poll_device(http, other, body["device_code"])) == "invalid_grant"
    assert poll_device(http, tv, body["device_code"], status=200).json["access_token"]


def test_a_missing_device_code_is_invalid_request(http, tv):
    response = token_request(http, tv, {"grant_type": DEVICE_GRANT}, status=400)
    assert error_of(response) == "invalid_request"


@pytest.mark.parametrize("device_code", ["unknown-device-code", "x" * 43])
def test_an_unknown_device_code_is_invalid_grant(http, tv, device_code):
    assert error_of(poll_device(http, tv, device_code)) == "invalid_grant"


def test_the_user_code_is_not_a_device_code(http, tv, signed_in):
    body = start_device(http, tv).json
    decide_device(http, body["user_code"], "approve")
    for code in (body["user_code"], body["user_code"].replace("-", "")):
        assert error_of(poll_device(http, tv, code)) == "invalid_grant"


def test_a_client_without_the_device_grant_cannot_poll(http, make_client, tv):
    device_code = start_device(http, tv).json["device_code"]
    other = make_client(grants=["authorization_code"], public=True, redirect_uris=["https://app.example/cb"])
    assert error_of(poll_device(http, other, device_code)) == "unauthorized_client"


@pytest.mark.parametrize("table", ["user", "tenant"])
def test_a_user_or_tenant_suspended_after_approval_gets_no_tokens(http, tv, signed_in, services, table):
    body = start_device(http, tv).json
    decide_device(http, body["user_code"], "approve")
    set_status(services, table, signed_in["id"] if table == "user" else signed_in["tenant_id"], "suspended")
    assert error_of(poll_device(http, tv, body["device_code"])) == "invalid_grant"
