"""The signing_key table: each key's public JWK, its private PEM (encrypted at rest when configured) and
the times of its lifecycle (DESIGN endpoint 1, staged rotation). All SQL on signing_key lives here.

A key's state follows from three times and the clock, never from a flag someone must flip:
pending (published, not signing yet) -> active (signing) -> retired (published, verifying what it
signed) -> unpublished (verifies nothing). Several workers on several hosts thus agree without
coordinating, and rotation needs no command at activation time.
"""

import json
from dataclasses import dataclass

from app.db import exclusive
from app.jws import ALGORITHM, CLOCK_SKEW
from app.keygen import new_key
from app.store.clients import longest_access_token_ttl

_COLUMNS = "kid, alg, public_jwk, created_at, activates_at, retires_at, publish_until, activation_recorded_at"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    public_jwk: dict
    created_at: int
    activates_at: int              # signs from then on ...
    retires_at: int | None         # ... until then, when its successor takes over
    publish_until: int | None      # in the JWKS, and verifying, until then
    activation_recorded_at: int | None

    def published(self, now):
        """In the JWKS at now; only then does it verify anything."""
        return self.publish_until is None or now < self.publish_until

    def signs(self, now):
        return self.activates_at <= now and (self.retires_at is None or now < self.retires_at)

    def state(self, now):
        if not self.published(now):
            return "unpublished"
        if now < self.activates_at:
            return "pending"
        return "active" if self.signs(now) else "retired"

    def changes(self):
        """The times at which this key's state changes."""
        return [t for t in (self.activates_at, self.retires_at, self.publish_until) if t is not None]


def _key(row):
    kid, alg, public_jwk, *rest = row
    return SigningKey(kid, alg, json.loads(public_jwk), *rest)


def all_keys(database):
    """Every key ever made, oldest first."""
    return [_key(row) for row in database.execute_sql(
        f"SELECT {_COLUMNS} FROM signing_key ORDER BY id").fetchall()]


def published_keys(database, now):
    """The keys in the JWKS at now, and those still to come, oldest first."""
    p = database.param
    return [_key(row) for row in database.execute_sql(
        f"SELECT {_COLUMNS} FROM signing_key WHERE publish_until IS NULL OR publish_until > {p} ORDER BY id",
        (int(now),)).fetchall()]


def private_key_pem(database, kid):
    row = database.execute_sql(
        f"SELECT private_key FROM signing_key WHERE kid = {database.param}", (kid,)).fetchone()
    return row[0] if row else None


def record_activation(database, kid, now):
    """True for exactly one caller across all workers and hosts: the one that records key.activated."""
    p = database.param
    cursor = database.execute_sql(
        f"UPDATE signing_key SET activation_recorded_at = {p} WHERE kid = {p} AND activation_recorded_at IS NULL",
        (int(now), kid))
    return cursor.rowcount == 1


def insert(database, kid, alg, pem, public_jwk, now, activates_at, activation_recorded_at=None):
    """Store a key that signs from activates_at."""
    p = database.param
    database.execute_sql(
        "INSERT INTO signing_key (kid, alg, private_key, public_jwk, created_at, activates_at, activation_recorded_at)"
        f" VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})",
        (kid, alg, pem, json.dumps(public_jwk), int(now), int(activates_at), activation_recorded_at))


def _new_key(database, alg, key_encryption_key, now, activates_at):
    kid, pem, public_jwk = new_key(alg, key_encryption_key)
    insert(database, kid, alg, pem, public_jwk, now, activates_at)
    return kid


def _current_algorithms(database, now):
    """Algorithms with a key that signs now or is due to."""
    p = database.param
    return {row[0] for row in database.execute_sql(
        f"SELECT alg FROM signing_key WHERE retires_at IS NULL OR retires_at > {p}", (int(now),)).fetchall()}


def ensure_active_key(database, config, now):
    """Start: a key for every algorithm in use, signing at once (one only, under racing workers); the first
    new kid."""
    with exclusive(database):
        current = _current_algorithms(database, now)
        created = [_new_key(database, alg, config.key_encryption_key, now, now)
                   for alg in config.signing_algorithms if alg not in current]
        return created[0] if created else None


def rotate_keys(database, config, now, *, immediately=False):
    """A new key for every algorithm in use, published at once and signing after
    config.key_activation_delay (at once with immediately=True, for a suspected leak).

    The key signing now keeps signing until then, and stays published until every token it signed has
    expired. A key still pending from an earlier rotation never signs: the newest rotation wins.
    Returns (new kids, the RS256 (ID-token) key's first; the time they start signing).
    """
    now = int(now)
    activates_at = now if immediately else now + config.key_activation_delay
    p = database.param
    with exclusive(database):
        # CLOCK_SKEW: a worker signs with the old key until its next refresh (5 s) after --now, and a
        # host whose clock runs behind a little longer; their last tokens must still verify.
        lifetime = max(config.longest_token_ttl, int(longest_access_token_ttl(database))) + CLOCK_SKEW
        algorithms = sorted(_current_algorithms(database, now) | set(config.signing_algorithms),
                            key=lambda alg: (alg != ALGORITHM, alg))
        database.execute_sql(
            f"UPDATE signing_key SET retires_at = {p}, publish_until = {p}"
            f" WHERE activates_at <= {p} AND (retires_at IS NULL OR retires_at > {p})",
            (activates_at, activates_at + lifetime, now, now))
        # It signed nothing, so it may leave the JWKS at once.
        database.execute_sql(
            f"UPDATE signing_key SET retires_at = {p}, publish_until = {p}"
            f" WHERE activates_at > {p} AND (publish_until IS NULL OR publish_until > {p})",
            (now, now, now, now))
        kids = [_new_key(database, alg, config.key_encryption_key, now, activates_at) for alg in algorithms]
    return kids, activates_at


def list_keys(database, now):
    """What `keys list` prints: every key's state and the times of its lifecycle, never its private half."""
    return [{"kid": key.kid, "alg": key.alg, "status": key.state(now), "published": key.published(now),
             "created_at": key.created_at, "activates_at": key.activates_at, "retires_at": key.retires_at,
             "publish_until": key.publish_until} for key in all_keys(database)]
