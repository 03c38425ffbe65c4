"""Database connection and the migration runner (sql/<dialect>/NNNN_name.sql, applied in order)."""

import contextlib
import fcntl
import logging
import os
import re
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import peewee

from app.store.used_jti_file import UsedJtiFile

# Installed (pip install .), the SQL files ship inside the package as app/sql; in a checkout they are the
# top-level sql/ folder that setup.cfg maps there. The package's own copy wins, so an installed app never
# reads an unrelated "sql" folder that happens to sit next to it in site-packages.
SQL_DIR = Path(__file__).resolve().parent / "sql"
if not SQL_DIR.is_dir():
    SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

_log = logging.getLogger("app.db")

# journal_mode=wal is persistent in the file and is set once by enable_wal(): switching it on every
# connection fails with "database is locked" while another process holds a lock.
SQLITE_PRAGMAS = {
    "busy_timeout": 10000,
    "foreign_keys": 1,
    "synchronous": "normal",
}
# Any number picked once; it names the lock that serialises migrations and first-key creation.
_ADVISORY_LOCK_ID = 72_114_001


class OneWriterSqliteDatabase(peewee.SqliteDatabase):
    """SQLite whose writers queue on a lock file (flock) before they ask SQLite for its write lock.

    SQLite lets one connection write at a time; a writer that finds the lock taken sleeps in SQLite's
    busy handler, at least 1 ms and then longer, although the lock is usually free again within
    100 µs. With two busy workers that idles a core. Here every transaction and every lone
    INSERT/UPDATE/DELETE first takes an exclusive flock on `<database>-writer.lock`, which the kernel
    hands to the next waiter the moment it is released. Correctness never rests on this lock (SQLite's
    own locking still does that, for writers that do not take it too); if the lock file cannot be
    opened the database works as before. Reads take no lock.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._writer_lock = threading.local()
        self._checkpointer = None
        # Every process that opens this database checks used JWT ids in the same file (app/store/used_jti.py).
        self.used_jti_file = UsedJtiFile(self.database + "-used-jti")

    def _writer_lock_fd(self):
        state = self._writer_lock
        # One open file per thread and process: flock excludes other open files, not other holders of
        # the same one, so a descriptor inherited across fork or shared by threads would not exclude.
        if getattr(state, "pid", None) != os.getpid():
            try:
                state.fd = os.open(self.database + "-writer.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                state.fd = None  # storage unreachable: SQLite will say so itself
            state.pid = os.getpid()
        return state.fd

    def _take_writer_lock(self):
        fd = self._writer_lock_fd()
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:
                pass

    def _release_writer_lock(self):
        fd = getattr(self._writer_lock, "fd", None)
        if fd is not None and self._writer_lock.pid == os.getpid():
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            except OSError:
                pass

    def _connect(self):
        conn = super()._connect()
        if self._checkpointer is not None:
            # The background thread checkpoints; SQLite's own automatic checkpoint stays only as a safety net.
            conn.execute(f"PRAGMA wal_autocheckpoint = {SAFETY_NET_CHECKPOINT_PAGES}")
            self._checkpointer.ensure_running()
        return conn

    def checkpoint_in_background(self, interval):
        """Move WAL checkpoints off the request path: a thread of this process checkpoints every `interval` s.

        SQLite checkpoints automatically inside the COMMIT that takes the WAL past 1,000 pages: that
        request copies the pages back into the database and syncs the file while the writer lock is
        held, so every other writer waits (a p99 spike per checkpoint, several per second when
        refresh tokens rotate). A PASSIVE checkpoint from another connection waits for nobody and
        blocks nobody. One thread per process (a forked worker starts its own on its first connection).
        """
        self._checkpointer = _Checkpointer(self.database, interval)

    def begin(self, lock_type=None):
        self._take_writer_lock()
        try:
            super().begin(lock_type)
        except BaseException:
            self._release_writer_lock()
            raise

    def commit(self):
        try:
            super().commit()
        finally:
            self._release_writer_lock()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self._release_writer_lock()

    def execute_sql(self, sql, params=None):
        if self.in_transaction() or sql.lstrip()[:6].upper() not in _WRITES:
            return super().execute_sql(sql, params)
        self._take_writer_lock()
        try:
            return super().execute_sql(sql, params)
        finally:
            self._release_writer_lock()


_WRITES = ("INSERT", "UPDATE", "DELETE")
# With background checkpoints, SQLite still checkpoints by itself past this many WAL pages (40 MB), so the
# WAL stays bounded should the thread fall behind.
SAFETY_NET_CHECKPOINT_PAGES = 10_000


class _Checkpointer:
    """A daemon thread per process running `PRAGMA wal_checkpoint(PASSIVE)` on its own connection."""

    def __init__(self, path, interval):
        self._path = path
        self._interval = interval
        self._pid = None
        self._lock = threading.Lock()

    def ensure_running(self):
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True).start()

    def _run(self):
        connection, failing = None, False
        while True:
            time.sleep(self._interval)
            try:
                if connection is None:
                    connection = sqlite3.connect(self._path, isolation_level=None, timeout=10)
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                failing = False
            except sqlite3.Error as exc:
                if not failing:  # one line per outage; SQLite's safety-net checkpoint still bounds the WAL
                    _log.warning("background WAL checkpoint failed (retrying): %s", exc)
                failing = True
                if connection is not None:
                    connection.close()
                    connection = None


def connect(database_url):
    """A peewee Database for the URL; one connection per thread, opened on first use."""
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if path and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        if not path or path == ":memory:":
            return peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10)
        return OneWriterSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10)
    return peewee.PostgresqlDatabase(
        unquote(parts.path.lstrip("/")),
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        host=parts.hostname,
        port=parts.port or 5432,
        connect_timeout=5,
    )


def separate_connector(database):
    """A function that opens a new autocommit psycopg connection of its own to the same PostgreSQL database,
    outside peewee's per-thread connections (the client cache's listener: LISTEN needs a session that stays
    open). It keeps the parameters, not the database object. Its application_name names the process."""
    dbname, parameters = database.database, dict(database.connect_params)

    def connect():
        import psycopg

        return psycopg.connect(dbname=dbname, autocommit=True, **parameters,
                               application_name=f"platform-oauth client cache, pid {os.getpid()}")
    return connect


def ping(database):
    """One round trip to the database; raises when it does not answer."""
    database.execute_sql("SELECT 1").fetchone()


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
    """(version, path) for every migration of the dialect, in order; none found is an error, never "up to date"."""
    folder = SQL_DIR / kind
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = re.match(r"(\d{4})_[a-z0-9_]+\.sql$", path.name)
        if match:
            found.append((path.stem, path))
    if not found:
        raise FileNotFoundError(f"no migration files (NNNN_name.sql) in {folder}")
    return found


# A dollar-quoted body ($$ ... $$ or $tag$ ... $tag$), one ';' or a run of anything else.
_SQL_PIECES = re.compile(r"\$(\w*)\$.*?\$\1\$|;|[^;$]+|\$", re.S)


def _statements(sql):
    """Split a migration file into statements. Our SQL files keep ';' out of literals, except in the
    dollar-quoted body of a PostgreSQL function, which stays whole."""
    without_comments = re.sub(r"--[^\n]*", "", sql)
    statements = [""]
    for piece in _SQL_PIECES.finditer(without_comments):
        if piece.group() == ";":
            statements.append("")
        else:
            statements[-1] += piece.group()
    return [s.strip() for s in statements if s.strip()]


def migrate(database, now):
    """Apply pending migrations; return the versions applied. Safe when run by several processes.

    SQLite changes a table's constraints by rebuilding it, which needs foreign keys off, and they
    cannot be switched inside a transaction: they are off while migrating, and PRAGMA
    foreign_key_check runs before COMMIT, so a migration that broke a reference is rolled back.
    """
    kind = dialect(database)
    files = migration_files(kind)
    enable_wal(database)
    applied_now = []
    if kind == "sqlite":
        database.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with exclusive(database):
            database.execute_sql(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
            done = {row[0] for row in database.execute_sql("SELECT version FROM schema_migrations")}
            for version, path in files:
                if version in done:
                    continue
                for statement in _statements(path.read_text()):
                    database.execute_sql(statement)
                database.execute_sql(
                    f"INSERT INTO schema_migrations (version, applied_at) VALUES ({database.param}, {database.param})",
                    (version, int(now)))
                applied_now.append(version)
            if kind == "sqlite" and applied_now:
                broken = database.execute_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise peewee.IntegrityError(f"migrations {applied_now} would break foreign keys: {broken[:5]}")
    finally:
        if kind == "sqlite":
            database.execute_sql("PRAGMA foreign_keys = ON")
    return applied_now
