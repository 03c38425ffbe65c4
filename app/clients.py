"""Client authentication (RFC 6749 §2.3): which registered client is making a request."""

import base64
from urllib.parse import unquote_plus

from app import opaque
from app.client_assertions import ASSERTION_TYPE, claimed_client_id, parse
from app.errors import InvalidClient, InvalidRequest
from app.store.clients import find_client

KEY_METHOD = "private_key_jwt"


def parse_basic_credentials(header):
    """(client_id, client_secret) from an HTTP Basic header, form-url-decoded (RFC 6749 §2.3.1)."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient("Only HTTP Basic client authentication is accepted in the Authorization header")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):  # binascii.Error, and non-ASCII text in the header
        raise InvalidClient("The Basic credentials are not valid base64 of UTF-8 text") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise InvalidClient("The Basic credentials lack the ':' between client_id and client_secret")
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if "\x00" in client_id or "\x00" in secret:
        raise InvalidClient("The Basic credentials contain a NUL character")
    return client_id, secret


def authenticate_client(database, params, authorization_header, *, assertions=None, endpoint=None):
    """The client making the request; invalid_client challenges Basic only when Basic was tried (RFC 6749 §5.2).

    A client that authenticated in the body gets no challenge: clients such as oauth4webapi take a 401
    with one for a protected resource's challenge, not for invalid_client.
    """
    try:
        return _authenticate(database, params, authorization_header, assertions, endpoint)
    except InvalidClient as failure:
        if authorization_header:
            raise failure.with_basic_challenge() from None
        raise


def _authenticate(database, params, authorization_header, assertions, endpoint):
    """The client making the request, authenticated by exactly one method, the class it was registered with.

    Confidential clients present their secret in the Basic header or the body, or (private_key_jwt,
    RFC 7523 §2.2) a client assertion that `assertions` (app.client_assertions.ClientAssertions)
    verifies for the endpoint URL `endpoint`; public clients (method 'none') identify themselves
    with client_id alone and must not present a secret.
    """
    if "client_assertion" in params or "client_assertion_type" in params:
        return _authenticate_with_assertion(database, params, authorization_header, assertions, endpoint)
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
    if client.token_endpoint_auth_method == KEY_METHOD:
        raise InvalidClient("This client authenticates with a client assertion (private_key_jwt), not a secret")
    if not secret or not opaque.matches(secret, client.client_secret_hash):
        raise InvalidClient()
    return client


def _authenticate_with_assertion(database, params, authorization_header, assertions, endpoint):
    """RFC 7523 §2.2: client_assertion_type jwt-bearer and client_assertion, and no other method."""
    if authorization_header:
        raise InvalidRequest("Use one client authentication method, not an Authorization header and a client assertion")
    if "client_secret" in params:
        raise InvalidRequest("Use one client authentication method, not client_secret and a client assertion")
    if params.get("client_assertion_type") != ASSERTION_TYPE:
        raise InvalidRequest(f"client_assertion_type must be {ASSERTION_TYPE}")
    assertion = params.get("client_assertion")
    if assertion is None:
        raise InvalidRequest("client_assertion_type was sent without client_assertion")
    if assertions is None:
        raise InvalidClient("This endpoint does not accept client assertions")
    parsed = parse(assertion)
    client = find_client(database, params.get("client_id") or claimed_client_id(parsed[1]))
    if client is None or not client.is_active:
        raise InvalidClient()
    if client.token_endpoint_auth_method != KEY_METHOD:
        raise InvalidClient("This client is not registered for private_key_jwt; it cannot use a client assertion")
    assertions.verify(client, parsed, endpoint)
    return client
