"""The gunicorn worker (app/worker.py) as clients meet it: HTTP/1.1 keep-alive over a real socket."""

import http.client
import socket
import time

import pytest

from tests.live import live_server

JWKS = "/api/v1/platform/.well-known/jwks.json"


@pytest.fixture
def server(database_url, clean_database, tmp_path):
    with live_server(database_url, tmp_path, workers=1) as running:
        yield running


@pytest.fixture
def connect():
    """HTTPConnection factory; every connection is closed at the end of the test."""
    opened = []

    def open_connection(server):
        host, port = server.url.removeprefix("http://").split(":")
        opened.append(http.client.HTTPConnection(host, int(port), timeout=10))
        return opened[-1]

    yield open_connection
    for connection in opened:
        connection.close()


def get(connection, path="/healthz", headers=None):
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    return response, response.read()


def closed_by_server(sock, within=5.0):
    """True when the server closes its side: recv returns b"" (or the peer resets)."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_requests_on_one_connection_reuse_it(server, connect):
    connection = connect(server)
    first, _ = get(connection)
    sock = connection.sock
    second, body = get(connection, JWKS)
    assert first.status == second.status == 200 and b'"keys"' in body
    assert connection.sock is sock and first.getheader("Connection") == "keep-alive"


def read_responses(sock, count):
    """(status, body) of `count` responses read off one socket (HTTPResponse would buffer past the first)."""
    data, answers = b"", []
    while len(answers) < count:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end].decode("latin-1").split("\r\n")
            length = next(int(line.split(":", 1)[1]) for line in head if line.lower().startswith("content-length:"))
            if len(data) >= head_end + 4 + length:
                answers.append((int(head[0].split()[1]), data[head_end + 4:head_end + 4 + length]))
                data = data[head_end + 4 + length:]
                continue
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection before answering every request"
        data += chunk
    return answers


def test_pipelined_requests_are_answered_in_order(server):
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n"
                     f"GET {JWKS} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        answers = read_responses(sock, 2)
    assert answers[0][0] == answers[1][0] == 200
    assert b'"keys"' not in answers[0][1] and b'"keys"' in answers[1][1]


def test_connection_close_from_the_client_is_honoured(server, connect):
    connection = connect(server)
    response, _ = get(connection, headers={"Connection": "close"})
    assert response.status == 200 and response.getheader("Connection") == "close"


def test_a_body_the_endpoint_did_not_read_does_not_become_the_next_request(server, connect):
    connection = connect(server)
    connection.request("POST", JWKS, body=b"x" * 5000, headers={"Content-Type": "text/plain"})
    refused = connection.getresponse()
    refused.read()
    sock = connection.sock
    response, body = get(connection, JWKS)
    assert refused.status == 405 and response.status == 200 and b'"keys"' in body
    assert connection.sock is sock


def test_a_connection_is_closed_after_100_requests_so_clients_spread_again(server, connect):
    connection = connect(server)
    answers = [get(connection)[0] for _ in range(100)]
    assert all(a.status == 200 for a in answers)
    assert [a.getheader("Connection") for a in answers[:99]] == ["keep-alive"] * 99
    assert answers[99].getheader("Connection") == "close"
    assert get(connection)[0].status == 200  # http.client reconnects


def test_shutdown_with_idle_connections_is_prompt(server, connect):
    connection = connect(server)
    get(connection)
    server.process.terminate()
    assert server.process.wait(timeout=10) == 0
    assert closed_by_server(connection.sock)


@pytest.fixture
def short_keepalive_server(database_url, clean_database, tmp_path):
    settings = {"GUNICORN_KEEPALIVE": "1", "GUNICORN_CMD_ARGS": "--worker-connections 2"}
    with live_server(database_url, tmp_path, workers=1, extra_env=settings) as running:
        yield running


def test_an_idle_connection_is_closed_after_the_keepalive_seconds(short_keepalive_server, connect):
    connection = connect(short_keepalive_server)
    assert get(connection)[0].status == 200
    started = time.monotonic()
    assert closed_by_server(connection.sock, within=5)
    assert 0.5 < time.monotonic() - started < 4


def test_idle_connections_beyond_worker_connections_make_room_for_new_ones(short_keepalive_server, connect):
    connections = [connect(short_keepalive_server) for _ in range(3)]
    for connection in connections:
        assert get(connection)[0].status == 200
    # Two may stay idle: the one idle longest was closed to keep the third.
    assert closed_by_server(connections[0].sock, within=0.5)
    assert not closed_by_server(connections[2].sock, within=0.2)
    assert get(connections[2])[0].status == 200


def test_a_connection_that_sends_nothing_does_not_hold_up_the_worker(server, connect):
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10):  # a browser's preconnect: silent
        time.sleep(0.2)
        connection = connect(server)
        started = time.monotonic()
        response, _ = get(connection)
        assert response.status == 200 and time.monotonic() - started < 2


def test_on_a_graceful_exit_a_request_on_a_kept_alive_connection_is_answered_with_connection_close(server, connect):
    connection = connect(server)
    assert get(connection)[0].status == 200
    server.process.terminate()
    time.sleep(0.2)  # the worker is exiting; the connection has been quiet for less than QUIET_SECONDS
    response, body = get(connection, JWKS)
    assert response.status == 200 and b'"keys"' in body
    assert response.getheader("Connection") == "close"
    assert server.process.wait(timeout=10) == 0


def test_on_a_graceful_exit_an_idle_connection_is_ended_after_a_quiet_second_without_a_reset(server, connect):
    connection = connect(server)
    assert get(connection)[0].status == 200
    started = time.monotonic()
    server.process.terminate()
    connection.sock.settimeout(5)
    assert connection.sock.recv(1) == b""  # FIN: a ConnectionResetError here would be a reset
    assert 0.5 < time.monotonic() - started < 4
    assert server.process.wait(timeout=10) == 0
