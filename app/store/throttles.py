"""The rate_counter table: hits per bucket and fixed window, shared by every worker and host."""


def hits(database, bucket, window_start):
    p = database.param
    row = database.execute_sql(f"SELECT hits FROM rate_counter WHERE bucket = {p} AND window_start = {p}",
                               (bucket, window_start)).fetchone()
    return row[0] if row else 0


def hit(database, bucket, window_start, expires_at):
    """Count one hit atomically, whichever worker sees it."""
    p = database.param
    database.execute_sql(
        f"INSERT INTO rate_counter (bucket, window_start, hits, expires_at) VALUES ({p}, {p}, 1, {p})"
        " ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counter.hits + 1",
        (bucket, window_start, expires_at))


def prune(database, before):
    return database.execute_sql(f"DELETE FROM rate_counter WHERE expires_at < {database.param}",
                                (before,)).rowcount
