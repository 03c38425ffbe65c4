"""Configuration: read from the environment once, into one frozen object passed down."""

import ipaddress
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ISSUER_PATH = "/api/v1/platform/oauth"
API_PREFIX = "/api/v1/platform"


class ConfigError(Exception):
    """A setting is malformed; the message names the variable and what is wrong."""


@dataclass(frozen=True)
class Config:
    issuer_base: str = "http://127.0.0.1:8000"
    database_url: str = "sqlite:///var/oauth.sqlite3"
    key_encryption_key: str | None = None
    cookie_secure: bool = False
    trusted_proxies: tuple = field(default_factory=lambda: (ipaddress.ip_network("127.0.0.1/32"),))
    access_token_ttl: int = 3600
    id_token_ttl: int = 3600
    code_ttl: int = 60
    device_code_ttl: int = 600
    device_poll_interval: int = 5
    refresh_token_ttl: int = 30 * 86400
    # How long a person has to sign in after an application sent them to /authorize.
    authorization_request_ttl: int = 1800
    # How long a request_uri from the PAR endpoint may be used at /authorize (RFC 9126 §2.2).
    pushed_request_ttl: int = 60
    session_idle_ttl: int = 8 * 3600
    session_absolute_ttl: int = 7 * 86400
    # How often a worker looks for a key rotation made by another process.
    key_refresh_interval: int = 5
    # Seconds between publishing a rotated key and signing with it: longer than the JWKS max-age (300)
    # plus key_refresh_interval, so no relying party caching the JWKS meets an unknown kid.
    key_activation_delay: int = 600
    # Largest request body any endpoint reads.
    max_body_bytes: int = 64 * 1024
    # Access tokens may be signed ES256 (about seven times cheaper to sign); ID tokens are always RS256.
    access_token_alg: str = "RS256"
    # Audit rows wait at most this long to be written together (0: each row at once). The log line never waits.
    audit_flush_interval: float = 1.0
    # SQLite: seconds between background WAL checkpoints in each server process (0: SQLite checkpoints inside
    # the committing request, its default). Off unless configured; load_config's default turns it on.
    sqlite_checkpoint_interval: float = 0.0
    # PostgreSQL only: keep decoded clients per process, emptied by the database's change notifications
    # (app/client_cache.py). Off: every client lookup reads the database, as on SQLite.
    client_cache: bool = True

    @property
    def issuer(self):
        return self.issuer_base + ISSUER_PATH

    @property
    def api_base(self):
        return self.issuer_base + API_PREFIX

    @property
    def signing_algorithms(self):
        """Every algorithm that needs an active key: RS256 (ID tokens) and the access-token algorithm."""
        return ("RS256",) if self.access_token_alg == "RS256" else ("RS256", self.access_token_alg)

    @property
    def longest_token_ttl(self):
        return max(self.access_token_ttl, self.id_token_ttl)


_TTL_VARIABLES = {
    "OAUTH_ACCESS_TOKEN_TTL": "access_token_ttl",
    "OAUTH_ID_TOKEN_TTL": "id_token_ttl",
    "OAUTH_CODE_TTL": "code_ttl",
    "OAUTH_DEVICE_CODE_TTL": "device_code_ttl",
    "OAUTH_DEVICE_POLL_INTERVAL": "device_poll_interval",
    "OAUTH_REFRESH_TOKEN_TTL": "refresh_token_ttl",
    "OAUTH_SESSION_IDLE_TTL": "session_idle_ttl",
    "OAUTH_SESSION_ABSOLUTE_TTL": "session_absolute_ttl",
}


