"""POST /api/v1/platform/oauth/introspect (RFC 7662 §2)."""

from app.params import form_params, require


class IntrospectionResource:
    def __init__(self, introspection, config):
        self._introspection = introspection
        self._config = config

    def on_post(self, req, resp):
        params = form_params(req, self._config.max_body_bytes)
        require(params, "body", "token")
        resp.media = self._introspection.introspect(params, req.get_header("Authorization"))
        resp.set_header("Cache-Control", "no-store")
