"""The signing_key table: each key's public JWK, its private PEM (encrypted at rest when configured) and
its lifecycle. All SQL on signing_key lives here."""

import json
from dataclasses import dataclass

from app.db import exclusive
from app.jws import ALGORITHM
from app.keygen import new_key

_COLUMNS = "kid, alg, public_jwk, status, created_at, activated_at, retired_at, publish_until"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    public_jwk: dict
    status: str
    created_at: int
    activated_at: int | None
    retired_at: int | None
    publish_until: int | None

    def published(self, now):
        """In the JWKS: not retired, or retired and some token it signed may still be unexpired."""
        return self.status != "retired" or (self.publish_until is not None and self.publish_until > now)


def _key(row):
    kid, alg, public_jwk, *rest = row
    return SigningKey(kid, alg, json.loads(public_jwk), *rest)


def all_keys(database):
    """Every key, oldest first."""
    return [_key(row) for row in database.execute_sql(
        f"SELECT {_COLUMNS} FROM signing_key ORDER BY id").fetchall()]


def private_key_pem(database, kid):
    row = database.execute_sql(
        f"SELECT private_key FROM signing_key WHERE kid = {database.param}", (kid,)).fetchone()
    return row[0] if row else None


def insert(database, alg, key_encryption_key, now, status):
    """A new key for alg; returns its kid."""
    kid, pem, public_jwk = new_key(alg, key_encryption_key)
    p = database.param
    database.execute_sql(
        "INSERT INTO signing_key (kid, alg, private_key, public_jwk, status, created_at, activated_at)"
        f" VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})",
        (kid, alg, pem, json.dumps(public_jwk), status, int(now), int(now) if status == "active" else None))
    return kid


def _active_algorithms(database):
    return {row[0] for row in database.execute_sql("SELECT alg FROM signing_key WHERE status = 'active'").fetchall()}


def _longest_client_access_token_ttl(database):
    # Read here, inside the rotation's transaction: a client's own TTL can outlast the configured one.
    return database.execute_sql("SELECT MAX(access_token_ttl) FROM application").fetchone()[0] or 0


def ensure_active_key(database, config, now):
    """Start: one active key per algorithm in use (exactly one under racing workers); the first new kid."""
    with exclusive(database):
        active = _active_algorithms(database)
        created = [insert(database, alg, config.key_encryption_key, now, "active")
                   for alg in config.signing_algorithms if alg not in active]
        return created[0] if created else None


def rotate_keys(database, config, now):
    """A new active key for every algorithm in use; the old ones stay published until their tokens expire.

    Returns the new kids, the RS256 (ID-token) key's first.
    """
    p = database.param
    with exclusive(database):
        publish_until = int(now) + max(config.longest_token_ttl, int(_longest_client_access_token_ttl(database)))
        algorithms = sorted(_active_algorithms(database) | set(config.signing_algorithms),
                            key=lambda alg: (alg != ALGORITHM, alg))
        database.execute_sql(
            f"UPDATE signing_key SET status = 'retired', retired_at = {p}, publish_until = {p}"
            " WHERE status = 'active'", (int(now), publish_until))
        return [insert(database, alg, config.key_encryption_key, now, "active") for alg in algorithms]


def list_keys(database, now):
    """What `keys list` prints: every key's lifecycle, never its private half."""
    return [{"kid": key.kid, "alg": key.alg, "status": key.status, "created_at": key.created_at,
             "activated_at": key.activated_at, "retired_at": key.retired_at, "publish_until": key.publish_until,
             "published": key.published(now)} for key in all_keys(database)]
