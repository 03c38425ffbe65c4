"""GET /api/v1/platform/oauth/.well-known/openid-configuration (OIDC Discovery 1.0, RFC 8414)."""

from app.authorization import PROMPTS
from app.client_assertions import ALGORITHMS as CLIENT_ASSERTION_ALGORITHMS
from app.dpop import SIGNING_ALGORITHMS as DPOP_ALGORITHMS
from app.jws import ALGORITHM
from app.scopes import USER_SCOPES

# Every endpoint with client authentication (token, device authorization, PAR, revocation, introspection).
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CLAIMS = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash", "azp", "tenant_id", "tenant",
          "name", "given_name", "family_name", "updated_at", "email", "email_verified"]


def discovery_document(config, grant_types):
    """The metadata; every value is something this build does."""
    oauth = config.issuer
    document = {
        "issuer": config.issuer,
        "authorization_endpoint": oauth + "/authorize",
        "token_endpoint": oauth + "/token",
        "userinfo_endpoint": oauth + "/userinfo",
        "end_session_endpoint": oauth + "/logout",
        "device_authorization_endpoint": oauth + "/device/authorize",
        "revocation_endpoint": oauth + "/revoke",
        "introspection_endpoint": oauth + "/introspect",
        "pushed_authorization_request_endpoint": oauth + "/par",
        "require_pushed_authorization_requests": False,
        "jwks_uri": config.api_base + "/.well-known/jwks.json",
        "scopes_supported": list(USER_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": sorted(grant_types),
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": list(CLIENT_ASSERTION_ALGORITHMS),
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        # Not registered by RFC 8414 (an extension its §2 allows, used by several servers): the one
        # algorithm RFC 9068 access tokens are signed with, so a resource server can pin it.
        "access_token_signing_alg_values_supported": [config.access_token_alg],
        "claims_supported": CLAIMS,
        "prompt_values_supported": list(PROMPTS),
        "authorization_response_iss_parameter_supported": True,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
    }
    # Revocation and introspection authenticate clients exactly as the token endpoint does; introspection
    # serves resource servers, so a public client (method none) cannot use it.
    methods = document["token_endpoint_auth_methods_supported"]
    document["revocation_endpoint_auth_methods_supported"] = list(methods)
    document["introspection_endpoint_auth_methods_supported"] = [m for m in methods if m != "none"]
    for endpoint in ("revocation_endpoint", "introspection_endpoint"):
        document[endpoint + "_auth_signing_alg_values_supported"] = list(CLIENT_ASSERTION_ALGORITHMS)
    return document
