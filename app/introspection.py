"""Token introspection (RFC 7662 §2): a live token's claims, told only to the client it was issued to or meant for.

Anything else (garbage, expired, revoked, rotated out, another client's) is exactly {"active": false},
so a caller learns nothing about tokens that are not its business (§4). Refresh tokens can be
introspected too, by the client that holds them (they name no audience).
"""

import jwt

from app.access_tokens import audiences, live_claims, user_subject
from app.clients import authenticate_client
from app.errors import InvalidClient
from app.grants.refresh_token import live_session_sid
from app.revocation import looks_like_jwt
from app.store import refresh_tokens
from app.store.users import find_active_user

INACTIVE = {"active": False}
# The access-token claims a caller is told (RFC 7662 §2.2; act from RFC 8693 §4.1, cnf from RFC 9449 §6.2).
_ACCESS_TOKEN_CLAIMS = ("iss", "sub", "client_id", "aud", "scope", "exp", "iat", "tenant_id", "act", "cnf")


class Introspection:
    def __init__(self, database, keyring, clock, config, assertions=None):
        self._database = database
        self._keyring = keyring
        self._clock = clock
        self._config = config
        self._assertions = assertions

    def introspect(self, params, authorization_header):
        """Authenticate the caller (confidential clients only, §2.1), then describe the token."""
        client = authenticate_client(self._database, params, authorization_header, assertions=self._assertions,
                                     endpoint=self._config.issuer + "/introspect")
        if client.is_public:
            raise InvalidClient("Introspection is for confidential clients (resource servers) only")
        token = params["token"]
        if looks_like_jwt(token):
            return self._access_token(client, token)
        return self._refresh_token(client, token)

    def _access_token(self, client, token):
        try:
            claims = live_claims(self._keyring, self._database, token)
        except jwt.PyJWTError:
            return INACTIVE
        if claims.get("client_id") != client.client_id and client.client_id not in audiences(claims):
            return INACTIVE
        if not self._user_active(claims):
            return INACTIVE
        body = {"active": True}
        body.update((name, claims[name]) for name in _ACCESS_TOKEN_CLAIMS if name in claims)
        cnf = claims.get("cnf")
        body["token_type"] = "DPoP" if isinstance(cnf, dict) and "jkt" in cnf else "Bearer"
        return body

    def _user_active(self, claims):
        """A user's token stops being active with its user or tenant, as at userinfo."""
        subject = user_subject(claims)
        if subject is None:
            return "tenant_id" not in claims
        return find_active_user(self._database, *subject) is not None

    def _refresh_token(self, client, token):
        stored = refresh_tokens.find(self._database, token)
        now = int(self._clock.now())
        if (stored is None or stored.application_id != client.id or stored.revoked_at is not None
                or stored.rotated_at is not None or now >= stored.expires_at):
            return INACTIVE
        if live_session_sid(self._database, stored, now, self._config.session_idle_ttl) is False:
            return INACTIVE
        if find_active_user(self._database, stored.user_id, stored.tenant_id) is None:
            return INACTIVE
        return {"active": True, "iss": self._config.issuer, "sub": str(stored.user_id), "client_id": client.client_id,
                "scope": stored.scope, "exp": stored.expires_at, "iat": stored.created_at,
                "tenant_id": str(stored.tenant_id)}
