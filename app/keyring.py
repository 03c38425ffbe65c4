"""The process's key ring: the signing keys parsed once, the JWKS body (RFC 7517 §5), sign and verify.

Key objects are parsed once per process and reused; re-parsing a PEM per token makes signing about a
hundred times slower. Workers look for a rotation made elsewhere every key_refresh_interval seconds.
"""

import json
import threading

import jwt

from app import jws
from app.jws import ALGORITHM
from app.keygen import KeyConfigurationError, load_private_key, load_public_key
from app.store import signing_keys


class KeyRing:
    """The process's view of the signing keys, refreshed from the database every few seconds."""

    def __init__(self, database, config, clock):
        self._database = database
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._next_change = float("inf")  # when a key's publication window next ends, by the clock
        self._fingerprint = None
        self._parsed = {}           # kid -> public key object, parsed once
        self._public = {}           # kid -> (alg, public key, publish_until): the keys that verify
        self._private = {}          # kid -> private key object (loaded on demand, kept)
        self._active_kids = {}      # alg -> kid of the key that signs with it now
        self._jwks_body = b'{"keys":[]}'
        self._encoded_headers = {}  # (kid, typ) -> base64url of the JOSE header

    def _refresh(self, force=False):
        now = self._clock.now()
        # Times in the rows are known in advance, so the view also changes exactly when one passes.
        if not force and now - self._checked_at < self._config.key_refresh_interval and now < self._next_change:
            return
        with self._lock:
            keys = signing_keys.all_keys(self._database)
            self._checked_at = now
            # Publication depends on time too, so it is part of what marks a change.
            fingerprint = tuple((key.kid, key.status, key.published(now)) for key in keys)
            if fingerprint == self._fingerprint and not force:
                return
            published, public, active_kids = [], {}, {}
            for key in keys:
                if key.status == "active":
                    active_kids[key.alg] = key.kid
                if key.published(now):
                    published.append(key.public_jwk)
                    if key.kid not in self._parsed:
                        self._parsed[key.kid] = load_public_key(key.alg, key.public_jwk)
                    public[key.kid] = (key.alg, self._parsed[key.kid], key.publish_until)
            self._active_kids, self._public = active_kids, public
            self._next_change = min((until for _, _, until in public.values() if until is not None),
                                    default=float("inf"))
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
            pem = signing_keys.private_key_pem(self._database, kid)
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
        """A compact JWS (RFC 7515 §7.1) by the key that signs with alg now."""
        kid, key = self._active_private_key(alg)
        header = self._encoded_headers.get((kid, typ))
        if header is None:
            header = self._encoded_headers[(kid, typ)] = jws.encode_header(alg, kid, typ)
        return jws.sign(header, claims, key, alg)

    def _verifying_key(self, kid, alg):
        """The public key of a published key of ours for this algorithm (DESIGN endpoint 1): once a key has
        left the JWKS it verifies nothing, so rotation cuts off a leaked key. An unknown kid makes the
        table be read again, at most once a second."""
        self._refresh()
        entry = self._public.get(kid)
        if entry is None and self._clock.now() - self._checked_at >= 1:
            self._refresh(force=True)
            entry = self._public.get(kid)
        if entry is None:
            raise jwt.InvalidSignatureError("unknown signing key")
        key_alg, key, _ = entry
        if key_alg != alg:
            raise jwt.InvalidAlgorithmError("the key does not sign with this algorithm")
        return key

    def decode(self, token, *, audience=None, verify_exp=True, typ=None):
        """The claims of a JWT one of our keys signed (RFC 7519 §7.2); raises jwt.PyJWTError otherwise."""
        claims = jws.verify(token, self._verifying_key, typ=typ)
        jws.check_claims(claims, issuer=self._config.issuer, audience=audience, now=self._clock.now(),
                         verify_exp=verify_exp)
        return claims
