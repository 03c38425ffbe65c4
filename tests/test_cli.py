"""The administration CLI: JSON on stdout; bad input exits non-zero with one line and creates nothing."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from app.__main__ import main
from app.jws import CLOCK_SKEW
from app.passwords import verify_password
from tests.conftest import JWKS_PATH
from tests.helpers import client_credentials, verify_with_jwks

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(monkeypatch, database_url, clean_database):
    monkeypatch.setenv("OAUTH_DATABASE_URL", database_url)

    def run(*argv, stdin=""):
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
        return code, (json.loads(out.getvalue()) if out.getvalue() else None), err.getvalue()
    return run


def count(database, table):
    return database.execute_sql(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_tenant_user_and_client_creation_print_json(cli, clean_database):
    code, tenant, _ = cli("tenant", "create", "--slug", "acme", "--name", "Acme Inc.")
    assert code == 0 and tenant["slug"] == "acme" and tenant["name"] == "Acme Inc."

    code, user, _ = cli("user", "create", "--tenant", "acme", "--email", "Ada@Example.COM", "--name", "Ada",
                        "--password-stdin", stdin="  pass word with spaces  \n")
    assert code == 0 and user["email"] == "ada@example.com" and user["tenant"] == "acme"
    assert "password" not in json.dumps(user)
    (stored,) = clean_database.execute_sql('SELECT password_hash FROM "user"').fetchone()
    assert stored.startswith("$argon2id$")
    assert verify_password("  pass word with spaces  ", stored)

    code, client, _ = cli("client", "create", "--name", "CLI", "--audience", "global", "--grant", "authorization_code",
                          "--grant", "refresh_token", "--redirect-uri", "http://127.0.0.1:9000/cb",
                          "--redirect-uri", "https://app.example/cb", "--post-logout-redirect-uri",
                          "https://app.example/bye", "--scope", "openid", "--scope", "profile email")
    assert code == 0
    assert client["grant_types"] == ["authorization_code", "refresh_token"]
    assert client["redirect_uris"] == ["http://127.0.0.1:9000/cb", "https://app.example/cb"]
    assert client["scopes"] == ["openid", "profile", "email"]
    assert client["client_secret"]
    (secret_hash,) = clean_database.execute_sql("SELECT client_secret_hash FROM application").fetchone()
    assert client["client_secret"] not in secret_hash and len(secret_hash) == 64


def test_client_list_never_shows_secrets(cli):
    cli("client", "create", "--name", "S", "--audience", "global", "--grant", "client_credentials")
    code, clients, _ = cli("client", "list")
    assert code == 0 and [c["name"] for c in clients] == ["S"]
    assert "client_secret" not in clients[0]


def test_public_client_has_no_secret(cli):
    code, client, _ = cli("client", "create", "--name", "TV", "--audience", "global", "--public",
                          "--grant", "urn:ietf:params:oauth:grant-type:device_code")
    assert code == 0 and "client_secret" not in client and client["token_endpoint_auth_method"] == "none"


@pytest.mark.parametrize("argv, stdin, message, table", [
    (("tenant", "create", "--slug", "acme", "--name", "Again"), "", "already exists", "tenant"),
    (("tenant", "create", "--slug", "Not A Slug", "--name", "X"), "", "invalid slug", "tenant"),
    (("user", "create", "--tenant", "nope", "--email", "a@b.example", "--name", "A", "--password-stdin"), "pw\n",
     "unknown tenant 'nope'", '"user"'),
    (("user", "create", "--tenant", "acme", "--email", "not-an-email", "--name", "A", "--password-stdin"), "pw\n",
     "invalid email", '"user"'),
    (("user", "create", "--tenant", "acme", "--email", "a@b.example", "--name", "A", "--password-stdin"), "\n",
     "password must not be empty", '"user"'),
    (("client", "create", "--name", "X", "--audience", "global", "--grant", "password"), "", "unknown grant",
     "application"),
    (("client", "create", "--name", "X", "--audience", "tenant", "--grant", "client_credentials"), "",
     "needs --tenant", "application"),
    (("client", "create", "--name", "X", "--audience", "tenant", "--tenant", "nope", "--grant",
      "client_credentials"), "", "unknown tenant", "application"),
    (("client", "create", "--name", "X", "--audience", "global", "--grant", "authorization_code"), "",
     "needs at least one --redirect-uri", "application"),
    (("client", "create", "--name", "X", "--audience", "global", "--grant", "authorization_code",
      "--redirect-uri", "https://app.example/cb#frag"), "", "invalid redirect URI", "application"),
    (("client", "create", "--name", "X", "--audience", "global", "--public", "--grant", "client_credentials"), "",
     "public client cannot hold", "application"),
    (("client", "create", "--name", "X", "--audience", "planet", "--grant", "client_credentials"), "",
     "invalid choice", "application"),
    (("tenant", "delete"), "", "invalid choice", "tenant"),
    (("client", "create", "--name", "X", "--audience", "global", "--grant", "client_credentials",
      "--refresh-grace-seconds", "301"), "", "--refresh-grace-seconds must be 0-300", "application"),
    (("client", "create", "--name", "X", "--audience", "global", "--grant", "client_credentials",
      "--auth-method", "private_key_jwt"), "", "go together", "application"),
    (("client", "create", "--name", "X", "--audience", "global", "--grant", "client_credentials",
      "--jwks-file", "/nonexistent/jwks.json"), "", "cannot read --jwks-file", "application"),
    (("client", "create", "--name", "X", "--audience", "global", "--grant", "authorization_code", "--public",
      "--redirect-uri", "http://127.0.0.1/cb", "--auth-method", "client_secret_post"), "", "--auth-method none",
     "application"),
])
def test_bad_input_exits_non_zero_with_one_line_and_creates_nothing(
        cli, clean_database, argv, stdin, message, table):
    assert cli("tenant", "create", "--slug", "acme", "--name", "Acme")[0] == 0
    before = count(clean_database, table)
    code, out, err = cli(*argv, stdin=stdin)
    assert code != 0 and out is None
    assert len(err.strip().splitlines()) == 1 and message in err
    assert count(clean_database, table) == before


def test_keys_rotate_publishes_a_pending_key_and_list_shows_each_state(cli, config):
    code, before, _ = cli("keys", "list")
    assert code == 0 and [k["status"] for k in before] == ["active"]
    code, rotated, _ = cli("keys", "rotate")
    assert code == 0 and set(rotated) >= {"kid", "kids", "keys", "activates_at"}
    assert rotated["kids"] == [rotated["kid"]]
    code, after, _ = cli("keys", "list")
    assert after == rotated["keys"]
    old, new = after
    assert (old["kid"], new["kid"]) == (before[0]["kid"], rotated["kid"])
    assert (old["status"], new["status"]) == ("active", "pending") and old["published"] and new["published"]
    assert new["activates_at"] == rotated["activates_at"] == old["retires_at"]
    assert rotated["activates_at"] - new["created_at"] == config.key_activation_delay
    assert old["publish_until"] == old["retires_at"] + config.longest_token_ttl + CLOCK_SKEW
    assert new["retires_at"] is None and new["publish_until"] is None
    assert "private_key" not in json.dumps(after)


def test_keys_rotate_now_retires_the_old_key_at_once(cli):
    code, rotated, _ = cli("keys", "rotate", "--now")
    assert code == 0
    old, new = rotated["keys"]
    assert (old["status"], new["status"]) == ("retired", "active") and old["published"]
    assert new["activates_at"] == old["retires_at"] == rotated["activates_at"]


def test_after_keys_rotate_the_jwks_has_the_new_key_but_the_old_one_signs_until_the_delay_passes(
        cli, http, service_client, config, clock):
    old_kid = jwt.get_unverified_header(client_credentials(http, service_client).json["access_token"])["kid"]
    _, rotated, _ = cli("keys", "rotate")
    clock.advance(config.key_refresh_interval)
    assert {k["kid"] for k in http.get(JWKS_PATH).json["keys"]} == {old_kid, rotated["kid"]}
    clock.advance(rotated["activates_at"] - clock.now() - 1)
    token = client_credentials(http, service_client).json["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == old_kid
    clock.advance(1)
    token = client_credentials(http, service_client).json["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == rotated["kid"]
    verify_with_jwks(http, token, service_client["client_id"], clock=clock)


def test_after_keys_rotate_now_the_new_key_signs_within_the_refresh_interval(
        cli, http, service_client, config, clock):
    _, rotated, _ = cli("keys", "rotate", "--now")
    clock.advance(config.key_refresh_interval)
    token = client_credentials(http, service_client).json["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == rotated["kid"]


def test_db_migrate_reports_nothing_pending(cli):
    assert cli("db", "migrate") == (0, {"applied": []}, "")


def test_a_client_created_with_the_real_cli_gets_a_token_that_verifies(http, database_url, clean_database):
    env = {**os.environ, "OAUTH_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "app", "client", "create", "--name", "Real", "--audience",
                             "global", "--grant", "client_credentials", "--scope", "reports.read"],
                            env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    client = json.loads(result.stdout)
    token = client_credentials(http, client).json["access_token"]
    assert verify_with_jwks(http, token, client["client_id"])["scope"] == "reports.read"


def test_demo_creates_working_clients_and_prints_a_walkthrough(cli, http):
    code, demo, _ = cli("demo")
    assert code == 0 and demo["tenant"]["slug"] == "demo"
    service = demo["clients"]["service"]
    token = client_credentials(http, service).json["access_token"]
    assert verify_with_jwks(http, token, service["client_id"])["scope"] == "reports.read"
    walkthrough = demo["walkthrough"]
    assert service["client_secret"] in walkthrough["client_credentials"][0]
    assert any("/device/authorize" in line for line in walkthrough["device_flow"])
    assert any("code_challenge_method=S256" in line for line in walkthrough["browser_flow"])
    code, again, _ = cli("demo")
    assert code == 0 and again["tenant"]["slug"] != "demo"  # a second run never collides


def test_demo_text_walkthrough(monkeypatch, database_url, clean_database):
    monkeypatch.setenv("OAUTH_DATABASE_URL", database_url)
    out = io.StringIO()
    assert main(["demo", "--text"], stdin=io.StringIO(), stdout=out, stderr=io.StringIO()) == 0
    assert "grant_type=client_credentials" in out.getvalue() and "password:" in out.getvalue()


def test_db_prune_reports_what_it_deleted(cli):
    code, result, _ = cli("db", "prune")
    assert code == 0 and set(result["deleted"]) >= {"authorization_code", "refresh_token", "sso_session",
                                                    "rate_counter", "device_authorization"}


def test_key_rotation_is_audited(cli, clean_database):
    cli("keys", "rotate")
    assert clean_database.execute_sql("SELECT COUNT(*) FROM audit_event WHERE event = 'key.rotated'").fetchone()[0] == 1


def _public_jwk(private_key):
    return json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key()))


def test_a_private_key_jwt_client_registers_public_keys_and_gets_no_secret(cli, clean_database, tmp_path):
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [_public_jwk(ec.generate_private_key(ec.SECP256R1()))]}))
    code, client, err = cli("client", "create", "--name", "Svc", "--audience", "global", "--grant",
                            "client_credentials", "--auth-method", "private_key_jwt", "--jwks-file", str(jwks_file))
    assert code == 0, err
    assert client["token_endpoint_auth_method"] == "private_key_jwt" and "client_secret" not in client
    assert client["jwks"]["keys"][0]["kty"] == "EC"
    assert clean_database.execute_sql("SELECT client_secret_hash FROM application").fetchone()[0] is None


@pytest.mark.parametrize("jwks, message", [
    ({"keys": []}, "at least one key"),
    ({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, "RSA or EC"),
    ("private", "holds a private key"),
    ({"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}]}, "not a valid public key"),
])
def test_a_jwks_with_private_symmetric_or_broken_keys_is_refused(cli, clean_database, tmp_path, jwks, message):
    if jwks == "private":
        jwks = {"keys": [json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1())))]}
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(jwks))
    code, out, err = cli("client", "create", "--name", "Svc", "--audience", "global", "--grant",
                         "client_credentials", "--auth-method", "private_key_jwt", "--jwks-file", str(jwks_file))
    assert code != 0 and out is None and message in err
    assert count(clean_database, "application") == 0


def test_client_options_are_stored_and_printed(cli):
    code, client, err = cli("client", "create", "--name", "Third party", "--audience", "global", "--grant",
                            "authorization_code", "--grant", "refresh_token", "--redirect-uri", "https://tp.example/cb",
                            "--auth-method", "client_secret_post", "--require-consent", "--require-par",
                            "--require-dpop", "--refresh-grace-seconds", "30")
    assert code == 0, err
    assert client["token_endpoint_auth_method"] == "client_secret_post" and client["client_secret"]
    assert (client["require_consent"], client["require_par"], client["require_dpop"]) == (True, True, True)
    assert client["refresh_grace_seconds"] == 30
    code, (listed,), _ = cli("client", "list")
    assert listed["refresh_grace_seconds"] == 30 and listed["require_par"] is True
