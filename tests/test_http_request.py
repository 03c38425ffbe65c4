"""app/http_request.py against gunicorn's own parser: for the same bytes, the same WSGI environ.

Each request is fed (a) to gunicorn's parser over the worker's buffered source, as the worker runs
it, and (b) to the buffer reader; both requests go through gunicorn's wsgi.create. Wherever the
reader takes a request, the environs must be equal key for key (wsgi.input by the bytes it reads),
and so must should_close() and the bytes left for the next request. Wherever gunicorn refuses a
request, the reader must have declined it (None) and left the buffer untouched, so that gunicorn's
answer is the one sent. Then the worker itself, with and without the reader, must answer alike.
"""

import string

import pytest
from gunicorn import http
from gunicorn.config import Config
from gunicorn.http import message, wsgi
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app import worker
from app.http_request import MAX_HEAD, RequestReader
from app.worker import _BufferedSource, _Connection, _snapshot_settings
from tests.test_worker_internals import serve

SERVER = ("127.0.0.1", 8000)
PEERS = [("127.0.0.1", 40000), ("10.1.2.3", 5), ("192.0.2.7", 1), "", ("::1", 2)]
# What the environs may differ in: objects made afresh for each request (and wsgi.input, read instead).
IDENTITIES = {"wsgi.errors", "gunicorn.socket", "wsgi.early_hints", "wsgi.input"}
TOKEN = "/api/v1/platform/oauth/token"
NETWORKS = hasattr(message, "_ip_in_allow_list")  # forwarded_allow_ips takes networks (gunicorn 24.1 on)
FORM = b"grant_type=client_credentials&scope=read%3Aorders+write%3Aorders"
TYPICAL = (b"POST " + TOKEN.encode() + b" HTTP/1.1\r\nHost: auth.example.com\r\n"
           b"Authorization: Basic Y2xpZW50LWlkOmNsaWVudC1zZWNyZXQtdmFsdWU=\r\n"
           b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n"
           b"User-Agent: python-requests/2.32.3\r\nAccept: application/json\r\n"
           b"X-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n%s") % (len(FORM), FORM)


def config(**values):
    cfg = Config()
    for name, value in values.items():
        cfg.set(name, value)
    return cfg


def snapshotted(**values):
    cfg = config(**values)
    _snapshot_settings(cfg)
    return cfg


CONFIGS = {
    "default": config(),
    "snapshotted": snapshotted(),
    "networks": config(forwarded_allow_ips="10.0.0.0/8, ::1" if NETWORKS else "10.1.2.3, ::1",
                       secure_scheme_headers={"X-SCHEME": "secure"}),
    "everyone": snapshotted(forwarded_allow_ips="*"),
    "small limits": config(limit_request_line=40, limit_request_fields=4, limit_request_field_size=30),
    "no limits": config(limit_request_line=0, limit_request_fields=0, limit_request_field_size=0),
    "dropped underscores": config(header_map="drop"),
}


class FakeSocket:
    """A client that sent nothing more (recv: end of file) and takes whatever is written."""

    def __init__(self):
        self.sent = []

    def recv(self, size):
        return b""

    def settimeout(self, timeout):
        pass

    def send(self, data):
        self.sent.append(data)
        return len(data)

    def sendall(self, data):
        self.sent.append(data)


def drained(body):
    """The body's bytes, read by each of the means an application has."""
    return [body.readline(), body.read(3), *body, body.read()]


def by_gunicorn(raw, cfg, peer):
    """(req, environ, body, leftover) from gunicorn's parser as the worker runs it, or the exception it raised."""
    connection = _Connection(FakeSocket(), peer, SERVER)
    connection.buffer = bytearray(raw)
    connection.expires = float("inf")
    parser = http.get_parser(cfg, _BufferedSource(connection), peer)
    try:
        req = next(parser)
        worker._refuse_repeated_headers(req)
        _, environ = wsgi.create(req, FakeSocket(), peer, SERVER, cfg)
        body = drained(environ["wsgi.input"])  # a chunked body can be refused here
    except Exception as exc:
        return exc
    assert parser.finish_body() is not False
    return req, environ, body, parser.unreader.buf.getvalue() + bytes(connection.buffer)


