"""The server_secret table: random keys made at first start and shared by every worker and host."""

import base64
import secrets

KEY_BYTES = 32


def _find(database, name):
    row = database.execute_sql(f"SELECT value FROM server_secret WHERE name = {database.param}", (name,)).fetchone()
    return base64.urlsafe_b64decode(row[0]) if row else None


def get_or_create(database, name, now):
    """The key called `name` (bytes); the first caller makes it, and racing callers all read the same one."""
    key = _find(database, name)
    if key is not None:
        return key
    p = database.param
    value = base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")
    database.execute_sql(
        f"INSERT INTO server_secret (name, value, created_at) VALUES ({p}, {p}, {p}) ON CONFLICT (name) DO NOTHING",
        (name, value, int(now)))
    return _find(database, name)
