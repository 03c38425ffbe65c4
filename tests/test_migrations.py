"""The migration runner records what it applied and is safe when two workers start at once."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from app.db import connect, migrate, migration_files, dialect
from app.store.signing_keys import list_keys
from tests.conftest import TEST_DATABASE_URL, postgres_admin_url

ROOT = Path(__file__).resolve().parent.parent

STARTER = """
import sys, time
from app.application import build_services, prepare_database
from app.config import load_config
start_at = float(sys.argv[1])
services = build_services(load_config())
time.sleep(max(0.0, start_at - time.time()))
prepare_database(services.database, services.config, services.clock)
"""


def test_a_dollar_quoted_function_body_stays_one_statement():
    from app.db import _statements

    sql = ("CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    PERFORM 1; -- and; a comment\n"
           "    RETURN NULL;\nEND\n$$;\nCREATE TRIGGER t AFTER DELETE ON x FOR EACH ROW EXECUTE FUNCTION f();\n"
           "SELECT $body$a;b$body$, 2;")
    assert _statements(sql) == [
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    PERFORM 1; \n    RETURN NULL;\nEND\n$$",
        "CREATE TRIGGER t AFTER DELETE ON x FOR EACH ROW EXECUTE FUNCTION f()",
        "SELECT $body$a;b$body$, 2"]


def test_migrations_are_recorded_and_not_applied_twice(admin_database):
    kind = dialect(admin_database)
    recorded = [row[0] for row in admin_database.execute_sql(
        "SELECT version FROM schema_migrations ORDER BY version").fetchall()]
    assert recorded == [version for version, _ in migration_files(kind)]
    assert migrate(admin_database, time.time()) == []


@pytest.fixture
def empty_database_url(tmp_path):
    if not TEST_DATABASE_URL:
        yield "sqlite:///" + str(tmp_path / "race.sqlite3")
        return
    name = "race_" + uuid.uuid4().hex[:10]
    maintenance = connect(postgres_admin_url(TEST_DATABASE_URL))
    maintenance.execute_sql(f"CREATE DATABASE {name}")
    yield TEST_DATABASE_URL.rsplit("/", 1)[0] + "/" + name
    maintenance.execute_sql(f"DROP DATABASE {name} WITH (FORCE)")
    maintenance.close()


def test_two_workers_starting_on_an_empty_database_do_not_collide(empty_database_url):
    env = {**os.environ, "OAUTH_DATABASE_URL": empty_database_url, "PYTHONPATH": str(ROOT)}
    start_at = str(time.time() + 1.5)
    workers = [subprocess.Popen([sys.executable, "-c", STARTER, start_at], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for worker in workers:
        _, stderr = worker.communicate(timeout=60)
        assert worker.returncode == 0, stderr

    database = connect(empty_database_url)
    versions = [row[0] for row in database.execute_sql("SELECT version FROM schema_migrations").fetchall()]
    keys = list_keys(database, time.time())
    database.close()
    assert sorted(versions) == [version for version, _ in migration_files(dialect(database))]
    assert [key["status"] for key in keys] == ["active"]


def _sqlite_runs_in_wal_mode_with_a_busy_timeout(services):
    assert services.database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert services.database.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 5000


if not TEST_DATABASE_URL:  # the SQLite pass of the suite
    test_sqlite_runs_in_wal_mode_with_a_busy_timeout = _sqlite_runs_in_wal_mode_with_a_busy_timeout


def test_a_database_at_the_first_migration_upgrades_and_keeps_its_signing_keys(empty_database_url):
    """The path every existing deployment takes: 0001 only, with keys in every state, then the later
    migrations (0004 turns status into the times of staged rotation)."""
    from dataclasses import replace

    from app.config import load_config
    from app.db import _statements
    from app.keygen import new_key
    from app.store.signing_keys import ensure_active_key

    database = connect(empty_database_url)
    kind = dialect(database)
    (first_version, first_path), *later = migration_files(kind)
    assert later, "nothing to upgrade to"
    now = int(time.time())
    # (status, created/activated, retired_at, publish_until) as the code before 0004 wrote them.
    rows = [("retired", now - 9000, now - 5000, now - 1000), ("retired", now - 5000, now - 600, now + 3000),
            ("active", now - 600, None, None)]
    kids = []
    with database.atomic():
        for statement in _statements(first_path.read_text()):
            database.execute_sql(statement)
        database.execute_sql("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        database.execute_sql(f"INSERT INTO schema_migrations VALUES ({database.param}, 0)", (first_version,))
        p = database.param
        for status, since, retired_at, publish_until in rows:
            kid, pem, public_jwk = new_key("ES256", None)  # any material: only the lifecycle matters here
            database.execute_sql(
                "INSERT INTO signing_key (kid, alg, private_key, public_jwk, status, created_at, activated_at,"
                f" retired_at, publish_until) VALUES ({p}, 'RS256', {p}, {p}, {p}, {p}, {p}, {p}, {p})",
                (kid, pem, json.dumps(public_jwk), status, since, since, retired_at, publish_until))
            kids.append(kid)

    assert migrate(database, now) == [version for version, _ in later]
    keys = {key["kid"]: key for key in list_keys(database, now)}
    assert [keys[kid]["status"] for kid in kids] == ["unpublished", "retired", "active"]
    assert keys[kids[1]]["publish_until"] == now + 3000 and keys[kids[2]]["activates_at"] == now - 600
    config = replace(load_config({"OAUTH_DATABASE_URL": empty_database_url}), access_token_alg="ES256")
    ensure_active_key(database, config, now)
    active = {key["alg"]: key["kid"] for key in list_keys(database, now) if key["status"] == "active"}
    recorded = database.execute_sql(
        "SELECT COUNT(*) FROM signing_key WHERE activation_recorded_at IS NULL").fetchone()[0]
    database.close()
    assert active["RS256"] == kids[2] and set(active) == {"RS256", "ES256"}
    assert recorded == 1  # only the new ES256 key: the old ones are not announced again


def test_rebuilding_the_application_table_keeps_its_rows_ids_and_references(empty_database_url):
    """0005 rebuilds `application` on SQLite (new CHECKs): clients, their ids and the rows pointing at them survive."""
    from app.db import _statements

    database = connect(empty_database_url)
    kind = dialect(database)
    files = migration_files(kind)
    before = [(version, path) for version, path in files if version < "0005"]
    p = database.param
    with database.atomic():
        for _, path in before:
            for statement in _statements(path.read_text()):
                database.execute_sql(statement)
        database.execute_sql("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        for version, _ in before:
            database.execute_sql(f"INSERT INTO schema_migrations VALUES ({p}, 0)", (version,))
        database.execute_sql("INSERT INTO tenant (id, slug, name, created_at) VALUES (7, 'acme', 'Acme', 0)")
        database.execute_sql('INSERT INTO "user" (id, tenant_id, email, password_hash, created_at, updated_at)'
                             " VALUES (5, 7, 'a@b.example', 'x', 0, 0)")
        database.execute_sql(
            "INSERT INTO application (id, client_id, client_secret_hash, name, audience_type, grant_types,"
            " token_endpoint_auth_method, created_at) VALUES"
            " (41, 'svc', 'hash', 'Svc', 'GLOBAL', '[\"refresh_token\"]', 'client_secret_basic', 0),"
            " (42, 'cli', NULL, 'Cli', 'GLOBAL', '[\"refresh_token\"]', 'none', 0)")
        database.execute_sql(
            "INSERT INTO refresh_token (token_hash, family_id, application_id, user_id, tenant_id, scope, created_at,"
            " expires_at) VALUES ('t', 'f', 42, 5, 7, 'openid', 0, 1)")
    assert "0005_client_options" in migrate(database, time.time())
    rows = database.execute_sql("SELECT id, client_id, token_endpoint_auth_method, refresh_grace_seconds, jwks"
                                " FROM application ORDER BY id").fetchall()
    joined = database.execute_sql("SELECT a.client_id FROM refresh_token r JOIN application a"
                                  " ON a.id = r.application_id").fetchall()
    database.close()
    assert rows == [(41, "svc", "client_secret_basic", 0, None), (42, "cli", "none", 0, None)]
    assert joined == [("cli",)]


def test_a_folder_without_migration_files_is_an_error_not_up_to_date(admin_database, tmp_path, monkeypatch):
    (tmp_path / dialect(admin_database)).mkdir()
    (tmp_path / dialect(admin_database) / "README.txt").write_text("not a migration")
    monkeypatch.setattr("app.db.SQL_DIR", tmp_path)

    with pytest.raises(FileNotFoundError, match="no migration files"):
        migrate(admin_database, time.time())
