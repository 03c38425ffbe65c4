"""The refresh_token table: stored hashed, rotated on every use, revoked by family, code or session."""

import secrets
from dataclasses import dataclass

from app import opaque

_COLUMNS = ("id, family_id, application_id, user_id, tenant_id, session_id, authorization_code_id, scope,"
            " offline, auth_time, created_at, expires_at, rotated_at, revoked_at, jkt")


@dataclass(frozen=True)
class RefreshTokenRecord:
    id: int
    family_id: str
    application_id: int
    user_id: int
    tenant_id: int
    session_id: int | None
    authorization_code_id: int | None
    scope: str
    offline: bool
    auth_time: int | None
    created_at: int
    expires_at: int
    rotated_at: int | None
    revoked_at: int | None
    jkt: str | None = None          # RFC 9449 §5: the DPoP key a public client's token is bound to


def new_family_id():
    return secrets.token_urlsafe(16)


def create(database, *, now, ttl, application_id, user_id, tenant_id, session_id, scope, offline, auth_time,
           family_id=None, authorization_code_id=None, device_authorization_id=None, jkt=None, parent_id=None):
    """Store a new refresh token and return its value (shown to the client once).

    parent_id is the token this one replaces (a rotation), so the grace window can tell the
    immediately previous token of a family from older ones.
    """
    token = opaque.new_secret()
    p = database.param
    database.execute_sql(
        "INSERT INTO refresh_token (token_hash, family_id, application_id, user_id, tenant_id, session_id,"
        " authorization_code_id, device_authorization_id, scope, offline, auth_time, created_at, expires_at, jkt,"
        f" parent_id) VALUES ({', '.join([p] * 15)})",
        (opaque.digest(token), family_id or new_family_id(), application_id, user_id, tenant_id,
         session_id, authorization_code_id, device_authorization_id, scope, bool(offline), auth_time, int(now),
         int(now) + ttl, jkt, parent_id))
    return token


def find(database, token):
    row = database.execute_sql(
        f"SELECT {_COLUMNS} FROM refresh_token WHERE token_hash = {database.param}",
        (opaque.digest(token),)).fetchone()
    if row is None:
        return None
    values = list(row)
    values[8] = bool(values[8])
    return RefreshTokenRecord(*values)


def mark_rotated(database, token_id, now):
    """Atomically retire a token; False when another request already used or revoked it."""
    p = database.param
    cursor = database.execute_sql(
        f"UPDATE refresh_token SET rotated_at = {p} WHERE id = {p} AND rotated_at IS NULL AND revoked_at IS NULL",
        (int(now), token_id))
    return cursor.rowcount == 1


def retire_successor(database, family_id, parent_id, now):
    """Grace window: retire the live token that replaced parent_id; False when there is none (any more).

    Only a token whose successor is still the family's live token is the immediately previous one.
    Read through the family index: the path is rare and a family holds few rows.
    """
    p = database.param
    cursor = database.execute_sql(
        f"UPDATE refresh_token SET rotated_at = {p} WHERE family_id = {p} AND parent_id = {p}"
        " AND rotated_at IS NULL AND revoked_at IS NULL", (int(now), family_id, parent_id))
    return cursor.rowcount == 1


def live_token_parent(database, family_id):
    """The parent_id of the family's live token (a family has at most one): whom the last rotation replaced."""
    p = database.param
    row = database.execute_sql(
        f"SELECT parent_id FROM refresh_token WHERE family_id = {p} AND rotated_at IS NULL AND revoked_at IS NULL",
        (family_id,)).fetchone()
    return row[0] if row else None


def revoke_family(database, family_id, now):
    """Revoke every token of the family; returns how many were still unrevoked."""
    p = database.param
    return database.execute_sql(
        f"UPDATE refresh_token SET revoked_at = {p} WHERE family_id = {p} AND revoked_at IS NULL",
        (int(now), family_id)).rowcount


def families_issued_from_code(database, code_id):
    p = database.param
    return [row[0] for row in database.execute_sql(
        f"SELECT DISTINCT family_id FROM refresh_token WHERE authorization_code_id = {p}", (code_id,)).fetchall()]


def session_bound_grants(database, session_id):
    """Logout: (family_id, client_id, client's access-token TTL or None) of each grant bound to the session."""
    p = database.param
    return database.execute_sql(
        "SELECT DISTINCT r.family_id, a.client_id, a.access_token_ttl FROM refresh_token r"
        f" JOIN application a ON a.id = r.application_id WHERE r.session_id = {p} AND r.revoked_at IS NULL"
        f" AND r.offline = {p}", (session_id, False)).fetchall()


def revoke_session_bound(database, session_id, now):
    """Logout: the tokens bound to the session, not the offline ones."""
    p = database.param
    database.execute_sql(
        f"UPDATE refresh_token SET revoked_at = {p} WHERE session_id = {p} AND revoked_at IS NULL"
        f" AND offline = {p}", (int(now), session_id, False))


def prune(database, before):
    """Delete tokens that expired, or were revoked, before `before`; returns how many.

    Rotated tokens are kept until they expire: a rotated token coming back must still be
    recognised, so its family can be revoked. Two statements, so each uses its index (an OR would
    scan the table).
    """
    p = database.param
    deleted = database.execute_sql(f"DELETE FROM refresh_token WHERE expires_at < {p}", (before,)).rowcount
    return deleted + database.execute_sql(f"DELETE FROM refresh_token WHERE revoked_at < {p}", (before,)).rowcount


def detach_from_codes(database, code_ids_sql, params):
    """Before the codes are deleted: the surviving tokens keep their family, not the link to the code."""
    database.execute_sql(f"UPDATE refresh_token SET authorization_code_id = NULL"
                         f" WHERE authorization_code_id IN ({code_ids_sql})", params)


def detach_from_device_authorizations(database, device_ids_sql, params):
    database.execute_sql(f"UPDATE refresh_token SET device_authorization_id = NULL"
                         f" WHERE device_authorization_id IN ({device_ids_sql})", params)


def drop_with_sessions(database, session_ids_sql, params):
    """Before sessions are deleted: their session-bound tokens go with them; offline tokens only lose the link.

    A session-bound token whose session row is gone must never look like an offline one, or pruning
    would bring it back to life (it would refresh again). Returns how many tokens were deleted.
    """
    p = database.param
    deleted = database.execute_sql(
        f"DELETE FROM refresh_token WHERE offline = {p} AND session_id IN ({session_ids_sql})",
        (False, *params)).rowcount
    database.execute_sql(f"UPDATE refresh_token SET session_id = NULL WHERE session_id IN ({session_ids_sql})",
                         params)
    return deleted
