"""Token-endpoint grants, one module each, chosen by grant_type from GRANTS."""

from app.grants.authorization_code import AuthorizationCodeGrant
from app.grants.client_credentials import ClientCredentialsGrant
from app.grants.device_code import DeviceCodeGrant
from app.grants.refresh_token import RefreshTokenGrant
from app.grants.token_exchange import TokenExchangeGrant

GRANT_CLASSES = (AuthorizationCodeGrant, ClientCredentialsGrant, DeviceCodeGrant, RefreshTokenGrant,
                 TokenExchangeGrant)
KNOWN_GRANT_TYPES = (
    "authorization_code",
    "client_credentials",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
)
# Grants a public client (no secret) may never hold.
CONFIDENTIAL_ONLY = ("client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange")


def build_grants(services):
    """grant_type -> grant object, for the grants this build implements."""
    return {cls.grant_type: cls(services) for cls in GRANT_CLASSES}
