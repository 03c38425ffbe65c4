"""Signing keys: creation, rotation, the published JWKS, and signing/verifying JWTs.

Key objects are parsed once per process and reused; re-parsing a PEM per token makes signing
about a hundred times slower. Workers look for a rotation made elsewhere every few seconds.
"""

import base64
import hashlib
import json
import re
import threading

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from app.db import exclusive

ALGORITHM = "RS256"  # ID tokens, and access tokens unless OAUTH_ACCESS_TOKEN_ALG=ES256
ALGORITHMS = ("RS256", "ES256")
_PKCS1V15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}


class KeyConfigurationError(Exception):
    """A stored key cannot be used with the configured key-encryption key."""


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(public_jwk):
    """RFC 7638 JWK thumbprint (SHA-256): the key type's required members, sorted, no spaces."""
    members = _THUMBPRINT_MEMBERS[public_jwk["kty"]]
    canonical = json.dumps({k: public_jwk[k] for k in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def new_rsa_key(key_encryption_key):
    """A fresh RSA-2048 key: (kid, private PEM, public JWK)."""
    return new_key("RS256", key_encryption_key)


def new_key(alg, key_encryption_key):
    """A fresh key for RS256 (RSA-2048) or ES256 (P-256): (kid, private PEM, public JWK)."""
    if alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
        public_jwk = {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
        public_jwk = {"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]}
    else:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    kid = thumbprint(public_jwk)
    public_jwk.update({"kid": kid, "use": "sig", "alg": alg})
    encryption = (serialization.BestAvailableEncryption(key_encryption_key.encode("utf-8"))
                  if key_encryption_key else serialization.NoEncryption())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    return kid, pem.decode("ascii"), public_jwk


def load_private_key(pem, key_encryption_key):
    encrypted = "ENCRYPTED" in pem.split("\n", 1)[0]
    if encrypted and not key_encryption_key:
        raise KeyConfigurationError(
            "a signing key is encrypted at rest but OAUTH_KEY_ENCRYPTION_KEY is not set")
    password = key_encryption_key.encode("utf-8") if encrypted else None
    try:
        return serialization.load_pem_private_key(pem.encode("ascii"), password=password)
    except ValueError:
        raise KeyConfigurationError(
            "a signing key cannot be decrypted with the configured OAUTH_KEY_ENCRYPTION_KEY") from None


def _insert_key(database, config, now, status, alg=ALGORITHM):
    kid, pem, public_jwk = new_key(alg, config.key_encryption_key)
    p = database.param
    database.execute_sql(
        "INSERT INTO signing_key (kid, alg, private_key, public_jwk, status, created_at, activated_at)"
        f" VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})",
        (kid, alg, pem, json.dumps(public_jwk), status, int(now), int(now) if status == "active" else None))
    return kid


def _active_algorithms(database):
    return {row[0] for row in database.execute_sql("SELECT alg FROM signing_key WHERE status = 'active'").fetchall()}


def ensure_active_key(database, config, now):
    """Start: one active key per algorithm in use (exactly one under racing workers); the first new kid."""
    with exclusive(database):
        active = _active_algorithms(database)
        created = [_insert_key(database, config, now, "active", alg)
                   for alg in config.signing_algorithms if alg not in active]
        return created[0] if created else None


def rotate_keys(database, config, now):
    """A new active key for every algorithm in use; the old ones stay published until their tokens expire.

    Returns the new kids, the RS256 (ID-token) key's first.
    """
    p = database.param
    with exclusive(database):
        longest_client_ttl = database.execute_sql(
            "SELECT MAX(access_token_ttl) FROM application").fetchone()[0] or 0
        publish_until = int(now) + max(config.longest_token_ttl, int(longest_client_ttl))
        algorithms = sorted(_active_algorithms(database) | set(config.signing_algorithms),
                            key=lambda alg: (alg != ALGORITHM, alg))
        database.execute_sql(
            f"UPDATE signing_key SET status = 'retired', retired_at = {p}, publish_until = {p}"
            " WHERE status = 'active'", (int(now), publish_until))
        return [_insert_key(database, config, now, "active", alg) for alg in algorithms]


def list_keys(database, now):
    rows = database.execute_sql(
        "SELECT kid, alg, status, created_at, activated_at, retired_at, publish_until"
        " FROM signing_key ORDER BY id").fetchall()
    return [{"kid": kid, "alg": alg, "status": status, "created_at": created, "activated_at": activated,
             "retired_at": retired, "publish_until": until,
             "published": status != "retired" or (until is not None and until > now)}
            for kid, alg, status, created, activated, retired, until in rows]


_BASE64URL = re.compile(rb"[A-Za-z0-9_-]*")


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


def _verify(key, alg, signature, signing_input):
    try:
        if alg == "RS256":
            key.verify(signature, signing_input, _PKCS1V15, _SHA256)
        else:
            if len(signature) != 64:
                raise InvalidSignature()
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            key.verify(der, signing_input, _ECDSA_SHA256)
    except InvalidSignature:
        raise jwt.InvalidSignatureError("Signature verification failed") from None


def _json_object(data, name):
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise jwt.DecodeError(f"Invalid {name}: not JSON") from None
    if not isinstance(value, dict):
        raise jwt.DecodeError(f"Invalid {name}: must be a JSON object")
    return value


def _check_claims(claims, issuer, audience):
    """The claim checks of jwt.decode with require=[iss, sub, iat, exp], issuer, and audience when given."""
    for name in ("iss", "sub", "iat", "exp"):
        if claims.get(name) is None:
            raise jwt.MissingRequiredClaimError(name)
    if not isinstance(claims["iss"], str) or claims["iss"] != issuer:
        raise jwt.InvalidIssuerError("Invalid issuer")
    if not isinstance(claims["sub"], str):
        raise jwt.exceptions.InvalidSubjectError("Subject must be a string")
    if "jti" in claims and not isinstance(claims["jti"], str):
        raise jwt.exceptions.InvalidJTIError("JWT ID must be a string")
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


class KeyRing:
    """The process's view of the signing keys, refreshed from the database every few seconds."""

    def __init__(self, database, config, clock):
        self._database = database
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._fingerprint = None
        self._public = {}           # kid -> (alg, public key object), for every key we know
        self._private = {}          # kid -> private key object (loaded on demand, kept)
        self._active_kids = {}      # alg -> kid of the key that signs with it now
        self._jwks_body = b'{"keys":[]}'
        self._encoded_headers = {}  # (kid, typ) -> base64url of the JOSE header

    def _refresh(self, force=False):
        now = self._clock.now()
        if not force and now - self._checked_at < self._config.key_refresh_interval:
            return
        with self._lock:
            rows = self._database.execute_sql(
                "SELECT kid, status, publish_until, public_jwk, alg FROM signing_key ORDER BY id").fetchall()
            self._checked_at = now
            # Publication depends on time too, so it is part of what marks a change.
            fingerprint = tuple((kid, status, status != "retired" or (until is not None and until > now))
                                for kid, status, until, _, _ in rows)
            if fingerprint == self._fingerprint and not force:
                return
            published, active_kids = [], {}
            for (kid, status, is_published), (_, _, _, public_jwk, alg) in zip(fingerprint, rows):
                jwk = json.loads(public_jwk)
                if kid not in self._public:
                    loader = RSAAlgorithm if alg == "RS256" else ECAlgorithm
                    self._public[kid] = (alg, loader.from_jwk(jwk))
                if status == "active":
                    active_kids[alg] = kid
                if is_published:
                    published.append(jwk)
            self._active_kids = active_kids
            # Newest first: a JWKS consumer trying keys in order finds the signing key at once.
            published.reverse()
            self._jwks_body = json.dumps({"keys": published}).encode("utf-8")
            self._fingerprint = fingerprint

    def _active_private_key(self, alg=ALGORITHM):
        self._refresh()
        kid = self._active_kids.get(alg)
        if kid is None:
            raise KeyConfigurationError(f"no active {alg} signing key; run `python -m app keys rotate`")
        key = self._private.get(kid)
        if key is None:
            pem = self._database.execute_sql(
                f"SELECT private_key FROM signing_key WHERE kid = {self._database.param}", (kid,)).fetchone()[0]
            key = self._private[kid] = load_private_key(pem, self._config.key_encryption_key)
        return kid, key

    def active_kid(self):
        """The RS256 kid that signs now; loads every active private key, so a bad key fails early."""
        for alg in self._config.signing_algorithms:
            self._active_private_key(alg)
        return self._active_private_key()[0]

    def jwks_body(self):
        self._refresh()
        return self._jwks_body

    def sign(self, claims, typ="JWT", alg=ALGORITHM):
        """A compact JWS (RFC 7515 §7.1): the same bytes PyJWT would produce, without its generic path."""
        kid, key = self._active_private_key(alg)
        header = self._encoded_headers.get((kid, typ))
        if header is None:
            header = self._encoded_headers[(kid, typ)] = _b64url(json.dumps(
                {"alg": alg, "kid": kid, "typ": typ}, separators=(",", ":")).encode("utf-8")).encode("ascii")
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode("utf-8")).encode("ascii")
        signing_input = header + b"." + payload
        if alg == "RS256":
            signature = key.sign(signing_input, _PKCS1V15, _SHA256)
        else:
            # RFC 7518 §3.4: R and S as two 32-byte big-endian numbers, not DER.
            r, s = decode_dss_signature(key.sign(signing_input, _ECDSA_SHA256))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return (signing_input + b"." + _b64url(signature).encode("ascii")).decode("ascii")

    def _public_entry(self, kid):
        """(alg, public key) for a kid, retired keys included; None when unknown.

        An unknown kid makes the table be read again, at most once a second."""
        self._refresh()
        entry = self._public.get(kid)
        if entry is None and self._clock.now() - self._checked_at >= 1:
            self._refresh(force=True)
            entry = self._public.get(kid)
        return entry

    def decode(self, token, *, audience=None, verify_exp=True, typ=None):
        """Verify a JWT we signed and return its claims.

        Only RS256 and ES256 with one of our keys of that same algorithm: 'none', HMAC and algorithm
        confusion fail.

        The checks are PyJWT's (`jwt.decode` with the options this service used), done directly: PyJWT
        validates base64 one character at a time in Python, which cost more than the RSA verification.
        Errors are PyJWT's exception classes, so callers catch jwt.PyJWTError as before.
        """
        header_segment, payload_segment, signature_segment = _segments(token)
        header = _json_object(_b64url_decode(header_segment), "header")
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise jwt.InvalidAlgorithmError("unexpected signing algorithm")
        if typ is not None and str(header.get("typ", "")).lower() not in (typ, "application/" + typ):
            raise jwt.InvalidTokenError("unexpected token type")
        kid = header.get("kid")
        entry = self._public_entry(kid) if isinstance(kid, str) else None
        if entry is None:
            raise jwt.InvalidSignatureError("unknown signing key")
        key_alg, key = entry
        if key_alg != alg:
            raise jwt.InvalidAlgorithmError("the key does not sign with this algorithm")
        _verify(key, alg, _b64url_decode(signature_segment), header_segment + b"." + payload_segment)
        claims = _json_object(_b64url_decode(payload_segment), "payload")
        _check_claims(claims, self._config.issuer, audience)
        if verify_exp:
            # Expiry is checked against the injected clock, not the wall clock.
            exp = claims["exp"]
            if isinstance(exp, bool) or not isinstance(exp, (int, float)) or exp <= self._clock.now():
                raise jwt.ExpiredSignatureError("the token has expired")
        return claims
