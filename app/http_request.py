"""A plain HTTP/1.x request read straight from the worker's buffer, without gunicorn's parser.

The worker has each request's head and body in its buffer before dispatch. gunicorn's parser still
reads it through its unreader a chunk at a time and checks every rule for every request, which costs
more than many small endpoints do. A request that is unambiguous (the common one: a short origin-form
target, plain header fields, a Content-Length body) can be read from the buffer in a few string
operations, into an object that gunicorn's wsgi.create, Response and access log take as they take
their own Request. Anything else makes read_request return None and goes to gunicorn's parser
unchanged, so gunicorn alone decides every error answer: this module never refuses a request.
"""

import io
import re

from gunicorn.http import message

# gunicorn reads the head in chunks of 8 KiB (SocketUnreader); a head within the first one meets no
# size check but the per-line and per-field ones reproduced below.
MAX_HEAD = 8192
# RFC 9110 tchar without "_": gunicorn's header_map decides what a name with "_" becomes.
_HEAD = re.compile(
    rb"(?:GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH) /[!-\"$-~]* HTTP/1\.[01]"  # origin-form, no "#"
    rb"(?:\r\n[!#$%&'*+\-.^`|~0-9A-Za-z]+:[\t -~]*)*")
# Fields gunicorn acts on in ways not reproduced here: a chunked body, 100-continue (or a 417).
_FRAMING = frozenset(("TRANSFER-ENCODING", "EXPECT"))
_ONCE = frozenset(("HOST", "CONTENT-TYPE", "CONTENT-LENGTH"))
_DEFAULT_LIMIT = 8190  # gunicorn's default (and its maximum) for a request line and for a field


class Request:
    """What gunicorn's own Request offers wsgi.create, Response, the logs and the hooks."""

    __slots__ = ("method", "uri", "path", "query", "fragment", "version", "headers", "trailers", "body",
                 "scheme", "must_close", "peer_addr", "remote_addr", "proxy_protocol_info",
                 "_expected_100_continue", "cfg")

    # gunicorn's own decisions, so that keep-alive is decided as for its requests.
    should_close = message.Message.should_close
    force_close = message.Message.force_close


class RequestReader:
    """read_request(buffer, peer_addr): a Request taken off the front of `buffer`, or None."""

    def __init__(self, cfg):
        self.cfg = cfg
        line = cfg.limit_request_line
        self.line_limit = line if 0 < line < _DEFAULT_LIMIT else _DEFAULT_LIMIT
        fields = cfg.limit_request_fields
        self.fields_limit = fields if 0 < fields <= message.MAX_HEADERS else message.MAX_HEADERS
        self.field_limit = cfg.limit_request_field_size if cfg.limit_request_field_size > 0 else _DEFAULT_LIMIT
        self.secure_headers = dict(cfg.secure_scheme_headers)
        self.watched = _FRAMING | _ONCE | frozenset(self.secure_headers)
        self.trusted = {}  # peer address -> whether it may set secure_scheme_headers

    @staticmethod
    def usable(cfg):
        """Whether requests can be read from the buffer at all: plain HTTP/1.x, no PROXY protocol line
        (only gunicorn's parser knows a connection's first request), no TLS of gunicorn's own."""
        return (not cfg.is_ssl and cfg.proxy_protocol in (False, None, "off")
                and getattr(cfg, "protocol", "http") == "http")

    def read_request(self, buffer, peer_addr):
        end = buffer.find(b"\r\n\r\n", 0, MAX_HEAD)
        if end < 0:
            return None
        head = bytes(buffer[:end])
        if not _HEAD.fullmatch(head):
            return None
        lines = head.decode("ascii").split("\r\n")
        # Limits as gunicorn counts them; at the limit itself too, so that no off-by-one can differ.
        if len(lines[0]) >= self.line_limit or len(lines) > self.fields_limit:
            return None
        headers = []
        length, seen, scheme = 0, set(), None
        for line in lines[1:]:
            if len(line) + 2 >= self.field_limit:
                return None
            name, _, value = line.partition(":")
            name = name.upper()
            value = value.strip(" \t")
            headers.append((name, value))
            if name in self.watched:
                if name in _FRAMING or name in seen:
                    return None
                seen.add(name)
                if name == "CONTENT-LENGTH":
                    if not value.isdigit():
                        return None
                    length = int(value)
                if name in self.secure_headers:
                    if scheme is not None:  # two of them: gunicorn checks that they agree
                        return None
                    trusted = self._trusted(peer_addr)
                    scheme = "https" if trusted and value == self.secure_headers[name] else "http"
        total = end + 4 + length
        if len(buffer) < total:
            return None
        method, uri, version = lines[0].split(" ")
        req = Request()
        req.method = method
        req.uri = uri
        req.path, _, req.query = uri.partition("?")
        req.fragment = ""
        req.version = (1, 1) if version == "HTTP/1.1" else (1, 0)
        req.headers = headers
        req.trailers = []
        req.body = io.BytesIO(bytes(buffer[end + 4:total]))
        del buffer[:total]
        req.scheme = scheme or "http"
        req.must_close = False
        req.peer_addr = req.remote_addr = peer_addr
        req.proxy_protocol_info = None
        req._expected_100_continue = False
        req.cfg = self.cfg
        return req

    def _trusted(self, peer_addr):
        """gunicorn's test for a peer allowed to set secure_scheme_headers (forwarded_allow_ips)."""
        if not isinstance(peer_addr, tuple):
            return True  # a UNIX socket
        ip = peer_addr[0]
        trusted = self.trusted.get(ip)
        if trusted is None:
            allowed = self.cfg.forwarded_allow_ips
            in_list = getattr(message, "_ip_in_allow_list", None)
            if in_list is None:  # gunicorn 24.0: exact addresses or "*"
                trusted = "*" in allowed or ip in allowed
            else:  # gunicorn 24.1 on: networks too
                trusted = in_list(ip, allowed, self.cfg.forwarded_allow_networks())
            if len(self.trusted) >= 256:
                self.trusted.clear()
            self.trusted[ip] = trusted
        return trusted
