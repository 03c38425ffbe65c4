"""Audit trail rows (never a secret), the trusted-proxy rule for client addresses, and db prune."""

import json

import pytest

from app.housekeeping import prune
from tests.conftest import TOKEN_PATH
from tests.helpers import basic, client_credentials


def audit_rows(database, event):
    return database.execute_sql(
        "SELECT client_id, user_id, tenant_id, ip, detail FROM audit_event WHERE event = "
        f"{database.param} ORDER BY id", (event,)).fetchall()


def test_each_issued_token_is_audited_with_grant_and_client_and_no_secret(http, services, service_client):
    body = client_credentials(http, service_client).json
    ((client_id, user_id, tenant_id, ip, detail),) = audit_rows(services.database, "token.issued")
    assert client_id == service_client["client_id"] and user_id is None and tenant_id is None
    assert json.loads(detail)["grant"] == "client_credentials"
    everything = json.dumps(services.database.execute_sql("SELECT * FROM audit_event").fetchall())
    assert service_client["client_secret"] not in everything and body["access_token"] not in everything


def test_the_audit_line_is_logged_as_json(http, service_client, caplog):
    with caplog.at_level("INFO", logger="app.audit"):
        client_credentials(http, service_client)
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "app.audit"]
    assert line["event"] == "token.issued" and line["client_id"] == service_client["client_id"]
    assert service_client["client_secret"] not in json.dumps(line)


