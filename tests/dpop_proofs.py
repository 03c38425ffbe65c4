"""DPoP proofs built the way a client builds them (RFC 9449 §4.2), with PyJWT, independently of the app."""

import base64
import hashlib
import json
import secrets

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from tests.helpers import ISSUER, TOKEN_PATH, basic

TOKEN_URL = ISSUER + "/token"
USERINFO_URL = ISSUER + "/userinfo"
_PUBLIC_MEMBERS = {"EC": ("kty", "crv", "x", "y"), "RSA": ("kty", "n", "e"), "OKP": ("kty", "crv", "x")}


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _new_private_key(alg, rsa_bits):
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1()), ECAlgorithm
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits), RSAAlgorithm
    return ed25519.Ed25519PrivateKey.generate(), OKPAlgorithm


class ProofKey:
    """A client's DPoP key pair; proof() signs a proof for one request."""

    def __init__(self, alg="ES256", rsa_bits=2048):
        self.alg = alg
        self.private_key, algorithm = _new_private_key(alg, rsa_bits)
        self.private_jwk = json.loads(algorithm.to_jwk(self.private_key))
        self.public_jwk = {name: self.private_jwk[name] for name in _PUBLIC_MEMBERS[self.private_jwk["kty"]]}

    @property
    def jkt(self):
        """RFC 7638 §3.1: SHA-256 over the required members in lexicographic order, no whitespace."""
        required = {name: value for name, value in self.public_jwk.items()}
        canonical = json.dumps(required, sort_keys=True, separators=(",", ":"))
        return _b64(hashlib.sha256(canonical.encode()).digest())

    def proof(self, at, htu=TOKEN_URL, htm="POST", *, access_token=None, header=None, drop=(), **claims):
        """A proof made at time `at`; header and claims override (None removes a header member), drop removes claims."""
        payload = {"jti": secrets.token_urlsafe(12), "htm": htm, "htu": htu, "iat": int(at)}
        if access_token is not None:
            payload["ath"] = _b64(hashlib.sha256(access_token.encode("ascii")).digest())
        payload.update(claims)
        for name in drop:
            payload.pop(name, None)
        headers = {"typ": "dpop+jwt", "jwk": self.public_jwk, **(header or {})}
        headers = {name: value for name, value in headers.items() if value is not None}
        return jwt.encode(payload, self.private_key, algorithm=self.alg, headers=headers)


def dpop_token_request(http, client, form, proof, status=200):
    """POST /token with a DPoP header, authenticating as tests.helpers.token_request does."""
    form = {name: value for name, value in form.items() if value is not None}
    headers = {"DPoP": proof} if proof is not None else {}
    if client.get("client_secret"):
        headers["Authorization"] = basic(client["client_id"], client["client_secret"])
    else:
        form.setdefault("client_id", client["client_id"])
    return http.post(TOKEN_PATH, form, headers=headers, status=status)


def code_form(authorization):
    """The token request redeeming an authorization (tests.helpers.get_code's result)."""
    return {"grant_type": "authorization_code", "code": authorization.code, "redirect_uri": authorization.redirect_uri,
            "code_verifier": authorization.verifier}


def refused(response, fragment):
    assert response.status_int == 400
    assert response.json["error"] == "invalid_dpop_proof", response.json
    assert fragment in response.json["error_description"]
