"""The token_revocation table: revoked access tokens by jti, revoked grants by family id (RFC 7009 §2.1).

Access tokens are JWTs that nobody can recall, so whoever accepts one asks here first: one read of a
unique index, with both keys the token carries. A row lives until the last token it covers expires.
"""

_JTI = "jti:"
_GRANT = "grant:"


def _keys(jti, grant_id):
    keys = [_JTI + str(jti)]
    if grant_id is not None:
        keys.append(_GRANT + str(grant_id))
    return keys


def is_revoked(database, jti, grant_id=None):
    """True when the token itself (jti) or the grant it was issued from has been revoked."""
    keys = _keys(jti, grant_id)
    placeholders = ", ".join([database.param] * len(keys))
    return database.execute_sql(f"SELECT 1 FROM token_revocation WHERE token_key IN ({placeholders})",
                                keys).fetchone() is not None


def _insert(database, key, client_id, now, expires_at):
    p = database.param
    return database.execute_sql(
        f"INSERT INTO token_revocation (token_key, client_id, revoked_at, expires_at) VALUES ({p}, {p}, {p}, {p})"
        " ON CONFLICT (token_key) DO NOTHING", (key, client_id, int(now), int(expires_at))).rowcount == 1


def revoke_token(database, jti, *, client_id, now, expires_at):
    """One access token, until its own exp; False when it was already revoked."""
    return _insert(database, _JTI + str(jti), client_id, now, expires_at)


def revoke_grant(database, grant_id, *, client_id, now, expires_at):
    """Every access token issued from a grant; expires_at is when the last one issued so far expires."""
    return _insert(database, _GRANT + str(grant_id), client_id, now, expires_at)


def prune(database, before):
    return database.execute_sql(f"DELETE FROM token_revocation WHERE expires_at < {database.param}",
                                (before,)).rowcount
