"""DPoP proofs for the client_credentials_dpop scenario (RFC 9449 §4.2): one client key, a fresh proof per request.

The proofs are signed here, before the load starts, not inside the load generator: signing on the fly would
take CPU from the same two cores the server runs on (and wrk cannot sign at all). Each proof is still used
exactly once, so the server does per request what it does for a real client: one signature verification and
one single-use write of the jti. A proof is fresh for 60 s after its iat, so a pool outlives any run of up
to about 50 s (the time to sign the pool included).
"""

import base64
import json
import secrets
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

FRESH_FOR_S = 60
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _coordinate(value):
    return _b64(value.to_bytes(32, "big"))


def proof_pool(token_url, count, alg="ES256"):
    """`count` ES256 proofs for POST token_url by one key, each with its own jti; iat is now."""
    if alg != "ES256":
        raise ValueError("the benchmark's client signs ES256 proofs")
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": _coordinate(numbers.x), "y": _coordinate(numbers.y)}
    header = _b64(json.dumps({"typ": "dpop+jwt", "alg": alg, "jwk": jwk}, separators=(",", ":")).encode())
    iat = int(time.time())
    proofs = []
    for _ in range(count):
        claims = {"jti": secrets.token_urlsafe(16), "htm": "POST", "htu": token_url, "iat": iat}
        signing_input = header + "." + _b64(json.dumps(claims, separators=(",", ":")).encode())
        r, s = decode_dss_signature(key.sign(signing_input.encode("ascii"), _ECDSA_SHA256))
        proofs.append(signing_input + "." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big")))
    return proofs
