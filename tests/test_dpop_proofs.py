"""DPoP proofs at the token endpoint (RFC 9449 §4.3, §5): each rule, each refusal, through client_credentials."""

import base64
import json

import jwt
import pytest
import webtest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from app.application import create_app
from app.housekeeping import prune
from tests.dpop_proofs import TOKEN_URL, USERINFO_URL, ProofKey, dpop_token_request
from tests.helpers import TOKEN_PATH, b64json, basic, client_credentials, verify_with_jwks

CC = {"grant_type": "client_credentials"}


pytestmark = pytest.mark.usefixtures("whole_second_clock")


def refused(response, fragment):
    """A 400 invalid_dpop_proof whose description says what was wrong."""
    assert response.status_int == 400
    assert response.json["error"] == "invalid_dpop_proof", response.json
    assert fragment in response.json["error_description"], response.json["error_description"]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_a_valid_proof_gets_a_dpop_token_bound_to_the_proofs_key(http, service_client, clock, alg):
    key = ProofKey(alg)
    body = dpop_token_request(http, service_client, CC, key.proof(clock.now())).json
    assert body["token_type"] == "DPoP"
    claims = verify_with_jwks(http, body["access_token"], service_client["client_id"], typ="at+jwt", clock=clock)
    assert claims["cnf"] == {"jkt": key.jkt}


def test_without_a_proof_the_token_is_bearer_and_carries_no_cnf(http, service_client, clock):
    body = client_credentials(http, service_client).json
    assert body["token_type"] == "Bearer"
    assert "cnf" not in b64json(body["access_token"].split(".")[1])


