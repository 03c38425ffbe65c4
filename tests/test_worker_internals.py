"""app/worker.py builds on gunicorn internals (setup.cfg pins gunicorn>=24,<28): each one it touches is
checked here, so that a gunicorn release that moves one fails this file loudly instead of the worker
failing at its first request. Also: how the worker decides that a buffered request is complete."""

import inspect
import io
import logging
import re
import selectors
import socket
import sys
import threading

import gunicorn
import pytest
from gunicorn import config, glogging, http, sock, util
from gunicorn.config import Config
from gunicorn.http import errors, message, wsgi
from gunicorn.workers import base

from app import worker
from app.http_request import RequestReader
from app.worker import (_OVERSIZED, _READY, _WAIT, BODY_BUFFER_LIMIT, CORK_LIMIT, KeepAliveWorker, _BufferedSource,
                        _Connection, _CorkedSocket, _snapshot_settings, request_status)


def parameters(function):
    return list(inspect.signature(function).parameters)


def test_the_gunicorn_functions_the_worker_calls_exist_with_their_signatures():
    assert parameters(http.get_parser)[:3] == ["cfg", "source", "source_addr"]
    assert parameters(wsgi.create)[:5] == ["req", "sock", "client", "server", "cfg"]
    assert parameters(sock.ssl_wrap_socket)[:2] == ["sock", "conf"]
    assert callable(util.close) and callable(util.close_on_exec) and callable(util.reraise)
    assert issubclass(errors.NoMoreData, Exception)
    assert parameters(errors.InvalidHeader) == ["hdr", "req"]


def test_the_worker_base_class_provides_what_the_worker_uses():
    for name in ("init_process", "run", "notify", "handle_error", "handle_exit"):
        assert hasattr(base.Worker, name), name
    assert parameters(base.Worker.handle_error) == ["self", "req", "client", "addr", "exc"]
    source = inspect.getsource(base.Worker.__init__)
    for attribute in ("self.alive", "self.nr", "self.max_requests", "self.sockets", "self.ppid", "self.cfg",
                      "self.log"):
        assert attribute in source, attribute
    whole = inspect.getsource(base.Worker)
    assert "self.PIPE" in whole and "self.wsgi = " in whole


def test_the_settings_the_worker_reads_exist():
    cfg = Config()
    for name in ("keepalive", "worker_connections", "graceful_timeout", "is_ssl", "limit_request_line",
                 "limit_request_fields", "limit_request_field_size", "pre_request", "post_request"):
        getattr(cfg, name)


def parse(raw, cfg=None):
    """gunicorn's parser over the worker's buffered source, as the worker runs it."""
    connection = _Connection(None, ("127.0.0.1", 1), ("127.0.0.1", 8000))
    connection.buffer = bytearray(raw)
    connection.expires = float("inf")
    parser = http.get_parser(cfg or Config(), _BufferedSource(connection), connection.addr)
    return connection, parser


