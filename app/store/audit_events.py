"""The audit_event table: one row per security event."""

from app.db import dialect, write_transaction

_COLUMNS = "event, created_at, client_id, user_id, tenant_id, ip, detail"
# Rows per INSERT: 7 parameters each stays far below SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500


def insert_many(database, rows):
    """(event, created_at, client_id, user_id, tenant_id, ip, detail_json) tuples, in one transaction.

    On PostgreSQL the commit does not wait for its WAL flush: the rows are also in the log, and a
    crash of the database server can lose at most its last fraction of a second, as SQLite's
    synchronous=normal does for every commit.
    """
    if dialect(database) == "postgres":
        _copy(database, rows)
        return
    p = database.param
    with write_transaction(database):
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start:start + _CHUNK]
            values = ", ".join([f"({', '.join([p] * 7)})"] * len(chunk))
            database.execute_sql(f"INSERT INTO audit_event ({_COLUMNS}) VALUES {values}",
                                 tuple(value for row in chunk for value in row))


def _copy(database, rows):
    # COPY: binding a group of a few thousand rows as INSERT parameters cost ~20 µs of client CPU per
    # row, about as much as the token request that made it; COPY streams them for a fraction of that.
    # Inside a caller's transaction, SET LOCAL would relax that transaction's own commit: only alone.
    relax = not database.in_transaction()
    with write_transaction(database):
        cursor = database.cursor()
        if relax:
            cursor.execute("SET LOCAL synchronous_commit = off")
        with cursor.copy(f"COPY audit_event ({_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def prune(database, before):
    return database.execute_sql(f"DELETE FROM audit_event WHERE created_at < {database.param}",
                                (before,)).rowcount
