"""Writes that may skip the WAL flush wait do so for their own statement only (app.db.relaxed_commit).

Audit rows and a device's last poll time are lone autocommit statements; on PostgreSQL they run with
synchronous_commit off for their own transaction. Everything else, and anything inside a transaction,
keeps the database's durability. The PostgreSQL tests read the setting inside the statement and after it.
"""

import os

from app.db import relaxed_commit


def test_the_relaxed_condition_is_true_on_every_database_in_and_out_of_transactions(services):
    database = services.database
    assert database.execute_sql(f"SELECT 1 WHERE {relaxed_commit(database)}").fetchone() == (1,)
    with database.atomic():
        assert database.execute_sql(f"SELECT 1 WHERE {relaxed_commit(database)}").fetchone() == (1,)


def test_audit_rows_written_alone_and_inside_a_transaction_are_both_kept(services):
    services.audit.record("test.alone", client_id="c1")
    with services.database.atomic():
        services.audit.record("test.inside", client_id="c2")
    p = services.database.param
    rows = services.database.execute_sql(
        f"SELECT event, client_id FROM audit_event WHERE event IN ({p}, {p}) ORDER BY id",
        ("test.alone", "test.inside")).fetchall()
    assert [tuple(row) for row in rows] == [("test.alone", "c1"), ("test.inside", "c2")]


def current_synchronous_commit(database):
    return database.execute_sql("SELECT current_setting('synchronous_commit')").fetchone()[0]


if os.environ.get("OAUTH_TEST_DATABASE_URL"):  # SQLite has no per-transaction durability setting

    def test_postgres_relaxes_only_the_statement_that_asks(services):
        database = services.database
        database.execute_sql("SET synchronous_commit = on")
        try:
            (inside,) = database.execute_sql(
                f"SELECT current_setting('synchronous_commit') WHERE {relaxed_commit(database)}").fetchone()
            assert inside == "off"
            assert current_synchronous_commit(database) == "on"
        finally:
            database.execute_sql("RESET synchronous_commit")

    def test_postgres_never_relaxes_an_enclosing_transaction(services):
        database = services.database
        database.execute_sql("SET synchronous_commit = on")
        try:
            with database.atomic():
                services.audit.record("test.inside")
                assert current_synchronous_commit(database) == "on"
        finally:
            database.execute_sql("RESET synchronous_commit")
