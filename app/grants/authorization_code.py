"""authorization_code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.6); a code works once."""

import hashlib
import hmac

from app.base64url import b64url
from app.errors import InvalidDPoPProof, InvalidGrant, InvalidRequest
from app.store import authorization_codes, refresh_tokens, sso_sessions


def s256(verifier):
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier)))."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def code_family_id(code):
    """The grant (refresh-token family) id a code's tokens get, derived from the code itself: a replay of the
    code names the grant to revoke even when no refresh token was issued (a client without that grant)."""
    return b64url(hashlib.sha256(b"grant-family\x00" + code.encode("utf-8")).digest()[:16])


class AuthorizationCodeGrant:
    grant_type = "authorization_code"

    def __init__(self, database, clock, user_tokens, audit, grant_revocation):
        self._database = database
        self._clock = clock
        self._user_tokens = user_tokens
        self._audit = audit
        self._grant_revocation = grant_revocation

    def issue(self, client, params, dpop_jkt=None):
        for name in ("code", "redirect_uri"):
            if name not in params:
                raise InvalidRequest(f"{name} is required")
        database, now = self._database, int(self._clock.now())
        code = authorization_codes.find(database, params["code"])
        if code is None or code.application_id != client.id:
            raise InvalidGrant("The authorization code is invalid")
        if code.dpop_jkt is not None and dpop_jkt != code.dpop_jkt:
            # RFC 9449 §10: checked before anything changes, so a thief without the key cannot even spend it.
            raise InvalidDPoPProof("The authorization code is bound to a DPoP key (dpop_jkt); send a DPoP proof "
                                   "signed by that key")
        if code.used_at is not None:
            self._replayed(client, code.id, params["code"], now)
        if now >= code.expires_at:
            raise InvalidGrant("The authorization code has expired")
        if params["redirect_uri"] != code.redirect_uri:
            raise InvalidGrant("redirect_uri differs from the one in the authorization request")
        self._check_pkce(code.code_challenge, params.get("code_verifier"))
        user = self._user_tokens.active_user(code.user_id, code.tenant_id)
        session = sso_sessions.find(database, code.session_id) if code.session_id is not None else None
        response = self._user_tokens.issue(
            client, user, consume=lambda: authorization_codes.consume(database, code.id, now), scope=code.scope,
            auth_time=code.auth_time, session_id=code.session_id, sid=session.sid if session else None,
            nonce=code.nonce, authorization_code_id=code.id, dpop_jkt=dpop_jkt,
            family_id=code_family_id(params["code"]))
        if response is None:
            self._replayed(client, code.id, params["code"], now)
        return response

    def _replayed(self, client, code_id, code_value, now):
        """RFC 6749 §4.1.2: a second use revokes every token issued from the code (each family it began).

        Codes redeemed before grants were named after their code are found through their refresh tokens.
        """
        families = {code_family_id(code_value), *refresh_tokens.families_issued_from_code(self._database, code_id)}
        for family_id in sorted(families):
            self._grant_revocation.revoke(client, family_id, now)
        self._audit.record("authorization_code.reuse_detected", code_id=code_id)
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