def by_reader(raw, cfg, peer):
    """The same from the buffer reader, or None when it declined (the buffer then left as it was)."""
    buffer = bytearray(raw)
    req = RequestReader(cfg).read_request(buffer, peer)
    if req is None:
        assert buffer == raw
        return None
    _, environ = wsgi.create(req, FakeSocket(), peer, SERVER, cfg)
    return req, environ, drained(environ["wsgi.input"]), bytes(buffer)


def comparable(environ):
    return {key: value for key, value in environ.items() if key not in IDENTITIES}


def assert_equivalent(raw, cfg, peer=PEERS[0], accepted=None):
    """The reader either declines or agrees with gunicorn; `accepted` says which one is expected."""
    ours = by_reader(raw, cfg, peer)
    theirs = by_gunicorn(raw, cfg, peer)
    if accepted is not None:
        assert (ours is not None) == accepted, (raw, theirs)
    if ours is None:
        return theirs
    assert not isinstance(theirs, Exception), (raw, theirs)
    (req, environ, body, leftover), (greq, genviron, gbody, gleftover) = ours, theirs
    assert comparable(environ) == comparable(genviron)
    assert set(environ) == set(genviron)
    assert (body, leftover) == (gbody, gleftover)
    assert req.should_close() == greq.should_close()
    for name in ("method", "uri", "path", "query", "fragment", "version", "headers", "scheme",
                 "proxy_protocol_info", "_expected_100_continue", "peer_addr", "remote_addr", "trailers"):
        if hasattr(greq, name):  # _expected_100_continue is from gunicorn 25 on
            assert getattr(req, name) == getattr(greq, name), name
    return ours


# -- hand-written cases ---------------------------------------------------------------------------

SIMPLE = [
    TYPICAL,
    TYPICAL + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",  # pipelined: left for the next turn
    b"GET / HTTP/1.1\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /a%20b/c?x=1&y=%2F&z HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
    b"GET //double/slash?q HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /?only=query HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /a?b?c HTTP/1.1\r\nHost: x\r\n\r\n",
    b"HEAD /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET /x HTTP/1.0\r\n\r\n",
    b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n",
    b"GET /x HTTP/1.1\r\nConnection:   CLOSE \t\r\n\r\n",
    b"GET /x HTTP/1.1\r\nConnection: Upgrade\r\nConnection: close\r\n\r\n",
    b"DELETE /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    b"PUT /x HTTP/1.1\r\nContent-Length: 00003\r\n\r\nabcdef",
    b"PATCH /x HTTP/1.1\r\ncontent-length:3\r\ncontent-type:\ttext/plain\r\n\r\na\nb",
    b"OPTIONS /x HTTP/1.1\r\nX-Empty:\r\nX-Spaces:   \r\n\r\n",
    b"GET /x HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\nX-A:3\r\n\r\n",  # joined with commas by wsgi.create
    b"GET /x HTTP/1.1\r\nX-Forwarded-Proto: https\r\n\r\n",
    b"GET /x HTTP/1.1\r\nX-Forwarded-Proto: http\r\n\r\n",
    b"GET /x HTTP/1.1\r\nX-Forwarded-Proto: HTTPS\r\n\r\n",
    b"GET /x HTTP/1.1\r\nX-Forwarded-Ssl: on\r\n\r\n",
    b"GET /x HTTP/1.1\r\nX-Scheme: secure\r\n\r\n",
    b"GET /x HTTP/1.1\r\nX-Weird-Chars: a\"b(c)d{e}f\\g'h\r\nA!#$%&'*+-.^`|~z: v\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: x\r\n\r\nGET /y HTTP/1.1\r\n",  # a partial request behind
    b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\r\n",  # a stray CRLF behind
]

