"""The device_authorization table (RFC 8628): device and user codes stored hashed, decided once, redeemed once."""

from dataclasses import dataclass

import peewee

from app import opaque
from app.db import relaxed_commit, write_transaction
from app.store.sql import insert_row


@dataclass(frozen=True)
class PendingRow:
    """A pending request as the verification page shows it."""

    id: int
    client_id: str
    application: str
    scope: str
    expires_at: int


@dataclass(frozen=True)
class StoredDeviceAuthorization:
    """A request as the polling device's grant sees it (sid: the approving session's, when it still exists)."""

    id: int
    application_id: int
    status: str
    user_id: int | None
    tenant_id: int | None
    scope: str
    auth_time: int | None
    poll_interval: int
    expires_at: int
    session_id: int | None
    sid: str | None


def insert(database, *, device_code, user_code, application_id, scope, poll_interval, now, ttl):
    """Store a pending request; False when the user code is already taken (the caller draws another)."""
    try:
        with write_transaction(database):
            insert_row(database, "device_authorization", {
                "device_code_hash": opaque.digest(device_code), "user_code_hash": opaque.digest(user_code),
                "application_id": application_id, "scope": scope, "status": "pending",
                "poll_interval": poll_interval, "created_at": int(now), "expires_at": int(now) + ttl})
    except peewee.IntegrityError:
        return False
    return True


def find_pending(database, user_code, now):
    """The pending, unexpired request of an active client with this user code, or None."""
    p = database.param
    row = database.execute_sql(
        "SELECT d.id, a.client_id, a.name, d.scope, d.expires_at FROM device_authorization d"
        " JOIN application a ON a.id = d.application_id"
        f" WHERE d.user_code_hash = {p} AND d.status = 'pending' AND d.expires_at > {p} AND a.status = 'active'",
        (opaque.digest(user_code), int(now))).fetchone()
    return PendingRow(*row) if row else None


def decide(database, device_pk, *, approve, session, now):
    """Approve (binding the session's user and tenant) or deny; True only for the one caller that decides."""
    p = database.param
    return database.execute_sql(
        f"UPDATE device_authorization SET status = {p}, user_id = {p}, tenant_id = {p}, session_id = {p},"
        f" auth_time = {p}, decided_at = {p} WHERE id = {p} AND status = 'pending' AND expires_at > {p}",
        ("approved" if approve else "denied", session.user_id, session.tenant_id, session.id,
         session.auth_time, int(now), device_pk, int(now))).rowcount == 1


def find_by_device_code(database, device_code):
    row = database.execute_sql(
        "SELECT d.id, d.application_id, d.status, d.user_id, d.tenant_id, d.scope, d.auth_time,"
        " d.poll_interval, d.expires_at, d.session_id, s.sid FROM device_authorization d"
        f" LEFT JOIN sso_session s ON s.id = d.session_id WHERE d.device_code_hash = {database.param}",
        (opaque.digest(device_code),)).fetchone()
    return StoredDeviceAuthorization(*row) if row else None


def record_poll(database, device_pk, now, tolerance):
    """Note this poll; False when it came sooner than poll_interval after the last one."""
    p = database.param
    return database.execute_sql(
        f"UPDATE device_authorization SET last_polled_at = {p} WHERE id = {p}"
        f" AND (last_polled_at IS NULL OR last_polled_at <= {p} - poll_interval)"
        f" AND {relaxed_commit(database)}",  # a lost poll time only forgives one poll
        (now, device_pk, now + tolerance)).rowcount == 1


def slow_down(database, device_pk, step, now):
    """RFC 8628 §3.5: the interval grows for good."""
    p = database.param
    database.execute_sql(
        f"UPDATE device_authorization SET poll_interval = poll_interval + {p}, last_polled_at = {p} WHERE id = {p}",
        (step, now, device_pk))


def redeem(database, device_pk, now):
    """Tokens are issued once: True only for the request that flips approved to redeemed."""
    p = database.param
    return database.execute_sql(
        f"UPDATE device_authorization SET status = 'redeemed', redeemed_at = {p} WHERE id = {p}"
        " AND status = 'approved'", (int(now), device_pk)).rowcount == 1


def expired(database, before):
    """(subquery, params) selecting requests that expired before `before` (for pruning)."""
    return f"SELECT id FROM device_authorization WHERE expires_at < {database.param}", (before,)


def detach_from_sessions(database, session_ids_sql, params):
    database.execute_sql(
        f"UPDATE device_authorization SET session_id = NULL WHERE session_id IN ({session_ids_sql})", params)


def prune(database, before):
    return database.execute_sql(f"DELETE FROM device_authorization WHERE expires_at < {database.param}",
                                (before,)).rowcount
