"""Database faults: an unreachable database is a 503 with a JSON body; when it returns, so does the service."""

import socket
import threading
from urllib.parse import urlsplit

import webtest

from app.application import create_app
from app.config import Config
from tests.conftest import TEST_DATABASE_URL, TOKEN_PATH
from tests.helpers import client_credentials
from tests.live import free_port


def _assert_unavailable(http, client):
    assert http.get("/healthz", status=503).json["status"] == "unavailable"
    response = client_credentials(http, client, status=503)
    assert response.json["error"] == "temporarily_unavailable" and response.headers["Retry-After"]
    assert "Traceback" not in response.text


def _assert_available(http, client):
    assert http.get("/healthz").json["status"] == "ok"
    assert client_credentials(http, client).json["access_token"]


def _sqlite_storage_gone_then_back(tmp_path, clock):
    folder = tmp_path / "data"
    folder.mkdir()
    application = create_app(Config(database_url=f"sqlite:///{folder}/oauth.sqlite3"), clock=clock)
    from app import admin
    client = admin.create_client(application.services.database, clock, name="S", audience="global",
                                 grants=["client_credentials"])
    http = webtest.TestApp(application)
    _assert_available(http, client)

    application.services.database.close()
    folder.rename(tmp_path / "unmounted")
    _assert_unavailable(http, client)

    (tmp_path / "unmounted").rename(folder)
    _assert_available(http, client)
    application.services.database.close()


class _Proxy:
    """A TCP forwarder to the real Postgres that the test can cut and restore."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._connections = []
        self._listener = None

    def start(self):
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def cut(self):
        # shutdown() wakes the thread blocked in accept(); close() alone would leave it listening.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        for sock in self._connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass
        self._connections = []


def _postgres_connection_lost_then_back(clock, clean_database, make_client):
    client = make_client()
    parts = urlsplit(TEST_DATABASE_URL)
    proxy = _Proxy(parts.hostname, parts.port or 5432)
    proxy.start()
    through_proxy = parts._replace(netloc=parts.netloc.replace(
        f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}")).geturl()
    application = create_app(Config(database_url=through_proxy), clock=clock)
    http = webtest.TestApp(application)
    _assert_available(http, client)

    proxy.cut()
    _assert_unavailable(http, client)

    proxy.start()
    _assert_available(http, client)
    application.services.database.close()
    proxy.cut()


# The suite runs once per database; each run exercises the outage of its own database.
if TEST_DATABASE_URL:
    test_postgres_connection_lost_then_back = _postgres_connection_lost_then_back
else:
    test_sqlite_storage_gone_then_back = _sqlite_storage_gone_then_back


def test_token_endpoint_is_503_not_500_when_the_database_refuses(clock):
    application = create_app(Config(database_url="postgresql://x:y@127.0.0.1:1/none"), clock=clock, prepare=False)
    response = webtest.TestApp(application).post(TOKEN_PATH, {"grant_type": "client_credentials",
                                                              "client_id": "a", "client_secret": "b"}, status=503)
    assert response.json["error"] == "temporarily_unavailable"
