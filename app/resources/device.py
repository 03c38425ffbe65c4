"""Device flow API: POST device/authorize, GET and POST device/verify (RFC 8628 §3.1-3.3)."""

import json
from urllib.parse import urlsplit

from app.clientip import client_ip
from app.clients import authenticate_client
from app.errors import ForbiddenOrigin, InvalidRequest, LoginRequired, ValidationFailed
from app.params import form_params, query_params, read_body, require

ACTIONS = ("approve", "deny")


class DeviceAuthorizeResource:
    def __init__(self, devices, database, config, assertions=None):
        self._devices = devices
        self._database = database
        self._config = config
        self._assertions = assertions

    def on_post(self, req, resp):
        params = form_params(req, self._config.max_body_bytes)
        require(params, "body", "client_id")
        client = authenticate_client(self._database, params, req.get_header("Authorization"),
                                     assertions=self._assertions, endpoint=self._config.issuer + "/device/authorize")
        resp.media = self._devices.start(client, params.get("scope"))
        resp.set_header("Cache-Control", "no-store")


def check_action(params):
    require(params, "body", "user_code", "action")
    if params["action"] not in ACTIONS:
        raise ValidationFailed([{"loc": ["body", "action"], "msg": "Input should be 'approve' or 'deny'",
                                 "type": "literal_error"}])
    return params["action"] == "approve"


class DeviceVerifyResource:
    def __init__(self, devices, sessions, config):
        self._devices = devices
        self._sessions = sessions
        self._config = config

    def on_get(self, req, resp):
        params = query_params(req)
        require(params, "query", "user_code")
        pending = self._devices.pending(params["user_code"], client_ip(req, self._config.trusted_proxies))
        resp.media = {
            "user_code": pending.user_code,
            "application": {"name": pending.application, "client_id": pending.client_id},
            "scopes": pending.scopes(),
            "expires_at": pending.expires_at,
            "expires_in": max(0, pending.expires_at - int(self._devices.now())),
            "status": "pending",
        }

    def on_post(self, req, resp):
        session = self._sessions.current(req)
        if session is None:
            raise LoginRequired.challenge("Sign in first: approving a device needs a signed-in user")
        params = self._read(req)
        approve = check_action(params)
        pending = self._devices.decide(params["user_code"], approve, session,
                                       client_ip(req, self._config.trusted_proxies))
        resp.media = {"status": "approved" if approve else "denied", "user_code": pending.user_code,
                      "application": {"name": pending.application, "client_id": pending.client_id}}

    def _read(self, req):
        """JSON from our own origin, or the page's form with its CSRF token."""
        media_type = (req.content_type or "").split(";", 1)[0].strip().lower()
        if media_type == "application/json":
            origin = req.get_header("Origin")
            if origin is not None and _origin(origin) != _origin(self._config.issuer_base):
                raise ForbiddenOrigin("Cross-origin requests are not accepted")
            if req.get_header("Sec-Fetch-Site") not in (None, "same-origin", "none"):
                raise ForbiddenOrigin("Cross-site requests are not accepted")
            body = read_body(req, self._config.max_body_bytes)
            try:
                params = json.loads(body.decode("utf-8")) if body else {}
            except (UnicodeDecodeError, ValueError, RecursionError):
                raise InvalidRequest("The body is not valid JSON") from None
            if not isinstance(params, dict):
                raise InvalidRequest("The body must be a JSON object")
            for name in ("user_code", "action"):
                if name in params and not isinstance(params[name], str):
                    raise ValidationFailed([{"loc": ["body", name], "msg": "Input should be a valid string",
                                             "type": "string_type"}])
            return params
        form = form_params(req, self._config.max_body_bytes)
        self._sessions.check_csrf(req, form)
        return form


def _origin(url):
    parts = urlsplit(url)
    return (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
