"""RP-Initiated Logout 1.0: validating the request, and ending the SSO session."""

from dataclasses import dataclass

import jwt

from app.errors import PageError
from app.jws import typ_matches
from app.store.clients import find_client
from app.urls import add_query


@dataclass(frozen=True)
class LogoutRequest:
    client: object
    redirect_to: str | None        # post_logout_redirect_uri with state, only when registered
    hint_names_session: bool       # a valid id_token_hint for the browser's current session
    session: object


def _invalid(message):
    return PageError("Sign-out request not accepted", message, status=400)


class Logout:
    def __init__(self, database, keyring, sessions, audit):
        self._database = database
        self._keyring = keyring
        self._sessions = sessions
        self._audit = audit

    def _hint_claims(self, hint):
        """Claims of an ID token one of our published keys signed (retired ones too); expired is fine (§2)."""
        try:
            # RFC 7515 §4.1.9: typ compares case-insensitively, so "AT+JWT" is an access token too.
            if typ_matches(jwt.get_unverified_header(hint), "at+jwt"):
                raise jwt.InvalidTokenError("an access token is not an ID token")
            claims = self._keyring.decode(hint, verify_exp=False)
        except jwt.PyJWTError:
            raise _invalid("The id_token_hint is not an ID token issued by this service.") from None
        if "aud" not in claims:
            raise _invalid("The id_token_hint has no audience.")
        return claims

    def check(self, req, params):
        claims = self._hint_claims(params["id_token_hint"]) if "id_token_hint" in params else None
        audiences = []
        if claims is not None:
            audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        client_id = params.get("client_id")
        if client_id and claims is not None and client_id not in audiences:
            raise _invalid("client_id does not match the audience of the id_token_hint.")
        client_id = client_id or (audiences[0] if audiences else None)
        client = find_client(self._database, client_id) if client_id else None

        redirect_to = None
        if "post_logout_redirect_uri" in params:
            uri = params["post_logout_redirect_uri"]
            if client is None or not client.is_active or uri not in client.post_logout_redirect_uris:
                raise _invalid("The address to return to after signing out is not registered for this "
                               "application, so you were not sent there.")
            redirect_to = add_query(uri, {"state": params.get("state")})

        session = self._sessions.current(req)
        names_session = bool(
            claims and session and (claims.get("sid") == session.sid if "sid" in claims
                                    else claims.get("sub") == str(session.user_id)))
        return LogoutRequest(client, redirect_to, names_session, session)

    def end(self, resp, session, client=None, ip=None):
        if session is not None:
            self._sessions.end(session)
            self._audit.record("logout", client_id=client.client_id if client else None, user_id=session.user_id,
                               tenant_id=session.tenant_id, ip=ip)
        self._sessions.clear(resp)