def check_issuer_base(value):
    """The public base URL: http(s), a host, no query or fragment; trailing slash dropped."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"OAUTH_ISSUER_BASE must be an http:// or https:// URL with a host, got {value!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"OAUTH_ISSUER_BASE must not carry a query or fragment, got {value!r}")
    try:
        parts.port
    except ValueError:
        raise ConfigError(f"OAUTH_ISSUER_BASE has an invalid port, got {value!r}") from None
    return value.rstrip("/")


def check_database_url(value):
    """sqlite:///relative/path, sqlite:////absolute/path or postgresql://user:pw@host:port/db."""
    parts = urlsplit(value)
    if parts.scheme == "sqlite":
        if parts.netloc or not parts.path.strip("/"):
            raise ConfigError(f"OAUTH_DATABASE_URL: a SQLite URL is sqlite:///path/to/file.sqlite3, got {value!r}")
        return value
    if parts.scheme in ("postgresql", "postgres"):
        if not parts.hostname or not parts.path.strip("/"):
            raise ConfigError(
                f"OAUTH_DATABASE_URL: a PostgreSQL URL is postgresql://user:password@host:port/dbname, got {value!r}")
        try:
            parts.port
        except ValueError:
            raise ConfigError(f"OAUTH_DATABASE_URL has an invalid port, got {value!r}") from None
        return value
    raise ConfigError(f"OAUTH_DATABASE_URL must start with sqlite:/// or postgresql://, got {value!r}")


def _parse_bool(name, value):
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def _parse_proxies(value):
    networks = []
    for item in value.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"OAUTH_TRUSTED_PROXIES: {item!r} is not an IP address or network") from None
    return tuple(networks)


def _parse_choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _parse_ttl(name, value, *, zero_allowed=False):
    try:
        seconds = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of seconds, got {value!r}") from None
    if seconds < 0 or (seconds == 0 and not zero_allowed):
        raise ConfigError(f"{name} must be {'0 or more' if zero_allowed else 'positive'}, got {value!r}")
    return seconds


def _parse_seconds(name, value, most):
    """A number of seconds from 0 to `most`, fractions allowed."""
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}") from None
    if not 0 <= seconds <= most:
        raise ConfigError(f"{name} must be between 0 and {most} second{'s' if most != 1 else ''}, got {value!r}")
    return seconds


def load_config(environ=None):
    """Build the Config from environment variables; raise ConfigError on the first malformed one."""
    env = os.environ if environ is None else environ
    issuer_base = check_issuer_base(env.get("OAUTH_ISSUER_BASE", Config.issuer_base))
    settings = {
        "issuer_base": issuer_base,
        "database_url": check_database_url(env.get("OAUTH_DATABASE_URL", Config.database_url)),
        "key_encryption_key": env.get("OAUTH_KEY_ENCRYPTION_KEY") or None,
        "cookie_secure": _parse_bool("OAUTH_COOKIE_SECURE", env["OAUTH_COOKIE_SECURE"])
        if env.get("OAUTH_COOKIE_SECURE")
        else not issuer_base.startswith("http://"),
        "trusted_proxies": _parse_proxies(env.get("OAUTH_TRUSTED_PROXIES", "127.0.0.1")),
        "access_token_alg": _parse_choice("OAUTH_ACCESS_TOKEN_ALG", env.get("OAUTH_ACCESS_TOKEN_ALG") or "RS256",
                                          ("RS256", "ES256")),
        "audit_flush_interval": _parse_seconds("OAUTH_AUDIT_FLUSH_INTERVAL",
                                               env.get("OAUTH_AUDIT_FLUSH_INTERVAL") or "1", 1),
        "sqlite_checkpoint_interval": _parse_seconds("OAUTH_SQLITE_CHECKPOINT_INTERVAL",
                                                     env.get("OAUTH_SQLITE_CHECKPOINT_INTERVAL") or "0.5", 60),
        "client_cache": _parse_bool("OAUTH_CLIENT_CACHE", env.get("OAUTH_CLIENT_CACHE") or "1"),
    }
    if env.get("OAUTH_KEY_ACTIVATION_DELAY"):
        settings["key_activation_delay"] = _parse_ttl("OAUTH_KEY_ACTIVATION_DELAY", env["OAUTH_KEY_ACTIVATION_DELAY"],
                                                      zero_allowed=True)
    for variable, attribute in _TTL_VARIABLES.items():
        if env.get(variable):
            settings[attribute] = _parse_ttl(variable, env[variable])
    return Config(**settings)
