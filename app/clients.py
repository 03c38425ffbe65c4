"""OAuth clients (the application table): lookup and client authentication (RFC 6749 §2.3)."""

import base64
import binascii
import json
from dataclasses import dataclass
from urllib.parse import unquote_plus

from app import opaque
from app.errors import InvalidClient, InvalidRequest

SECRET_METHODS = ("client_secret_basic", "client_secret_post")

_CLIENT_COLUMNS = ("id, client_id, client_secret_hash, name, audience_type, tenant_id, redirect_uris,"
                   " post_logout_redirect_uris, grant_types, allowed_scopes, token_endpoint_auth_method,"
                   " access_token_ttl, refresh_token_ttl, status")


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
    grant_types: frozenset
    allowed_scopes: tuple
    token_endpoint_auth_method: str
    access_token_ttl: int | None
    refresh_token_ttl: int | None
    status: str

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
    """The client with this client_id, or None. Plain SQL: it runs on every token request."""
    row = database.execute_sql(
        f"SELECT {_CLIENT_COLUMNS} FROM application WHERE client_id = {database.param}", (client_id,)).fetchone()
    if row is None:
        return None
    (id_, cid, secret_hash, name, audience, tenant_id, redirects, logout_redirects, grants, scopes,
     method, access_ttl, refresh_ttl, status) = row
    return Client(id_, cid, secret_hash, name, audience, tenant_id, tuple(json.loads(redirects)),
                  tuple(json.loads(logout_redirects)), frozenset(json.loads(grants)), tuple(json.loads(scopes)),
                  method, access_ttl, refresh_ttl, status)


def parse_basic_credentials(header):
    """(client_id, client_secret) from an HTTP Basic header, form-url-decoded (RFC 6749 §2.3.1)."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient("Only HTTP Basic client authentication is accepted in the Authorization header")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("The Basic credentials are not valid base64 of UTF-8 text") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise InvalidClient("The Basic credentials lack the ':' between client_id and client_secret")
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if "\x00" in client_id or "\x00" in secret:
        raise InvalidClient("The Basic credentials contain a NUL character")
    return client_id, secret


def authenticate_client(database, params, authorization_header):
    """The client making the request, authenticated by exactly one method.

    Confidential clients present their secret in the Basic header or the body; public clients
    (method 'none') identify themselves with client_id alone and must not present a secret.
    """
    body_id = params.get("client_id")
    body_secret = params.get("client_secret")
    if authorization_header:
        if body_secret is not None:
            raise InvalidRequest("Use one client authentication method, not the Basic header and client_secret")
        client_id, secret = parse_basic_credentials(authorization_header)
        if body_id is not None and body_id != client_id:
            raise InvalidRequest("client_id in the body differs from the one in the Authorization header")
    else:
        client_id, secret = body_id, body_secret
    if not client_id:
        raise InvalidClient("Client authentication is required")
    client = find_client(database, client_id)
    if client is None or not client.is_active:
        # Spend the same time as a real comparison so unknown ids are not told apart by timing.
        opaque.matches(secret or "", "0" * 64)
        raise InvalidClient()
    if client.is_public:
        if secret:
            raise InvalidClient("This is a public client; it has no secret")
        return client
    if not secret or not opaque.matches(secret, client.client_secret_hash):
        raise InvalidClient()
    return client
