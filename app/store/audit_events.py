"""The audit_event table: one row per security event."""

from app.db import relaxed_commit


def insert(database, *, event, now, client_id, user_id, tenant_id, ip, detail_json):
    p = database.param
    # The CASTs give PostgreSQL the column types that INSERT ... SELECT cannot infer from bare parameters.
    database.execute_sql(
        "INSERT INTO audit_event (event, created_at, client_id, user_id, tenant_id, ip, detail)"
        f" SELECT CAST({p} AS TEXT), CAST({p} AS BIGINT), CAST({p} AS TEXT), CAST({p} AS BIGINT),"
        f" CAST({p} AS BIGINT), CAST({p} AS TEXT), CAST({p} AS TEXT) WHERE {relaxed_commit(database)}",
        (event, int(now), client_id, user_id, tenant_id, ip, detail_json))


def prune(database, before):
    return database.execute_sql(f"DELETE FROM audit_event WHERE created_at < {database.param}",
                                (before,)).rowcount
