"""Token-endpoint grants, one module each, chosen by grant_type."""

from app.grants.authorization_code import AuthorizationCodeGrant
from app.grants.client_credentials import ClientCredentialsGrant
from app.grants.device_code import DeviceCodeGrant
from app.grants.refresh_token import RefreshTokenGrant
from app.grants.token_exchange import TokenExchangeGrant
from app.grants.user_tokens import UserTokens
from app.revocation import GrantRevocation

GRANT_CLASSES = (AuthorizationCodeGrant, ClientCredentialsGrant, DeviceCodeGrant, RefreshTokenGrant,
                 TokenExchangeGrant)
GRANT_TYPES = tuple(cls.grant_type for cls in GRANT_CLASSES)
# Grants a public client (no secret) may never hold.
CONFIDENTIAL_ONLY = (ClientCredentialsGrant.grant_type, TokenExchangeGrant.grant_type)


def build_grants(*, database, clock, config, keyring, tokens, audit):
    """grant_type -> grant object, each given exactly the collaborators it uses."""
    user_tokens = UserTokens(database, clock, tokens)
    grant_revocation = GrantRevocation(database, config, tokens)
    grants = (
        AuthorizationCodeGrant(database, clock, user_tokens, audit, grant_revocation),
        ClientCredentialsGrant(tokens),
        DeviceCodeGrant(database, clock, user_tokens),
        RefreshTokenGrant(database, clock, config, user_tokens, audit, grant_revocation),
        TokenExchangeGrant(database, clock, keyring, tokens),
    )
    return {grant.grant_type: grant for grant in grants}
