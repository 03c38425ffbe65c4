"""POST /api/v1/platform/oauth/par: pushed authorization requests (RFC 9126 §2)."""

from app.params import form_params, require

# The authorize parameters a push must carry itself; client_id may come from client authentication.
PUSHED_REQUIRED = ("response_type", "redirect_uri", "scope")


class ParResource:
    def __init__(self, pushed, config):
        self._pushed = pushed
        self._config = config

    def on_post(self, req, resp):
        params = form_params(req, self._config.max_body_bytes)
        require(params, "body", *PUSHED_REQUIRED)
        request_uri, expires_in = self._pushed.push(params, req.get_header("Authorization"), req.get_header("DPoP"))
        resp.status = 201
        resp.media = {"request_uri": request_uri, "expires_in": expires_in}
        resp.set_header("Cache-Control", "no-store")
