"""The tenant-agnostic login pages: /login (email, then password) and /login/tenant (the chooser)."""

from app.clientip import client_ip
from app.params import form_params, query_params
from app.store.users import normalize_email
from app.urls import login_url, safe_local_path

WRONG_CREDENTIALS = "The email address or password is incorrect."


class LoginResource:
    def __init__(self, signin, sessions, pages, config):
        self._signin = signin
        self._sessions = sessions
        self._pages = pages
        self._config = config

    def on_get(self, req, resp):
        params = query_params(req)
        next_path = safe_local_path(params.get("next"), "")
        session = self._sessions.current(req)
        if session is not None and not next_path:
            # Someone already signed in who opens /login (e.g. "Stay signed in") sees who they are.
            user = self._signin.signed_in_user(session)
            if user is not None:
                return self._pages.render(req, resp, "signed_in.html", title="Signed in", email=user.email,
                                          tenant=user.tenant_name)
        self._email_step(req, resp, next_path, params.get("login_hint", ""))

    def on_post(self, req, resp):
        form = form_params(req, self._config.max_body_bytes)
        self._sessions.check_csrf(req, form)
        next_path = safe_local_path(form.get("next"), "")
        email = normalize_email(form.get("email", ""))
        if form.get("step") != "password":
            if not email:
                return self._email_step(req, resp, next_path, "", error="Enter your email address.")
            # Shown for any email, known or not: the page reveals nothing about accounts.
            return self._pages.render(req, resp, "login_password.html", title="Enter your password", email=email,
                                      next=next_path, restart_url=login_url(next_path),
                                      application=self._signin.application_name(next_path))
        ip = client_ip(req, self._config.trusted_proxies)
        users = self._signin.verify(email, form.get("password", ""), ip)
        if not users:
            return self._email_step(req, resp, next_path, "", error=WRONG_CREDENTIALS)
        if len(users) == 1:
            self._signin.succeeded(users[0], ip)
            return complete_sign_in(self._signin, self._sessions, self._pages, req, resp, users[0], next_path)
        challenge = self._signin.create_challenge(users, next_path)
        self._pages.render(req, resp, "login_tenant.html", title="Choose a workspace", email=email,
                           challenge=challenge, tenants=self._signin.challenge_tenants(users))

    def _email_step(self, req, resp, next_path, email, error=None):
        self._pages.render(req, resp, "login_email.html", title="Sign in", email=email, next=next_path,
                           error=error, application=self._signin.application_name(next_path))


class LoginTenantResource:
    def __init__(self, signin, sessions, pages, config):
        self._signin = signin
        self._sessions = sessions
        self._pages = pages
        self._config = config

    def on_post(self, req, resp):
        form = form_params(req, self._config.max_body_bytes)
        self._sessions.check_csrf(req, form)
        user, next_path = self._signin.redeem_challenge(form.get("challenge"), form.get("tenant"))
        self._signin.succeeded(user, client_ip(req, self._config.trusted_proxies))
        complete_sign_in(self._signin, self._sessions, self._pages, req, resp, user, safe_local_path(next_path, ""))


def complete_sign_in(signin, sessions, pages, req, resp, user, next_path):
    """A new session (new id: no fixation), then back to where the person was going."""
    session = sessions.start(req, resp, user.id, user.tenant_id)
    signin.signed_in_for(next_path, session)
    if next_path:
        resp.status = 303
        resp.location = next_path
        resp.set_header("Cache-Control", "no-store")
        return
    pages.render(req, resp, "signed_in.html", title="Signed in", email=user.email, tenant=user.tenant_name)
