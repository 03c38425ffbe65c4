"""POST /oauth/token with the authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC Core §3.1.3)."""

import jwt
import pytest

from tests.conftest import TOKEN_PATH
from tests.helpers import (ISSUER, REDIRECT_URI, USERINFO_PATH, basic, bearer, exchange_code, expected_at_hash,
                           get_code, refresh, set_status, sign_in_tokens, verify_with_jwks, web_client)


@pytest.fixture
def confidential(make_client):
    return web_client(make_client, public=False, name="Confidential App")


def test_the_token_response_carries_access_id_and_refresh_tokens(http, client, user):
    response = exchange_code(http, client, get_code(http, client, scope="openid profile"))
    body = response.json
    assert set(body) == {"access_token", "id_token", "refresh_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "openid profile"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_client_without_the_refresh_token_grant_gets_no_refresh_token(http, make_client, user):
    client = web_client(make_client, grants=["authorization_code"])
    body = sign_in_tokens(http, client)
    assert "refresh_token" not in body
    assert body["access_token"] and body["id_token"]


def test_without_openid_there_is_no_id_token(http, client, user):
    body = sign_in_tokens(http, client, scope="profile")
    assert "id_token" not in body
    assert body["scope"] == "profile"


def test_the_id_token_carries_the_oidc_claims_and_verifies_against_the_jwks(http, client, user, tenant, clock):
    body = sign_in_tokens(http, client, scope="openid profile email", nonce="n-0S6_WzA2Mj")
    claims = verify_with_jwks(http, body["id_token"], client["client_id"], typ="JWT", clock=clock)
    assert claims["iss"] == ISSUER
    assert claims["sub"] == str(user["id"])
    assert claims["aud"] == client["client_id"]
    assert claims["iat"] == int(clock.now())
    assert claims["exp"] == claims["iat"] + 3600
    assert claims["auth_time"] == int(clock.now())
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["sid"]
    assert claims["at_hash"] == expected_at_hash(body["access_token"])
    assert claims["tenant_id"] == str(tenant["id"])


def test_the_id_token_has_no_nonce_when_none_was_sent(http, client, user, clock):
    claims = verify_with_jwks(http, sign_in_tokens(http, client)["id_token"], client["client_id"], clock=clock)
    assert "nonce" not in claims


def test_id_tokens_from_one_session_share_its_sid(http, client, user, clock):
    first = verify_with_jwks(http, sign_in_tokens(http, client)["id_token"], client["client_id"], clock=clock)
    second = verify_with_jwks(http, sign_in_tokens(http, client)["id_token"], client["client_id"], clock=clock)
    assert first["sid"] == second["sid"]
    http.reset()
    third = verify_with_jwks(http, sign_in_tokens(http, client)["id_token"], client["client_id"], clock=clock)
    assert third["sid"] != first["sid"]


def test_the_access_token_is_an_rfc9068_jwt_for_the_user_and_tenant(http, client, user, tenant, clock):
    body = sign_in_tokens(http, client, scope="openid email")
    claims = verify_with_jwks(http, body["access_token"], client["client_id"], typ="at+jwt", clock=clock)
    assert claims["sub"] == str(user["id"])
    assert claims["tenant_id"] == str(tenant["id"])
    assert claims["client_id"] == claims["aud"] == client["client_id"]
    assert claims["scope"] == "openid email"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"]


def test_the_access_token_works_at_userinfo(http, client, user):
    body = sign_in_tokens(http, client, scope="openid email")
    assert http.get(USERINFO_PATH, headers=bearer(body["access_token"])).json["email"] == user["email"]


# --- redirect_uri and PKCE ----------------------------------------------------------------------------

@pytest.mark.parametrize("redirect_uri", ["https://app.example/other", REDIRECT_URI + "/", REDIRECT_URI + "?x=1"])
def test_redirect_uri_must_equal_the_authorized_one(http, make_client, user, redirect_uri):
    client = web_client(make_client, redirect_uris=[REDIRECT_URI, "https://app.example/other"])
    response = exchange_code(http, client, get_code(http, client), status=400, redirect_uri=redirect_uri)
    assert response.json["error"] == "invalid_grant"


def test_a_missing_redirect_uri_is_invalid_request(http, client, user):
    response = exchange_code(http, client, get_code(http, client), status=400, redirect_uri=None)
    assert response.json["error"] == "invalid_request"


def test_a_missing_code_is_invalid_request(http, client, user):
    response = exchange_code(http, client, get_code(http, client), status=400, code=None)
    assert response.json["error"] == "invalid_request"


@pytest.mark.parametrize("code_verifier", [
    "wrong-verifier-" + "x" * 40, None, "short", "x" * 129,
], ids=["wrong", "missing", "too-short", "too-long"])
def test_a_wrong_or_missing_pkce_verifier_is_invalid_grant(http, client, user, code_verifier):
    response = exchange_code(http, client, get_code(http, client), status=400, code_verifier=code_verifier)
    assert response.json["error"] == "invalid_grant"


def test_a_verifier_sent_when_no_challenge_was_is_invalid_grant(http, confidential, user):
    response = exchange_code(http, confidential, get_code(http, confidential, pkce=False), status=400,
                             code_verifier="v" * 50)
    assert response.json["error"] == "invalid_grant"


def test_a_confidential_clients_pkce_challenge_is_enforced(http, confidential, user):
    authorization = get_code(http, confidential)
    assert exchange_code(http, confidential, authorization, code_verifier="v" * 50, status=400).json[
        "error"] == "invalid_grant"


def test_a_confidential_client_with_pkce_and_the_right_verifier_succeeds(http, confidential, user):
    assert exchange_code(http, confidential, get_code(http, confidential)).json["access_token"]


# --- The code itself ---------------------------------------------------------------------------------

def test_a_code_expires_after_60_seconds(http, client, user, clock):
    authorization = get_code(http, client)
    clock.advance(61)
    assert exchange_code(http, client, authorization, status=400).json["error"] == "invalid_grant"


def test_a_code_still_works_just_before_it_expires(http, client, user, clock):
    authorization = get_code(http, client)
    clock.advance(59)
    assert exchange_code(http, client, authorization).json["access_token"]


def test_an_unknown_code_is_invalid_grant(http, client, user):
    authorization = get_code(http, client)
    authorization.code = "not-a-code"
    assert exchange_code(http, client, authorization, status=400).json["error"] == "invalid_grant"


@pytest.mark.parametrize("public", [True, False], ids=["public", "confidential"])
def test_a_code_issued_to_another_client_is_invalid_grant(http, make_client, client, user, public):
    other = web_client(make_client, name="Other App", public=public)
    authorization = get_code(http, client)
    assert exchange_code(http, other, authorization, status=400).json["error"] == "invalid_grant"


def test_a_code_works_once(http, client, user):
    authorization = get_code(http, client)
    exchange_code(http, client, authorization)
    assert exchange_code(http, client, authorization, status=400).json["error"] == "invalid_grant"


def test_reused_code_revokes_tokens_issued_from_it(http, client, user):
    authorization = get_code(http, client)
    first = exchange_code(http, client, authorization).json
    assert exchange_code(http, client, authorization, status=400).json["error"] == "invalid_grant"
    assert refresh(http, client, first["refresh_token"], status=400).json["error"] == "invalid_grant"


def test_reused_code_also_revokes_the_refresh_tokens_rotated_from_it(http, client, user):
    authorization = get_code(http, client)
    first = exchange_code(http, client, authorization).json
    rotated = refresh(http, client, first["refresh_token"]).json
    exchange_code(http, client, authorization, status=400)
    assert refresh(http, client, rotated["refresh_token"], status=400).json["error"] == "invalid_grant"


def test_reusing_one_code_leaves_tokens_from_other_codes_alone(http, client, user):
    reused = get_code(http, client)
    exchange_code(http, client, reused)
    other = exchange_code(http, client, get_code(http, client)).json
    exchange_code(http, client, reused, status=400)
    assert refresh(http, client, other["refresh_token"]).json["access_token"]


# --- Client authentication ----------------------------------------------------------------------------

def test_a_confidential_client_authenticates_with_basic_and_needs_no_pkce(http, confidential, user):
    authorization = get_code(http, confidential, pkce=False)
    response = http.post(TOKEN_PATH, {"grant_type": "authorization_code", "code": authorization.code,
                                      "redirect_uri": REDIRECT_URI},
                         headers={"Authorization": basic(confidential["client_id"], confidential["client_secret"])})
    assert response.json["access_token"] and response.json["refresh_token"]


def test_a_confidential_client_may_send_its_secret_in_the_body(http, confidential, user):
    authorization = get_code(http, confidential, pkce=False)
    response = http.post(TOKEN_PATH, {"grant_type": "authorization_code", "code": authorization.code,
                                      "redirect_uri": REDIRECT_URI, "client_id": confidential["client_id"],
                                      "client_secret": confidential["client_secret"]})
    assert response.json["access_token"]


@pytest.mark.parametrize("credentials", [
    lambda c: {"headers": {"Authorization": basic(c["client_id"], "wrong-secret")}},
    lambda c: {"form": {"client_id": c["client_id"]}},
], ids=["wrong-secret", "no-secret"])
def test_a_confidential_client_without_its_secret_is_invalid_client(http, confidential, user, credentials):
    authorization = get_code(http, confidential, pkce=False)
    arguments = credentials(confidential)
    form = {"grant_type": "authorization_code", "code": authorization.code, "redirect_uri": REDIRECT_URI,
            **arguments.get("form", {})}
    response = http.post(TOKEN_PATH, form, headers=arguments.get("headers", {}), status=401)
    assert response.json["error"] == "invalid_client"
    # RFC 6749 §5.2: the Basic challenge answers a client that tried Basic, and only that one.
    basic_tried = "Authorization" in arguments.get("headers", {})
    assert response.headers.get("WWW-Authenticate", "").startswith("Basic") == basic_tried


def test_a_public_client_authenticates_with_its_client_id_alone(http, client, user):
    authorization = get_code(http, client)
    response = http.post(TOKEN_PATH, {"grant_type": "authorization_code", "code": authorization.code,
                                      "redirect_uri": REDIRECT_URI, "client_id": client["client_id"],
                                      "code_verifier": authorization.verifier})
    assert response.json["access_token"]


def test_a_public_client_presenting_a_secret_is_invalid_client(http, client, user):
    authorization = get_code(http, client)
    response = http.post(TOKEN_PATH, {"grant_type": "authorization_code", "code": authorization.code,
                                      "redirect_uri": REDIRECT_URI, "client_id": client["client_id"],
                                      "client_secret": "guess", "code_verifier": authorization.verifier},
                         status=401)
    assert response.json["error"] == "invalid_client"


def test_a_failed_client_authentication_does_not_burn_the_code(http, confidential, user):
    authorization = get_code(http, confidential, pkce=False)
    http.post(TOKEN_PATH, {"grant_type": "authorization_code", "code": authorization.code,
                           "redirect_uri": REDIRECT_URI},
              headers={"Authorization": basic(confidential["client_id"], "wrong")}, status=401)
    assert exchange_code(http, confidential, authorization).json["access_token"]


# --- The user ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suspend", ["user", "tenant"])
def test_a_user_suspended_between_authorize_and_token_gets_invalid_grant(
        http, services, client, user, tenant, suspend):
    authorization = get_code(http, client)
    set_status(services, suspend, user["id"] if suspend == "user" else tenant["id"], "suspended")
    assert exchange_code(http, client, authorization, status=400).json["error"] == "invalid_grant"


def test_the_tokens_are_rs256_and_only_for_the_client_audience(http, client, user):
    body = sign_in_tokens(http, client)
    for token in (body["access_token"], body["id_token"]):
        assert jwt.get_unverified_header(token)["alg"] == "RS256"
        with pytest.raises(jwt.InvalidAudienceError):
            verify_with_jwks(http, token, "someone-else")
