"""The /device page: a person enters the code shown on their device, then approves or denies."""

from app.clientip import client_ip
from app.device import DEVICE_PAGE, normalize_user_code
from app.errors import NotFound
from app.params import form_params, query_params
from app.resources.device import ACTIONS
from app.store.users import find_user
from app.urls import add_query, login_url


class DevicePageResource:
    def __init__(self, devices, sessions, pages, database, config):
        self._devices = devices
        self._sessions = sessions
        self._pages = pages
        self._database = database
        self._config = config

    def on_get(self, req, resp):
        user_code = query_params(req).get("user_code")
        if user_code is None:
            return self._enter(req, resp)
        session = self._sessions.current(req)
        if session is None:
            return self._to_login(resp, user_code)
        try:
            pending = self._devices.pending(user_code, client_ip(req, self._config.trusted_proxies))
        except NotFound as error:
            return self._enter(req, resp, user_code, str(error), status=404)
        user = find_user(self._database, session.user_id)
        self._pages.render(req, resp, "device_confirm.html", title="Connect a device", user_code=pending.user_code,
                           application=pending.application, scopes=pending.scopes(),
                           email=user.email if user else "", tenant=user.tenant_name if user else "")

    def on_post(self, req, resp):
        form = form_params(req, self._config.max_body_bytes)
        self._sessions.check_csrf(req, form)
        session = self._sessions.current(req)
        if session is None:
            return self._to_login(resp, form.get("user_code", ""))
        if form.get("action") not in ACTIONS:
            return self._enter(req, resp, form.get("user_code", ""), "Choose Approve or Deny.")
        approve = form["action"] == "approve"
        try:
            pending = self._devices.decide(form.get("user_code"), approve, session,
                                           client_ip(req, self._config.trusted_proxies))
        except NotFound as error:
            return self._enter(req, resp, form.get("user_code", ""), str(error), status=404)
        self._pages.render(req, resp, "device_done.html", title="Device approved" if approve else "Request denied",
                           approved=approve, application=pending.application)

    def _enter(self, req, resp, user_code="", error=None, status=200):
        self._pages.render(req, resp, "device_enter.html", status=status, title="Connect a device",
                           user_code=user_code, error=error)

    @staticmethod
    def _to_login(resp, user_code):
        code = normalize_user_code(user_code)
        back = add_query(DEVICE_PAGE, {"user_code": code[:4] + "-" + code[4:] if code else user_code})
        resp.status = 303
        resp.location = login_url(back)
        resp.set_header("Cache-Control", "no-store")
