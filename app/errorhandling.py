"""The one place where errors become responses: JSON for the API, HTML for pages."""

import logging

import falcon
import peewee

from app.config import API_PREFIX, ISSUER_PATH
from app.errors import AuthorizationRedirect, OAuthError, PageError, ServiceError, TooManyRequests, ValidationFailed
from app.urls import add_query

log = logging.getLogger("app.errors")

_HTTP_ERROR_CODES = {404: "not_found", 405: "method_not_allowed", 413: "invalid_request", 415: "invalid_request"}


def _json(resp, status, body, headers=None):
    resp.status = status
    resp.media = body
    resp.set_header("Cache-Control", "no-store")
    for name, value in (headers or {}).items():
        resp.set_header(name, value)


def handle_service_error(req, resp, ex, params):
    if isinstance(ex, AuthorizationRedirect):
        redirect_with_error(resp, ex)
    elif isinstance(ex, PageError):
        render_page_error(req, resp, ex)
    elif isinstance(ex, OAuthError) and is_page(req):
        # A person on one of our pages gets a page, not JSON.
        render_page_error(req, resp, as_page_error(ex))
    elif isinstance(ex, ValidationFailed):
        _json(resp, 422, {"detail": ex.detail})
    elif isinstance(ex, OAuthError):
        _json(resp, ex.status, ex.body(), ex.headers)
    else:
        _json(resp, ex.status, {"error": "not_found" if ex.status == 404 else "invalid_request",
                                "error_description": str(ex)})


def handle_http_error(req, resp, ex, params):
    """falcon's own errors (unknown route, wrong method, …) in the same JSON shape."""
    body = {"error": _HTTP_ERROR_CODES.get(ex.status_code, "invalid_request" if ex.status_code < 500
                                           else "server_error")}
    description = ex.description or ex.title
    if ex.status_code == 404:
        description = f"No resource at {req.path}"
    elif ex.status_code == 405:
        description = f"{req.method} is not allowed on {req.path}"
    if description:
        body["error_description"] = description
    _json(resp, ex.status, body, ex.headers)


def handle_database_error(req, resp, ex, params):
    log.error("database unavailable during %s %s: %s", req.method, req.path, ex)
    database = getattr(req.context, "database", None)
    if database is not None:
        try:
            database.close()  # drop the broken connection; the next request opens a new one
        except Exception:  # noqa: BLE001 - closing a dead connection may fail in many ways
            pass
    _json(resp, 503, {"error": "temporarily_unavailable",
                      "error_description": "The service cannot reach its database; try again shortly"},
          {"Retry-After": "5"})


def handle_data_error(req, resp, ex, params):
    """A value the database cannot store or compare (a safety net: parsing refuses most of them)."""
    log.warning("database refused a value during %s %s: %s", req.method, req.path, ex)
    _json(resp, 400, {"error": "invalid_request", "error_description": "A parameter has a value that is not allowed"})


def handle_unexpected(req, resp, ex, params):
    if isinstance(ex, falcon.HTTPError):
        return handle_http_error(req, resp, ex, params)
    log.exception("unhandled error during %s %s", req.method, req.path)
    _json(resp, 500, {"error": "server_error", "error_description": "Internal error; it has been logged"})


# Endpoints of the API that a person's browser opens (others are called by programs).
BROWSER_ENDPOINTS = (ISSUER_PATH + "/authorize", ISSUER_PATH + "/logout")


def is_page(req):
    return not req.path.startswith(API_PREFIX + "/") or req.path in BROWSER_ENDPOINTS


def as_page_error(ex):
    if isinstance(ex, TooManyRequests):
        minutes = max(1, (ex.retry_after + 59) // 60)
        return PageError("Too many attempts",
                         f"There have been too many attempts from your network. For your safety, please wait "
                         f"{minutes} minute{'s' if minutes != 1 else ''} and try again.",
                         status=429, headers=ex.headers)
    return PageError("This request could not be handled", ex.description or "The request was not valid.",
                     status=ex.status, headers=ex.headers)


def redirect_with_error(resp, ex):
    resp.status = 303
    resp.location = add_query(ex.redirect_uri, {"error": ex.error.error, "error_description": ex.error.description,
                                                "state": ex.state, "iss": ex.issuer})
    resp.set_header("Cache-Control", "no-store")


def render_page_error(req, resp, ex):
    pages = getattr(req.context, "pages", None)
    for name, value in ex.headers.items():
        resp.set_header(name, value)
    if pages is None:
        resp.status = ex.status
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"{ex.title}\n\n{ex.message}\n"
        return
    pages.error(req, resp, ex.title, ex.message, status=ex.status)


def install(app):
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(falcon.HTTPError, handle_http_error)
    app.add_error_handler((peewee.OperationalError, peewee.InterfaceError), handle_database_error)
    app.add_error_handler(peewee.DataError, handle_data_error)
    app.add_error_handler(ServiceError, handle_service_error)
