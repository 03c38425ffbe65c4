"""Database connection and the migration runner (sql/<dialect>/NNNN_name.sql, applied in order)."""

import contextlib
import os
import re
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import peewee

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
if not SQL_DIR.is_dir():  # installed as a package: the SQL files ship inside it
    SQL_DIR = Path(__file__).resolve().parent / "sql"

# journal_mode=wal is persistent in the file and is set once by enable_wal(): switching it on every
# connection fails with "database is locked" while another process holds a lock.
SQLITE_PRAGMAS = {
    "busy_timeout": 10000,
    "foreign_keys": 1,
    "synchronous": "normal",
}
# Any number picked once; it names the lock that serialises migrations and first-key creation.
_ADVISORY_LOCK_ID = 72_114_001


def connect(database_url):
    """A peewee Database for the URL; one connection per thread, opened on first use."""
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if path and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        return peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10)
    return peewee.PostgresqlDatabase(
        unquote(parts.path.lstrip("/")),
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        host=parts.hostname,
        port=parts.port or 5432,
        connect_timeout=5,
    )


def dialect(database):
    return "postgres" if isinstance(database, peewee.PostgresqlDatabase) else "sqlite"


@contextlib.contextmanager
def exclusive(database):
    """A transaction that holds the one service-wide write lock until it ends.

    SQLite: BEGIN IMMEDIATE takes the database write lock. Postgres: a transaction-scoped
    advisory lock. Either way two workers starting at once run the guarded code one after the other.
    """
    if dialect(database) == "sqlite":
        with database.atomic("IMMEDIATE"):
            yield
    else:
        with database.atomic():
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK_ID,))
            yield


def write_transaction(database):
    """A transaction that will write: on SQLite it takes the write lock at BEGIN (IMMEDIATE).

    A deferred SQLite transaction that reads first and writes later can fail at once with
    "database is locked" when another worker writes in between; taking the lock up front makes
    it wait (busy_timeout) instead.
    """
    return database.atomic("IMMEDIATE") if dialect(database) == "sqlite" else database.atomic()


# PostgreSQL: set_config(..., true) is SET LOCAL, so it lasts until the statement's own autocommit
# transaction commits, and that commit then does not wait for its WAL flush. The write survives a crash
# of the service; a crash of the database server can lose its last fraction of a second (3 x
# wal_writer_delay), which is what SQLite's synchronous=normal promises for every commit anyway.
_RELAXED_COMMIT = "set_config('synchronous_commit', 'off', true) = 'off'"


def relaxed_commit(database):
    """An always-true SQL condition that lets a lone autocommit write skip waiting for its WAL flush.

    Only for writes whose loss in a database-server crash harms no one (audit rows also go to the
    log; a device's last poll time). Inside a transaction it is plain true: the enclosing
    transaction keeps its own durability.
    """
    if dialect(database) == "sqlite" or database.in_transaction():
        return "1 = 1"
    return _RELAXED_COMMIT


def enable_wal(database, attempts=200):
    """Put a SQLite database in WAL mode, waiting while another process holds a lock."""
    if dialect(database) != "sqlite":
        return
    for attempt in range(attempts):
        try:
            database.execute_sql("PRAGMA journal_mode = wal")
            return
        except peewee.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def migration_files(kind):
    """(version, path) for every migration of the dialect, in order."""
    found = []
    for path in sorted((SQL_DIR / kind).glob("*.sql")):
        match = re.match(r"(\d{4})_[a-z0-9_]+\.sql$", path.name)
        if match:
            found.append((path.stem, path))
    return found


def _statements(sql):
    """Split a migration file into statements (our SQL files keep ';' out of literals)."""
    without_comments = re.sub(r"--[^\n]*", "", sql)
    return [s.strip() for s in without_comments.split(";") if s.strip()]


def migrate(database, now):
    """Apply pending migrations; return the versions applied. Safe when run by several processes."""
    kind = dialect(database)
    enable_wal(database)
    applied_now = []
    with exclusive(database):
        database.execute_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        done = {row[0] for row in database.execute_sql("SELECT version FROM schema_migrations")}
        for version, path in migration_files(kind):
            if version in done:
                continue
            for statement in _statements(path.read_text()):
                database.execute_sql(statement)
            database.execute_sql(
                f"INSERT INTO schema_migrations (version, applied_at) VALUES ({database.param}, {database.param})",
                (version, int(now)))
            applied_now.append(version)
    return applied_now
