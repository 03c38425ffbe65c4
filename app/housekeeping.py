"""`db prune`: delete what has expired, so tables do not grow without bound."""

from app.db import write_transaction

# Expired rows stay this long after expiry (useful when investigating an incident).
GRACE_SECONDS = 86400


def prune(database, now, audit_days=365):
    """Delete expired codes, device requests, sessions, dead refresh tokens and old throttle rows."""
    now = int(now)
    old = now - GRACE_SECONDS
    p = database.param
    counts = {}

    def run(name, sql, params):
        cursor = database.execute_sql(sql, params)
        if name:
            counts[name] = counts.get(name, 0) + max(cursor.rowcount, 0)

    with write_transaction(database):
        # Rotated tokens are kept until they expire: a rotated token coming back must still be
        # recognised, so its family can be revoked.
        # Two statements, so each uses its index (an OR would scan the table).
        run("refresh_token", f"DELETE FROM refresh_token WHERE expires_at < {p}", (old,))
        run("refresh_token", f"DELETE FROM refresh_token WHERE revoked_at < {p}", (old,))
        run(None, "UPDATE refresh_token SET authorization_code_id = NULL WHERE authorization_code_id IN"
                  f" (SELECT id FROM authorization_code WHERE expires_at < {p})", (old,))
        run("authorization_code", f"DELETE FROM authorization_code WHERE expires_at < {p}", (old,))
        run(None, "UPDATE refresh_token SET device_authorization_id = NULL WHERE device_authorization_id IN"
                  f" (SELECT id FROM device_authorization WHERE expires_at < {p})", (old,))
        run("device_authorization", f"DELETE FROM device_authorization WHERE expires_at < {p}", (old,))
        run("authorization_request", f"DELETE FROM authorization_request WHERE expires_at < {p}", (old,))
        run("login_challenge", f"DELETE FROM login_challenge WHERE expires_at < {p}", (old,))
        dead_sessions = f"SELECT id FROM sso_session WHERE expires_at < {p} OR ended_at < {p}"
        # Offline tokens outlive their session; they only lose the link to it.
        run(None, f"UPDATE refresh_token SET session_id = NULL WHERE session_id IN ({dead_sessions})", (old, old))
        run(None, f"UPDATE authorization_code SET session_id = NULL WHERE session_id IN ({dead_sessions})",
            (old, old))
        run(None, f"UPDATE device_authorization SET session_id = NULL WHERE session_id IN ({dead_sessions})",
            (old, old))
        run("sso_session", f"DELETE FROM sso_session WHERE expires_at < {p} OR ended_at < {p}", (old, old))
        run("rate_counter", f"DELETE FROM rate_counter WHERE expires_at < {p}", (now,))
        run("audit_event", f"DELETE FROM audit_event WHERE created_at < {p}", (now - audit_days * 86400,))
    return counts
