"""The client cache (app/client_cache.py): on PostgreSQL a served app keeps clients per process, and any change
to a client's row, by anyone, reaches every process through the database's notifications within a moment.

The operator in these tests is `admin_database`: a connection of its own, like psql. A change's notification
arrives shortly after its commit (PostgreSQL delivers it from the listener's backend), so the tests wait for the
cache to let the client go, at most WAIT seconds, and then make one request.
"""

import base64
import gc
import json
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import replace

import pytest

from app import opaque
from app.application import create_app
from app.client_cache import ENTRY_TTL, MAX_ENTRIES, ClientCache, _Entries
from app.config import load_config
from app.db import separate_connector
from app.store.clients import find_client
from tests.conftest import TEST_DATABASE_URL, TOKEN_PATH
from tests.helpers import DEVICE_GRANT, REDIRECT_URI, basic, client_credentials
from tests.live import live_server

WAIT = 2.0
postgres_only = pytest.mark.skipif(not TEST_DATABASE_URL, reason="the client cache exists on PostgreSQL only")


def wait_until(condition, timeout=WAIT):
    """Seconds until condition() held; fails after timeout."""
    start = time.perf_counter()
    while not condition():
        assert time.perf_counter() - start < timeout, f"not within {timeout} s"
        time.sleep(0.0005)
    return time.perf_counter() - start


def cached(cache, client_id):
    """The client the cache would serve, or None; reads nothing and stores nothing (a None is never kept)."""
    return cache.find(client_id, lambda: None)


def reads_of_application(caplog):
    """How many statements read the application table (peewee logs each statement at DEBUG)."""
    return sum("FROM application WHERE client_id" in record.getMessage() for record in caplog.records
               if record.name == "peewee")


@pytest.fixture
def cache(app):
    cache = app.client_cache
    cached(cache, "nobody")  # the first lookup starts the listener
    wait_until(lambda: cache.listening)
    return cache


@pytest.fixture
def own_cache(admin_database):
    """A ClientCache of the test's own, listening on the test database (its entries start empty)."""
    caches = []

    def make(**options):
        cache = ClientCache(separate_connector(admin_database), **options)
        caches.append(cache)
        cached(cache, "nobody")
        wait_until(lambda: cache.listening)
        return cache
    yield make
    for cache in caches:
        cache.close()


@pytest.fixture
def cached_client(http, cache, service_client):
    client_credentials(http, service_client)
    assert cached(cache, service_client["client_id"]) is not None
    return service_client


def operator(admin_database, sql, *params):
    admin_database.execute_sql(sql, params)


def test_sqlite_and_a_switched_off_cache_read_every_time(app):
    if TEST_DATABASE_URL:
        assert app.client_cache is not None
    else:
        assert app.client_cache is None
    assert load_config({"OAUTH_CLIENT_CACHE": "0"}).client_cache is False
    assert load_config({}).client_cache is True


@postgres_only
def test_switched_off_there_is_no_cache(config, clock, clean_database):
    application = create_app(replace(config, client_cache=False), clock=clock)
    assert application.client_cache is None and application.services.database.client_cache is None
    application.close()


@postgres_only
def test_a_cached_client_is_served_without_reading_its_row(http, cache, service_client, caplog):
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        client_credentials(http, service_client)
        caplog.clear()
        client_credentials(http, service_client)
        client_credentials(http, service_client)
        assert reads_of_application(caplog) == 0
        client_credentials(http, {"client_id": "no-such-client", "client_secret": "x"}, status=401)
        assert reads_of_application(caplog) == 1  # the count does see reads


ENDPOINTS = {  # every endpoint that authenticates clients, with a request it answers without an error
    "token": ("/api/v1/platform/oauth/token", {"grant_type": "client_credentials"}, 200),
    "introspection": ("/api/v1/platform/oauth/introspect", {"token": "not-a-token"}, 200),
    "revocation": ("/api/v1/platform/oauth/revoke", {"token": "not-a-token"}, 200),
    "device authorization": ("/api/v1/platform/oauth/device/authorize", {"scope": "openid"}, 200),
    "par": ("/api/v1/platform/oauth/par", {"response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid",
                                           "state": "s"}, 201),
}


