"""The sso_session table: a browser's sign-in, found by the SHA-256 digest of its cookie value."""

from dataclasses import dataclass

from app import opaque
from app.store.sql import column_list, insert_row


@dataclass(frozen=True)
class StoredSession:
    id: int
    sid: str
    user_id: int
    tenant_id: int
    auth_time: int
    expires_at: int
    last_seen_at: int
    ended_at: int | None

    def is_live(self, now, idle_ttl):
        """Not ended, within its absolute lifetime, and used within the idle limit."""
        return self.ended_at is None and now < self.expires_at and now < self.last_seen_at + idle_ttl


_COLUMNS = column_list(StoredSession)


def find_by_cookie(database, value):
    """The session a cookie value names, unless it was ended."""
    row = database.execute_sql(
        f"SELECT {_COLUMNS} FROM sso_session WHERE session_hash = {database.param} AND ended_at IS NULL",
        (opaque.digest(value),)).fetchone()
    return StoredSession(*row) if row else None


def find(database, session_pk):
    row = database.execute_sql(f"SELECT {_COLUMNS} FROM sso_session WHERE id = {database.param}",
                               (session_pk,)).fetchone()
    return StoredSession(*row) if row else None


def touch(database, session_pk, now):
    p = database.param
    database.execute_sql(f"UPDATE sso_session SET last_seen_at = {p} WHERE id = {p}", (int(now), session_pk))


def insert(database, *, cookie_value, sid, user_id, tenant_id, now, expires_at):
    """A new session; returns its primary key."""
    now = int(now)
    insert_row(database, "sso_session", {
        "session_hash": opaque.digest(cookie_value), "sid": sid, "user_id": user_id, "tenant_id": tenant_id,
        "auth_time": now, "created_at": now, "last_seen_at": now, "expires_at": expires_at})
    return database.execute_sql(f"SELECT id FROM sso_session WHERE sid = {database.param}", (sid,)).fetchone()[0]


def renew(database, session_pk, *, cookie_value, now, expires_at):
    """The same user signed in again: a new cookie value (no fixation) and a new auth_time."""
    p = database.param
    database.execute_sql(
        f"UPDATE sso_session SET session_hash = {p}, auth_time = {p}, last_seen_at = {p}, expires_at = {p}"
        f" WHERE id = {p}", (opaque.digest(cookie_value), int(now), int(now), expires_at, session_pk))


def end(database, session_pk, now):
    p = database.param
    database.execute_sql(f"UPDATE sso_session SET ended_at = {p} WHERE id = {p} AND ended_at IS NULL",
                         (int(now), session_pk))


def dead(database, before):
    """(subquery, params) selecting sessions that expired or ended before `before` (for pruning)."""
    p = database.param
    return f"SELECT id FROM sso_session WHERE expires_at < {p} OR ended_at < {p}", (before, before)


def prune(database, before):
    p = database.param
    return database.execute_sql(f"DELETE FROM sso_session WHERE expires_at < {p} OR ended_at < {p}",
                                (before, before)).rowcount
