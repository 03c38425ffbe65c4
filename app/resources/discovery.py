"""GET /api/v1/platform/oauth/.well-known/openid-configuration (OIDC Discovery 1.0, RFC 8414)."""

import json

import falcon

from app.clients import SECRET_METHODS
from app.keys import ALGORITHM


def discovery_document(config, grant_types):
    """The metadata; every value is something this build does."""
    oauth = config.issuer
    return {
        "issuer": config.issuer,
        "jwks_uri": config.api_base + "/.well-known/jwks.json",
        "token_endpoint": oauth + "/token",
        "grant_types_supported": sorted(grant_types),
        "token_endpoint_auth_methods_supported": list(SECRET_METHODS),
        "response_types_supported": [],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "access_token_signing_alg_values_supported": [ALGORITHM],
    }


class DiscoveryResource:
    def __init__(self, document):
        self._body = json.dumps(document, indent=2).encode("utf-8")

    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._body
        resp.set_header("Cache-Control", "public, max-age=300")
