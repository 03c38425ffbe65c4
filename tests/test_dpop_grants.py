"""DPoP at every grant (RFC 9449 §5, §10): bound access tokens, a public client's bound refresh tokens, dpop_jkt."""

import pytest

from tests.dpop_proofs import ProofKey, code_form, dpop_token_request, refused
from tests.helpers import (AUTHORIZE_PATH, DEVICE_GRANT, authorize_params, b64json, decide_device, exchange_code,
                           get_code, pkce_pair, redirect_query, refresh, start_device, web_client)

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


pytestmark = pytest.mark.usefixtures("whole_second_clock")


@pytest.fixture(scope="module")
def other_key():
    return ProofKey("EdDSA")


def claims_of(token):
    return b64json(token.split(".")[1])


def refresh_form(refresh_token):
    return {"grant_type": "refresh_token", "refresh_token": refresh_token}


def dpop_sign_in(http, client, key, clock, **params):
    """The code flow with a proof at the token endpoint; the token response."""
    return dpop_token_request(http, client, code_form(get_code(http, client, **params)), key.proof(clock.now())).json


# --- authorization_code and refresh_token (a public CLI) -----------------------------------------------


def test_the_code_grant_with_a_proof_binds_the_access_token(http, client, user, clock, dpop_key):
    body = dpop_sign_in(http, client, dpop_key, clock)
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"] == {"jkt": dpop_key.jkt}
    assert "cnf" not in claims_of(body["id_token"])


def test_a_public_clients_refresh_token_is_bound_to_the_proofs_key(http, client, user, clock, dpop_key, other_key):
    refresh_token = dpop_sign_in(http, client, dpop_key, clock, scope="openid offline_access")["refresh_token"]
    refused(dpop_token_request(http, client, refresh_form(refresh_token), None, status=400), "bound to a DPoP key")
    refused(dpop_token_request(http, client, refresh_form(refresh_token), other_key.proof(clock.now()), status=400),
            "bound to a DPoP key")
    # Refusals change nothing: the token was not rotated, so the key holder still refreshes with it.
    body = dpop_token_request(http, client, refresh_form(refresh_token), dpop_key.proof(clock.now())).json
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"] == {"jkt": dpop_key.jkt}
    # The rotated-to token is bound to the same dpop_key.
    refused(dpop_token_request(http, client, refresh_form(body["refresh_token"]), None, status=400), "DPoP key")
    dpop_token_request(http, client, refresh_form(body["refresh_token"]), dpop_key.proof(clock.now()))


def test_a_public_clients_bearer_refresh_token_stays_usable_without_a_proof(http, client, user):
    tokens = exchange_code(http, client, get_code(http, client, scope="openid offline_access")).json
    assert tokens["token_type"] == "Bearer"
    assert refresh(http, client, tokens["refresh_token"]).json["token_type"] == "Bearer"


def test_a_confidential_clients_refresh_token_is_not_bound_to_the_key(http, make_client, user, clock, dpop_key):
    """RFC 9449 §5: client authentication already constrains a confidential client's refresh token."""
    confidential = web_client(make_client, public=False, name="Server-side app")
    tokens = dpop_sign_in(http, confidential, dpop_key, clock, scope="openid offline_access")
    assert tokens["token_type"] == "DPoP"
    again = refresh(http, confidential, tokens["refresh_token"]).json
    assert again["token_type"] == "Bearer"
    assert "cnf" not in claims_of(again["access_token"])


def test_a_refresh_with_a_proof_gets_a_dpop_token_for_a_confidential_client(http, make_client, user, clock, dpop_key):
    confidential = web_client(make_client, public=False, name="Server-side app")
    tokens = exchange_code(http, confidential, get_code(http, confidential, scope="openid offline_access")).json
    form = refresh_form(tokens["refresh_token"])
    body = dpop_token_request(http, confidential, form, dpop_key.proof(clock.now())).json
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"] == {"jkt": dpop_key.jkt}


def test_a_bad_proof_at_the_refresh_grant_is_refused_and_changes_nothing(http, client, user, clock, dpop_key):
    refresh_token = dpop_sign_in(http, client, dpop_key, clock, scope="openid offline_access")["refresh_token"]
    stale = dpop_key.proof(clock.now() - 120)
    refused(dpop_token_request(http, client, refresh_form(refresh_token), stale, status=400), "too old")
    dpop_token_request(http, client, refresh_form(refresh_token), dpop_key.proof(clock.now()))


# --- dpop_jkt at /authorize (RFC 9449 §10) -------------------------------------------------------------


def test_a_code_bound_by_dpop_jkt_needs_a_proof_by_that_key(http, client, user, clock, dpop_key, other_key):
    authorization = get_code(http, client, dpop_jkt=dpop_key.jkt)
    refused(dpop_token_request(http, client, code_form(authorization), None, status=400), "dpop_jkt")
    refused(dpop_token_request(http, client, code_form(authorization), other_key.proof(clock.now()), status=400),
            "dpop_jkt")
    # The refusals did not spend the code.
    body = dpop_token_request(http, client, code_form(authorization), dpop_key.proof(clock.now())).json
    assert claims_of(body["access_token"])["cnf"] == {"jkt": dpop_key.jkt}


