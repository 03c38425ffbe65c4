"""Fill a database with issues 7 and 16's large data set, fast: by default 100,000 users across 1,000
tenants, 10,000 clients, 1,000,000 refresh tokens, 1,000,000 audit events and 100,000 revoked tokens.

    OAUTH_DATABASE_URL=sqlite:////tmp/x.sqlite3 .venv/bin/python bench/seed_large.py
    OAUTH_DATABASE_URL=postgresql://u:pw@127.0.0.1:5432/db .venv/bin/python bench/seed_large.py --refresh-tokens 200000

The database is the one OAUTH_DATABASE_URL names (SQLite or PostgreSQL); migrations and the first signing
key are applied first with app.application.prepare_database. Rows are inserted with multi-row VALUES in
batches, inside transactions, and added to whatever the database already holds (each run tags its rows,
so it can run twice). It prints progress and the time taken.

What the rows look like:
- tenants "l<tag>-0000" ...; users spread evenly over them, each with its own email address;
- clients: 70 % GLOBAL confidential web apps (authorization_code + refresh_token), 10 % GLOBAL public
  device apps, 20 % TENANT confidential apps; every secret hash is a random 64-hex-digit value;
- refresh tokens in families of four (three rotated, the newest live), for random users of random
  GLOBAL clients; token_hash is random 64 hex digits, the shape of the SHA-256 digest the service
  stores, for tokens nobody will ever present;
- audit events: token.issued, signin.success and signin.failure rows over the last year, shaped like the
  service's own (detail JSON, client ids, addresses);
- revoked tokens: token_revocation rows, half by jti (one access token) and half by grant (a refresh
  family), none yet expired, so every userinfo and introspection lookup runs against all of them.
"""

import argparse
import json
import random
import secrets
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from app.application import prepare_database  # noqa: E402
from app.clock import SystemClock  # noqa: E402
from app.config import ConfigError, load_config  # noqa: E402
from app.db import connect, dialect  # noqa: E402
from app.passwords import hash_password  # noqa: E402

