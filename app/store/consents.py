"""The consent table: the scopes each user has allowed each application (OIDC Core §3.1.2.4)."""


def granted_scopes(database, user_id, application_id):
    """The scopes this user has allowed this application, as a set (empty when never asked)."""
    p = database.param
    rows = database.execute_sql(f"SELECT scope FROM consent WHERE user_id = {p} AND application_id = {p}",
                                (user_id, application_id)).fetchall()
    return {row[0] for row in rows}


def grant(database, user_id, application_id, scopes, now):
    """Remember each scope as allowed; scopes already remembered stay as they were (rows are only added)."""
    p = database.param
    for scope in scopes:
        database.execute_sql(
            f"INSERT INTO consent (user_id, application_id, scope, granted_at) VALUES ({p}, {p}, {p}, {p})"
            " ON CONFLICT (user_id, application_id, scope) DO NOTHING", (user_id, application_id, scope, int(now)))
