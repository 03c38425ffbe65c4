"""The token response for a signed-in user, shared by the grants that act for a user."""

from app.access_tokens import GRANT_ID
from app.db import write_transaction
from app.dpop import token_type
from app.errors import InvalidGrant
from app.grants.result import Issued
from app.store import refresh_tokens
from app.store.users import find_active_user


class UserTokens:
    """Issues a user's tokens; each grant decides first whether the user may have them."""

    def __init__(self, database, clock, tokens):
        self._database = database
        self._clock = clock
        self._tokens = tokens

    def active_user(self, user_id, tenant_id):
        """The user a grant acts for; tokens stop when the user or tenant is suspended or the user moved."""
        user = find_active_user(self._database, user_id, tenant_id)
        if user is None:
            raise InvalidGrant("The user or their tenant is no longer active")
        return user

    def issue(self, client, user, *, consume, scope, auth_time, session_id=None, sid=None, nonce=None,
              family_id=None, authorization_code_id=None, device_authorization_id=None, refresh_scope=None,
              dpop_jkt=None, parent_id=None):
        """Access token, ID token with openid, refresh token when the client holds that grant; None if consume lost.

        consume() is the grant's atomic single-use step (a conditional UPDATE returning True when this
        request won). It runs in one write transaction with the new refresh token's insert; the RSA
        signatures are made before, so the database's write lock is never held while signing.
        Without offline_access the refresh token is bound to the SSO session and dies with it. With a
        DPoP proof the access token is bound to its key, and so is a public client's refresh token
        (RFC 9449 §5); a confidential client's is already bound to its client authentication.
        The access token names its grant (the refresh-token family), so revoking the family reaches it.
        """
        tokens = self._tokens
        family_id = family_id or refresh_tokens.new_family_id()
        access_token, expires_in = tokens.access_token(client=client, subject=str(user.id), scope=scope,
                                                       tenant_id=user.tenant_id, extra={GRANT_ID: family_id},
                                                       jkt=dpop_jkt)
        response = {"access_token": access_token, "token_type": token_type(dpop_jkt), "expires_in": expires_in,
                    "scope": scope}
        if "openid" in scope.split():
            response["id_token"] = tokens.id_token(client=client, subject=str(user.id), tenant_id=user.tenant_id,
                                                   auth_time=auth_time, access_token=access_token, nonce=nonce,
                                                   sid=sid)
        with write_transaction(self._database):
            if not consume():
                return None
            if "refresh_token" in client.grant_types:
                stored_scope = refresh_scope or scope
                response["refresh_token"] = refresh_tokens.create(
                    self._database, now=self._clock.now(), ttl=tokens.refresh_token_ttl(client),
                    application_id=client.id, user_id=user.id, tenant_id=user.tenant_id, session_id=session_id,
                    scope=stored_scope, offline="offline_access" in stored_scope.split(), auth_time=auth_time,
                    family_id=family_id, authorization_code_id=authorization_code_id,
                    device_authorization_id=device_authorization_id, jkt=dpop_jkt if client.is_public else None,
                    parent_id=parent_id)
        return Issued(response, user.id, user.tenant_id)
