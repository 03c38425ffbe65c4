"""DPoP proofs (RFC 9449 §4.3): a JWT signed by the client's key, checked against the request and accepted once."""

import functools
import hashlib
import hmac
import json
import math
from urllib.parse import urlsplit

from app import dpop_jws, jws
from app.base64url import b64url
from app.errors import InvalidDPoPProof
from app.store import used_jti

SIGNING_ALGORITHMS = ("ES256", "RS256", "EdDSA")
PROOF_TYPE = "dpop+jwt"
# RFC 9449 §11.1: a proof is accepted for this long after its iat; its jti is kept as long.
PROOF_WINDOW = 60
# A client's clock may run a little ahead of ours; further ahead is a proof made for later.
CLOCK_SKEW = 5
USED_JTI_KIND = "dpop"
# Larger than any proof with an RSA-4096 key; refusing more keeps parsing cheap.
MAX_PROOF_LENGTH = 8192
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192

_KEY_TYPES = {"ES256": ("EC", "P-256"), "RS256": ("RSA", None), "EdDSA": ("OKP", "Ed25519")}
# RFC 7638 §3.2: the required members of each key type, in lexicographic order.
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
# RFC 7518 §6.2.2, §6.3.2, §6.4 and RFC 8037 §2: members only a private (or symmetric) key has.
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def jwk_thumbprint(jwk):
    """RFC 7638 §3: SHA-256 of the key type's required members, sorted, without spaces; base64url."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def access_token_hash(access_token):
    """RFC 9449 §4.2 ath: base64url of the SHA-256 of the access token's ASCII."""
    return b64url(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def token_type(jkt):
    """RFC 9449 §5.1: DPoP for a token bound to a key, Bearer otherwise."""
    return "DPoP" if jkt else "Bearer"


@functools.lru_cache(maxsize=256)
def _normalized_url(url):
    """RFC 9449 §4.3 item 9: scheme and host lower-cased, default port dropped, no query or fragment."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    if not scheme or not host:
        raise ValueError("not an absolute URL")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def _is_utf8(text):
    # A JSON string may hold a lone surrogate (an escaped \ud800), which has no UTF-8 form to store.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class _Refused(Exception):
    """Why a proof's header is unacceptable; the caller raises its own error class with this text."""


@functools.lru_cache(maxsize=1024)
def _proof_key(header_segment):
    """(alg, key object, jkt) of an acceptable header (§4.3 items 4, 5, 7), or _Refused.

    A client puts the same header (typ, alg, its jwk) on every proof, so each distinct header is
    decoded, checked and turned into a key object once per process; one that is refused is not
    kept. The cache is bounded: the header is the client's to choose.
    """
    try:
        header = dpop_jws.header_of(header_segment)
    except dpop_jws.MalformedJWS:
        raise _Refused("The DPoP proof's header is not valid base64url JSON") from None
    alg = _check_header(header)
    jwk, key = _public_key(header.get("jwk"), alg)
    return alg, key, jwk_thumbprint(jwk)


def _check_header(header):
    """§4.3 items 4-5: typ dpop+jwt and an asymmetric algorithm we support (never none or HS256)."""
    if not jws.typ_matches(header, PROOF_TYPE):
        raise _Refused(f"The DPoP proof's typ must be {PROOF_TYPE}")
    if header.get("alg") not in SIGNING_ALGORITHMS:
        raise _Refused(f"The DPoP proof's alg must be one of {', '.join(SIGNING_ALGORITHMS)}")
    return header["alg"]


def _public_key(jwk, alg):
    """§4.3 item 7: a public key of the type alg needs, nothing private; (its required members, key object)."""
    if not isinstance(jwk, dict):
        raise _Refused("The DPoP proof's header must carry the public key as a jwk object")
    if any(name in jwk for name in _PRIVATE_MEMBERS):
        raise _Refused("The DPoP proof's jwk contains private key material; send the public key only")
    kty, crv = _KEY_TYPES[alg]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        raise _Refused(f"The DPoP proof's jwk must be a {kty}{' ' + crv if crv else ''} key for {alg}")
    members = _THUMBPRINT_MEMBERS[kty]
    if not all(isinstance(jwk.get(name), str) and jwk[name] for name in members):
        raise _Refused(f"The DPoP proof's jwk must have {', '.join(members)} as strings")
    public = {name: jwk[name] for name in members}
    try:
        key = dpop_jws.public_key(kty, public)
    except (ValueError, TypeError):
        raise _Refused(f"The DPoP proof's jwk is not a valid {kty} public key") from None
    if kty == "RSA" and not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
        raise _Refused(f"The DPoP proof's RSA key must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits")
    if kty == "RSA" and key.public_numbers().e.bit_length() > 32:
        raise _Refused("The DPoP proof's RSA public exponent is too large")
    return public, key


class DPoPVerifier:
    """Checks a request's DPoP header and returns the thumbprint of the key that signed it (RFC 9449 §4.3)."""

    def __init__(self, database, clock):
        self._database = database
        self._clock = clock

    def verify(self, value, *, method, url, access_token=None, fail=InvalidDPoPProof):
        """The proof's jkt; anything wrong raises fail(description). url is the public URL the client used."""
        header_segment, payload_segment, signature_segment = self._single_jws(value, fail)
        try:
            alg, key, jkt = _proof_key(header_segment)
        except _Refused as refusal:
            raise fail(str(refusal)) from None
        signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
        try:
            verified = dpop_jws.signature_verifies(alg, key, signing_input, dpop_jws.b64url_decode(signature_segment))
        except dpop_jws.MalformedJWS:
            verified = False
        if not verified:
            raise fail("The DPoP proof's signature does not verify with the jwk in its header")
        try:
            claims = dpop_jws.payload_of(payload_segment)
        except dpop_jws.MalformedJWS:
            raise fail("The DPoP proof's payload is not a base64url JSON object") from None
        self._check_claims(claims, method, url, access_token, fail)
        # Last, so a proof refused for any other reason does not spend its jti; kept while it could be accepted.
        expires_at = math.ceil(claims["iat"]) + PROOF_WINDOW + 1
        if not used_jti.use_once(self._database, USED_JTI_KIND, claims["jti"], expires_at, self._clock.now()):
            raise fail("The DPoP proof has been used before; make a new proof (a new jti) for every request")
        return jkt

    @staticmethod
    def _single_jws(value, fail):
        """§4.3 items 1-2: exactly one DPoP header, holding one compact JWS."""
        if value is None or not value.strip():
            raise fail("A DPoP proof is required in the DPoP header")
        value = value.strip()
        # A compact JWS has no commas, so one means the header was sent more than once and joined.
        if "," in value:
            raise fail("Send exactly one DPoP header")
        parts = dpop_jws.split(value) if len(value) <= MAX_PROOF_LENGTH else None
        if parts is None:
            raise fail("The DPoP header is not a JWT (a compact JWS: three base64url parts)")
        return parts

    def _check_claims(self, claims, method, url, access_token, fail):
        """§4.3 items 3, 8, 9, 11, 12: jti, htm, htu, a fresh iat, and ath with an access token."""
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 256 or not _is_utf8(jti):
            raise fail("The DPoP proof needs a jti: a unique string of at most 256 characters")
        if claims.get("htm") != method:
            raise fail(f"The DPoP proof's htm must be {method}, the method of this request")
        htu = claims.get("htu")
        try:
            matches = isinstance(htu, str) and _normalized_url(htu) == _normalized_url(url)
        except ValueError:
            matches = False
        if not matches:
            raise fail(f"The DPoP proof's htu must be {url}, the URL of this request")
        iat, now = claims.get("iat"), self._clock.now()
        if not _is_number(iat):
            raise fail("The DPoP proof needs iat, the time it was made (seconds since 1970)")
        if iat < now - PROOF_WINDOW:
            raise fail(f"The DPoP proof is too old: iat must be within {PROOF_WINDOW} seconds of now")
        if iat > now + CLOCK_SKEW:
            raise fail("The DPoP proof's iat is in the future; check the client's clock")
        if access_token is not None:
            ath = claims.get("ath")
            if not isinstance(ath, str) or not hmac.compare_digest(ath.encode("utf-8", "replace"),
                                                                   access_token_hash(access_token).encode("ascii")):
                raise fail("The DPoP proof's ath must be the base64url SHA-256 hash of the access token")