def test_the_discovery_document_lists_the_proof_algorithms(http):
    document = http.get("/api/v1/platform/oauth/.well-known/openid-configuration").json
    assert document["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "EdDSA"]


def test_a_proof_is_accepted_once(http, service_client, clock, dpop_key):
    proof = dpop_key.proof(clock.now())
    dpop_token_request(http, service_client, CC, proof)
    refused(dpop_token_request(http, service_client, CC, proof, status=400), "used before")


def test_a_proof_is_accepted_once_across_workers(http, service_client, clock, dpop_key, config):
    """A second app on the same database stands for another worker or host."""
    other = create_app(config, clock=clock)
    try:
        proof = dpop_key.proof(clock.now())
        dpop_token_request(http, service_client, CC, proof)
        refused(dpop_token_request(webtest.TestApp(other), service_client, CC, proof, status=400), "used before")
    finally:
        other.services.database.close()


def test_a_used_jti_is_remembered_until_its_proof_is_too_old_even_after_db_prune(http, services, service_client,
                                                                                 clock, dpop_key):
    proof = dpop_key.proof(clock.now())
    dpop_token_request(http, service_client, CC, proof)
    clock.advance(60)  # the last second in which the proof is fresh enough
    prune(services.database, clock.now())
    refused(dpop_token_request(http, service_client, CC, proof, status=400), "used before")


def test_a_proof_refused_for_another_reason_does_not_spend_its_jti(http, service_client, clock, dpop_key):
    wrong = dpop_key.proof(clock.now(), htm="PUT", jti="one-jti")
    refused(dpop_token_request(http, service_client, CC, wrong, status=400), "htm")
    dpop_token_request(http, service_client, CC, dpop_key.proof(clock.now(), jti="one-jti"))


@pytest.mark.parametrize("age", [0, 30, 60])
def test_a_proof_up_to_60_seconds_old_is_accepted(http, service_client, clock, dpop_key, age):
    dpop_token_request(http, service_client, CC, dpop_key.proof(clock.now() - age))


def test_a_proof_older_than_60_seconds_is_refused(http, service_client, clock, dpop_key):
    refused(dpop_token_request(http, service_client, CC, dpop_key.proof(clock.now() - 61), status=400), "too old")


def test_a_proof_from_the_future_is_refused(http, service_client, clock, dpop_key):
    refused(dpop_token_request(http, service_client, CC, dpop_key.proof(clock.now() + 30), status=400), "future")


@pytest.mark.parametrize("htu", [TOKEN_URL + "?x=1", TOKEN_URL + "#frag", TOKEN_URL.replace("localhost", "LOCALHOST"),
                                 TOKEN_URL.replace("http://localhost", "HTTP://localhost:80")])
def test_htu_is_compared_without_query_fragment_case_of_host_or_default_port(http, service_client, clock, dpop_key,
                                                                             htu):
    dpop_token_request(http, service_client, CC, dpop_key.proof(clock.now(), htu=htu))


@pytest.mark.parametrize("htu", [USERINFO_URL, TOKEN_URL + "/", TOKEN_URL.replace("http:", "https:"),
                                 TOKEN_URL.replace("localhost", "localhost:8000"),
                                 TOKEN_URL.replace("localhost", "evil.example"), "/api/v1/platform/oauth/token",
                                 "http://[::1", 42])
def test_a_proof_for_another_url_is_refused(http, service_client, clock, dpop_key, htu):
    refused(dpop_token_request(http, service_client, CC, dpop_key.proof(clock.now(), htu=htu), status=400), "htu")


def test_htu_is_the_public_url_from_the_issuer_base_not_the_url_the_proxy_saw(http, service_client, clock, dpop_key):
    """Behind a proxy the request reaches us as http://backend:8000/...; the client signed the public URL."""
    proof = dpop_key.proof(clock.now(), htu="http://backend:8000/api/v1/platform/oauth/token")
    refused(dpop_token_request(http, service_client, CC, proof, status=400), "htu")
    headers = {"DPoP": dpop_key.proof(clock.now()), "Host": "backend:8000",
               "Authorization": basic(service_client["client_id"], service_client["client_secret"])}
    assert http.post(TOKEN_PATH, CC, headers=headers).json["token_type"] == "DPoP"


@pytest.mark.parametrize("htm", ["GET", "post", "PUT"])
def test_a_proof_for_another_method_is_refused(http, service_client, clock, dpop_key, htm):
    refused(dpop_token_request(http, service_client, CC, dpop_key.proof(clock.now(), htm=htm), status=400), "htm")


@pytest.mark.parametrize("claim,fragment", [("jti", "jti"), ("htm", "htm"), ("htu", "htu"), ("iat", "iat")])
def test_a_proof_missing_a_required_claim_is_refused(http, service_client, clock, dpop_key, claim, fragment):
    proof = dpop_key.proof(clock.now(), drop=[claim])
    refused(dpop_token_request(http, service_client, CC, proof, status=400), fragment)


@pytest.mark.parametrize("claims,fragment", [({"jti": 7}, "jti"), ({"jti": "x" * 257}, "jti"),
                                             ({"jti": "\ud800"}, "jti"),
                                             ({"iat": "now"}, "iat"), ({"iat": True}, "iat")])
def test_a_proof_with_an_ill_typed_claim_is_refused(http, service_client, clock, dpop_key, claims, fragment):
    proof = dpop_key.proof(clock.now(), **claims)
    refused(dpop_token_request(http, service_client, CC, proof, status=400), fragment)


@pytest.mark.parametrize("typ", ["application/dpop+jwt", "DPoP+JWT"])
def test_typ_compares_as_a_media_type(http, service_client, clock, dpop_key, typ):
    """RFC 7515 §4.1.9: case-insensitive, and the application/ prefix may be given."""
    dpop_token_request(http, service_client, CC, dpop_key.proof(clock.now(), header={"typ": typ}))


@pytest.mark.parametrize("typ", ["JWT", "at+jwt", "", "dpop", "application/jwt"])
def test_a_proof_whose_typ_is_not_dpop_jwt_is_refused(http, service_client, clock, dpop_key, typ):
    proof = dpop_key.proof(clock.now(), header={"typ": typ})
    refused(dpop_token_request(http, service_client, CC, proof, status=400), "typ")


def _segment(value):
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _payload(clock):
    return {"jti": "j-" + str(clock.now()), "htm": "POST", "htu": TOKEN_URL, "iat": int(clock.now())}


def test_an_hs256_proof_is_refused(http, service_client, clock):
    secret = b"s" * 32
    jwk = {"kty": "oct", "k": base64.urlsafe_b64encode(secret).rstrip(b"=").decode()}
    proof = jwt.encode(_payload(clock), secret, algorithm="HS256", headers={"typ": "dpop+jwt", "jwk": jwk})
    refused(dpop_token_request(http, service_client, CC, proof, status=400), "alg")


def test_an_unsigned_proof_is_refused(http, service_client, clock, dpop_key):
    proof = jwt.encode(_payload(clock), None, algorithm="none", headers={"typ": "dpop+jwt", "jwk": dpop_key.public_jwk})
    refused(dpop_token_request(http, service_client, CC, proof, status=400), "alg")


@pytest.mark.parametrize("alg", ["ES384", "PS256", "RS512"])
def test_an_algorithm_not_advertised_is_refused(http, service_client, clock, dpop_key, alg):
    header = _segment({"typ": "dpop+jwt", "alg": alg, "jwk": dpop_key.public_jwk})
    proof = header + "." + dpop_key.proof(clock.now()).split(".", 1)[1]
    refused(dpop_token_request(http, service_client, CC, proof, status=400), "alg")


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_a_proof_carrying_the_private_key_is_refused(http, service_client, clock, alg):
    key = ProofKey(alg)
    proof = key.proof(clock.now(), header={"jwk": key.private_jwk})
    refused(dpop_token_request(http, service_client, CC, proof, status=400), "private key")


def test_a_proof_signed_by_another_key_than_its_jwk_is_refused(http, service_client, clock, dpop_key):
    proof = ProofKey("ES256").proof(clock.now(), header={"jwk": dpop_key.public_jwk})
    refused(dpop_token_request(http, service_client, CC, proof, status=400), "signature")


def test_a_tampered_proof_is_refused(http, service_client, clock, dpop_key):
    header, _, signature = dpop_key.proof(clock.now()).split(".")
    refused(dpop_token_request(http, service_client, CC, f"{header}.{_segment(_payload(clock))}.{signature}",
                               status=400), "signature")


@pytest.mark.parametrize("jwk,fragment", [
    (None, "jwk"), ("a string", "jwk"), ({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "EC P-256"),
    ({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}, "EC P-256"),
    ({"kty": "EC", "crv": "P-256", "x": "AA"}, "x, y"),
    ({"kty": "EC", "crv": "P-256", "x": 1, "y": 2}, "strings"),
    ({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}, "not a valid EC"),
    ({"kty": "EC", "crv": "P-256", "x": "!!", "y": "??"}, "not a valid EC"),
])
def test_a_proof_whose_jwk_is_missing_or_unusable_is_refused(http, service_client, clock, dpop_key, jwk, fragment):
    proof = dpop_key.proof(clock.now(), header={"jwk": jwk} if jwk is not None else {"jwk": None})
    refused(dpop_token_request(http, service_client, CC, proof, status=400), fragment)


def test_a_proof_by_a_small_rsa_key_is_refused(http, service_client, clock):
    # PyJWT will not sign with a 1024-bit key, so the proof is put together by hand.
    key = ProofKey("RS256", rsa_bits=1024)
    signing_input = (_segment({"typ": "dpop+jwt", "alg": "RS256", "jwk": key.public_jwk}) + "."
                     + _segment(_payload(clock)))
    signature = key.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    proof = signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    refused(dpop_token_request(http, service_client, CC, proof, status=400), "2048")


@pytest.mark.parametrize("value,fragment", [
    ("garbage", "not a JWT"), ("a.b", "not a JWT"), ("a.b.c.d", "not a JWT"), ("ü.b.c", "not a JWT"),
    ("e30.e30.", "typ"), ("bm90IGpzb24.e30.c2ln", "not valid base64url JSON"),
    ("W10.e30.c2ln", "not valid base64url JSON"), (" ", "required"), ("x" * 9000, "not a JWT"),
])
def test_a_dpop_header_that_is_not_a_jwt_is_refused(http, service_client, value, fragment):
    refused(dpop_token_request(http, service_client, CC, value, status=400), fragment)


def test_a_proof_whose_payload_is_not_json_is_refused(http, service_client, dpop_key, clock):
    header = dpop_key.proof(clock.now()).split(".")[0]
    refused(dpop_token_request(http, service_client, CC, header + ".bm90IGpzb24.c2ln", status=400), "signature")


def test_two_dpop_headers_are_refused(http, service_client, clock, dpop_key):
    """WSGI servers join a repeated header with a comma, which a compact JWS never contains."""
    joined = dpop_key.proof(clock.now()) + ", " + dpop_key.proof(clock.now())
    refused(dpop_token_request(http, service_client, CC, joined, status=400), "exactly one")


def test_a_client_created_with_require_dpop_gets_no_bearer_token(http, make_client, clock, dpop_key):
    client = make_client(name="Strict service", scopes=["api.read"], require_dpop=True)
    refused(dpop_token_request(http, client, CC, None, status=400), "must send a DPoP proof")
    assert dpop_token_request(http, client, CC, dpop_key.proof(clock.now())).json["token_type"] == "DPoP"


def test_client_authentication_is_checked_before_the_proof(http, service_client, clock, dpop_key):
    bad = {**service_client, "client_secret": "wrong"}
    assert dpop_token_request(http, bad, CC, "garbage", status=401).json["error"] == "invalid_client"


def _rsa_jwk(n, e):
    def b64int(value):
        return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
    return {"kty": "RSA", "n": b64int(n), "e": b64int(e)}


@pytest.mark.parametrize("n,e,fragment", [((1 << 8200) | 1, 65537, "8192 bits"),
                                          ((1 << 2047) | 1, (1 << 40) + 1, "exponent"),
                                          ((1 << 2047) | 1, 4, "not a valid RSA")])
def test_an_rsa_jwk_too_large_or_unusable_is_refused_before_any_signature_check(http, service_client, clock, n, e,
                                                                                fragment):
    key = ProofKey("RS256")
    proof = key.proof(clock.now(), header={"jwk": _rsa_jwk(n, e)})
    refused(dpop_token_request(http, service_client, CC, proof, status=400), fragment)


def test_an_ed25519_jwk_of_the_wrong_length_is_refused(http, service_client, clock):
    key = ProofKey("EdDSA")
    proof = key.proof(clock.now(), header={"jwk": {**key.public_jwk, "x": key.public_jwk["x"][:-2]}})
    refused(dpop_token_request(http, service_client, CC, proof, status=400), "not a valid OKP")


def test_a_signed_payload_that_is_not_a_json_object_is_refused(http, service_client, dpop_key):
    signing_input = _segment({"typ": "dpop+jwt", "alg": "ES256", "jwk": dpop_key.public_jwk}) + "." + _segment([1, 2])
    der = dpop_key.private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    signature = base64.urlsafe_b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).rstrip(b"=").decode()
    refused(dpop_token_request(http, service_client, CC, signing_input + "." + signature, status=400), "payload")
