"""Configuration is read once from the environment; malformed values stop the start with one line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_match_the_design():
    config = load_config({})
    assert config.issuer == "http://127.0.0.1:8000/api/v1/platform/oauth"
    assert config.database_url == "sqlite:///var/oauth.sqlite3"
    assert config.cookie_secure is False  # local http
    assert (config.access_token_ttl, config.id_token_ttl, config.code_ttl, config.device_code_ttl) == (
        3600, 3600, 60, 600)
    assert config.device_poll_interval == 5 and config.refresh_token_ttl == 30 * 86400
    assert (config.session_idle_ttl, config.session_absolute_ttl) == (8 * 3600, 7 * 86400)
    assert [str(n) for n in config.trusted_proxies] == ["127.0.0.1/32"]
    assert config.key_activation_delay == 600


def test_https_base_makes_cookies_secure_and_trailing_slash_is_dropped():
    config = load_config({"OAUTH_ISSUER_BASE": "https://id.example.com/"})
    assert config.cookie_secure is True
    assert config.issuer == "https://id.example.com/api/v1/platform/oauth"


def test_ttls_and_proxies_can_be_set():
    config = load_config({"OAUTH_ACCESS_TOKEN_TTL": "600", "OAUTH_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"})
    assert config.access_token_ttl == 600
    assert len(config.trusted_proxies) == 2


@pytest.mark.parametrize("value, seconds", [("900", 900), ("0", 0)])
def test_the_key_activation_delay_can_be_set(value, seconds):
    assert load_config({"OAUTH_KEY_ACTIVATION_DELAY": value}).key_activation_delay == seconds


@pytest.mark.parametrize("variable, value, message", [
    ("OAUTH_DATABASE_URL", "mysql://x/y", "must start with sqlite:/// or postgresql://"),
    ("OAUTH_DATABASE_URL", "sqlite://", "a SQLite URL is"),
    ("OAUTH_DATABASE_URL", "postgresql://localhost", "a PostgreSQL URL is"),
    ("OAUTH_DATABASE_URL", "postgresql://u@localhost:notaport/db", "invalid port"),
    ("OAUTH_ISSUER_BASE", "id.example.com", "must be an http:// or https:// URL"),
    ("OAUTH_ISSUER_BASE", "https://id.example.com/?x=1", "query or fragment"),
    ("OAUTH_COOKIE_SECURE", "maybe", "true or false"),
    ("OAUTH_CLIENT_CACHE", "sometimes", "true or false"),
    ("OAUTH_TRUSTED_PROXIES", "not-an-ip", "not an IP address"),
    ("OAUTH_ACCESS_TOKEN_TTL", "-5", "must be positive"),
    ("OAUTH_KEY_ACTIVATION_DELAY", "-1", "must be 0 or more"),
    ("OAUTH_KEY_ACTIVATION_DELAY", "10m", "whole number of seconds"),
])
def test_malformed_settings_name_the_variable(variable, value, message):
    with pytest.raises(ConfigError, match=variable) as raised:
        load_config({variable: value})
    assert message in str(raised.value)


def test_a_malformed_setting_stops_the_start_with_one_line(tmp_path):
    env = {**os.environ, "OAUTH_DATABASE_URL": "mysql://nope/x", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", "import app.wsgi"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "configuration error: OAUTH_DATABASE_URL must start with sqlite:/// or postgresql://, got 'mysql://nope/x'"]
