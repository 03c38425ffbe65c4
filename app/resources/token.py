"""POST /api/v1/platform/oauth/token (RFC 6749 §3.2; a DPoP header per RFC 9449 §5)."""

from app.clientip import client_ip
from app.params import form_params, require


class TokenResource:
    def __init__(self, token_endpoint, config):
        self._token_endpoint = token_endpoint
        self._config = config

    def on_post(self, req, resp):
        params = form_params(req, self._config.max_body_bytes)
        require(params, "body", "grant_type")
        resp.media = self._token_endpoint.exchange(params, req.get_header("Authorization"),
                                                   client_ip(req, self._config.trusted_proxies),
                                                   req.get_header("DPoP"))
        resp.set_header("Cache-Control", "no-store")
        resp.set_header("Pragma", "no-cache")
