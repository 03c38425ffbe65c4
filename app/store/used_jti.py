"""The used_jti table: JWT ids that may be accepted once (DPoP proofs, client assertions), across all workers."""

from app import opaque


def use_once(database, kind, jti, expires_at, now):
    """Record the id; True the first time, False for a replay (atomic: the unique key decides).

    On SQLite the file beside the database answers (app/store/used_jti_file.py), and sends only
    what it cannot hold to the table.
    """
    host_file = getattr(database, "used_jti_file", None)
    if host_file is not None:
        answer = host_file.use_once(kind, jti, expires_at, now)
        if answer is not None:
            return answer
    p = database.param
    return database.execute_sql(
        f"INSERT INTO used_jti (kind, jti_hash, expires_at) VALUES ({p}, {p}, {p})"
        " ON CONFLICT (kind, jti_hash) DO NOTHING", (kind, opaque.digest(jti), int(expires_at))).rowcount == 1


def prune(database, before):
    return database.execute_sql(f"DELETE FROM used_jti WHERE expires_at < {database.param}", (before,)).rowcount