# One per kind of request the reader must leave to gunicorn.
DECLINED = {
    "lower-case method": b"get / HTTP/1.1\r\n\r\n",
    "unknown method": b"PROPFIND / HTTP/1.1\r\n\r\n",
    "CONNECT": b"CONNECT example.com:443 HTTP/1.1\r\n\r\n",
    "asterisk": b"OPTIONS * HTTP/1.1\r\n\r\n",
    "absolute-form": b"GET http://example.com/x HTTP/1.1\r\n\r\n",
    "empty target": b"GET  HTTP/1.1\r\n\r\n",
    "fragment": b"GET /x#frag HTTP/1.1\r\n\r\n",
    "non-ASCII target": b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n",
    "control in target": b"GET /\x01 HTTP/1.1\r\n\r\n",
    "HTTP/2.0": b"GET / HTTP/2.0\r\n\r\n",
    "HTTP/1.2": b"GET / HTTP/1.2\r\n\r\n",
    "lower-case version": b"GET / http/1.1\r\n\r\n",
    "two spaces": b"GET  / HTTP/1.1\r\n\r\n",
    "trailing space": b"GET / HTTP/1.1 \r\n\r\n",
    "leading empty line": b"\r\nGET / HTTP/1.1\r\n\r\n",
    "bare LF": b"GET / HTTP/1.1\nHost: x\n\n",
    "bare LF in a header": b"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
    "bare CR in a value": b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
    "obs-fold": b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
    "NUL in a value": b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
    "DEL in a value": b"GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n",
    "non-ASCII value": b"GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n",
    "space before colon": b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
    "no colon": b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
    "empty name": b"GET / HTTP/1.1\r\n: x\r\n\r\n",
    "underscore": b"GET / HTTP/1.1\r\nX_Forwarded_For: 1.2.3.4\r\n\r\n",
    "non-token name": b"GET / HTTP/1.1\r\nX(y): 1\r\n\r\n",
    "Transfer-Encoding": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "Transfer-Encoding identity": b"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n",
    "Expect": b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
    "Expect, other": b"POST / HTTP/1.1\r\nExpect: something\r\n\r\n",
    "Content-Length not digits": b"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\nx",
    "Content-Length signed": b"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\nx",
    "Content-Length empty": b"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
    "Content-Length twice": b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
    "Content-Length list": b"POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx",
    "Host twice": b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
    "Content-Type twice": b"GET / HTTP/1.1\r\nContent-Type: a/b\r\ncontent-type: a/b\r\n\r\n",
    "body incomplete": b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
    "head incomplete": b"GET / HTTP/1.1\r\nHost: x\r\n",
    "two scheme headers that agree": b"GET / HTTP/1.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Ssl: on\r\n\r\n",
    "two scheme headers that disagree": b"GET / HTTP/1.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n\r\n",
    "a scheme header twice": b"GET / HTTP/1.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Proto: https\r\n\r\n",
    "head beyond 8 KiB": b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD + b"\r\n\r\n",
    "too many fields": b"GET / HTTP/1.1\r\n" + b"X: 1\r\n" * 100 + b"\r\n",
}


@pytest.mark.parametrize("cfg", CONFIGS.values(), ids=list(CONFIGS))
@pytest.mark.parametrize("peer", PEERS, ids=repr)
@pytest.mark.parametrize("raw", SIMPLE, ids=lambda raw: raw[:40].decode("latin-1"))
def test_a_simple_request_reads_as_gunicorn_reads_it(raw, cfg, peer):
    assert_equivalent(raw, cfg, peer, accepted=None if cfg is CONFIGS["small limits"] else True)


@pytest.mark.parametrize("cfg", CONFIGS.values(), ids=list(CONFIGS))
@pytest.mark.parametrize("raw", DECLINED.values(), ids=list(DECLINED))
def test_anything_else_is_left_to_gunicorn(raw, cfg):
    # These depend on the secure_scheme_headers and limits, which the default configurations have.
    depends = raw in (DECLINED["two scheme headers that agree"], DECLINED["too many fields"],
                      DECLINED["two scheme headers that disagree"], DECLINED["a scheme header twice"])
    defaults = cfg in (CONFIGS["default"], CONFIGS["snapshotted"], CONFIGS["everyone"])
    for peer in PEERS:
        assert_equivalent(raw, cfg, peer, accepted=False if defaults or not depends else None)


def test_the_typical_token_request_is_read_from_the_buffer():
    req, environ, body, leftover = assert_equivalent(TYPICAL, CONFIGS["snapshotted"], accepted=True)
    assert (environ["REQUEST_METHOD"], environ["PATH_INFO"], environ["wsgi.url_scheme"]) == ("POST", TOKEN, "https")
    assert b"".join(body) == FORM and leftover == b""
    # From a peer that forwarded_allow_ips does not name, X-Forwarded-Proto is not believed.
    req, environ, _, _ = assert_equivalent(TYPICAL, CONFIGS["snapshotted"], ("192.0.2.7", 1), accepted=True)
    assert environ["wsgi.url_scheme"] == "http"


