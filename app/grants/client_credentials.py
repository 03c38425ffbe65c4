"""client_credentials grant (RFC 6749 §4.4): a confidential client acting for itself."""

from app.dpop import token_type
from app.errors import InvalidScope, UnauthorizedClient
from app.grants.result import Issued
from app.scopes import USER_SCOPES, parse_scope, require_subset


class ClientCredentialsGrant:
    grant_type = "client_credentials"

    def __init__(self, tokens):
        self._issuer = tokens

    def issue(self, client, params, dpop_jkt=None):
        if client.is_public:
            raise UnauthorizedClient("Public clients cannot use client_credentials")
        # No user is involved, so user-only scopes cannot be granted here.
        machine_scopes = [s for s in client.allowed_scopes if s not in USER_SCOPES]
        if "scope" in params:
            requested = parse_scope(params["scope"])
            if any(s in USER_SCOPES for s in requested):
                raise InvalidScope("User scopes (openid, profile, email, offline_access) need a user; "
                                   "client_credentials has none")
            require_subset(requested, machine_scopes)
        else:
            requested = machine_scopes
        scope = " ".join(requested)
        token, expires_in = self._issuer.access_token(client=client, subject=client.client_id, scope=scope,
                                                      jkt=dpop_jkt)
        response = {"access_token": token, "token_type": token_type(dpop_jkt), "expires_in": expires_in}
        if scope:
            response["scope"] = scope
        return Issued(response)
