"""The login_challenge table: which accounts verified a password, while the person picks a tenant."""

import json
from dataclasses import dataclass

from app import opaque
from app.store.sql import insert_row


@dataclass(frozen=True)
class StoredChallenge:
    id: int
    user_ids: list
    next_path: str | None
    expires_at: int
    used_at: int | None

    def is_open(self, now):
        return self.used_at is None and now < self.expires_at


def insert(database, *, user_ids, next_path, now, ttl):
    """Store a challenge; returns its value (a secret the tenant chooser form carries)."""
    token = opaque.new_secret()
    insert_row(database, "login_challenge", {
        "challenge_hash": opaque.digest(token), "user_ids": json.dumps(list(user_ids)), "next_path": next_path,
        "created_at": int(now), "expires_at": int(now) + ttl})
    return token


def find(database, token):
    row = database.execute_sql(
        "SELECT id, user_ids, next_path, expires_at, used_at FROM login_challenge"
        f" WHERE challenge_hash = {database.param}", (opaque.digest(token or ""),)).fetchone()
    if row is None:
        return None
    return StoredChallenge(row[0], json.loads(row[1]), row[2], row[3], row[4])


def consume(database, challenge_pk, now):
    """Single use: True only for the one caller that marks it used."""
    p = database.param
    return database.execute_sql(f"UPDATE login_challenge SET used_at = {p} WHERE id = {p} AND used_at IS NULL",
                                (int(now), challenge_pk)).rowcount == 1


def prune(database, before):
    return database.execute_sql(f"DELETE FROM login_challenge WHERE expires_at < {database.param}",
                                (before,)).rowcount
