"""authorization_code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.6); a code works once."""

import base64
import hashlib
import hmac

from app import opaque, refresh_tokens
from app.errors import InvalidGrant, InvalidRequest
from app.grants.user_tokens import issue_user_tokens
from app.users import find_user

_COLUMNS = ("id, application_id, user_id, tenant_id, session_id, redirect_uri, scope, nonce, code_challenge,"
            " auth_time, expires_at, used_at")


def s256(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


class AuthorizationCodeGrant:
    grant_type = "authorization_code"

    def __init__(self, services):
        self._services = services
        self._database = services.database

    def issue(self, client, params):
        for name in ("code", "redirect_uri"):
            if name not in params:
                raise InvalidRequest(f"{name} is required")
        database, now = self._database, int(self._services.clock.now())
        p = database.param
        row = database.execute_sql(f"SELECT {_COLUMNS} FROM authorization_code WHERE code_hash = {p}",
                                   (opaque.digest(params["code"]),)).fetchone()
        if row is None or row[1] != client.id:
            raise InvalidGrant("The authorization code is invalid")
        (code_id, _, user_id, tenant_id, session_id, redirect_uri, scope, nonce, challenge, auth_time,
         expires_at, used_at) = row
        if used_at is not None:
            self._replayed(code_id, now)
        if now >= expires_at:
            raise InvalidGrant("The authorization code has expired")
        if params["redirect_uri"] != redirect_uri:
            raise InvalidGrant("redirect_uri differs from the one in the authorization request")
        self._check_pkce(challenge, params.get("code_verifier"))
        user = find_user(database, user_id)
        if user is None or not user.is_active or user.tenant_id != tenant_id:
            raise InvalidGrant("The user or their tenant is no longer active")
        sid = None
        if session_id is not None:
            found = database.execute_sql(f"SELECT sid FROM sso_session WHERE id = {p}", (session_id,)).fetchone()
            sid = found[0] if found else None

        def consume():
            """Single use: only the request that flips used_at gets tokens."""
            return database.execute_sql(f"UPDATE authorization_code SET used_at = {p} WHERE id = {p}"
                                        " AND used_at IS NULL", (now, code_id)).rowcount == 1

        response = issue_user_tokens(self._services, client, user, consume=consume, scope=scope,
                                     auth_time=auth_time, session_id=session_id, sid=sid, nonce=nonce,
                                     authorization_code_id=code_id)
        if response is None:
            self._replayed(code_id, now)
        return response

    def _replayed(self, code_id, now):
        """RFC 6749 §4.1.2: a second use revokes every token issued from the code."""
        refresh_tokens.revoke_issued_from_code(self._database, code_id, now)
        self._services.audit.record("authorization_code.reuse_detected", code_id=code_id)
        raise InvalidGrant("The authorization code has already been used")

    @staticmethod
    def _check_pkce(challenge, verifier):
        if challenge is None:
            if verifier is not None:
                raise InvalidGrant("code_verifier sent but the authorization request had no code_challenge")
            return
        if verifier is None:
            raise InvalidGrant("code_verifier is required")
        if not 43 <= len(verifier) <= 128 or not verifier.isascii():
            raise InvalidGrant("code_verifier does not match the code_challenge")
        if not hmac.compare_digest(s256(verifier), challenge):
            raise InvalidGrant("code_verifier does not match the code_challenge")
