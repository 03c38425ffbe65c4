"""POST /oauth/token with the refresh_token grant (RFC 6749 §6; rotation and reuse detection, RFC 9700 §4.14)."""

import pytest
import webtest

from tests.helpers import (LOGOUT_PATH, POST_LOGOUT_REDIRECT_URI, USERINFO_PATH, bearer, refresh, set_status,
                           sign_in_tokens, verify_with_jwks, web_client)

DAY = 86400


def error_of(response):
    return response.json["error"]


def logout_now(http, id_token):
    """RP-initiated logout with a hint for the current session: ends it at once."""
    response = http.get(LOGOUT_PATH, {"id_token_hint": id_token, "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI},
                        status=303)
    assert response.headers["Location"].startswith(POST_LOGOUT_REDIRECT_URI)


def test_each_use_returns_a_new_refresh_token_and_access_token(http, client, user, clock):
    first = sign_in_tokens(http, client, scope="openid profile")
    clock.advance(10)
    second = refresh(http, client, first["refresh_token"])
    body = second.json
    assert second.headers["Cache-Control"] == "no-store"
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert body["scope"] == "openid profile"
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    claims = verify_with_jwks(http, body["access_token"], client["client_id"], typ="at+jwt", clock=clock)
    assert claims["iat"] == int(clock.now())
    assert refresh(http, client, body["refresh_token"]).json["access_token"]


def test_a_refreshed_id_token_keeps_the_original_sign_in(http, client, user, clock):
    first = sign_in_tokens(http, client)
    original = verify_with_jwks(http, first["id_token"], client["client_id"], clock=clock)
    clock.advance(600)
    body = refresh(http, client, first["refresh_token"]).json
    claims = verify_with_jwks(http, body["id_token"], client["client_id"], clock=clock)
    assert claims["sub"] == original["sub"] and claims["tenant_id"] == original["tenant_id"]
    assert claims["auth_time"] == original["auth_time"]
    assert claims["sid"] == original["sid"]
    assert claims["iat"] == original["iat"] + 600


def test_a_rotated_out_refresh_token_is_invalid_grant(http, client, user):
    first = sign_in_tokens(http, client)["refresh_token"]
    refresh(http, client, first)
    assert error_of(refresh(http, client, first, status=400)) == "invalid_grant"


def test_reusing_a_rotated_out_refresh_token_revokes_the_whole_family(http, client, user):
    first = sign_in_tokens(http, client)["refresh_token"]
    second = refresh(http, client, first).json["refresh_token"]
    third = refresh(http, client, second).json["refresh_token"]
    refresh(http, client, first, status=400)
    assert error_of(refresh(http, client, third, status=400)) == "invalid_grant"


def test_reuse_revokes_only_its_own_family(http, client, user):
    family = sign_in_tokens(http, client)["refresh_token"]
    other_family = sign_in_tokens(http, client)["refresh_token"]
    refresh(http, client, family)
    refresh(http, client, family, status=400)
    assert refresh(http, client, other_family).json["access_token"]


def test_an_unknown_refresh_token_is_invalid_grant(http, client, user):
    assert error_of(refresh(http, client, "not-a-refresh-token", status=400)) == "invalid_grant"


def test_a_missing_refresh_token_is_invalid_request(http, client, user):
    assert error_of(refresh(http, client, None, status=400)) == "invalid_request"


@pytest.mark.parametrize("public", [True, False], ids=["public", "confidential"])
def test_a_refresh_token_is_bound_to_its_client(http, make_client, client, user, public):
    other = web_client(make_client, name="Other App", public=public)
    token = sign_in_tokens(http, client)["refresh_token"]
    assert error_of(refresh(http, other, token, status=400)) == "invalid_grant"
    assert refresh(http, client, token).json["refresh_token"]


def test_scope_may_narrow(http, client, user, clock):
    token = sign_in_tokens(http, client, scope="openid profile email")["refresh_token"]
    body = refresh(http, client, token, scope="openid email").json
    assert body["scope"] == "openid email"
    claims = verify_with_jwks(http, body["access_token"], client["client_id"], clock=clock)
    assert claims["scope"] == "openid email"
    assert "name" not in http.get(USERINFO_PATH, headers=bearer(body["access_token"])).json


def test_a_narrowed_refresh_keeps_the_original_grant_for_the_next_refresh(http, client, user):
    """RFC 6749 §6: the new refresh token's scope is identical to the one presented."""
    token = sign_in_tokens(http, client, scope="openid profile email")["refresh_token"]
    narrowed = refresh(http, client, token, scope="openid").json
    assert refresh(http, client, narrowed["refresh_token"]).json["scope"] == "openid profile email"


@pytest.mark.parametrize("scope", ["openid profile email", "openid offline_access", "openid admin"],
                         ids=["allowed-but-not-granted", "offline-not-granted", "not-allowed"])
def test_scope_never_widens(http, client, user, scope):
    token = sign_in_tokens(http, client, scope="openid profile")["refresh_token"]
    assert error_of(refresh(http, client, token, status=400, scope=scope)) == "invalid_scope"
    assert refresh(http, client, token).json["scope"] == "openid profile"


@pytest.mark.parametrize("suspend", ["user", "tenant"])
def test_a_suspended_user_or_tenant_cannot_refresh(http, services, client, user, tenant, suspend):
    token = sign_in_tokens(http, client)["refresh_token"]
    set_status(services, suspend, user["id"] if suspend == "user" else tenant["id"], "suspended")
    assert error_of(refresh(http, client, token, status=400)) == "invalid_grant"


def test_a_refresh_token_expires_after_30_days(http, client, user, clock):
    # offline_access, so the SSO session ending first does not hide the token's own expiry.
    token = sign_in_tokens(http, client, scope="openid offline_access")["refresh_token"]
    clock.advance(30 * DAY - 60)
    token = refresh(http, client, token).json["refresh_token"]
    clock.advance(30 * DAY)
    assert error_of(refresh(http, client, token, status=400)) == "invalid_grant"


def test_a_client_specific_refresh_token_lifetime_is_used(http, make_client, user, clock):
    client = web_client(make_client, refresh_token_ttl=3600)
    token = sign_in_tokens(http, client, scope="openid offline_access")["refresh_token"]
    clock.advance(3600)
    assert error_of(refresh(http, client, token, status=400)) == "invalid_grant"


def test_without_offline_access_the_refresh_token_dies_with_the_session_at_logout(http, client, user):
    body = sign_in_tokens(http, client, scope="openid profile")
    logout_now(http, body["id_token"])
    assert error_of(refresh(http, client, body["refresh_token"], status=400)) == "invalid_grant"


def test_without_offline_access_the_refresh_token_dies_when_the_session_times_out(http, client, user, clock):
    token = sign_in_tokens(http, client)["refresh_token"]
    clock.advance(8 * 3600 + 1)
    assert error_of(refresh(http, client, token, status=400)) == "invalid_grant"


def test_with_offline_access_the_refresh_token_survives_logout(http, client, user):
    body = sign_in_tokens(http, client, scope="openid offline_access")
    logout_now(http, body["id_token"])
    refreshed = refresh(http, client, body["refresh_token"]).json
    assert refreshed["access_token"] and refreshed["refresh_token"]
    assert refresh(http, client, refreshed["refresh_token"]).json["access_token"]


def test_with_offline_access_the_refresh_token_outlives_the_session(http, client, user, clock):
    token = sign_in_tokens(http, client, scope="openid offline_access")["refresh_token"]
    clock.advance(8 * DAY)
    assert refresh(http, client, token).json["access_token"]


def test_logout_revokes_only_that_sessions_refresh_tokens(http, app, client, user):
    other_browser = webtest.TestApp(app)
    here = sign_in_tokens(http, client)
    there = sign_in_tokens(other_browser, client)
    logout_now(http, here["id_token"])
    assert error_of(refresh(http, client, here["refresh_token"], status=400)) == "invalid_grant"
    assert refresh(other_browser, client, there["refresh_token"]).json["access_token"]
