"""Malformed and slow clients against a real gunicorn (gunicorn.conf.py's worker), over raw loopback sockets.

Every malformed framing gets a 400 and no worker dies; slow clients (slowloris, connections that
sent one byte) never keep a fresh client's /healthz waiting; a request that is never completed is
dropped at its deadline. One worker, so that a worker busy with a slow client would show at once.
"""

import json
import os
import socket
import threading
import time

import pytest

from tests.live import live_server

pytestmark = pytest.mark.skipif(
    (os.environ.get("OAUTH_TEST_DATABASE_URL") or "").startswith("postgres"),
    reason="the worker does not depend on the database: run once, in .ci/run's SQLite half")

REQUEST_TIMEOUT = 2  # the worker's deadline for a whole request, shortened for these tests
TOKEN = "/api/v1/platform/oauth/token"

MALFORMED = {
    "duplicate Content-Type": "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n\r\n",
    "duplicate Host": "GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
    "Content-Length: abc": "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    "Content-Length with Transfer-Encoding":
        "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "Transfer-Encoding: chunked, identity":
        "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
}


@pytest.fixture(scope="module")
def server(database_url, admin_database, tmp_path_factory):
    settings = {"GUNICORN_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT)}
    if os.environ.get("OAUTH_TEST_WORKER_CLASS"):  # the same figures for another worker class, to compare
        settings["GUNICORN_CMD_ARGS"] = "--worker-class " + os.environ["OAUTH_TEST_WORKER_CLASS"]
    with live_server(database_url, tmp_path_factory.mktemp("clients"), workers=1, extra_env=settings) as running:
        yield running


def address(server):
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def exchange(server, raw, timeout=5):
    """Send raw bytes, return everything the server sends until it closes the connection."""
    with socket.create_connection(address(server), timeout=timeout) as sock:
        sock.sendall(raw)
        return read_until_closed(sock)


def read_until_closed(sock):
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def workers_booted(server):
    return server.log().count("Booting worker")


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_framing_gets_a_400_and_the_worker_lives(server, name):
    booted = workers_booted(server)
    answer = exchange(server, MALFORMED[name].encode())
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"Connection: close" in answer
    # The same worker answers the next request: it did not die and was not replaced.
    assert exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startswith(
        b"HTTP/1.1 200 ")
    assert workers_booted(server) == booted == 1
    assert "Traceback" not in server.log() and "Worker exiting" not in server.log()


def test_a_malformed_request_is_logged_with_its_400(server):
    exchange(server, MALFORMED["duplicate Host"].encode())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
        statuses = [line.get("status") for line in lines if line.get("logger") == "gunicorn.access"]
        if 400 in statuses:
            return
        time.sleep(0.05)
    raise AssertionError("no access line with status 400")


def probe_while(server, seconds, interval=0.02):
    """GET /healthz from a fresh connection every `interval` s for `seconds`; the fraction answered within 1 s."""
    answered = total = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        total += 1
        started = time.monotonic()
        try:
            with socket.create_connection(address(server), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answer = read_until_closed(sock)
            if answer.startswith(b"HTTP/1.1 200 ") and time.monotonic() - started <= 1:
                answered += 1
        except OSError:
            pass
        time.sleep(interval)
    return answered / total


def test_fifty_slowloris_connections_do_not_keep_fresh_clients_waiting(server):
    booted = workers_booted(server)
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: slow\r\nX-Padding: " + b"a" * 200
    slow = [socket.create_connection(address(server), timeout=5) for _ in range(50)]
    stop = threading.Event()

    def trickle():  # one byte a second on each connection, as slowloris does
        position = 0
        while not stop.is_set() and position < len(request):
            for sock in slow:
                try:
                    sock.send(request[position:position + 1])
                except OSError:
                    pass
            position += 1
            stop.wait(1)
    sender = threading.Thread(target=trickle)
    sender.start()
    try:
        ratio = probe_while(server, 3.5)
    finally:
        stop.set()
        sender.join()
        for sock in slow:
            sock.close()
    assert ratio >= 0.98, ratio
    assert workers_booted(server) == booted


def test_four_connections_that_sent_one_byte_do_not_block_service(server):
    booted = workers_booted(server)
    stalled = [socket.create_connection(address(server), timeout=5) for _ in range(4)]
    try:
        for sock in stalled:
            sock.sendall(b"G")
        ratio = probe_while(server, 1.5)
    finally:
        for sock in stalled:
            sock.close()
    assert ratio >= 0.98, ratio
    assert workers_booted(server) == booted


def test_a_request_not_complete_by_its_deadline_is_dropped(server):
    with socket.create_connection(address(server), timeout=REQUEST_TIMEOUT + 5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        assert read_until_closed(sock) == b""
        elapsed = time.monotonic() - started
    assert REQUEST_TIMEOUT - 0.5 < elapsed < REQUEST_TIMEOUT + 1.5


def test_a_request_sent_in_pieces_is_answered_once_complete(server):
    body = b"grant_type=client_credentials"
    raw = (f"POST {TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    with socket.create_connection(address(server), timeout=5) as sock:
        for start in range(0, len(raw), 7):
            sock.sendall(raw[start:start + 7])
            time.sleep(0.002)
        answer = read_until_closed(sock)
    # No client credentials: the token endpoint's own 401, so the whole body reached the application.
    assert answer.startswith(b"HTTP/1.1 401 ") and b"invalid_client" in answer


def test_a_chunked_body_is_answered(server):
    body = b"grant_type=client_credentials"
    raw = (f"POST {TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           f"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{len(body):x}\r\n").encode()
    raw += body + b"\r\n0\r\n\r\n"
    answer = exchange(server, raw)
    assert answer.startswith(b"HTTP/1.1 401 ") and b"invalid_client" in answer


def test_expect_100_continue_gets_its_interim_answer_before_the_body(server):
    body = b"grant_type=client_credentials"
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall((f"POST {TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                      f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n").encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        answer = read_until_closed(sock)
    assert b"HTTP/1.1 401 " in answer and b"invalid_client" in answer
