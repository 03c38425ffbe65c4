"""refresh_token grant (RFC 6749 §6): rotation on every use, reuse revokes the family (RFC 9700 §4.14)."""

from app.errors import InvalidDPoPProof, InvalidGrant, InvalidRequest
from app.scopes import parse_scope, require_subset
from app.store import refresh_tokens, sso_sessions


class RefreshTokenGrant:
    grant_type = "refresh_token"

    def __init__(self, database, clock, config, user_tokens, audit):
        self._database = database
        self._clock = clock
        self._session_idle_ttl = config.session_idle_ttl
        self._user_tokens = user_tokens
        self._audit = audit

    def issue(self, client, params, dpop_jkt=None):
        if "refresh_token" not in params:
            raise InvalidRequest("refresh_token is required")
        database, now = self._database, int(self._clock.now())
        token = refresh_tokens.find(database, params["refresh_token"])
        if token is None or token.application_id != client.id:
            raise InvalidGrant("The refresh token is invalid")
        if token.jkt is not None and dpop_jkt != token.jkt:
            # RFC 9449 §5: without the key the token is useless, and presenting it changes nothing.
            raise InvalidDPoPProof("The refresh token is bound to a DPoP key; send a DPoP proof signed by that key")
        if token.revoked_at is not None:
            raise InvalidGrant("The refresh token has been revoked")
        if token.rotated_at is not None:
            self._reused(token, now)
        if now >= token.expires_at:
            raise InvalidGrant("The refresh token has expired")
        sid = self._live_session_sid(token, now)
        scope = token.scope
        if "scope" in params:
            requested = parse_scope(params["scope"])
            require_subset(requested, token.scope.split())
            scope = " ".join(requested)
        user = self._user_tokens.active_user(token.user_id, token.tenant_id)
        response = self._user_tokens.issue(
            client, user, consume=lambda: refresh_tokens.mark_rotated(database, token.id, now),
            scope=scope, auth_time=token.auth_time, session_id=token.session_id, sid=sid,
            family_id=token.family_id, authorization_code_id=token.authorization_code_id, refresh_scope=token.scope,
            dpop_jkt=dpop_jkt)
        if response is None:
            self._reused(token, now)
        return response

    def _reused(self, token, now):
        """A rotated-out token came back: someone else may hold the family, so all of it dies."""
        refresh_tokens.revoke_family(self._database, token.family_id, now)
        self._audit.record("refresh_token.reuse_detected", user_id=token.user_id, tenant_id=token.tenant_id,
                           family=token.family_id)
        raise InvalidGrant("The refresh token has already been used")

    def _live_session_sid(self, token, now):
        """The session's sid; a token without offline_access lives only as long as its SSO session.

        A session-bound token whose session is gone (ended, expired, or pruned away) is dead too.
        """
        session = sso_sessions.find(self._database, token.session_id) if token.session_id is not None else None
        if token.offline:
            return session.sid if session else None
        if session is None or not session.is_live(now, self._session_idle_ttl):
            raise InvalidGrant("The sign-in session this refresh token belongs to has ended")
        return session.sid
