"""SQLite writers queue on `<database>-writer.lock` (app.db.OneWriterSqliteDatabase), reads never do.

The tests hold the lock from outside, the way another worker would, and watch which statements wait.
"""

import fcntl
import os
import threading
import time

import pytest

from app.db import OneWriterSqliteDatabase, connect


if not os.environ.get("OAUTH_TEST_DATABASE_URL"):  # the lock file is SQLite's; PostgreSQL queues writers itself

    @pytest.fixture
    def held_lock(services):
        """The writer lock, taken by a separate open file; yields a function that releases it."""
        fd = os.open(services.database.database + "-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        released = []

        def release():
            if not released:
                fcntl.flock(fd, fcntl.LOCK_UN)
                released.append(True)

        yield release
        release()
        os.close(fd)

    def in_thread(work, database):
        """Run work() in a thread with its own connection; the thread and where it put its result."""
        outcome = {}

        def run():
            try:
                outcome["value"] = work()
            finally:
                database.close()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread, outcome

    def test_the_service_database_is_the_queued_kind(services):
        assert isinstance(services.database, OneWriterSqliteDatabase)

    def test_a_lone_write_waits_for_the_writer_lock_and_then_goes_through(services, held_lock):
        thread, _ = in_thread(lambda: services.audit.record("test.queued"), services.database)
        thread.join(0.3)
        assert thread.is_alive(), "the insert did not wait for the writer lock"
        held_lock()
        thread.join(5)
        assert not thread.is_alive()
        assert services.database.execute_sql(
            "SELECT COUNT(*) FROM audit_event WHERE event = 'test.queued'").fetchone()[0] == 1

    def test_a_transaction_waits_for_the_writer_lock(services, held_lock):
        database = services.database

        def write():
            with database.atomic("IMMEDIATE"):
                database.execute_sql("DELETE FROM rate_counter")
                return "committed"

        thread, outcome = in_thread(write, database)
        thread.join(0.3)
        assert thread.is_alive() and "value" not in outcome
        held_lock()
        thread.join(5)
        assert outcome["value"] == "committed"

    def test_reads_do_not_wait_for_the_writer_lock(services, held_lock):
        thread, outcome = in_thread(
            lambda: services.database.execute_sql("SELECT COUNT(*) FROM signing_key").fetchone()[0],
            services.database)
        thread.join(5)
        assert outcome["value"] >= 1

    def test_the_lock_is_released_after_commit_rollback_and_a_failed_statement(services):
        database = services.database
        lock_path = database.database + "-writer.lock"

        def lock_is_free():
            fd = os.open(lock_path, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
                return True
            except BlockingIOError:
                return False
            finally:
                os.close(fd)

        with database.atomic():
            database.execute_sql("DELETE FROM rate_counter")
            assert not lock_is_free()
        assert lock_is_free()
        with pytest.raises(ZeroDivisionError):
            with database.atomic():
                database.execute_sql("DELETE FROM rate_counter")
                1 / 0
        assert lock_is_free()
        with pytest.raises(Exception):
            database.execute_sql("INSERT INTO no_such_table VALUES (1)")
        assert lock_is_free()

    def test_a_forked_process_takes_the_lock_through_its_own_open_file(services):
        """flock excludes other open files only: a descriptor inherited across fork would not exclude."""
        database = services.database
        services.audit.record("test.parent")  # the parent has opened its lock file
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: the same database object, holding only the writer lock for a moment
            try:
                os.close(read_end)
                database._take_writer_lock()
                os.write(write_end, b"in")
                time.sleep(0.4)
                database._release_writer_lock()
            finally:
                os._exit(0)
        os.close(write_end)
        assert os.read(read_end, 2) == b"in"
        started = time.monotonic()
        services.audit.record("test.after_child")
        waited = time.monotonic() - started
        os.waitpid(pid, 0)
        os.close(read_end)
        assert waited > 0.2, "the parent's write did not queue behind the child's lock"

    def test_in_memory_databases_stay_plain(tmp_path):
        assert not isinstance(connect("sqlite:///:memory:"), OneWriterSqliteDatabase)
        assert isinstance(connect("sqlite:///" + str(tmp_path / "x.sqlite3")), OneWriterSqliteDatabase)
