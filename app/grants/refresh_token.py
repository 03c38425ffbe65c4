"""refresh_token grant (RFC 6749 §6): rotation on every use, reuse revokes the family (RFC 9700 §4.14)."""

from app import refresh_tokens
from app.errors import InvalidGrant, InvalidRequest
from app.grants.user_tokens import issue_user_tokens
from app.scopes import parse_scope, require_subset
from app.users import find_user


class RefreshTokenGrant:
    grant_type = "refresh_token"

    def __init__(self, services):
        self._services = services
        self._database = services.database
        self._config = services.config

    def issue(self, client, params):
        if "refresh_token" not in params:
            raise InvalidRequest("refresh_token is required")
        database, now = self._database, int(self._services.clock.now())
        token = refresh_tokens.find(database, params["refresh_token"])
        if token is None or token.application_id != client.id:
            raise InvalidGrant("The refresh token is invalid")
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
        user = find_user(database, token.user_id)
        if user is None or not user.is_active or user.tenant_id != token.tenant_id:
            raise InvalidGrant("The user or their tenant is no longer active")
        response = issue_user_tokens(
            self._services, client, user, consume=lambda: refresh_tokens.mark_rotated(database, token.id, now),
            scope=scope, auth_time=token.auth_time, session_id=token.session_id, sid=sid,
            family_id=token.family_id, authorization_code_id=token.authorization_code_id, refresh_scope=token.scope)
        if response is None:
            self._reused(token, now)
        return response

    def _reused(self, token, now):
        """A rotated-out token came back: someone else may hold the family, so all of it dies."""
        refresh_tokens.revoke_family(self._database, token.family_id, now)
        self._services.audit.record("refresh_token.reuse_detected", user_id=token.user_id, tenant_id=token.tenant_id,
                                    family=token.family_id)
        raise InvalidGrant("The refresh token has already been used")

    def _live_session_sid(self, token, now):
        """The session's sid; a token without offline_access lives only as long as its SSO session."""
        if token.session_id is None:
            return None
        p = self._database.param
        row = self._database.execute_sql(
            f"SELECT sid, ended_at, expires_at, last_seen_at FROM sso_session WHERE id = {p}",
            (token.session_id,)).fetchone()
        if token.offline:
            return row[0] if row else None
        if row is None or row[1] is not None or now >= row[2] or now >= row[3] + self._config.session_idle_ttl:
            raise InvalidGrant("The sign-in session this refresh token belongs to has ended")
        return row[0]
