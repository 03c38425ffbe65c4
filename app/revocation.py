"""Token revocation (RFC 7009 §2): a client revokes its own tokens; anything else changes nothing."""

import jwt

from app.access_tokens import GRANT_ID, user_subject
from app.clients import authenticate_client
from app.db import write_transaction
from app.store import refresh_tokens, token_revocations


def looks_like_jwt(token):
    """Our access tokens are compact JWS (three dot-separated parts); refresh tokens are opaque base64url."""
    return token.count(".") == 2


class GrantRevocation:
    """Ends a grant: its refresh-token family and every access token issued from it."""

    def __init__(self, database, config, tokens):
        self._database = database
        self._config = config
        self._tokens = tokens

    def revoke(self, client, family_id, now):
        """True when something was still alive (RFC 7009 §2.1: the refresh token and its access tokens)."""
        # The family's access tokens were issued by this client, at the latest now, with its lifetime
        # (or the default one, if the client's was shortened since): the row must outlive them all.
        expires_at = int(now) + max(self._tokens.access_token_ttl(client), self._config.access_token_ttl)
        with write_transaction(self._database):
            grant = token_revocations.revoke_grant(self._database, family_id, client_id=client.client_id, now=now,
                                                   expires_at=expires_at)
            refreshes = 0
            # Until a pass finds nothing left: on PostgreSQL a rotation committing while the UPDATE waits
            # for its row lock inserts a successor that this statement's snapshot does not show, but the
            # next statement's does (SQLite runs one writer at a time, so its second pass finds nothing).
            while revoked := refresh_tokens.revoke_family(self._database, family_id, now):
                refreshes += revoked
        return refreshes > 0 or grant


class Revocation:
    """The revocation endpoint's work: same answer whether or not anything was revoked (RFC 7009 §2.2)."""

    def __init__(self, database, keyring, clock, audit, grants, assertions=None, url=None):
        self._database = database
        self._keyring = keyring
        self._clock = clock
        self._audit = audit
        self._grants = grants
        self._assertions = assertions
        self._url = url

    def revoke(self, params, authorization_header, ip=None):
        """Authenticate the client as at the token endpoint, then revoke `token` if it is one of its own.

        token_type_hint is not needed: the two kinds are told apart by their form (§2.1 lets us search).
        """
        client = authenticate_client(self._database, params, authorization_header, assertions=self._assertions,
                                     endpoint=self._url)
        token = params["token"]
        now = int(self._clock.now())
        if looks_like_jwt(token):
            self._revoke_access_token(client, token, now, ip)
        else:
            self._revoke_refresh_token(client, token, now, ip)

    def _revoke_access_token(self, client, token, now, ip):
        try:
            claims = self._keyring.decode(token, typ="at+jwt")
        except jwt.PyJWTError:
            return  # not ours, or expired already: nothing to revoke
        # Only the client the token was issued to; a token that merely names it in aud is not its own.
        if claims.get("client_id") != client.client_id or not isinstance(claims.get("jti"), str):
            return
        if token_revocations.revoke_token(self._database, claims["jti"], client_id=client.client_id, now=now,
                                          expires_at=claims["exp"]):
            user = user_subject(claims)
            self._audit.record("token.revoked", client_id=client.client_id, user_id=user and user[0],
                               tenant_id=claims.get("tenant_id"), ip=ip, token_type="access_token",
                               jti=claims["jti"], grant=claims.get(GRANT_ID))

    def _revoke_refresh_token(self, client, token, now, ip):
        stored = refresh_tokens.find(self._database, token)
        if stored is None or stored.application_id != client.id:
            return
        # Also when the family is revoked already (say by logout): its access tokens may not be yet.
        if self._grants.revoke(client, stored.family_id, now):
            self._audit.record("token.revoked", client_id=client.client_id, user_id=stored.user_id,
                               tenant_id=stored.tenant_id, ip=ip, token_type="refresh_token",
                               family=stored.family_id)
