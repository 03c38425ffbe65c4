"""The application table (OAuth clients): the hot lookup by client_id is plain SQL."""

import functools
import json
import secrets
from dataclasses import dataclass

import peewee

from app.db import write_transaction
from app.models import Application, Tenant

_CLIENT_COLUMNS = ("id, client_id, client_secret_hash, name, audience_type, tenant_id, redirect_uris,"
                   " post_logout_redirect_uris, grant_types, allowed_scopes, token_endpoint_auth_method,"
                   " access_token_ttl, refresh_token_ttl, status, jwks, require_consent, require_par, require_dpop,"
                   " refresh_grace_seconds")


@dataclass(frozen=True)
class Client:
    id: int
    client_id: str
    client_secret_hash: str | None
    name: str
    audience_type: str
    tenant_id: int | None
    redirect_uris: tuple
    post_logout_redirect_uris: tuple
    grant_types: tuple
    allowed_scopes: tuple
    token_endpoint_auth_method: str
    access_token_ttl: int | None
    refresh_token_ttl: int | None
    status: str
    jwks: dict | None               # private_key_jwt: the client's registered public keys
    require_consent: bool
    require_par: bool
    require_dpop: bool
    refresh_grace_seconds: int

    @property
    def is_public(self):
        return self.token_endpoint_auth_method == "none"

    @property
    def is_active(self):
        return self.status == "active"

    @property
    def is_global(self):
        return self.audience_type == "GLOBAL"


def find_client(database, client_id):
    """The client with this client_id, or None. Plain SQL: it runs on every token request.

    On PostgreSQL a served app may keep clients in its ClientCache (app/client_cache.py, set on the database by
    create_app), which the database's change notifications empty. Inside a transaction the row is always read:
    the transaction may have changed it, and what it reads may yet roll back.
    """
    cache = getattr(database, "client_cache", None)
    if cache is None or database.in_transaction():
        return _read_client(database, client_id)
    return cache.find(client_id, lambda: _read_client(database, client_id))


def _read_client(database, client_id):
    row = database.execute_sql(
        f"SELECT {_CLIENT_COLUMNS} FROM application WHERE client_id = {database.param}", (client_id,)).fetchone()
    return None if row is None else _client_from_row(tuple(row))


@functools.lru_cache(maxsize=4096)
def _client_from_row(row):
    """The Client for a row's exact values: requests that read the same values share the decoding of its JSON
    columns. Clients are immutable; their jwks dict is shared, so it is read-only."""
    (id_, cid, secret_hash, name, audience, tenant_id, redirects, logout_redirects, grants, scopes,
     method, access_ttl, refresh_ttl, status, jwks, require_consent, require_par, require_dpop, grace) = row
    return Client(id_, cid, secret_hash, name, audience, tenant_id, tuple(json.loads(redirects)),
                  tuple(json.loads(logout_redirects)), tuple(json.loads(grants)), tuple(json.loads(scopes)),
                  method, access_ttl, refresh_ttl, status, json.loads(jwks) if jwks else None, bool(require_consent),
                  bool(require_par), bool(require_dpop), grace)


def insert(database, *, name, audience_type, tenant_id, redirect_uris, post_logout_redirect_uris, grant_types,
           allowed_scopes, token_endpoint_auth_method, client_secret_hash, access_token_ttl, refresh_token_ttl,
           now, jwks=None, require_consent=False, require_par=False, require_dpop=False, refresh_grace_seconds=0):
    """A new active client with a fresh random client_id; returns the stored Client."""
    with write_transaction(database):
        row = Application.create(
            client_id=secrets.token_urlsafe(18), client_secret_hash=client_secret_hash, name=name,
            audience_type=audience_type, tenant=tenant_id, redirect_uris=redirect_uris,
            post_logout_redirect_uris=post_logout_redirect_uris, grant_types=grant_types,
            allowed_scopes=allowed_scopes, token_endpoint_auth_method=token_endpoint_auth_method,
            access_token_ttl=access_token_ttl, refresh_token_ttl=refresh_token_ttl, status="active",
            created_at=int(now), jwks=json.dumps(jwks) if jwks is not None else None,
            require_consent=require_consent, require_par=require_par, require_dpop=require_dpop,
            refresh_grace_seconds=refresh_grace_seconds)
    return find_client(database, row.client_id)


def all_clients(database):
    """(client, tenant slug or None) for every client, oldest first."""
    rows = (Application.select(Application.client_id, Tenant.slug).join(Tenant, peewee.JOIN.LEFT_OUTER)
            .order_by(Application.id).tuples())
    return [(find_client(database, client_id), slug) for client_id, slug in rows]


def longest_access_token_ttl(database):
    """The longest access-token lifetime any client carries (0 when none overrides the default)."""
    return database.execute_sql("SELECT MAX(access_token_ttl) FROM application").fetchone()[0] or 0
