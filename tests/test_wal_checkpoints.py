"""SQLite's WAL checkpoints run in a background thread of the server process, not inside a request's COMMIT.

Each test uses its own SQLite file whatever OAUTH_TEST_DATABASE_URL says: the behaviour is SQLite's.
"""

import threading
import time

import pytest
import webtest

from app import admin
from app.application import create_app
from app.config import Config, ConfigError, load_config
from app.db import SAFETY_NET_CHECKPOINT_PAGES
from tests.helpers import ISSUER_BASE, client_credentials


def _app(tmp_path, interval):
    config = Config(issuer_base=ISSUER_BASE, database_url=f"sqlite:///{tmp_path}/wal.sqlite3", cookie_secure=False,
                    audit_flush_interval=0, sqlite_checkpoint_interval=interval)
    return create_app(config)


def _database_file(tmp_path):
    """The main database file's bytes, read past SQLite: they change only when a checkpoint copies pages in."""
    return (tmp_path / "wal.sqlite3").read_bytes()


def _issue_tokens(app, count=20):
    http = webtest.TestApp(app)
    service = admin.create_client(app.services.database, app.services.clock, name="Service", audience="global",
                                  grants=["client_credentials"])
    for _ in range(count):
        assert client_credentials(http, service).json["access_token"]


def _changes_within(tmp_path, before, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _database_file(tmp_path) != before:
            return True
        time.sleep(0.02)
    return False


def _checkpointers():
    return [thread for thread in threading.enumerate() if thread.name == "sqlite-checkpoint"]


def test_requests_leave_checkpoints_to_the_background_thread(tmp_path):
    before = len(_checkpointers())
    app = _app(tmp_path, 0.05)
    (pages,) = app.services.database.execute_sql("PRAGMA wal_autocheckpoint").fetchone()
    assert pages == SAFETY_NET_CHECKPOINT_PAGES
    assert len(_checkpointers()) == before + 1
    _issue_tokens(app)
    # The writes sit in the WAL (far fewer pages than any automatic checkpoint waits for) until the thread
    # copies them into the database file.
    assert _changes_within(tmp_path, _database_file(tmp_path), 5)
    app.services.database.close()


def test_a_second_connection_of_the_process_starts_no_second_thread(tmp_path):
    before = len(_checkpointers())
    app = _app(tmp_path, 0.05)
    app.services.database.execute_sql("SELECT 1")
    opened = threading.Thread(target=lambda: app.services.database.execute_sql("SELECT 1"))
    opened.start()
    opened.join()
    assert len(_checkpointers()) == before + 1
    app.services.database.close()


def test_without_an_interval_sqlite_checkpoints_itself(tmp_path):
    before = len(_checkpointers())
    app = _app(tmp_path, 0)
    (pages,) = app.services.database.execute_sql("PRAGMA wal_autocheckpoint").fetchone()
    assert pages == 1000  # SQLite's default
    assert len(_checkpointers()) == before
    _issue_tokens(app)
    # Nothing copies the few WAL pages back: the file stays as it was (the contrast for the test above).
    assert not _changes_within(tmp_path, _database_file(tmp_path), 0.5)
    app.services.database.close()


@pytest.mark.parametrize("value, expected", [(None, 0.5), ("0", 0.0), ("2.5", 2.5)])
def test_the_interval_is_configured_by_environment(value, expected):
    env = {"OAUTH_ISSUER": ISSUER_BASE + "/api/v1/platform/oauth"}
    if value is not None:
        env["OAUTH_SQLITE_CHECKPOINT_INTERVAL"] = value
    assert load_config(env).sqlite_checkpoint_interval == expected


@pytest.mark.parametrize("value", ["-1", "61", "soon"])
def test_a_bad_interval_is_a_configuration_error(value):
    with pytest.raises(ConfigError, match="OAUTH_SQLITE_CHECKPOINT_INTERVAL"):
        load_config({"OAUTH_ISSUER": ISSUER_BASE + "/api/v1/platform/oauth",
                     "OAUTH_SQLITE_CHECKPOINT_INTERVAL": value})
