"""Structured (JSON) logs carrying the request id, for the app and for gunicorn's access log."""

import contextvars
import json
import logging
import re
import secrets
import sys
import time

from gunicorn import glogging

request_id_var = contextvars.ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


_last_second = (None, "")


def _utc_second(timestamp):
    """RFC 3339 UTC to the second; formatted once per second, since every request logs it."""
    global _last_second
    second = int(timestamp)
    cached_second, text = _last_second  # one tuple, so threads never see a half-updated pair
    if cached_second != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        _last_second = (second, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {"time": _utc_second(record.created),
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_json_logging(level=logging.INFO):
    # The JSON lines never show the caller, thread or process: skip collecting them for every record
    # (the logging HOWTO's "Optimization" switches; the audit line is logged on every token request).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class RequestId:
    """Middleware: the request id from a trusted front (nginx's X-Request-ID) or a new one; echoed back."""

    def process_request(self, req, resp):
        incoming = req.get_header("X-Request-ID")
        request_id = incoming if incoming and _SANE_ID.match(incoming) else secrets.token_hex(8)
        req.context.request_id = request_id
        request_id_var.set(request_id)

    def process_response(self, req, resp, resource, req_succeeded):
        resp.set_header("X-Request-ID", getattr(req.context, "request_id", "") or "")
        request_id_var.set(None)


def _status_code(resp):
    """The response's status as an int.

    gunicorn sets status_code in start_response; the error answers it writes itself (a malformed
    request's 400) never pass through start_response and carry only the status line.
    """
    code = getattr(resp, "status_code", None)
    if code is None:
        try:
            code = int(str(resp.status).split(None, 1)[0])
        except (AttributeError, IndexError, ValueError):
            return None
    return code


class JsonAccessLogger(glogging.Logger):
    """gunicorn logger whose access lines are JSON objects (safe with any user agent or path)."""

    def setup(self, cfg):
        super().setup(cfg)
        # gunicorn's own condition for an access log (its access_log_enabled property is from 26 on).
        self._access_enabled = bool(
            cfg.accesslog or cfg.logconfig or cfg.logconfig_dict or getattr(cfg, "logconfig_json", None)
            or (cfg.syslog and not cfg.disable_redirect_access_to_syslog))
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
        for handler in self.access_log.handlers:
            handler.setFormatter(logging.Formatter("%(message)s"))  # access() writes the JSON itself

    def access(self, resp, req, environ, request_time):
        # Called once per request on the hot path: one json.dumps and one write, not a LogRecord.
        if not self._access_enabled:
            return
        request_id = None
        for name, value in resp.headers:
            if len(name) == 12 and name.lower() == "x-request-id":
                request_id = value
                break
        line = json.dumps({
            "time": _utc_second(time.time()), "level": "info", "logger": "gunicorn.access",
            "remote": environ.get("REMOTE_ADDR"), "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"), "status": _status_code(resp),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "request_id": request_id, "user_agent": environ.get("HTTP_USER_AGENT"),
        })
        for handler in self.access_log.handlers:
            # The stream is looked up each time: gunicorn swaps it when it reopens log files (USR1).
            handler.acquire()
            try:
                handler.stream.write(line + "\n")
                handler.stream.flush()
            except (OSError, ValueError) as exc:  # a full disk or closed stream must not fail the request
                sys.stderr.write(f"access log write failed: {exc}\n")
            finally:
                handler.release()
