"""The process's key ring: the signing keys parsed once, the JWKS body (RFC 7517 §5), sign and verify.

Key objects are parsed once per process and reused; re-parsing a PEM per token makes signing about a
hundred times slower. Workers read the keys again every key_refresh_interval seconds (a rotation made
elsewhere is published everywhere within it), and re-derive which key signs, which are published and
which verify the moment one of the keys' times passes (app/store/signing_keys.py).
"""

import json
import threading
from dataclasses import replace

import jwt

from app import jws
from app.db import write_transaction
from app.jws import ALGORITHM
from app.keygen import KeyConfigurationError, load_private_key, load_public_key
from app.store import signing_keys


class KeyRing:
    """The process's view of the signing keys, refreshed from the database every few seconds."""

    def __init__(self, database, config, clock, audit):
        self._database = database
        self._config = config
        self._clock = clock
        self._audit = audit
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._keys = []                   # the published and pending keys, as last read
        self._next_change = float("-inf")  # when one of their times next passes
        self._parsed = {}                 # kid -> public key object, parsed once
        self._private = {}                # kid -> private key object (loaded on demand, kept)
        self._verifying = {}              # kid -> (alg, public key): the published keys
        self._signing = {}                # alg -> kid of the key that signs with it now
        self._jwks_body = b'{"keys":[]}'
        self._encoded_headers = {}        # (kid, typ) -> base64url of the JOSE header

    def _refresh(self, force=False):
        now = self._clock.now()
        if not force and now - self._read_at < self._config.key_refresh_interval and now < self._next_change:
            return
        with self._lock:
            if force or now - self._read_at >= self._config.key_refresh_interval:
                self._keys = signing_keys.published_keys(self._database, now)
                self._read_at = now
            self._derive(now)
        self._record_activations(now)

    def _derive(self, now):
        """Which key signs, which are published, and when that next changes, from the keys' times."""
        keys = [key for key in self._keys if key.published(now)]
        signing = {}
        for key in keys:  # oldest first: should two sign at once, the newer wins
            if key.signs(now):
                signing[key.alg] = key.kid
            if key.kid not in self._parsed:
                self._parsed[key.kid] = load_public_key(key.alg, key.public_jwk)
        self._signing = signing
        # A key verifies exactly while it is published: once it has left the JWKS it verifies nothing, so
        # rotation cuts off a leaked key (DESIGN endpoint 1).
        self._verifying = {key.kid: (key.alg, self._parsed[key.kid]) for key in keys}
        # Signing keys first, then newest first: a consumer trying keys in order finds the signer at once.
        ordered = sorted(keys, key=lambda key: (key.kid not in signing.values(), -key.activates_at))
        self._jwks_body = json.dumps({"keys": [key.public_jwk for key in ordered]}).encode("utf-8")
        self._next_change = min((t for key in self._keys for t in key.changes() if t > now), default=float("inf"))

    def _record_activations(self, now):
        """key.activated goes into the audit trail once, by whichever worker first sees the key sign."""
        unrecorded = [key for key in self._keys if key.activation_recorded_at is None and key.signs(now)]
        # Never inside a caller's transaction: a rollback there would undo the mark but not the log line.
        if not unrecorded or self._database.in_transaction():
            return
        for key in unrecorded:
            with write_transaction(self._database):
                if signing_keys.record_activation(self._database, key.kid, now):
                    self._audit.record("key.activated", kid=key.kid, alg=key.alg, activates_at=key.activates_at)
        # Recorded by this worker or another: either way there is nothing left to do for these keys.
        done = {key.kid for key in unrecorded}
        with self._lock:
            self._keys = [replace(key, activation_recorded_at=int(now)) if key.kid in done else key
                          for key in self._keys]

    def _signing_key(self, alg=ALGORITHM):
        self._refresh()
        kid = self._signing.get(alg)
        if kid is None:
            raise KeyConfigurationError(f"no active {alg} signing key; run `python -m app keys rotate --now`")
        key = self._private.get(kid)
        if key is None:
            pem = signing_keys.private_key_pem(self._database, kid)
            key = self._private[kid] = load_private_key(pem, self._config.key_encryption_key)
        return kid, key

    def active_kid(self):
        """The RS256 kid that signs now; loads every signing private key, so a bad key fails early."""
        for alg in self._config.signing_algorithms:
            self._signing_key(alg)
        return self._signing_key()[0]

    def jwks_body(self):
        self._refresh()
        return self._jwks_body

    def sign(self, claims, typ="JWT", alg=ALGORITHM):
        """A compact JWS (RFC 7515 §7.1) by the key that signs with alg now."""
        kid, key = self._signing_key(alg)
        header = self._encoded_headers.get((kid, typ))
        if header is None:
            header = self._encoded_headers[(kid, typ)] = jws.encode_header(alg, kid, typ)
        return jws.sign(header, claims, key, alg)

    def _verifying_key(self, kid, alg):
        """The public key of a published key of ours for this algorithm (RFC 7515 §4.1.4 kid). An unknown
        kid makes the table be read again, at most once a second."""
        self._refresh()
        entry = self._verifying.get(kid)
        if entry is None and self._clock.now() - self._read_at >= 1:
            self._refresh(force=True)
            entry = self._verifying.get(kid)
        if entry is None:
            raise jwt.InvalidSignatureError("unknown signing key")
        key_alg, key = entry
        if key_alg != alg:
            raise jwt.InvalidAlgorithmError("the key does not sign with this algorithm")
        return key

    def decode(self, token, *, audience=None, verify_exp=True, typ=None):
        """The claims of a JWT one of our keys signed (RFC 7519 §7.2); raises jwt.PyJWTError otherwise."""
        claims = jws.verify(token, self._verifying_key, typ=typ)
        jws.check_claims(claims, issuer=self._config.issuer, audience=audience, now=self._clock.now(),
                         verify_exp=verify_exp)
        return claims