@pytest.mark.parametrize("name, limit, line", [
    ("limit_request_line", 40, lambda n: b"GET /" + b"a" * (n - 14) + b" HTTP/1.1\r\n\r\n"),
    ("limit_request_field_size", 30, lambda n: b"GET / HTTP/1.1\r\nX: " + b"a" * (n - 5) + b"\r\n\r\n"),
    ("limit_request_fields", 4, lambda n: b"GET / HTTP/1.1\r\n" + b"X: 1\r\n" * n + b"\r\n"),
])
def test_at_each_limit_the_reader_declines_and_past_it_gunicorn_refuses(name, limit, line):
    cfg = config(**{name: limit})
    assert_equivalent(line(limit - 1), cfg, accepted=True)
    assert not isinstance(assert_equivalent(line(limit), cfg, accepted=False), Exception)
    assert isinstance(assert_equivalent(line(limit + 1), cfg, accepted=False), Exception)


def test_the_reader_is_not_used_with_tls_or_the_proxy_protocol():
    assert RequestReader.usable(Config())
    assert not RequestReader.usable(config(proxy_protocol=True))
    assert not RequestReader.usable(config(certfile=__file__, keyfile=__file__))


# -- generated requests ---------------------------------------------------------------------------

VISIBLE = "".join(chr(c) for c in range(0x21, 0x7f))
TCHAR = string.ascii_letters + string.digits + "!#$%&'*+-.^`|~"
NAMES = ["Host", "Content-Type", "Content-Length", "Connection", "X-Forwarded-Proto", "X-Forwarded-Ssl",
         "X-Forwarded-Protocol", "X-Scheme", "Authorization", "User-Agent", "Accept", "X-Forwarded-For",
         "Transfer-Encoding", "Expect", "Script_Name", "X_Under", "Cookie"]


def cased(name):
    return st.sampled_from([name, name.lower(), name.upper()])


plain_names = st.one_of(st.sampled_from(NAMES).flatmap(cased), st.text(TCHAR, min_size=1, max_size=12))
plain_values = st.one_of(
    st.sampled_from(["close", "keep-alive", "https", "http", "on", "ssl", "secure", "0", "5", "100-continue",
                     "chunked", "a/b", "x"]),
    st.text(VISIBLE + " \t", max_size=40))
# Bytes gunicorn refuses, or that make a line something else than it seems.
hostile = st.sampled_from(["\x00", "\x7f", "\x80", "\xe9", "\n", "\r", "\r\n ", "\r\n\t", "_", " ", "#", ":"])


SCHEME_FIELDS = [("X-Forwarded-Proto", "https"), ("x-forwarded-proto", "http"), ("X-Forwarded-Ssl", "on"),
                 ("X-FORWARDED-PROTOCOL", "ssl"), ("X-Scheme", "secure"), ("X-Scheme", "https")]
SECURE = {"X-FORWARDED-PROTO", "X-FORWARDED-SSL", "X-FORWARDED-PROTOCOL", "X-SCHEME"}  # in one config or another


def simple_fields(fields):
    """Only fields the reader takes: no underscore, Transfer-Encoding, Expect or Content-Length (added after),
    no second Host or Content-Type, at most one secure-scheme header (gunicorn checks that two agree)."""
    kept, seen = [], set()
    for name, value in fields:
        upper = name.upper()
        key = "SECURE" if upper in SECURE else upper
        if "_" in upper or key in seen or upper in ("TRANSFER-ENCODING", "EXPECT", "CONTENT-LENGTH"):
            continue
        if key in ("HOST", "CONTENT-TYPE", "SECURE"):
            seen.add(key)
        kept.append((name, value))
    return kept


