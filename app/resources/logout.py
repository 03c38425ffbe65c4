"""GET and POST /api/v1/platform/oauth/logout (OpenID RP-Initiated Logout 1.0)."""

from app.clientip import client_ip
from app.params import form_params, query_params


class LogoutResource:
    def __init__(self, logout, sessions, pages, config):
        self._logout = logout
        self._sessions = sessions
        self._pages = pages
        self._config = config

    def on_get(self, req, resp):
        self._handle(req, resp, query_params(req), confirmed=False)

    def on_post(self, req, resp):
        form = form_params(req, self._config.max_body_bytes)
        confirmed = form.get("confirm") == "yes"
        if confirmed:
            self._sessions.check_csrf(req, form)
        self._handle(req, resp, form, confirmed=confirmed)

    def _handle(self, req, resp, params, confirmed):
        request = self._logout.check(req, params)
        if request.session is not None and not (confirmed or request.hint_names_session):
            # §2: without a hint for this session, ask the person before ending it.
            client = request.client
            return self._pages.render(
                req, resp, "logout_confirm.html", title="Sign out",
                application=client.name if client else None, client_id=client.client_id if client else "",
                post_logout_redirect_uri=params.get("post_logout_redirect_uri") if request.redirect_to else "",
                state=params.get("state", ""))
        self._logout.end(resp, request.session, request.client, client_ip(req, self._config.trusted_proxies))
        if request.redirect_to:
            resp.status = 303
            resp.location = request.redirect_to
            resp.set_header("Cache-Control", "no-store")
            return
        self._pages.render(req, resp, "signed_out.html", title="Signed out")
