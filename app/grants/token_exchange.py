"""token-exchange grant (RFC 8693 §2): a confidential client trades a token it holds for one aimed elsewhere."""

import jwt

from app.access_tokens import GRANT_ID, audiences, live_claims
from app.dpop import token_type
from app.errors import InvalidRequest, InvalidScope, InvalidTarget, UnauthorizedClient
from app.grants.result import Issued
from app.scopes import parse_scope
from app.store.clients import find_client

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


class TokenExchangeGrant:
    """Same subject and tenant, new audience, the requester recorded in `act` (RFC 8693 §2.1, §4.1)."""

    grant_type = "urn:ietf:params:oauth:grant-type:token-exchange"

    def __init__(self, database, clock, keyring, tokens):
        self._database = database
        self._clock = clock
        self._keyring = keyring
        self._issuer = tokens

    def issue(self, client, params, dpop_jkt=None):
        if client.is_public:
            raise UnauthorizedClient("Public clients cannot use token exchange")
        self._check_request(params)
        claims = self._subject_claims(client, params["subject_token"])
        # RFC 8693 §2.1: audience is optional; without one the token is for the requester itself.
        audience = self._target(params.get("audience", client.client_id), claims)
        scope = self._scope(params, claims)
        act = {"sub": client.client_id}
        if "act" in claims:
            act["act"] = claims["act"]
        extra = {"act": act}
        if GRANT_ID in claims:
            # Revoking the grant the subject token came from reaches the tokens traded for it too.
            extra[GRANT_ID] = claims[GRANT_ID]
        now = int(self._clock.now())
        token_ttl = self._issuer.access_token_ttl(client)
        # The exchanged token never outlives the one it came from: otherwise two clients trading a
        # token back and forth would keep a subject's access alive forever.
        expires_in = min(token_ttl, claims["exp"] - now)
        if expires_in < token_ttl:
            extra["exp"] = claims["exp"]
        token, _ = self._issuer.access_token(client=client, subject=claims["sub"], scope=scope,
                                             audience=audience.client_id, tenant_id=claims.get("tenant_id"),
                                             extra=extra, jkt=dpop_jkt)
        response = {"access_token": token, "issued_token_type": ACCESS_TOKEN_TYPE, "token_type": token_type(dpop_jkt),
                    "expires_in": expires_in}
        if scope:
            response["scope"] = scope
        # A user's token carries its tenant; a client's own token (client_credentials) does not.
        sub = str(claims["sub"])
        user_id = int(sub) if claims.get("tenant_id") is not None and sub.isascii() and sub.isdigit() else None
        return Issued(response, user_id, claims.get("tenant_id"))

    @staticmethod
    def _check_request(params):
        """The request's own parameters (RFC 8693 §2.1); every failure is invalid_request (§2.2.2)."""
        for name in ("subject_token", "subject_token_type"):
            if name not in params:
                raise InvalidRequest(f"{name} is required")
        if params["subject_token_type"] != ACCESS_TOKEN_TYPE:
            raise InvalidRequest(f"subject_token_type must be {ACCESS_TOKEN_TYPE}")
        if params.get("requested_token_type", ACCESS_TOKEN_TYPE) != ACCESS_TOKEN_TYPE:
            raise InvalidRequest(f"requested_token_type must be {ACCESS_TOKEN_TYPE}")
        # The requester itself is the actor; a separate actor token would name a party we cannot vouch for.
        if "actor_token" in params or "actor_token_type" in params:
            raise InvalidRequest("actor_token is not supported; the requesting client is the actor")
        # Ignoring resource would issue a token for a target other than the one asked for (§2.2.2).
        if "resource" in params:
            raise InvalidTarget("resource is not supported; name the target application with audience")

    def _subject_claims(self, client, subject_token):
        """A live access token we signed that the requester may hold (RFC 8693 §2.1, §2.2.2)."""
        # RFC 8693 §2.2.2 makes every unacceptable subject_token invalid_request, not invalid_grant.
        try:
            claims = live_claims(self._keyring, self._database, subject_token)
        except jwt.PyJWTError:
            raise InvalidRequest("subject_token is not a live access token from this server") from None
        if claims.get("client_id") != client.client_id and client.client_id not in audiences(claims):
            raise InvalidRequest("subject_token was neither issued to this client nor meant for it")
        return claims

    def _target(self, audience_id, claims):
        """The audience must be a registered, active application (RFC 8693 §2.2.2 invalid_target)."""
        audience = find_client(self._database, audience_id)
        if audience is None or not audience.is_active:
            raise InvalidTarget("audience is not a registered, active application")
        # A tenant's own application only receives tokens for that tenant's users.
        if not audience.is_global and claims.get("tenant_id") != str(audience.tenant_id):
            raise InvalidTarget("audience belongs to a tenant this token is not for")
        return audience

    @staticmethod
    def _scope(params, claims):
        """Scope may only narrow what the subject token holds (RFC 8693 §2.1, RFC 6749 §3.3)."""
        held = parse_scope(claims.get("scope") or "")
        if "scope" not in params:
            return " ".join(held)
        requested = parse_scope(params["scope"])
        wider = [s for s in requested if s not in held]
        if wider:
            raise InvalidScope("Scope not held by subject_token: " + " ".join(wider))
        return " ".join(requested)
