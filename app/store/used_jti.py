"""The used_jti table: JWT ids that may be accepted once (DPoP proofs, client assertions), across all workers."""

from app import opaque


def use_once(database, kind, jti, expires_at):
    """Record the id; True the first time, False for a replay (atomic: the unique key decides)."""
    p = database.param
    return database.execute_sql(
        f"INSERT INTO used_jti (kind, jti_hash, expires_at) VALUES ({p}, {p}, {p})"
        " ON CONFLICT (kind, jti_hash) DO NOTHING", (kind, opaque.digest(jti), int(expires_at))).rowcount == 1


def prune(database, before):
    return database.execute_sql(f"DELETE FROM used_jti WHERE expires_at < {database.param}", (before,)).rowcount
