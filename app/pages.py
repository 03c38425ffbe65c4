"""Rendering the service's own HTML pages, with the strict headers every page sends."""

from pathlib import Path

import falcon

from app.templating import Templates


def _data_dir(name):
    """app/<name> when installed (setup.cfg ships the top-level folder there), else the checkout's <name>/."""
    here = Path(__file__).resolve().parent
    return here / name if (here / name).is_dir() else here.parent / name


TEMPLATE_DIR = _data_dir("templates")
STATIC_DIR = _data_dir("static")

# No form-action: it would block the redirect back to the client after a form post.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
                           "base-uri 'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def set_page_headers(resp):
    for name, value in PAGE_HEADERS.items():
        resp.set_header(name, value)


class Pages:
    """Renders a template inside base.html, adding the CSRF token every form needs."""

    def __init__(self, sessions, templates=None):
        self._sessions = sessions
        self._templates = templates or Templates(TEMPLATE_DIR)

    def render(self, req, resp, name, *, status=200, **context):
        context["csrf_token"] = self._sessions.csrf_token(req, resp)
        resp.status = status
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self._templates.page(name, context)
        set_page_headers(resp)

    def error(self, req, resp, title, message, status=400):
        self.render(req, resp, "error.html", status=status, title=title, message=message)