@postgres_only
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_client_authenticating_endpoint_is_served_from_the_cache(http, cache, make_client, caplog, endpoint):
    client = make_client(name="Everything", grants=["client_credentials", "authorization_code", DEVICE_GRANT],
                         redirect_uris=[REDIRECT_URI], scopes=["openid"])
    path, form, status = ENDPOINTS[endpoint]
    form = {**form, "client_id": client["client_id"]} if endpoint == "device authorization" else form  # required
    headers = {"Authorization": basic(client["client_id"], client["client_secret"])}
    http.post(path, form, headers=headers, status=status)
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        http.post(path, form, headers=headers, status=status)
        assert reads_of_application(caplog) == 0


@postgres_only
def test_an_unknown_client_id_always_asks_the_database(cache):
    reads = []
    for _ in range(3):
        assert cache.find("no-such-client", lambda: reads.append(1)) is None
    assert len(reads) == 3


@postgres_only
@pytest.mark.parametrize("change, params, status, error", [
    ("UPDATE application SET status = 'disabled' WHERE client_id = %s", (), 401, "invalid_client"),
    ("UPDATE application SET client_secret_hash = %s WHERE client_id = %s", (opaque.digest("a new secret"),),
     401, "invalid_client"),
    ("UPDATE application SET allowed_scopes = %s WHERE client_id = %s", (json.dumps(["api.read"]),),
     400, "invalid_scope"),
    ("UPDATE application SET client_id = 'renamed' WHERE client_id = %s", (), 401, "invalid_client"),
    ("DELETE FROM application WHERE client_id = %s", (), 401, "invalid_client"),
])
def test_an_operators_change_is_seen_by_the_next_request(
        http, cache, cached_client, admin_database, change, params, status, error):
    client_id = cached_client["client_id"]
    operator(admin_database, change, *params, client_id)
    took = wait_until(lambda: cached(cache, client_id) is None)
    response = client_credentials(http, cached_client, status=status, scope="api.read api.write")
    assert response.json["error"] == error
    assert took < WAIT


@postgres_only
def test_a_truncate_empties_the_cache(http, cache, cached_client, make_client, admin_database):
    other = make_client(name="Other Service", scopes=["api.read"])
    client_credentials(http, other)
    assert cached(cache, other["client_id"]) is not None
    operator(admin_database, "TRUNCATE application CASCADE")
    wait_until(lambda: cached(cache, cached_client["client_id"]) is None and cached(cache, other["client_id"]) is None)
    client_credentials(http, other, status=401)


@postgres_only
def test_a_row_read_before_a_change_is_not_kept_when_the_notification_came_first(
        own_cache, service_client, admin_database):
    """The race: a lookup reads the old row, the change commits and its notification is processed, and only then
    does the lookup store what it read. The store must not happen, or the old row would be served until its TTL."""
    cache = own_cache()
    client_id = service_client["client_id"]
    seen = cache.notifications

    def read_then_let_a_change_through():
        old = find_client(admin_database, client_id)  # the lookup's SELECT (a connection without a cache)
        operator(admin_database, "UPDATE application SET status = 'disabled' WHERE client_id = %s", client_id)
        wait_until(lambda: cache.notifications > seen)  # processed while the lookup holds its old row
        return old

    assert cache.find(client_id, read_then_let_a_change_through).status == "active"  # what it read, this once
    assert cached(cache, client_id) is None
    fresh = cache.find(client_id, lambda: find_client(admin_database, client_id))
    assert fresh.status == "disabled"
    assert cached(cache, client_id) is fresh  # a lookup nothing interrupted does keep its row


@postgres_only
def test_a_change_that_rolls_back_drops_nothing_and_one_that_commits_does(cache, cached_client, admin_database):
    client_id = cached_client["client_id"]
    seen = cache.notifications
    with admin_database.atomic() as transaction:
        operator(admin_database, "UPDATE application SET status = 'disabled' WHERE client_id = %s", client_id)
        time.sleep(0.05)  # not before the commit
        assert cache.notifications == seen and cached(cache, client_id) is not None
        transaction.rollback()
    time.sleep(0.05)
    assert cache.notifications == seen and cached(cache, client_id) is not None
    with admin_database.atomic():
        operator(admin_database, "UPDATE application SET status = 'disabled' WHERE client_id = %s", client_id)
    wait_until(lambda: cached(cache, client_id) is None)