@st.composite
def requests(draw, simple):
    """Raw request bytes: with simple=True only what the reader must take, else the same with the fields
    as drawn (repeated, Expect, Transfer-Encoding...) and at most one defect."""
    method = draw(st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]))
    target = "/" + draw(st.text(VISIBLE.replace("#", ""), max_size=30))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0"]))
    fields = draw(st.lists(st.tuples(plain_names, plain_values), max_size=8))
    # Scheme headers with the values that make a request https, from a peer trusted or not.
    fields = draw(st.permutations(fields + draw(st.lists(st.sampled_from(SCHEME_FIELDS), max_size=2))))
    body = draw(st.binary(max_size=40))
    length = draw(st.sampled_from(["right", "none"]))
    defect = None if simple else draw(st.sampled_from([None, None, "method", "target", "version", "byte",
                                                       "length", "line end"]))
    if simple:
        fields = simple_fields(fields)
    elif defect == "method":
        method = draw(st.sampled_from(["CONNECT", "get", "TRACE", "M-SEARCH", "", "GET\tX"]))
    elif defect == "target":
        target = draw(st.sampled_from(["*", "http://x" + target, target + "#f", "", target[1:], target + " x"]))
    elif defect == "version":
        version = draw(st.sampled_from(["HTTP/2.0", "HTTP/0.9", "HTTP/1.1 ", "HTTP/1", "HTTP/11.1"]))
    elif defect == "byte":  # one byte that gunicorn refuses, or that makes a line something else
        spot = draw(st.integers(0, len(fields)))
        bad = draw(hostile)
        if spot == len(fields):
            target = target[:1] + bad + target[1:]
        else:
            name, value = fields[spot]
            fields[spot] = draw(st.sampled_from([(name + bad, value), (name, value + bad + "x"), (bad + name, value)]))
    elif defect == "length":
        length = draw(st.sampled_from(["short", "long", "junk"]))
    if length == "right":
        fields.append(("Content-Length", str(len(body))))
    elif length == "short":
        fields.append(("Content-Length", str(len(body) + 5)))
    elif length == "long":
        fields.append(("Content-Length", str(max(0, len(body) - 3))))
    elif length == "junk":
        fields.append(("Content-Length", draw(st.sampled_from(["", "-1", "+1", "1x", " 7 ", "1,1", "0x1"]))))
    at = draw(st.integers(0, len(fields)))
    fields = fields[at:] + fields[:at]  # Content-Length anywhere
    head = f"{method} {target} {version}\r\n" + "".join(f"{name}:{value}\r\n" for name, value in fields)
    if defect == "line end":
        lines = head.count("\r\n")
        head = head.replace("\r\n", "\x00", draw(st.integers(0, lines - 1))).replace(
            "\r\n", draw(st.sampled_from(["\n", "\r\r\n", "\r"])), 1).replace("\x00", "\r\n")
    tail = draw(st.sampled_from([b"", b"GET /next HTTP/1.1\r\nHost: y\r\n\r\n", b"\r\n", b"GET /partial"]))
    return head.encode("latin-1") + b"\r\n" + (body if length != "none" else b"") + tail


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=requests(simple=True), cfg=st.sampled_from(list(CONFIGS.values())), peer=st.sampled_from(PEERS))
@example(raw=TYPICAL, cfg=CONFIGS["default"], peer=PEERS[0])
def test_generated_simple_requests_are_read_as_gunicorn_reads_them(raw, cfg, peer):
    within_limits = cfg is not CONFIGS["small limits"] and len(raw) < MAX_HEAD
    assert_equivalent(raw, cfg, peer, accepted=True if within_limits else None)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=requests(simple=False), cfg=st.sampled_from(list(CONFIGS.values())), peer=st.sampled_from(PEERS))
def test_generated_requests_are_either_read_as_gunicorn_reads_them_or_left_to_it(raw, cfg, peer):
    assert_equivalent(raw, cfg, peer)


# -- the worker, with and without the reader --------------------------------------------------------

@pytest.mark.parametrize("raw", SIMPLE + list(DECLINED.values()), ids=lambda raw: raw[:40].decode("latin-1"))
def test_the_worker_answers_alike_with_and_without_the_reader(raw):
    assert serve(raw, fast=True) == serve(raw, fast=False)


def test_pipelined_requests_mixing_both_ways_are_answered_in_order():
    raw = (TYPICAL + b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
           + b"GET /b HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\n\r\n" + b"GET /d HTTP/1.1\r\n\r\n")
    read = []
    answer = serve(raw, read=read)
    assert read == [TOKEN, "/b", "/d"]  # and /c by gunicorn's parser
    assert answer == serve(raw, fast=False)
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 4
    assert answer.index(b"/oauth/token") < answer.index(b"'/c'") < answer.index(b"'/b'") < answer.index(b"'/d'")
