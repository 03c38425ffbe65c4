"""The authorization_request table: /authorize requests waiting for the person to sign in (one use)."""

from dataclasses import dataclass

from app import opaque
from app.store.sql import column_list, insert_row


@dataclass(frozen=True)
class StoredAuthorizationRequest:
    id: int
    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    prompt: str | None
    login_hint: str | None
    max_age: int | None
    created_at: int
    expires_at: int
    completed_at: int | None
    # The session that signed in for this request (on the login page it led to), if one did.
    signed_in_session_id: int | None = None
    dpop_jkt: str | None = None

    @property
    def prompts(self):
        return frozenset((self.prompt or "").split())

    def is_open(self, now):
        return self.completed_at is None and now < self.expires_at


# client_id comes from the application row; every other field is a column of the request.
_COLUMNS = column_list(StoredAuthorizationRequest, "r").replace("r.client_id", "a.client_id")


def insert(database, *, application_id, redirect_uri, scope, state, nonce, code_challenge, code_challenge_method,
           prompts, login_hint, max_age, now, ttl, dpop_jkt=None):
    """Store a request; returns its id (a secret: it is the only handle the browser carries)."""
    request_id = opaque.new_secret()
    insert_row(database, "authorization_request", {
        "request_hash": opaque.digest(request_id), "application_id": application_id, "redirect_uri": redirect_uri,
        "scope": scope, "state": state, "nonce": nonce, "code_challenge": code_challenge,
        "code_challenge_method": code_challenge_method, "prompt": " ".join(sorted(prompts)),
        "login_hint": login_hint, "max_age": max_age, "created_at": int(now), "expires_at": int(now) + ttl,
        "dpop_jkt": dpop_jkt})
    return request_id


def find(database, request_id):
    row = database.execute_sql(
        f"SELECT {_COLUMNS} FROM authorization_request r JOIN application a ON a.id = r.application_id"
        f" WHERE r.request_hash = {database.param}",
        (opaque.digest(request_id or ""),)).fetchone()
    return StoredAuthorizationRequest(*row) if row else None


def open_request_application_name(database, request_id, now):
    """The name of the application an open request belongs to, or None."""
    p = database.param
    row = database.execute_sql(
        "SELECT a.name FROM authorization_request r JOIN application a ON a.id = r.application_id"
        f" WHERE r.request_hash = {p} AND r.completed_at IS NULL AND r.expires_at > {p}",
        (opaque.digest(request_id), int(now))).fetchone()
    return row[0] if row else None


def mark_signed_in(database, request_id, session_pk, now):
    """Record that this session signed in for the open request, so resuming it needs no second sign-in."""
    p = database.param
    database.execute_sql(
        f"UPDATE authorization_request SET signed_in_session_id = {p}"
        f" WHERE request_hash = {p} AND completed_at IS NULL AND expires_at > {p}",
        (session_pk, opaque.digest(request_id), int(now)))


def complete(database, request_pk, now):
    """Single use: True only for the one caller that marks the request completed."""
    p = database.param
    return database.execute_sql(
        f"UPDATE authorization_request SET completed_at = {p} WHERE id = {p} AND completed_at IS NULL",
        (int(now), request_pk)).rowcount == 1


def prune(database, before):
    return database.execute_sql(f"DELETE FROM authorization_request WHERE expires_at < {database.param}",
                                (before,)).rowcount