@postgres_only
def test_while_the_listener_is_cut_off_every_lookup_reads_and_caching_resumes_after_it_reconnects(
        http, cache, cached_client, admin_database, caplog):
    client_id = cached_client["client_id"]
    listener = cache.listener_backend_pid
    operator(admin_database, "SELECT pg_terminate_backend(%s)", listener)
    wait_until(lambda: not cache.listening)

    # A change made during the outage is seen at once, by a request that reads the row it had cached.
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        operator(admin_database, "UPDATE application SET status = 'disabled' WHERE client_id = %s", client_id)
        client_credentials(http, cached_client, status=401)
        assert reads_of_application(caplog) == 1

    wait_until(lambda: cache.listening, timeout=5)  # it reconnects about once a second
    assert cache.listener_backend_pid not in (None, listener)
    client_credentials(http, cached_client, status=401)  # what was cached before the outage is gone
    seen = cache.notifications
    operator(admin_database, "UPDATE application SET status = 'active' WHERE client_id = %s", client_id)
    wait_until(lambda: cache.notifications > seen)
    client_credentials(http, cached_client)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        client_credentials(http, cached_client)
        assert reads_of_application(caplog) == 0  # caching again


@postgres_only
def test_the_outage_is_one_warning_line_and_the_recovery_one_info_line(cache, admin_database, caplog):
    with caplog.at_level(logging.INFO, logger="app.client_cache"):
        operator(admin_database, "SELECT pg_terminate_backend(%s)", cache.listener_backend_pid)
        wait_until(lambda: not cache.listening)
        wait_until(lambda: cache.listening, timeout=5)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "app.client_cache"]
    assert [level for level, _ in lines] == ["WARNING", "INFO"], lines
    assert "client cache off" in lines[0][1] and "\n" not in lines[0][1]


@postgres_only
def test_without_its_trigger_the_cache_stays_off(admin_database, caplog):
    operator(admin_database, "ALTER TABLE application DISABLE TRIGGER application_changed")
    cache = ClientCache(separate_connector(admin_database))
    try:
        cached(cache, "nobody")
        wait_until(lambda: any("no enabled change trigger" in r.getMessage() for r in caplog.records))
        assert not cache.listening
        operator(admin_database, "ALTER TABLE application ENABLE TRIGGER application_changed")
        wait_until(lambda: cache.listening, timeout=5)
    finally:
        operator(admin_database, "ALTER TABLE application ENABLE TRIGGER application_changed")
        cache.close()


@postgres_only
def test_the_listener_is_exempt_from_an_idle_session_timeout(admin_database):
    connect = separate_connector(admin_database)

    def connect_as_under_a_server_wide_timeout():
        connection = connect()
        connection.execute("SET idle_session_timeout = 200")  # milliseconds
        return connection
    cache = ClientCache(connect_as_under_a_server_wide_timeout)
    try:
        cached(cache, "nobody")
        wait_until(lambda: cache.listening)
        listener = cache.listener_backend_pid
        time.sleep(0.6)
        assert cache.listening and cache.listener_backend_pid == listener
    finally:
        cache.close()


