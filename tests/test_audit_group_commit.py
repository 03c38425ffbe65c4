"""Audit rows are group-committed (at most audit_flush_interval later) and none is lost on a graceful stop.

The JSON log line is written before the response; the row may wait up to the interval and is written
with the others in one INSERT. SIGTERM and a SIGHUP reload let the workers write what is waiting.
"""

import dataclasses
import signal
import threading
import time

import pytest
import requests

from app.application import create_app
from tests.helpers import client_credentials
from tests.live import live_server


def token_issued_rows(database):
    return database.execute_sql("SELECT COUNT(*) FROM audit_event WHERE event = 'token.issued'").fetchone()[0]


@pytest.fixture
def grouped_app(config, clock, clean_database):
    application = create_app(dataclasses.replace(config, audit_flush_interval=0.3), clock=clock)
    yield application
    application.services.audit.stop()
    application.services.database.close()


def test_rows_wait_for_their_group_and_are_written_together(grouped_app, service_client, caplog):
    import webtest
    http = webtest.TestApp(grouped_app)
    database = grouped_app.services.database
    with caplog.at_level("INFO", logger="app.audit"):
        for _ in range(3):
            client_credentials(http, service_client)
    # The log lines are out before the responses; the rows are still waiting.
    assert sum(1 for r in caplog.records if r.name == "app.audit") == 3
    assert token_issued_rows(database) == 0
    deadline = time.monotonic() + 3
    while token_issued_rows(database) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert token_issued_rows(database) == 3


def test_stop_writes_what_is_waiting(grouped_app, service_client):
    import webtest
    client_credentials(webtest.TestApp(grouped_app), service_client)
    grouped_app.services.audit.stop()
    assert token_issued_rows(grouped_app.services.database) == 1


def _load(url, client, stop, counts):
    with requests.Session() as session:
        while not stop.is_set():
            try:
                status = session.post(url, data={"grant_type": "client_credentials"},
                                      auth=(client["client_id"], client["client_secret"]), timeout=10).status_code
            except requests.RequestException:
                status = "error"
            counts.append(status)


@pytest.mark.parametrize("stop_with", ["SIGTERM", "SIGHUP then SIGTERM"])
def test_no_row_is_lost_when_gunicorn_stops_or_reloads_under_load(
        database_url, clean_database, tmp_path, stop_with):
    with live_server(database_url, tmp_path, workers=2, extra_env={"OAUTH_AUDIT_FLUSH_INTERVAL": "1"}) as server:
        client = server.cli("client", "create", "--name", "Load", "--audience", "global", "--grant",
                            "client_credentials", "--scope", "api.read")
        stop, counts = threading.Event(), []
        threads = [threading.Thread(target=_load, args=(server.url + "/api/v1/platform/oauth/token", client, stop,
                                                        counts)) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        if stop_with.startswith("SIGHUP"):
            server.process.send_signal(signal.SIGHUP)
            time.sleep(1.5)
        stop.set()
        for thread in threads:
            thread.join()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=30)
        issued = counts.count(200)
        assert issued > 50, counts[:20]
        # Every token that reached its client has its row; a token whose response was lost may too.
        rows = token_issued_rows(clean_database)
        assert issued <= rows <= len(counts), (issued, rows, len(counts))
