"""Compact JWS (RFC 7515 §7.1) with RS256 and ES256 (RFC 7518 §3.3, §3.4): signing, and verifying our own.

PyJWT's algorithm objects do the signature arithmetic on key objects the key ring parsed once. The
parsing and the claim checks are done here rather than by `jwt.decode`: PyJWT validates base64 one
character at a time in Python, which cost more than the RSA verification. Errors are PyJWT's
exception classes, so callers catch jwt.PyJWTError.
"""

import base64
import json
import re

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from app.base64url import b64url

ALGORITHM = "RS256"  # ID tokens, and access tokens unless OAUTH_ACCESS_TOKEN_ALG=ES256
ALGORITHMS = ("RS256", "ES256")
# How far ahead of our clock an iat or nbf may be: another host's clock may run a little fast.
CLOCK_SKEW = 60

_ALGORITHMS = {alg: jwt.get_algorithm_by_name(alg) for alg in ALGORITHMS}
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_BASE64URL = re.compile(rb"[A-Za-z0-9_-]*")


def encode_header(alg, kid, typ):
    """The first segment of a compact JWS: the JOSE header with alg, kid and typ (RFC 7515 §4.1)."""
    return b64url(json.dumps({"alg": alg, "kid": kid, "typ": typ}, separators=(",", ":")).encode("utf-8"))


def _es256_sign(key, signing_input):
    # RFC 7518 §3.4: R and S as two 32-byte big-endian numbers, not DER. Written out because PyJWT's
    # generic conversion made ES256 signing (the hot path of ES256 access tokens) ~15-30 % slower.
    r, s = decode_dss_signature(key.sign(signing_input, _ECDSA_SHA256))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def sign(encoded_header, claims, key, alg):
    """A compact JWS (RFC 7515 §7.1): the same bytes `jwt.encode` makes with this header and claims."""
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
    signing_input = f"{encoded_header}.{payload}".encode("ascii")
    signature = _es256_sign(key, signing_input) if alg == "ES256" else _ALGORITHMS[alg].sign(signing_input, key)
    return f"{encoded_header}.{payload}.{b64url(signature)}"


def _segments(token):
    """The three base64url segments of a compact JWS, as bytes."""
    if isinstance(token, str):
        try:
            token = token.encode("ascii")
        except UnicodeEncodeError:
            raise jwt.DecodeError("Invalid token: not ASCII") from None
    if not isinstance(token, bytes):
        raise jwt.DecodeError("Invalid token type")
    segments = token.split(b".")
    if len(segments) != 3:
        raise jwt.DecodeError("Not enough segments" if len(segments) < 3 else "Too many segments")
    return segments


def _b64url_decode(segment):
    """Strict base64url (RFC 7515 §2): the alphabet, no padding, and the one canonical encoding."""
    if len(segment) % 4 == 1 or not _BASE64URL.fullmatch(segment):
        raise jwt.DecodeError("Invalid base64url segment")
    decoded = base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != segment:
        raise jwt.DecodeError("Invalid base64url segment")  # stray bits: another spelling of the same bytes
    return decoded


def _json_object(data, name):
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise jwt.DecodeError(f"Invalid {name}: not JSON") from None
    if not isinstance(value, dict):
        raise jwt.DecodeError(f"Invalid {name}: must be a JSON object")
    return value


def parts(token):
    """(header, claims, signing input, signature) of a compact JWS, nothing verified yet (RFC 7515 §5.2)."""
    header_segment, payload_segment, signature_segment = _segments(token)
    return (_json_object(_b64url_decode(header_segment), "header"),
            _json_object(_b64url_decode(payload_segment), "payload"),
            header_segment + b"." + payload_segment, _b64url_decode(signature_segment))


def typ_matches(header, typ):
    """RFC 7515 §4.1.9: typ compares case-insensitively, and "application/" may be left out."""
    value = header.get("typ")
    if not isinstance(value, str):
        return False
    value = value.lower()
    return value == typ or value == "application/" + typ


def verify(token, find_key, *, typ=None):
    """The payload of a JWS signed RS256 or ES256 by the key find_key(kid, alg) returns (RFC 7515 §5.2).

    find_key raises when the kid is not one of ours for that algorithm: 'none', HMAC and algorithm
    confusion fail here. With typ, the header must carry that type.
    """
    header_segment, payload_segment, signature_segment = _segments(token)
    header = _json_object(_b64url_decode(header_segment), "header")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise jwt.InvalidAlgorithmError("unexpected signing algorithm")
    if typ is not None and not typ_matches(header, typ):
        raise jwt.InvalidTokenError("unexpected token type")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise jwt.InvalidSignatureError("unknown signing key")
    key = find_key(kid, alg)
    if not _ALGORITHMS[alg].verify(header_segment + b"." + payload_segment, key, _b64url_decode(signature_segment)):
        raise jwt.InvalidSignatureError("Signature verification failed")
    return _json_object(_b64url_decode(payload_segment), "payload")


def _number(claims, name):
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise jwt.DecodeError(f"{name} must be a number")
    return value


def check_claims(claims, *, issuer, audience, now, verify_exp=True):
    """RFC 7519 §4.1: iss, sub, iat and exp present; iss ours; aud names audience (when given); not expired.

    iat or nbf more than CLOCK_SKEW seconds ahead of now is refused (§4.1.5, §4.1.6): we never sign
    such a token, so one is forged or came from a host with a broken clock.
    """
    for name in ("iss", "sub", "iat", "exp"):
        if claims.get(name) is None:
            raise jwt.MissingRequiredClaimError(name)
    if not isinstance(claims["iss"], str) or claims["iss"] != issuer:
        raise jwt.InvalidIssuerError("Invalid issuer")
    if not isinstance(claims["sub"], str):
        raise jwt.exceptions.InvalidSubjectError("Subject must be a string")
    if "jti" in claims and not isinstance(claims["jti"], str):
        raise jwt.exceptions.InvalidJTIError("JWT ID must be a string")
    if _number(claims, "iat") > now + CLOCK_SKEW:
        raise jwt.ImmatureSignatureError("The token is not yet valid (iat)")
    if "nbf" in claims and _number(claims, "nbf") > now + CLOCK_SKEW:
        raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    if audience is not None:
        audiences = claims.get("aud")
        if not audiences:
            raise jwt.MissingRequiredClaimError("aud")
        if isinstance(audiences, str):
            audiences = [audiences]
        if not isinstance(audiences, list) or any(not isinstance(a, str) for a in audiences):
            raise jwt.InvalidAudienceError("Invalid claim format in token")
        if audience not in audiences:
            raise jwt.InvalidAudienceError("Audience doesn't match")
    # Expiry is checked against the injected clock, not the wall clock.
    if verify_exp and _number(claims, "exp") <= now:
        raise jwt.ExpiredSignatureError("the token has expired")
