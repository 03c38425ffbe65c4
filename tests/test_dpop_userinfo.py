"""userinfo with a DPoP-bound access token (RFC 9449 §7): `Authorization: DPoP` and a proof carrying ath."""

import pytest

from tests.dpop_proofs import TOKEN_URL, USERINFO_URL, ProofKey, dpop_token_request
from tests.helpers import USERINFO_PATH, bearer, exchange_code, get_code


pytestmark = pytest.mark.usefixtures("whole_second_clock")


@pytest.fixture
def dpop_token(http, client, user, clock, dpop_key):
    authorization = get_code(http, client, scope="openid email")
    form = {"grant_type": "authorization_code", "code": authorization.code,
            "redirect_uri": authorization.redirect_uri, "code_verifier": authorization.verifier}
    return dpop_token_request(http, client, form, dpop_key.proof(clock.now())).json["access_token"]


def dpop_headers(token, proof):
    headers = {"Authorization": "DPoP " + token}
    if proof is not None:
        headers["DPoP"] = proof
    return headers


def refused_proof(response, fragment):
    """RFC 9449 §7.1: 401 with a DPoP challenge naming invalid_dpop_proof."""
    assert response.status_int == 401
    assert response.json["error"] == "invalid_dpop_proof"
    assert fragment in response.json["error_description"], response.json["error_description"]
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('DPoP error="invalid_dpop_proof"'), challenge
    assert 'algs="ES256 RS256 EdDSA"' in challenge


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_dpop_bound_token_with_a_proof_carrying_ath_gets_the_claims(http, dpop_token, user, clock, dpop_key, method):
    proof = dpop_key.proof(clock.now(), USERINFO_URL, method, access_token=dpop_token)
    response = http.request(USERINFO_PATH, method=method, headers=dpop_headers(dpop_token, proof))
    assert response.json["sub"] == str(user["id"])
    assert response.json["email"] == user["email"]


def test_the_dpop_scheme_name_is_case_insensitive(http, dpop_token, clock, dpop_key):
    proof = dpop_key.proof(clock.now(), USERINFO_URL, "GET", access_token=dpop_token)
    http.get(USERINFO_PATH, headers={"Authorization": "dpop " + dpop_token, "DPoP": proof})


def test_a_dpop_bound_token_sent_as_bearer_is_refused(http, dpop_token):
    response = http.get(USERINFO_PATH, headers=bearer(dpop_token), status=401)
    assert response.json["error"] == "invalid_token"
    assert "DPoP-bound" in response.json["error_description"]
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_the_dpop_scheme_without_a_proof_is_refused(http, dpop_token):
    refused_proof(http.get(USERINFO_PATH, headers=dpop_headers(dpop_token, None), status=401), "required")


def test_a_proof_without_ath_is_refused(http, dpop_token, clock, dpop_key):
    proof = dpop_key.proof(clock.now(), USERINFO_URL, "GET")
    refused_proof(http.get(USERINFO_PATH, headers=dpop_headers(dpop_token, proof), status=401), "ath")


def test_a_proof_whose_ath_is_for_another_token_is_refused(http, dpop_token, clock, dpop_key):
    proof = dpop_key.proof(clock.now(), USERINFO_URL, "GET", access_token=dpop_token + "x")
    refused_proof(http.get(USERINFO_PATH, headers=dpop_headers(dpop_token, proof), status=401), "ath")


def test_a_proof_by_another_key_is_refused(http, dpop_token, clock):
    proof = ProofKey("RS256").proof(clock.now(), USERINFO_URL, "GET", access_token=dpop_token)
    refused_proof(http.get(USERINFO_PATH, headers=dpop_headers(dpop_token, proof), status=401), "other than")


@pytest.mark.parametrize("htu,htm,fragment", [(TOKEN_URL, "GET", "htu"), (USERINFO_URL, "POST", "htm")])
def test_a_proof_for_another_request_is_refused(http, dpop_token, clock, dpop_key, htu, htm, fragment):
    proof = dpop_key.proof(clock.now(), htu, htm, access_token=dpop_token)
    refused_proof(http.get(USERINFO_PATH, headers=dpop_headers(dpop_token, proof), status=401), fragment)


def test_a_replayed_proof_is_refused(http, dpop_token, clock, dpop_key):
    proof = dpop_key.proof(clock.now(), USERINFO_URL, "GET", access_token=dpop_token)
    http.get(USERINFO_PATH, headers=dpop_headers(dpop_token, proof))
    refused_proof(http.get(USERINFO_PATH, headers=dpop_headers(dpop_token, proof), status=401), "used before")


@pytest.mark.parametrize("proof", ["garbage", "a.b.c", "x,y"])
def test_a_malformed_proof_is_a_401_never_a_500(http, dpop_token, proof):
    refused_proof(http.get(USERINFO_PATH, headers=dpop_headers(dpop_token, proof), status=401), "DPoP")


def test_a_bearer_token_sent_with_the_dpop_scheme_is_refused(http, client, user, clock, dpop_key):
    token = exchange_code(http, client, get_code(http, client)).json["access_token"]
    proof = dpop_key.proof(clock.now(), USERINFO_URL, "GET", access_token=token)
    response = http.get(USERINFO_PATH, headers=dpop_headers(token, proof), status=401)
    assert response.json["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith('DPoP error="invalid_token"')


def test_a_forged_token_with_a_valid_proof_is_invalid_token(http, dpop_token, clock, dpop_key):
    forged = dpop_token[:-4] + ("AAAA" if not dpop_token.endswith("AAAA") else "BBBB")
    proof = dpop_key.proof(clock.now(), USERINFO_URL, "GET", access_token=forged)
    response = http.get(USERINFO_PATH, headers=dpop_headers(forged, proof), status=401)
    assert response.json["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith('DPoP error="invalid_token"')


def test_another_scheme_is_refused(http, dpop_token):
    response = http.get(USERINFO_PATH, headers={"Authorization": "Token " + dpop_token}, status=401)
    assert response.json["error"] == "invalid_token"
