"""GET and POST /authorize/consent?request=…: the consent page of a stored authorization request."""

from app.clientip import client_ip
from app.errors import PageError
from app.params import form_params, query_params

ANSWERS = ("allow", "deny")


def _see_other(resp, location):
    resp.status = 303
    resp.location = location
    resp.set_header("Cache-Control", "no-store")


class ConsentResource:
    def __init__(self, consent_page, sessions, pages, config):
        self._consent_page = consent_page
        self._sessions = sessions
        self._pages = pages
        self._config = config

    def on_get(self, req, resp):
        prompt = self._consent_page.prompt(query_params(req).get("request"), self._sessions.current(req))
        if isinstance(prompt, str):
            return _see_other(resp, prompt)
        self._pages.render(req, resp, "consent.html", title="Allow access", request=prompt.request,
                           application=prompt.application, scopes=prompt.scopes, destination=prompt.destination,
                           email=prompt.email, tenant=prompt.tenant, sid=prompt.sid)

    def on_post(self, req, resp):
        form = form_params(req, self._config.max_body_bytes)
        self._sessions.check_csrf(req, form)
        if form.get("action") not in ANSWERS:
            raise PageError("Choose Allow or Deny", "Go back and press Allow or Deny.", status=400)
        _see_other(resp, self._consent_page.decide(
            form.get("request"), self._sessions.current(req), form.get("sid"), form["action"] == "allow",
            client_ip(req, self._config.trusted_proxies)))
