"""Real gunicorn with 2 workers on the suite's database: load and races across processes."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from app import opaque
from app.store import refresh_tokens
from app.device import DEVICE_GRANT
from tests.live import live_server

THREADS = 8


@pytest.fixture
def server(database_url, clean_database, tmp_path):
    with live_server(database_url, tmp_path, workers=2) as running:
        yield running


def _at_once(count, action):
    """Run action(i) from `count` threads released together; return the results."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        return action(i)
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _seed_user_client(server, grants):
    server.cli("tenant", "create", "--slug", "acme", "--name", "Acme")
    user = server.cli("user", "create", "--tenant", "acme", "--email", "ada@example.com", "--name", "Ada",
                      "--password-stdin", stdin="pw-pw-pw-pw\n")
    args = ["client", "create", "--name", "Racer", "--audience", "global", "--redirect-uri", "https://r.example/cb",
            "--scope", "openid profile"]
    for grant in grants:
        args += ["--grant", grant]
    return user, server.cli(*args)


def test_token_endpoint_under_load_answers_every_request(server):
    client = server.cli("client", "create", "--name", "Load", "--audience", "global", "--grant",
                        "client_credentials", "--scope", "api.read")
    url = server.url + "/api/v1/platform/oauth/token"

    def hammer(_):
        with requests.Session() as session:
            return [session.post(url, data={"grant_type": "client_credentials"},
                                 auth=(client["client_id"], client["client_secret"]), timeout=30).status_code
                    for _ in range(40)]
    statuses = [s for batch in _at_once(THREADS, hammer) for s in batch]
    assert statuses == [200] * (THREADS * 40)
    assert "database is locked" not in server.log() and "Traceback" not in server.log()


def test_one_refresh_token_presented_at_once_is_honoured_exactly_once(server, services):
    user, client = _seed_user_client(server, ["authorization_code", "refresh_token"])
    (app_id,) = services.database.execute_sql(
        f"SELECT id FROM application WHERE client_id = {services.database.param}", (client["client_id"],)).fetchone()
    token = refresh_tokens.create(services.database, now=services.clock.now(), ttl=3600, application_id=app_id,
                                  user_id=user["id"], tenant_id=user["tenant_id"], session_id=None,
                                  scope="openid profile", offline=True, auth_time=int(services.clock.now()))
    url = server.url + "/api/v1/platform/oauth/token"
    responses = _at_once(THREADS, lambda _: requests.post(url, data={
        "grant_type": "refresh_token", "refresh_token": token}, auth=(client["client_id"], client["client_secret"]),
        timeout=30))
    assert sorted(r.status_code for r in responses) == [200] + [400] * (THREADS - 1)
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}
    assert "database is locked" not in server.log()


def test_the_previous_token_presented_at_once_within_the_grace_window_leaves_one_live_token(server, services):
    """Retries of a lost response racing each other: none revokes the family, and it never splits in two."""
    server.cli("tenant", "create", "--slug", "acme", "--name", "Acme")
    user = server.cli("user", "create", "--tenant", "acme", "--email", "ada@example.com", "--name", "Ada",
                      "--password-stdin", stdin="pw-pw-pw-pw\n")
    client = server.cli("client", "create", "--name", "Mobile", "--audience", "global", "--grant", "refresh_token",
                        "--grant", "client_credentials", "--scope", "openid profile", "--refresh-grace-seconds", "60")
    database, p = services.database, services.database.param
    (app_id,) = database.execute_sql(f"SELECT id FROM application WHERE client_id = {p}",
                                     (client["client_id"],)).fetchone()
    token = refresh_tokens.create(database, now=services.clock.now(), ttl=3600, application_id=app_id,
                                  user_id=user["id"], tenant_id=user["tenant_id"], session_id=None,
                                  scope="openid profile", offline=True, auth_time=int(services.clock.now()))
    family = refresh_tokens.find(database, token).family_id
    url, auth = server.url + "/api/v1/platform/oauth/token", (client["client_id"], client["client_secret"])
    form = {"grant_type": "refresh_token", "refresh_token": token}
    assert requests.post(url, data=form, auth=auth, timeout=30).status_code == 200  # its response is "lost"
    responses = _at_once(THREADS, lambda _: requests.post(url, data=form, auth=auth, timeout=30))
    assert 200 in {r.status_code for r in responses}
    assert {r.json()["error"] for r in responses if r.status_code != 200} <= {"invalid_grant"}
    live = database.execute_sql(
        f"SELECT token_hash FROM refresh_token WHERE family_id = {p} AND rotated_at IS NULL AND revoked_at IS NULL",
        (family,)).fetchall()
    issued = {opaque.digest(r.json()["refresh_token"]) for r in responses if r.status_code == 200}
    assert len(live) == 1 and live[0][0] in issued
    assert database.execute_sql(f"SELECT COUNT(*) FROM refresh_token WHERE family_id = {p} AND revoked_at IS NOT NULL",
                                (family,)).fetchone()[0] == 0
    assert "database is locked" not in server.log()


def test_one_authorization_code_redeemed_at_once_is_honoured_exactly_once(server, services):
    user, client = _seed_user_client(server, ["authorization_code"])
    database, p = services.database, services.database.param
    (app_id,) = database.execute_sql(f"SELECT id FROM application WHERE client_id = {p}",
                                     (client["client_id"],)).fetchone()
    code, now = opaque.new_secret(), int(services.clock.now())
    database.execute_sql(
        "INSERT INTO authorization_code (code_hash, application_id, user_id, tenant_id, redirect_uri, scope,"
        f" auth_time, created_at, expires_at) VALUES ({p}, {p}, {p}, {p}, {p}, 'openid', {p}, {p}, {p})",
        (opaque.digest(code), app_id, user["id"], user["tenant_id"], "https://r.example/cb", now, now, now + 60))
    url = server.url + "/api/v1/platform/oauth/token"
    responses = _at_once(THREADS, lambda _: requests.post(url, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "https://r.example/cb"},
        auth=(client["client_id"], client["client_secret"]), timeout=30))
    assert sorted(r.status_code for r in responses) == [200] + [400] * (THREADS - 1)


def test_one_approved_device_code_polled_at_once_is_honoured_exactly_once(server, services):
    user, client = _seed_user_client(server, [DEVICE_GRANT])
    api = server.url + "/api/v1/platform/oauth"
    auth = (client["client_id"], client["client_secret"])
    started = requests.post(api + "/device/authorize", data={"client_id": client["client_id"]}, auth=auth).json()
    database, p = services.database, services.database.param
    database.execute_sql(
        f"UPDATE device_authorization SET status = 'approved', user_id = {p}, tenant_id = {p}, auth_time = {p}",
        (user["id"], user["tenant_id"], int(services.clock.now())))
    responses = _at_once(THREADS, lambda _: requests.post(api + "/token", data={
        "grant_type": DEVICE_GRANT, "device_code": started["device_code"]}, auth=auth, timeout=30))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, [r.json() for r in responses]
