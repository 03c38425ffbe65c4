"""GET /api/v1/platform/.well-known/jwks.json: the public signing keys (RFC 7517)."""

import falcon


class JwksResource:
    def __init__(self, keyring):
        self._keyring = keyring

    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._keyring.jwks_body()
        resp.set_header("Cache-Control", "public, max-age=300")