def test_dpop_jkt_binds_a_code_issued_at_once_from_a_live_session(http, client, signed_in, clock, dpop_key, other_key):
    """signed_in: the code is issued at once from the SSO session, not from a stored request."""
    authorization = get_code(http, client, dpop_jkt=dpop_key.jkt)
    assert not authorization.login_shown
    refused(dpop_token_request(http, client, code_form(authorization), other_key.proof(clock.now()), status=400),
            "dpop_jkt")


def test_dpop_jkt_is_kept_while_the_person_signs_in(http, client, user, clock, other_key):
    authorization = get_code(http, client, dpop_jkt=other_key.jkt)
    assert authorization.login_shown
    refused(dpop_token_request(http, client, code_form(authorization), None, status=400), "dpop_jkt")


def test_dpop_jkt_is_kept_through_the_consent_page(http, make_client, signed_in, clock, dpop_key, other_key):
    partner = web_client(make_client, name="Partner Notes", require_consent=True)
    verifier, challenge = pkce_pair()
    params = authorize_params(partner, code_challenge=challenge, code_challenge_method="S256", dpop_jkt=dpop_key.jkt)
    consent = http.get(AUTHORIZE_PATH, params, status=303).follow(status=200)
    code = redirect_query(consent.forms[0].submit("action", value="allow", status=303))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": partner["redirect_uris"][0],
            "code_verifier": verifier}
    refused(dpop_token_request(http, partner, form, other_key.proof(clock.now()), status=400), "dpop_jkt")
    dpop_token_request(http, partner, form, dpop_key.proof(clock.now()))


@pytest.mark.parametrize("value", ["short", "x" * 44, "a" * 42 + "+/", "ü" * 43])
def test_a_malformed_dpop_jkt_is_invalid_request_at_the_redirect_uri(http, client, value):
    _, challenge = pkce_pair()
    params = authorize_params(client, code_challenge=challenge, code_challenge_method="S256", dpop_jkt=value)
    query = redirect_query(http.get(AUTHORIZE_PATH, params, status=303))
    assert query["error"] == "invalid_request"
    assert "dpop_jkt" in query["error_description"]


def test_a_client_requiring_dpop_gets_no_bearer_token_from_the_code_grant(http, make_client, user, clock, dpop_key):
    strict = web_client(make_client, name="Strict CLI", require_dpop=True)
    authorization = get_code(http, strict)
    refused(dpop_token_request(http, strict, code_form(authorization), None, status=400), "must send a DPoP proof")
    body = dpop_token_request(http, strict, code_form(authorization), dpop_key.proof(clock.now())).json
    refused(dpop_token_request(http, strict, refresh_form(body["refresh_token"]), None, status=400),
            "must send a DPoP proof")


# --- device_code (a public TV app) ---------------------------------------------------------------------


def test_the_device_grant_with_a_proof_binds_the_access_and_refresh_tokens(http, tv, signed_in, clock, dpop_key):
    device = start_device(http, tv, scope="openid offline_access").json
    form = {"grant_type": DEVICE_GRANT, "device_code": device["device_code"]}
    pending = dpop_token_request(http, tv, form, dpop_key.proof(clock.now()), status=400)
    assert pending.json["error"] == "authorization_pending"
    decide_device(http, device["user_code"], "approve")
    clock.advance(5)
    body = dpop_token_request(http, tv, form, dpop_key.proof(clock.now())).json
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"] == {"jkt": dpop_key.jkt}
    refused(dpop_token_request(http, tv, refresh_form(body["refresh_token"]), None, status=400), "DPoP key")


def test_a_bad_proof_at_the_device_grant_is_refused(http, tv, signed_in, clock, dpop_key):
    device = start_device(http, tv).json
    form = {"grant_type": DEVICE_GRANT, "device_code": device["device_code"]}
    refused(dpop_token_request(http, tv, form, dpop_key.proof(clock.now(), htm="GET"), status=400), "htm")


# --- token exchange (a confidential gateway) -----------------------------------------------------------


def test_token_exchange_with_a_proof_issues_a_dpop_bound_token(http, make_client, clock, dpop_key):
    gateway = make_client(name="Gateway", grants=["client_credentials", TOKEN_EXCHANGE], scopes=["api.read"])
    orders = make_client(name="Orders API", grants=[TOKEN_EXCHANGE])
    subject = dpop_token_request(http, gateway, {"grant_type": "client_credentials"}, None).json["access_token"]
    form = {"grant_type": TOKEN_EXCHANGE, "subject_token": subject, "subject_token_type": ACCESS_TOKEN_TYPE,
            "audience": orders["client_id"]}
    body = dpop_token_request(http, gateway, form, dpop_key.proof(clock.now())).json
    assert body["token_type"] == "DPoP"
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    claims = claims_of(body["access_token"])
    assert claims["cnf"] == {"jkt": dpop_key.jkt}
    assert claims["act"] == {"sub": gateway["client_id"]}
    refused(dpop_token_request(http, gateway, form, "garbage", status=400), "not a JWT")