@postgres_only
def test_closing_the_app_ends_the_listener_and_its_connection(app, cache, admin_database):
    listener = cache.listener_backend_pid
    app.close()
    assert not cache.listening
    wait_until(lambda: admin_database.execute_sql(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = %s", (listener,)).fetchone()[0] == 0)
    assert cache.find("any", lambda: "read") == "read"


@postgres_only
def test_an_app_nobody_holds_any_more_stops_its_listener(config, clock, clean_database, admin_database):
    """Tests build many apps without closing each: a dropped app's listener must not keep its connection."""
    def listening_app():
        application = create_app(config, clock=clock)
        find_client(application.services.database, "nobody")
        wait_until(lambda: application.client_cache.listening)
        application.services.database.close()

    mine = ("SELECT COUNT(*) FROM pg_stat_activity"
            f" WHERE application_name = 'platform-oauth client cache, pid {os.getpid()}'")
    before = admin_database.execute_sql(mine).fetchone()[0]
    for _ in range(5):
        listening_app()
    gc.collect()
    # The models stay bound to the last app's database, which keeps that one cache alive.
    wait_until(lambda: admin_database.execute_sql(mine).fetchone()[0] <= before + 1)


@postgres_only
def test_an_entry_expires_after_its_ttl_even_without_a_notification(own_cache, admin_database, service_client):
    now = [1000.0]
    cache = own_cache(monotonic=lambda: now[0])
    client_id = service_client["client_id"]
    client = cache.find(client_id, lambda: find_client(admin_database, client_id))
    now[0] += ENTRY_TTL - 0.01
    assert cached(cache, client_id) is client
    now[0] += 0.01
    assert cached(cache, client_id) is None


@postgres_only
def test_the_cache_holds_at_most_max_entries_and_lets_the_least_recently_used_go(own_cache):
    cache = own_cache()
    for number in range(MAX_ENTRIES):
        cache.find(f"client-{number}", object)
    assert cached(cache, "client-0") is not None  # now the most recently used
    cache.find("one-more", object)
    assert cached(cache, "client-1") is None
    assert cached(cache, "client-0") is not None and cached(cache, "one-more") is not None


def test_nothing_is_served_while_a_notification_waits_unread_or_is_being_read():
    """Between a notification's arrival on the listener's socket and its processing, the old entry must not be
    served: the listener thread may not have run yet (it waits for the GIL), or be reading several at once."""
    entries = _Entries(time.monotonic)
    listener_end, database_end = socket.socketpair()
    with listener_end, database_end:
        entries.listening_on(listener_end.fileno())
        entries.find("c", lambda: "client")
        assert entries.find("c", lambda: "read") == "client"
        database_end.send(b"a notification")
        assert entries.find("c", lambda: "read") == "read"
        entries.draining(True)
        listener_end.recv(100)
        assert entries.find("c", lambda: "read") == "read"
        entries.invalidate("c")
        entries.draining(False)
        assert entries.find("c", lambda: "read") == "read"
        assert entries.find("c", lambda: "again") == "read"


@postgres_only
def test_a_forked_process_starts_its_own_listener_and_forgets_its_parents_entries(http, cache, cached_client):
    """gunicorn forks its workers: a child must not serve what its parent cached, nor use its parent's listener."""
    client_id = cached_client["client_id"]
    parent_listener = cache.listener_backend_pid
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and never returns to pytest
        try:
            answer = {"read": cache.find(client_id, lambda: "read")}
            deadline = time.monotonic() + 5
            while not cache.listening and time.monotonic() < deadline:
                time.sleep(0.005)
            answer["listener"] = cache.listener_backend_pid
            os.write(writer, json.dumps(answer).encode())
        finally:
            os._exit(0)
    os.close(writer)
    answer = json.loads(os.read(reader, 1000))
    os.close(reader)
    os.waitpid(child, 0)
    assert answer["read"] == "read"
    assert answer["listener"] not in (None, parent_listener)
    assert cache.listener_backend_pid == parent_listener and cached(cache, client_id) is not None


def _token_status(server, client):
    credentials = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    request = urllib.request.Request(server.url + TOKEN_PATH, data=b"grant_type=client_credentials",
                                     headers={"Authorization": "Basic " + credentials})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@postgres_only
def test_every_gunicorn_worker_hears_an_operators_change(database_url, clean_database, admin_database, tmp_path):
    # The workers' listeners: every cache listener on the server but this test process's own.
    listeners = ("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name LIKE 'platform-oauth client cache%%'"
                 f" AND application_name <> 'platform-oauth client cache, pid {os.getpid()}'")
    with live_server(database_url, tmp_path, workers=2) as server:
        client = server.cli("client", "create", "--name", "Svc", "--audience", "global", "--grant",
                            "client_credentials", "--scope", "api.read")
        # Each worker starts its listener at its first lookup; fresh connections reach both workers.
        wait_until(lambda: _token_status(server, client) == 200
                   and admin_database.execute_sql(listeners).fetchone()[0] >= 2, timeout=10)
        assert all(_token_status(server, client) == 200 for _ in range(20))  # both workers now serve it cached

        operator(admin_database, "UPDATE application SET status = 'disabled' WHERE client_id = %s",
                 client["client_id"])
        wait_until(lambda: _token_status(server, client) == 401)
        assert [_token_status(server, client) for _ in range(30)] == [401] * 30
        server.process.terminate()
        server.process.wait(timeout=20)
    assert "Traceback" not in server.log()
    wait_until(lambda: admin_database.execute_sql(listeners).fetchone()[0] == 0)  # closed at exit