@pytest.mark.parametrize("peer, forwarded, expected", [
    ("203.0.113.9", "198.51.100.7", "203.0.113.9"),           # untrusted peer: the header is ignored
    ("127.0.0.1", "198.51.100.7", "198.51.100.7"),            # trusted proxy: the forwarded client
    ("127.0.0.1", "198.51.100.7, 127.0.0.1", "198.51.100.7"),  # skip trusted hops from the right
    ("127.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),   # a forged left-most entry is not believed
    ("127.0.0.1", None, "127.0.0.1"),
])
def test_the_client_address_believes_x_forwarded_for_only_from_trusted_proxies(
        http, services, service_client, peer, forwarded, expected):
    headers = {"Authorization": basic(service_client["client_id"], service_client["client_secret"])}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    http.post(TOKEN_PATH, {"grant_type": "client_credentials"}, headers=headers,
              extra_environ={"REMOTE_ADDR": peer})
    assert audit_rows(services.database, "token.issued")[-1][3] == expected


@pytest.fixture
def app_id(services, client):
    """The database id of the browser-flow client."""
    p = services.database.param
    return services.database.execute_sql(f"SELECT id FROM application WHERE client_id = {p}",
                                         (client["client_id"],)).fetchone()[0]


def test_prune_deletes_expired_rows_and_keeps_live_ones(services, clock, user, app_id):
    database, p = services.database, services.database.param
    now = int(clock.now())
    for name, expires in (("old", now - 3 * 86400), ("live", now + 3600)):
        database.execute_sql(
            "INSERT INTO authorization_code (code_hash, application_id, user_id, tenant_id, redirect_uri, scope,"
            f" auth_time, created_at, expires_at) VALUES ({p}, {p}, {p}, {p}, 'x', 'openid', {p}, {p}, {p})",
            (name, app_id, user["id"], user["tenant_id"], now, now, expires))
        database.execute_sql(
            "INSERT INTO refresh_token (token_hash, family_id, application_id, user_id, tenant_id, scope,"
            f" created_at, expires_at) VALUES ({p}, 'f', {p}, {p}, {p}, 'openid', {p}, {p})",
            (name, app_id, user["id"], user["tenant_id"], now, expires))
        database.execute_sql(
            f"INSERT INTO rate_counter (bucket, window_start, hits, expires_at) VALUES ({p}, 0, 1, {p})",
            (name, expires))
    counts = prune(database, clock.now())
    assert counts["authorization_code"] == 1 and counts["refresh_token"] == 1 and counts["rate_counter"] == 1
    for table, column in (("authorization_code", "code_hash"), ("refresh_token", "token_hash"),
                          ("rate_counter", "bucket")):
        assert [r[0] for r in database.execute_sql(f"SELECT {column} FROM {table}").fetchall()] == ["live"]


def test_prune_keeps_rotated_refresh_tokens_until_they_expire(services, clock, user, app_id):
    """A rotated token coming back must still be recognised so its family can be revoked."""
    database, p = services.database, services.database.param
    now = int(clock.now())
    database.execute_sql(
        "INSERT INTO refresh_token (token_hash, family_id, application_id, user_id, tenant_id, scope, created_at,"
        f" expires_at, rotated_at) VALUES ('rotated', 'f', {p}, {p}, {p}, 'openid', {p}, {p}, {p})",
        (app_id, user["id"], user["tenant_id"], now - 5 * 86400, now + 86400, now - 4 * 86400))
    prune(database, clock.now())
    assert database.execute_sql("SELECT COUNT(*) FROM refresh_token").fetchone()[0] == 1


def events(database):
    return [row[0] for row in database.execute_sql("SELECT event FROM audit_event ORDER BY id").fetchall()]


def test_sign_in_success_and_failure_are_audited_without_the_password(http, services, user):
    from tests.helpers import EMAIL, LOGIN_PATH, PASSWORD, sign_in
    form = http.get(LOGIN_PATH).forms[0]
    form["email"] = EMAIL
    form = form.submit().forms[0]
    form["password"] = "a wrong password"
    form.submit()
    sign_in(http)
    assert events(services.database) == ["signin.failure", "signin.success"]
    everything = json.dumps(services.database.execute_sql("SELECT * FROM audit_event").fetchall())
    assert PASSWORD not in everything and "a wrong password" not in everything


def test_refresh_reuse_device_decisions_and_logout_are_audited(http, services, user, client, tv):
    from tests.helpers import LOGOUT_PATH, decide_device, refresh, sign_in_tokens, start_device
    tokens = sign_in_tokens(http, client, scope="openid")
    refresh(http, client, tokens["refresh_token"])
    refresh(http, client, tokens["refresh_token"], status=400)
    for action in ("approve", "deny"):
        decide_device(http, start_device(http, tv).json["user_code"], action)
    http.get(LOGOUT_PATH).forms[0].submit()
    assert {"refresh_token.reuse_detected", "device.approved", "device.denied", "logout"} <= set(
        events(services.database))
    issued = audit_rows(services.database, "token.issued")
    assert issued and {(row[1], row[2]) for row in issued} == {(user["id"], user["tenant_id"])}
    everything = json.dumps(services.database.execute_sql("SELECT * FROM audit_event").fetchall())
    assert tokens["refresh_token"] not in everything and tokens["access_token"] not in everything


def test_prune_never_revives_a_refresh_token_whose_session_has_ended(http, services, clock, user, make_client):
    """A session-bound token dies with its session; pruning the session must not turn it into an offline one."""
    from tests.helpers import refresh, sign_in_tokens, web_client
    app_client = web_client(make_client, scopes=["openid", "profile", "offline_access"])
    session_bound = sign_in_tokens(http, app_client, scope="openid")["refresh_token"]
    offline = sign_in_tokens(http, app_client, scope="openid offline_access")["refresh_token"]
    clock.advance(services.config.session_absolute_ttl + 2 * 86400)  # the session expired, and its grace passed
    assert refresh(http, app_client, session_bound, status=400).json["error"] == "invalid_grant"
    assert prune(services.database, clock.now())["sso_session"] == 1
    assert refresh(http, app_client, session_bound, status=400).json["error"] == "invalid_grant"
    # Offline tokens outlive their session by design, also after pruning.
    assert "access_token" in refresh(http, app_client, offline).json
