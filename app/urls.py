"""Small URL helpers for redirects."""

from urllib.parse import urlencode, urlsplit


def add_query(uri, params):
    """The URI with params appended to its query (its own query, if any, is kept: RFC 6749 §3.1.2)."""
    pairs = {name: value for name, value in params.items() if value is not None}
    if not pairs:
        return uri
    separator = "&" if urlsplit(uri).query else ("" if uri.endswith("?") else "?")
    return uri + separator + urlencode(pairs)


def safe_local_path(value, default=None):
    """value if it is a path on this host (never another host or scheme), else default."""
    if not value or not value.startswith("/") or value.startswith("//") or value.startswith("/\\"):
        return default
    if any(ord(c) < 0x20 or c == "\\" for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


LOGIN_PAGE = "/login"


def login_url(next_path=None, login_hint=None):
    """The sign-in page, returning to next_path (a local path) afterwards."""
    return add_query(LOGIN_PAGE, {"next": next_path or None, "login_hint": login_hint or None})
