"""The authorization_code table: single-use codes, stored hashed (RFC 6749 §4.1.2)."""

from dataclasses import dataclass

from app import opaque
from app.store.sql import column_list, insert_row


@dataclass(frozen=True)
class StoredCode:
    id: int
    application_id: int
    user_id: int
    tenant_id: int
    session_id: int | None
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    auth_time: int
    expires_at: int
    used_at: int | None
    dpop_jkt: str | None = None     # RFC 9449 §10: redeeming needs a DPoP proof by this key


_COLUMNS = column_list(StoredCode)


def insert(database, *, application_id, user_id, tenant_id, session_id, redirect_uri, scope, nonce, code_challenge,
           code_challenge_method, auth_time, now, ttl, dpop_jkt=None):
    """Store a new code; returns its value (given to the client once)."""
    code = opaque.new_secret()
    insert_row(database, "authorization_code", {
        "code_hash": opaque.digest(code), "application_id": application_id, "user_id": user_id,
        "tenant_id": tenant_id, "session_id": session_id, "redirect_uri": redirect_uri, "scope": scope,
        "nonce": nonce, "code_challenge": code_challenge, "code_challenge_method": code_challenge_method,
        "auth_time": auth_time, "created_at": int(now), "expires_at": int(now) + ttl, "dpop_jkt": dpop_jkt})
    return code


def find(database, code):
    row = database.execute_sql(f"SELECT {_COLUMNS} FROM authorization_code WHERE code_hash = {database.param}",
                               (opaque.digest(code),)).fetchone()
    return StoredCode(*row) if row else None


def consume(database, code_pk, now):
    """Single use: True only for the one request that marks the code used."""
    p = database.param
    return database.execute_sql(f"UPDATE authorization_code SET used_at = {p} WHERE id = {p} AND used_at IS NULL",
                                (int(now), code_pk)).rowcount == 1


def expired(database, before):
    """(subquery, params) selecting the ids of codes that expired before `before` (for pruning)."""
    return f"SELECT id FROM authorization_code WHERE expires_at < {database.param}", (before,)


def detach_from_sessions(database, session_ids_sql, params):
    database.execute_sql(f"UPDATE authorization_code SET session_id = NULL WHERE session_id IN ({session_ids_sql})",
                         params)


def prune(database, before):
    return database.execute_sql(f"DELETE FROM authorization_code WHERE expires_at < {database.param}",
                                (before,)).rowcount
