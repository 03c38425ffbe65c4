"""POST /api/v1/platform/oauth/revoke (RFC 7009 §2)."""

from app.clientip import client_ip
from app.params import form_params, require


class RevocationResource:
    def __init__(self, revocation, config):
        self._revocation = revocation
        self._config = config

    def on_post(self, req, resp):
        params = form_params(req, self._config.max_body_bytes)
        require(params, "body", "token")
        self._revocation.revoke(params, req.get_header("Authorization"), client_ip(req, self._config.trusted_proxies))
        # §2.2: 200 whether or not the token was valid or anything changed; the body is ignored.
        resp.set_header("Cache-Control", "no-store")