ROWS_PER_INSERT = 1000          # rows in one multi-row INSERT (x 14 columns stays under every parameter limit)
ROWS_PER_TRANSACTION = 50_000
PROGRESS_EVERY = 100_000
FAMILY_SIZE = 4
DAY = 86400


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Fill OAUTH_DATABASE_URL with a large data set.")
    parser.add_argument("--tenants", type=int, default=1_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--refresh-tokens", type=int, default=1_000_000)
    parser.add_argument("--audit-events", type=int, default=1_000_000)
    parser.add_argument("--revoked-tokens", type=int, default=100_000)
    args = parser.parse_args(argv)
    counts = (args.refresh_tokens, args.audit_events, args.revoked_tokens)
    if min(args.tenants, args.users, args.clients) < 1 or min(counts) < 0:
        parser.error("--tenants, --users and --clients must be >= 1; --refresh-tokens, --audit-events and "
                     "--revoked-tokens >= 0")
    return args


class Inserter:
    """Multi-row INSERTs of one table, committed every ROWS_PER_TRANSACTION rows, with progress lines."""

    def __init__(self, database, table, columns, total):
        self.database = database
        self.table = table
        self.columns = columns
        self.total = total
        self.done = 0
        self.started = time.perf_counter()
        row = "(" + ", ".join([database.param] * len(columns)) + ")"
        self._sql = {}
        self._row = row

    def _statement(self, rows):
        if rows not in self._sql:
            self._sql[rows] = (f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES "
                               + ", ".join([self._row] * rows))
        return self._sql[rows]

    def insert(self, rows):
        """Insert an iterable of row tuples."""
        batch, transaction = [], []
        for row in rows:
            batch.append(row)
            if len(batch) == ROWS_PER_INSERT:
                transaction.append(batch)
                batch = []
                if len(transaction) * ROWS_PER_INSERT >= ROWS_PER_TRANSACTION:
                    self._commit(transaction)
                    transaction = []
        if batch:
            transaction.append(batch)
        if transaction:
            self._commit(transaction)

    def _commit(self, batches):
        with self.database.atomic():
            for batch in batches:
                self.database.execute_sql(self._statement(len(batch)), [value for row in batch for value in row])
        before = self.done
        self.done += sum(len(batch) for batch in batches)
        if self.done // PROGRESS_EVERY != before // PROGRESS_EVERY or self.done == self.total:
            elapsed = time.perf_counter() - self.started
            print(f"  {self.table}: {self.done:,} / {self.total:,} rows, {elapsed:.1f} s "
                  f"({self.done / elapsed:,.0f} rows/s)", flush=True)


def seed(database, args, now):
    tag = secrets.token_hex(3)
    rng = random.Random()
    # ONE Argon2id hash for every user: hashing 100,000 passwords would take about an hour of CPU, and
    # the benchmark signs in only its own user. The hash has the service's real parameters and length.
    password_hash = hash_password("large data set: nobody signs in with this")

    Inserter(database, "tenant", ("slug", "name", "status", "created_at"), args.tenants).insert(
        (f"l{tag}-{i:04d}", f"Large tenant {tag} {i}", "active", now - rng.randrange(365 * DAY))
        for i in range(args.tenants))
    tenant_ids = [row[0] for row in database.execute_sql(
        f"SELECT id FROM tenant WHERE slug LIKE {database.param} ORDER BY id", (f"l{tag}-%",)).fetchall()]

    user_columns = ("tenant_id", "email", "password_hash", "name", "given_name", "family_name", "email_verified",
                    "status", "created_at", "updated_at")

    def users():
        for i in range(args.users):
            tenant = i % len(tenant_ids)
            created = now - rng.randrange(365 * DAY)
            yield (tenant_ids[tenant], f"user{i:06d}@t{tenant:04d}.{tag}.example", password_hash,
                   f"User {i}", "User", str(i), bool(i % 3), "active", created, created)

    Inserter(database, '"user"', user_columns, args.users).insert(users())
    user_rows = database.execute_sql(
        f'SELECT id, tenant_id FROM "user" WHERE email LIKE {database.param}', (f"%.{tag}.example",)).fetchall()

    client_columns = ("client_id", "client_secret_hash", "name", "audience_type", "tenant_id", "redirect_uris",
                      "post_logout_redirect_uris", "grant_types", "allowed_scopes", "token_endpoint_auth_method",
                      "access_token_ttl", "refresh_token_ttl", "status", "created_at")
    web_grants = json.dumps(["authorization_code", "refresh_token"])
    device_grants = json.dumps(["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"])
    user_scopes = json.dumps(["openid", "profile", "email", "offline_access"])

    def clients():
        for i in range(args.clients):
            kind = i % 10
            redirect = json.dumps([f"https://app{i}.{tag}.example/callback"])
            created = now - rng.randrange(365 * DAY)
            if kind < 7:
                yield (secrets.token_urlsafe(18), secrets.token_hex(32), f"Large {tag} web {i}", "GLOBAL", None,
                       redirect, "[]", web_grants, user_scopes, "client_secret_basic", None, None, "active", created)
            elif kind == 7:
                yield (secrets.token_urlsafe(18), None, f"Large {tag} device {i}", "GLOBAL", None, "[]", "[]",
                       device_grants, user_scopes, "none", None, None, "active", created)
            else:
                yield (secrets.token_urlsafe(18), secrets.token_hex(32), f"Large {tag} tenant app {i}", "TENANT",
                       tenant_ids[i % len(tenant_ids)], redirect, "[]", web_grants, user_scopes,
                       "client_secret_basic", None, None, "active", created)

    Inserter(database, "application", client_columns, args.clients).insert(clients())
    global_clients = [row[0] for row in database.execute_sql(
        f"SELECT id FROM application WHERE name LIKE {database.param} AND audience_type = 'GLOBAL'",
        (f"Large {tag} %",)).fetchall()]

    token_columns = ("token_hash", "family_id", "application_id", "user_id", "tenant_id", "scope", "offline",
                     "auth_time", "created_at", "expires_at", "rotated_at")
    scope = "openid profile email offline_access"

    def tokens():
        made = 0
        while made < args.refresh_tokens:
            family = secrets.token_urlsafe(16)
            application = rng.choice(global_clients)
            user_id, tenant_id = rng.choice(user_rows)
            auth_time = now - rng.randrange(20 * DAY)
            for generation in range(min(FAMILY_SIZE, args.refresh_tokens - made)):
                created = auth_time + generation * 3600
                rotated = created + 3600 if generation < FAMILY_SIZE - 1 else None
                yield (secrets.token_hex(32), family, application, user_id, tenant_id, scope, True, auth_time,
                       created, created + 30 * DAY, rotated)
                made += 1

    Inserter(database, "refresh_token", token_columns, args.refresh_tokens).insert(tokens())

    audit_columns = ("event", "created_at", "client_id", "user_id", "tenant_id", "ip", "detail")
    issued_detail = json.dumps({"grant": "client_credentials", "id_token_issued": False,
                                "refresh_token_issued": False, "scope": "api.read"}, sort_keys=True)

    def audit_events():
        for i in range(args.audit_events):
            created = now - rng.randrange(365 * DAY)
            ip = f"10.{i % 250}.{(i // 250) % 250}.{i % 7 + 1}"
            if i % 10 < 8:
                yield ("token.issued", created, f"large-{tag}-{i % args.clients}", None, None, ip, issued_detail)
            else:
                user_id, tenant_id = rng.choice(user_rows)
                event = "signin.success" if i % 10 == 8 else "signin.failure"
                yield (event, created, None, user_id, tenant_id, ip, json.dumps({"email": f"user{i}@{tag}.example"}))

    Inserter(database, "audit_event", audit_columns, args.audit_events).insert(audit_events())

    def revocations():
        for i in range(args.revoked_tokens):
            revoked = now - rng.randrange(DAY)
            kind = "jti" if i % 2 else "grant"
            yield (f"{kind}:{secrets.token_urlsafe(16)}", f"large-{tag}-{i % args.clients}", revoked,
                   revoked + 30 * DAY)

    Inserter(database, "token_revocation", ("token_key", "client_id", "revoked_at", "expires_at"),
             args.revoked_tokens).insert(revocations())
    return tag


def main(argv=None):
    args = parse_args(argv)
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    database = connect(config.database_url)
    started = time.perf_counter()
    try:
        clock = SystemClock()
        prepare_database(database, config, clock)
        if dialect(database) == "sqlite":
            # This connection only: a large page cache for the bulk load (the server's settings are untouched).
            database.execute_sql("PRAGMA cache_size = -262144")
        print(f"seeding {args.tenants:,} tenants, {args.users:,} users, {args.clients:,} clients, "
              f"{args.refresh_tokens:,} refresh tokens, {args.audit_events:,} audit events, "
              f"{args.revoked_tokens:,} revoked tokens into {dialect(database)} ...", flush=True)
        tag = seed(database, args, int(clock.now()))
        finishing = time.perf_counter()
        if dialect(database) == "postgres":
            # What autovacuum would do soon anyway; done now so it does not run during a benchmark.
            database.execute_sql("ANALYZE")
        else:
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        print(f"  finishing ({'ANALYZE' if dialect(database) == 'postgres' else 'WAL checkpoint'}): "
              f"{time.perf_counter() - finishing:.1f} s", flush=True)
    finally:
        database.close()
    size = ""
    if dialect(database) == "sqlite":
        path = Path(database.database)
        size = f", file {path.stat().st_size / 2**20:,.0f} MiB" if path.exists() else ""
    print(f"seeded (tag {tag}) in {time.perf_counter() - started:.1f} s{size}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
