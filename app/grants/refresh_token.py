"""refresh_token grant (RFC 6749 §6): rotation on every use, reuse revokes the family (RFC 9700 §4.14).

A client created with --refresh-grace-seconds N may present the token it just rotated out once more
within N seconds (the response carrying its successor was lost): it gets a fresh pair in the same
family, and the successor it never received is retired, so a family always has one live token.
"""

from app.errors import InvalidDPoPProof, InvalidGrant, InvalidRequest
from app.scopes import parse_scope, require_subset
from app.store import refresh_tokens, sso_sessions

# A presentation that loses the single-use step to a concurrent one reads its token again, at most this
# often: within a grace window the loser still qualifies (the winner has just rotated the token out).
_ATTEMPTS = 3


class RefreshTokenGrant:
    grant_type = "refresh_token"

    def __init__(self, database, clock, config, user_tokens, audit, grant_revocation):
        self._database = database
        self._clock = clock
        self._session_idle_ttl = config.session_idle_ttl
        self._user_tokens = user_tokens
        self._audit = audit
        self._grant_revocation = grant_revocation

    def issue(self, client, params, dpop_jkt=None):
        if "refresh_token" not in params:
            raise InvalidRequest("refresh_token is required")
        database, now = self._database, int(self._clock.now())
        for _ in range(_ATTEMPTS):
            token = refresh_tokens.find(database, params["refresh_token"])
            consume, in_grace = self._single_use_step(client, token, now, dpop_jkt)
            sid = self._live_session_sid(token, now)
            scope = token.scope
            if "scope" in params:
                requested = parse_scope(params["scope"])
                require_subset(requested, token.scope.split())
                scope = " ".join(requested)
            user = self._user_tokens.active_user(token.user_id, token.tenant_id)
            response = self._user_tokens.issue(
                client, user, consume=consume, scope=scope, auth_time=token.auth_time, session_id=token.session_id,
                sid=sid, family_id=token.family_id, authorization_code_id=token.authorization_code_id,
                refresh_scope=token.scope, parent_id=token.id, dpop_jkt=dpop_jkt)
            if response is not None:
                if in_grace:
                    self._audit.record("refresh_token.grace_reuse", client_id=client.client_id,
                                       user_id=token.user_id, tenant_id=token.tenant_id, family=token.family_id)
                return response
            if in_grace and refresh_tokens.live_token_parent(database, token.family_id) != token.id:
                # Its successor has been used since: this is not the immediately previous token any more.
                self._reused(client, token, now)
            # Otherwise a concurrent presentation won the single-use step: read the token again.
        # Still the immediately previous token, but every attempt lost to another presentation of it.
        raise InvalidGrant("The refresh token is being presented concurrently; use the response that succeeded")

    def _single_use_step(self, client, token, now, dpop_jkt):
        """(consume, in_grace): the atomic step that makes this presentation the only one honoured."""
        if token is None or token.application_id != client.id:
            raise InvalidGrant("The refresh token is invalid")
        if token.jkt is not None and dpop_jkt != token.jkt:
            # RFC 9449 §5: without the key the token is useless, and presenting it changes nothing.
            raise InvalidDPoPProof("The refresh token is bound to a DPoP key; send a DPoP proof signed by that key")
        if token.revoked_at is not None:
            raise InvalidGrant("The refresh token has been revoked")
        in_grace = token.rotated_at is not None and now < token.rotated_at + client.refresh_grace_seconds
        if token.rotated_at is not None and not in_grace:
            self._reused(client, token, now)
        if now >= token.expires_at:
            raise InvalidGrant("The refresh token has expired")
        if in_grace:
            # Only while the successor is still the family's live token (nothing used it yet).
            return (lambda: refresh_tokens.retire_successor(self._database, token.family_id, token.id, now)), True
        return (lambda: refresh_tokens.mark_rotated(self._database, token.id, now)), False

    def _reused(self, client, token, now):
        """A rotated-out token came back: someone else may hold the family, so all of it dies."""
        self._grant_revocation.revoke(client, token.family_id, now)
        self._audit.record("refresh_token.reuse_detected", user_id=token.user_id, tenant_id=token.tenant_id,
                           family=token.family_id)
        raise InvalidGrant("The refresh token has already been used")

    def _live_session_sid(self, token, now):
        """The session's sid; a token without offline_access lives only as long as its SSO session.

        A session-bound token whose session is gone (ended, expired, or pruned away) is dead too.
        """
        sid = live_session_sid(self._database, token, now, self._session_idle_ttl)
        if sid is False:
            raise InvalidGrant("The sign-in session this refresh token belongs to has ended")
        return sid


def live_session_sid(database, token, now, idle_ttl):
    """The sid of the token's SSO session (None for an offline token without one); False when it has ended."""
    session = sso_sessions.find(database, token.session_id) if token.session_id is not None else None
    if token.offline:
        return session.sid if session else None
    if session is None or not session.is_live(now, idle_ttl):
        return False
    return session.sid
