"""The JWS side of a DPoP proof (RFC 7515 §5.2): its parts, the public key its header carries, its signature.

Verified with cryptography directly: PyJWT's decode re-checks every character of the token in Python,
which cost more than the signature itself on the token endpoint's hot path. Key objects are kept per
distinct proof header by app/dpop.py.
"""

import binascii
import json
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

# The signature may be empty here, so an unsigned (alg none) proof is refused for its alg, not its shape.
_COMPACT_JWS = re.compile(r"^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$")
_SHA256 = hashes.SHA256()
_PKCS1V15 = padding.PKCS1v15()
_ECDSA_SHA256 = ec.ECDSA(_SHA256)
_TO_STANDARD_ALPHABET = bytes.maketrans(b"-_", b"+/")


class MalformedJWS(ValueError):
    """Not a compact JWS whose header and payload are base64url JSON objects."""


def b64url_decode(segment):
    # split() let only the base64url alphabet through; binascii directly skips base64's own layers.
    try:
        standard = segment.encode("ascii").translate(_TO_STANDARD_ALPHABET)
        return binascii.a2b_base64(standard + b"=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise MalformedJWS("not base64url") from None


def _json_object(segment):
    try:
        # RFC 7515 §5.2 step 4: the header and payload are UTF-8 JSON (json.loads of bytes would guess).
        value = json.loads(b64url_decode(segment).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedJWS("not JSON") from None
    if not isinstance(value, dict):
        raise MalformedJWS("not a JSON object")
    return value


def split(token):
    """(header segment, payload segment, signature segment) of a compact JWS, or None when it is not one."""
    match = _COMPACT_JWS.match(token)
    return match.groups() if match else None


def header_of(header_segment):
    return _json_object(header_segment)


def payload_of(payload_segment):
    return _json_object(payload_segment)


def _int(segment):
    return int.from_bytes(b64url_decode(segment), "big")


def public_key(kty, jwk):
    """A cryptography public key from a JWK's required members; ValueError if unusable."""
    if kty == "EC":
        x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
        if len(x) != 32 or len(y) != 32:
            raise ValueError("a P-256 coordinate is 32 bytes")
        return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                             ec.SECP256R1()).public_key()
    if kty == "RSA":
        return rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
    return Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))


def signature_verifies(alg, key, signing_input, signature):
    """RFC 7518 §3.3 (RS256), §3.4 (ES256: R || S, 32 bytes each) and RFC 8037 §3.1 (EdDSA)."""
    try:
        if alg == "ES256":
            if len(signature) != 64:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            key.verify(der, signing_input, _ECDSA_SHA256)
        elif alg == "RS256":
            key.verify(signature, signing_input, _PKCS1V15, _SHA256)
        else:
            key.verify(signature, signing_input)
    except InvalidSignature:
        return False
    return True