def test_the_parser_reads_the_buffer_and_leaves_a_pipelined_request_where_the_worker_finds_it():
    connection, parser = parse(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                               b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
    request = next(parser)
    assert (request.method, request.path) == ("POST", "/a")
    assert parser.finish_body() is not False  # the unread body is drained from the buffer
    assert isinstance(parser.unreader.buf, io.BytesIO)
    leftover = parser.unreader.buf.getvalue() + bytes(connection.buffer)
    assert leftover == b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n"


def test_a_response_has_what_the_worker_and_the_access_log_use(tmp_path):
    _, parser = parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    request = next(parser)
    with open(tmp_path / "out", "wb") as out:
        resp, environ = wsgi.create(request, out, ("127.0.0.1", 1), ("127.0.0.1", 8000), Config())
    for name in ("force_close", "should_close", "start_response", "write", "write_file", "close", "headers_sent",
                 "status"):
        assert hasattr(resp, name), name
    assert "wsgi.file_wrapper" in environ


@pytest.mark.parametrize("raw, expected", [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", _READY),
    (b"GET / HTTP/1.1\r\nHost: x\r\n", _WAIT),
    (b"G", _WAIT),
    (b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc", _WAIT),
    (b"POST / HTTP/1.1\r\ncontent-length:5\r\n\r\nabcde", _READY),
    (b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", _READY),  # the parser answers 400
    (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", _READY),
    (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", _READY),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", _WAIT),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", _READY),
    (b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (BODY_BUFFER_LIMIT + 1), _OVERSIZED),
    (b"GET / HTTP/1.1\nHost: x\n\n", _READY),  # bare LF: the parser decides
    (b"GET / HTTP/1.1\r\nX: " + b"a" * 2_000_000, _READY),  # a head beyond every limit: the parser answers 431
])
def test_a_request_is_dispatched_once_complete(raw, expected):
    assert request_status(bytearray(raw), 1_000_000)[0] is expected


def test_expect_100_continue_is_answered_only_while_the_body_is_missing():
    head = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
    assert request_status(bytearray(head), 100_000) == (_WAIT, True)
    assert request_status(bytearray(head + b"abc"), 100_000) == (_READY, False)


def test_the_worker_keeps_its_module_settings_sane():
    assert 0 < worker.QUIET_SECONDS < worker.REQUEST_TIMEOUT
    assert worker.LINGER_SECONDS > 0 and worker.REQUESTS_PER_CONNECTION > 1


def test_the_gunicorn_internals_the_buffer_reader_borrows_exist():
    assert parameters(message.Message.should_close) == ["self"] and parameters(message.Message.force_close) == ["self"]
    assert isinstance(message.MAX_HEADERS, int)
    assert parameters(wsgi.create)[:5] == ["req", "sock", "client", "server", "cfg"]
    # The peer test for forwarded_allow_ips, from gunicorn 24.1 on; 24.0 compared addresses, as the reader then does.
    if hasattr(message, "_ip_in_allow_list"):
        assert parameters(message._ip_in_allow_list) == ["ip_str", "allow_list", "networks"]
        assert callable(Config().forwarded_allow_networks)
    else:
        assert gunicorn.version_info[:2] == (24, 0)
    for name in ("limit_request_line", "limit_request_fields", "limit_request_field_size", "secure_scheme_headers",
                 "forwarded_allow_ips", "proxy_protocol"):
        getattr(Config(), name)


# -- gunicorn's settings as plain attributes --------------------------------------------------------

def test_gunicorn_settings_can_be_read_once_into_plain_attributes():
    # What _snapshot_settings relies on: a setting read is settings[name].get(), which returns the stored
    # value (no setting computes it per read), and Config refuses a plain assignment of a setting name.
    assert "self.settings[name].get()" in inspect.getsource(Config.__getattr__)
    cfg = Config()
    for name, setting in cfg.settings.items():
        assert type(setting).get is config.Setting.get, name
    with pytest.raises(AttributeError):
        cfg.keepalive = 3
    cfg.set("certfile", __file__)
    cfg.set("forwarded_allow_ips", "10.1.2.3")
    plain = [name for name in cfg.settings if not hasattr(Config, name)]
    before = {name: getattr(cfg, name) for name in plain}
    _snapshot_settings(cfg)
    assert {name: vars(cfg)[name] for name in plain} == before
    # Config's own properties and methods work on from the plain attributes.
    assert cfg.is_ssl and cfg.forwarded_allow_ips == ["10.1.2.3"]
    if hasattr(cfg, "forwarded_allow_networks"):  # gunicorn 24.1 on
        assert [str(network) for network in cfg.forwarded_allow_networks()] == ["10.1.2.3/32"]
    assert cfg.sendfile is True and isinstance(cfg.address, list) and cfg.worker_class_str == "sync"
    assert "sendfile" not in vars(cfg) and "worker_class" not in vars(cfg)


# -- the worker's serving part, on a socketpair ------------------------------------------------------

class Recording:
    """A socket that notes each write call before making it."""

    def __init__(self, sock_, writes):
        self._sock, self._writes = sock_, writes

    def sendall(self, data):
        self._writes.append(bytes(data))
        return self._sock.sendall(data)

    def send(self, data):
        self._writes.append(bytes(data))
        return self._sock.send(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def echo(environ, start_response):
    """Answers with enough of its environ to tell two requests apart, and the body."""
    body = environ["wsgi.input"].read()
    summary = repr(sorted((k, v) for k, v in environ.items() if isinstance(v, (str, tuple, bool)))).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(summary) + len(body)))])
    return [summary, body]


def serve(raw, app=echo, fast=True, cfg=None, read=None, writes=None):
    """All that a KeepAliveWorker (its serving part, not forked) answers to `raw` sent on one connection.

    `read` collects the paths of the requests taken by the buffer reader, `writes` the worker's write calls.
    """
    cfg = cfg or Config()
    _snapshot_settings(cfg)
    w = KeepAliveWorker.__new__(KeepAliveWorker)
    w.cfg, w.wsgi, w.alive, w.nr, w.max_requests = cfg, app, True, 0, sys.maxsize
    w.log = glogging.Logger(cfg)
    w.log.error_log.setLevel(logging.CRITICAL)
    w.selector, w.waiting, w.exiting = selectors.DefaultSelector(), {"idle": {}, "partial": {}, "linger": {}}, False
    w.max_head = 1_000_000
    w.read_request = None
    if fast:
        reader = RequestReader(cfg).read_request

        def read_request(buffer, peer):
            req = reader(buffer, peer)
            if req is not None and read is not None:
                read.append(req.path)
            return req
        w.read_request = read_request
    ours, theirs = socket.socketpair()
    theirs.shutdown(socket.SHUT_WR)  # all of `raw` was sent: a read for more finds the end
    received = []
    client = threading.Thread(target=lambda: received.extend(iter(lambda: theirs.recv(65536), b"")))
    client.start()
    with theirs:
        ours.settimeout(5)
        connection = _Connection(ours if writes is None else Recording(ours, writes), ("127.0.0.1", 40000),
                                 ("127.0.0.1", 8000))
        connection.buffer = bytearray(raw)
        w._serve(connection)
        if connection.state is not None:
            w._close(connection)
        else:
            ours.close()
        w.selector.close()
        client.join()
    return re.sub(rb"\r\nDate: [^\r]*", b"", b"".join(received))


GET = b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n"
CHUNKED = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"  # gunicorn's parser


@pytest.mark.parametrize("raw", [GET, CHUNKED])
def test_a_response_goes_out_in_one_write(raw):
    writes = []
    answer = serve(raw + raw, writes=writes)
    assert re.sub(rb"\r\nDate: [^\r]*", b"", b"".join(writes)) == answer and len(writes) == 2
    for write in writes:  # each one a whole response
        head, _, body = write.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert len(body) == int(re.search(rb"Content-Length: (\d+)", head).group(1))


def test_a_large_response_goes_out_in_pieces_of_at_most_the_cork_limit_and_a_little():
    def big(environ, start_response):
        start_response("200 OK", [("Content-Length", str(10 * 20000))])
        return [b"x" * 20000] * 10

    writes = []
    answer = serve(GET, app=big, writes=writes)
    assert answer.endswith(b"x" * 200000) and len(writes) == 3
    assert all(len(write) <= CORK_LIMIT + 20000 for write in writes)


def test_the_corked_socket_keeps_the_order_of_everything_written():
    calls = []

    class Sock:
        family = socket.AF_INET

        def sendall(self, data):
            calls.append(("sendall", data))

        def send(self, data):
            calls.append(("send", data))

        def sendfile(self, file, offset=0, count=None):
            calls.append(("sendfile", file))

    out = _CorkedSocket(Sock())
    out.sendall(b"head")
    out.sendall(b"body")
    assert calls == [] and not out.sent
    out.sendfile("file")
    assert calls == [("sendall", b"headbody"), ("sendfile", "file")] and out.sent
    out.sendall(b"chunk")
    out.send(b"direct")
    out.sendall(b"end")
    assert out.family == socket.AF_INET  # any other use of the socket sends what is pending first, too
    out.flush()
    assert calls[2:] == [("sendall", b"chunk"), ("send", b"direct"), ("sendall", b"end")]


def failing_after(pieces, close_fails=False):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])  # chunked: no Content-Length

        class Body:
            def __iter__(self):
                yield from pieces
                if not close_fails:
                    raise RuntimeError("the application failed halfway")

            def close(self):
                if close_fails:
                    raise RuntimeError("the application failed after its response")
        return Body()
    return app


@pytest.mark.parametrize("fast", [True, False])
def test_a_response_that_fails_before_any_of_it_left_is_replaced_by_a_500(fast):
    answer = serve(GET + GET, app=failing_after([b"partial"]), fast=fast)
    assert answer.startswith(b"HTTP/1.1 500 Internal Server Error\r\n") and b"partial" not in answer
    assert answer.count(b"HTTP/1.1") == 1  # the connection ended with the 500


@pytest.mark.parametrize("fast", [True, False])
def test_a_response_that_fails_once_part_of_it_left_ends_the_connection_without_a_500(fast):
    answer = serve(GET + GET, app=failing_after([b"y" * (CORK_LIMIT + 1), b"z"]), fast=fast)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"500" not in answer
    assert not answer.endswith(b"0\r\n\r\n") and answer.count(b"HTTP/1.1") == 1  # truncated: not the last chunk


@pytest.mark.parametrize("fast", [True, False])
def test_a_complete_response_is_sent_whole_even_if_the_application_fails_after_it(fast):
    answer = serve(GET + GET, app=failing_after([b"all of it"], close_fails=True), fast=fast)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"9\r\nall of it\r\n0\r\n\r\n")
    assert answer.count(b"HTTP/1.1") == 1
