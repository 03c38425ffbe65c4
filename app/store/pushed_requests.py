"""The pushed_authorization_request table: parameters pushed to the PAR endpoint, used once (RFC 9126)."""

import json
from dataclasses import dataclass

from app import opaque
from app.store.sql import insert_row

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"


@dataclass(frozen=True)
class PushedRequest:
    id: int
    client_id: str
    parameters: dict
    expires_at: int
    used_at: int | None

    def is_open(self, now):
        return self.used_at is None and now < self.expires_at


def insert(database, *, application_id, parameters, now, ttl):
    """Store the parameters; returns the request_uri (its random part is a secret kept only as a digest)."""
    reference = opaque.new_secret()
    insert_row(database, "pushed_authorization_request", {
        "request_uri_hash": opaque.digest(reference), "application_id": application_id,
        "parameters": json.dumps(parameters), "created_at": int(now), "expires_at": int(now) + ttl})
    return REQUEST_URI_PREFIX + reference


def find(database, request_uri):
    """The pushed request a request_uri names, or None (also for a URI we never issue)."""
    if not request_uri.startswith(REQUEST_URI_PREFIX):
        return None
    row = database.execute_sql(
        "SELECT r.id, a.client_id, r.parameters, r.expires_at, r.used_at FROM pushed_authorization_request r"
        f" JOIN application a ON a.id = r.application_id WHERE r.request_uri_hash = {database.param}",
        (opaque.digest(request_uri[len(REQUEST_URI_PREFIX):]),)).fetchone()
    if row is None:
        return None
    id_, client_id, parameters, expires_at, used_at = row
    return PushedRequest(id_, client_id, json.loads(parameters), expires_at, used_at)


def use(database, request_pk, now):
    """Single use: True only for the one caller that marks the open request used."""
    p = database.param
    return database.execute_sql(
        f"UPDATE pushed_authorization_request SET used_at = {p} WHERE id = {p} AND used_at IS NULL"
        f" AND expires_at > {p}", (int(now), request_pk, int(now))).rowcount == 1


def prune(database, before):
    return database.execute_sql(f"DELETE FROM pushed_authorization_request WHERE expires_at < {database.param}",
                                (before,)).rowcount
