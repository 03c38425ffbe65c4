"""GET and POST /api/v1/platform/oauth/authorize, and the page that resumes a request after sign-in."""

from app.authorization import REQUIRED, check_client_and_redirect_uri, check_request
from app.params import form_params, query_params, require


class AuthorizeResource:
    def __init__(self, authorizer, sessions, database, config, pushed):
        self._authorizer = authorizer
        self._sessions = sessions
        self._database = database
        self._config = config
        self._pushed = pushed

    def on_get(self, req, resp):
        self._authorize(req, resp, query_params(req), "query")

    def on_post(self, req, resp):
        # OIDC Core §3.1.2.1: the same parameters, form-serialized.
        self._authorize(req, resp, form_params(req, self._config.max_body_bytes), "body")

    def _authorize(self, req, resp, params, location):
        pushed = "request_uri" in params
        if pushed:
            # RFC 9126 §4: client_id + request_uri stand for the pushed parameters (a required one is then
            # missing only if it is in neither: a push always holds them all).
            require(params, location, "client_id")
            params = self._pushed.redeem(params)
        require(params, location, *REQUIRED)
        client = check_client_and_redirect_uri(self._database, params)
        request = check_request(client, params, self._config.issuer, pushed=pushed)
        resp.status = 303
        resp.location = self._authorizer.authorize(request, self._sessions.current(req))
        resp.set_header("Cache-Control", "no-store")


class AuthorizeContinueResource:
    """GET /authorize/continue?request=…: after sign-in, finish the stored request."""

    def __init__(self, authorizer, sessions):
        self._authorizer = authorizer
        self._sessions = sessions

    def on_get(self, req, resp):
        params = query_params(req)
        resp.status = 303
        resp.location = self._authorizer.resume(params.get("request"), self._sessions.current(req))
        resp.set_header("Cache-Control", "no-store")
