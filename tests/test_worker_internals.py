"""app/worker.py builds on gunicorn internals (setup.cfg pins gunicorn>=24,<28): each one it touches is
checked here, so that a gunicorn release that moves one fails this file loudly instead of the worker
failing at its first request. Also: how the worker decides that a buffered request is complete."""

import inspect
import io

import pytest
from gunicorn import config, http, sock, util
from gunicorn.config import Config
from gunicorn.http import errors, wsgi
from gunicorn.workers import base

from app import worker
from app.worker import (_OVERSIZED, _READY, _WAIT, BODY_BUFFER_LIMIT, _BufferedSource, _Connection, _snapshot_settings,
                        request_status)


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
    cfg.set("forwarded_allow_ips", "10.0.0.0/8")
    plain = [name for name in cfg.settings if not hasattr(Config, name)]
    before = {name: getattr(cfg, name) for name in plain}
    _snapshot_settings(cfg)
    assert {name: vars(cfg)[name] for name in plain} == before
    # Config's own properties and methods work on from the plain attributes.
    assert cfg.is_ssl and cfg.forwarded_allow_networks()[0].num_addresses == 2 ** 24
    assert cfg.sendfile is True and isinstance(cfg.address, list) and cfg.worker_class_str == "sync"
    assert "sendfile" not in vars(cfg) and "worker_class" not in vars(cfg)
