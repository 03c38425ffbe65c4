"""Issue 7's benchmark: every scenario, on SQLite and on PostgreSQL, in one command.

    .venv/bin/python bench/run.py [--duration 8] [--connections 16] [--databases sqlite,postgres]
                                  [--scenarios client_credentials,...] [--large] [--loadgen auto|wrk|python] [--json]

For each database it
  1. makes an empty database: a SQLite file in a temporary directory, or a throwaway PostgreSQL cluster
     (initdb in a temporary directory as the postgres user, a free port, default durability settings;
     stopped and deleted at the end, also on errors; skipped with a message when not root or when
     PostgreSQL is not installed);
  2. seeds a tenant, a user and three clients with the admin CLI (`python -m app ...`), and what the CLI
     cannot make by calling the app's own functions on the same OAUTH_DATABASE_URL: refresh tokens
     (app.store.refresh_tokens.create) and pending device codes (app.device.DeviceAuthorizations.start);
  3. starts gunicorn exactly as gunicorn.conf.py configures it (`python -m gunicorn -c gunicorn.conf.py
     -b 127.0.0.1:PORT`: the workers, worker class and CPU pinning are the config's), with the access log
     written to /dev/null (formatted as in production, not kept); mints a user's access token through the
     real refresh_token grant (for userinfo) and takes the login form's CSRF cookie and token through the
     real pages (for the password step);
  4. drives each scenario from a separate load process for a bounded time: wrk when it is installed,
     else a Python load generator (processes x threads); reads the CPU time of the gunicorn master and
     workers (and of the PostgreSQL server) from /proc before and after;
  5. with --large, fills the database with bench/seed_large.py (100,000 users, 1,000 tenants, 10,000
     clients, 1,000,000 refresh tokens, 1,000,000 audit events, 100,000 revoked tokens) and runs every
     scenario again.

With --profile, BENCH_PROFILE_KEEP=FILE also keeps the workers' summed profile (pstats) for a closer look.

It then prints a table (req/s, p50, p99, errors, server CPU per request) with the single-core RS256 sign
rate and the Argon2id verification rate measured in the same run, and each target of issue 7 beside its
figure with a check mark. Missing a target is a figure, never an exit code: the exit code is 0 unless
the benchmark itself could not run.

Scenarios:
  client_credentials  POST token, confidential client, HTTP Basic (one RS256 signature)
  client_credentials_dpop
                      the same, by a client created with --require-dpop: every request carries a fresh
                      ES256 DPoP proof (RFC 9449), so the server also verifies one signature and records the
                      proof's jti once; the proofs are signed before the load starts (bench/dpop_proofs.py says
                      why), one per request, sent in the DPoP header by wrk or the Python generator alike;
                      target: at least 0.75x the req/s of client_credentials
  client_credentials_private_key_jwt
                      POST token, client_credentials authenticated with private_key_jwt (RFC 7523): each
                      request carries its own RS256 client assertion (a fresh jti, aud the token endpoint),
                      so on top of the plain scenario the server verifies one RS256 signature and records
                      one jti (a single-use INSERT). An assertion is accepted once, so the load generator
                      cannot repeat one request: the assertions are signed before the scenario starts (a
                      pool sized for KEY_RATE_CAP req/s for the whole duration, each lives 5 minutes) and
                      every connection sends each of its own once (the "chain" feed with no chaining answer;
                      wrk and the Python load generator both do this). Target: at least 0.75x the req/s of
                      plain client_credentials.
  refresh_token       POST token, rotation: each request presents the refresh token the previous response
                      rotated to its connection; scope "openid profile email offline_access", so each
                      answer carries an access token and an ID token (two RS256 signatures) and a new
                      refresh token (rotation writes)
  device_polling      POST token with the device_code grant for pending device codes (public client);
                      the pool is large enough that each code is polled at most once per 5 s interval;
                      authorization_pending is the expected answer, slow_down is reported too, and
                      neither counts as an error
  userinfo            GET userinfo with a user's bearer access token (one RS256 verification, one revocation
                      lookup)
  introspection       POST introspect by the confidential client the user's access token was issued to
                      (one RS256 verification, one revocation lookup; the answer is active)
  jwks, discovery     GET the JWKS and the OpenID configuration
  password            POST /login, the password step of sign-in (one Argon2id verification per request,
                      then a new SSO session); compared with Argon2id verifications/s on one core x workers

The load generator runs on the same cores as the server, so every req/s here is a lower bound for the
server alone; CPU ms per request is the server's own cost and does not depend on that.
"""

import argparse
import concurrent.futures
import contextlib
import dataclasses
import glob
import http.client
import json
import math
import multiprocessing
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
for _path in (str(BENCH_DIR), str(REPO_ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import dpop_proofs  # noqa: E402
import loadgen  # noqa: E402
import peer_node  # noqa: E402
import profile_workers  # noqa: E402
import token_throughput as tt  # noqa: E402

HOST = tt.HOST
TOKEN_PATH = tt.TOKEN_PATH
JWKS_PATH = tt.JWKS_PATH
ISSUER_PATH = tt.ISSUER_PATH
USERINFO_PATH = ISSUER_PATH + "/userinfo"
INTROSPECT_PATH = ISSUER_PATH + "/introspect"
DISCOVERY_PATH = ISSUER_PATH + "/.well-known/openid-configuration"
LOGIN_PATH = "/login"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
FORM = "application/x-www-form-urlencoded"

KEY_SCENARIO = "client_credentials_private_key_jwt"
SCENARIOS = ("client_credentials", "client_credentials_dpop", KEY_SCENARIO, "refresh_token", "device_polling",
             "userinfo", "introspection", "jwks", "discovery", "password")
DATABASES = ("sqlite", "postgres")

# Targets on this machine kind (2 cores, 2 workers, 16 connections): issue 7's, with issue 16's where it
# raised them (refresh_token, p99, Postgres) and its comparison with node-oidc-provider in the same run.
RPS_TARGETS = {"client_credentials": 3300, "refresh_token": 1700, "device_polling": 4000, "userinfo": 5000,
               "introspection": 5000, "jwks": 8000, "discovery": 8000}
RATIO_TARGET = 0.55          # client_credentials: requests per server CPU-second / RS256 signs per CPU-second
P99_TARGET_MS = 12           # client_credentials at 16 connections
POSTGRES_WITHIN = 0.20       # client_credentials on Postgres within 20 % of SQLite
PEER_RATIO_TARGET = 1.0      # client_credentials on SQLite vs node-oidc-provider, alternated in one run
PASSWORD_SHARE = 0.85        # password step >= 85 % of the Argon2id verifications/s (one core x workers)
LARGE_WITHIN = 0.10          # every figure on the large database within 10 % of the empty one
DPOP_SHARE = 0.75            # client_credentials_dpop >= 75 % of client_credentials (issue 15)
# Proofs signed per second of load: more than the fastest DPoP rate we expect, so no connection runs out.
DPOP_RATE_CAP = 6000
KEY_RATIO_TARGET = 0.75      # private_key_jwt client_credentials >= 0.75x plain client_credentials (issue 15)
KEY_RATE_CAP = 5000          # req/s the assertion pool is sized for (more than 2 cores manage)
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

USER_EMAIL = "bench.user@example.com"
USER_PASSWORD = "correct horse battery staple, bench"
USER_SCOPE = "openid profile email offline_access"
# Device polling: a pool this many times the fastest rate we expect keeps each code >= 5.5 s apart.
DEVICE_RATE_CAP = 8000
DEVICE_POOL_SECONDS = 5.5
REFRESH_POOL_PER_CONNECTION = 64
PG_SHARED_BUFFERS = "256MB"
SETTLE_S = 0.3
PROFILES = []  # (label, lines of text) from --profile, printed after the table


def log(message):
    print(message, file=sys.stderr, flush=True)


class Skip(Exception):
    """A database leg that cannot run here; the message says why."""


# --- arguments -----------------------------------------------------------------------------------------


def _csv(choices):
    def parse(value):
        items = [item.strip() for item in value.split(",") if item.strip()]
        unknown = [item for item in items if item not in choices]
        if unknown or not items:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)} (comma-separated)")
        return items
    return parse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Issue 7 benchmark: every scenario on SQLite and PostgreSQL.")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of load per scenario (default 8)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--databases", type=_csv(DATABASES), default=list(DATABASES),
                        help="sqlite,postgres (default both)")
    parser.add_argument("--scenarios", type=_csv(SCENARIOS), default=list(SCENARIOS),
                        help=", ".join(SCENARIOS) + " (default all)")
    parser.add_argument("--large", action="store_true",
                        help="also fill each database with bench/seed_large.py and run every scenario again")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                        help="auto: wrk when installed, else the Python load generator")
    parser.add_argument("--load-processes", type=int, default=2, help="processes of the Python load generator")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--access-token-alg", choices=("RS256", "ES256"), default="RS256",
                        help="OAUTH_ACCESS_TOKEN_ALG for the service (default RS256, the targets' algorithm)")
    parser.add_argument("--peer-rounds", type=int, default=3,
                        help="client_credentials on SQLite: rounds alternated with node-oidc-provider (0: no peer)")
    parser.add_argument("--profile", action="store_true",
                        help="profile the workers' CPU by layer (bench/profile_workers.py); best with one scenario")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.connections < 1 or args.load_processes < 1:
        parser.error("--duration must be > 0, --connections and --load-processes >= 1")
    if args.loadgen == "wrk" and shutil.which("wrk") is None:
        parser.error("--loadgen wrk: wrk is not installed (apt-get install -y wrk)")
    args.tool = "wrk" if args.loadgen == "wrk" or (args.loadgen == "auto" and shutil.which("wrk")) else "python"
    return args


# --- CPU time from /proc ---------------------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_times(pid):
    """(utime + stime, cutime + cstime) of a process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # After "pid (comm)": state is field 3, utime 14, stime 15, cutime 16, cstime 17 (proc(5)).
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def children(pid):
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


def tree_cpu_seconds(pid):
    """CPU seconds of a process and its live children, plus what its reaped children used."""
    if pid is None:
        return 0.0
    own, reaped = _proc_times(pid)
    total = own + reaped
    for child in children(pid):
        try:
            total += _proc_times(child)[0]
        except (FileNotFoundError, ProcessLookupError):
            pass  # exited meanwhile: its time is now in the parent's reaped total
    return total / _TICKS


# --- reference rates, measured in this run ----------------------------------------------------------


def measure_argon2_rate(seconds=2.0):
    """Argon2id verifications per second on this one core, with the service's own function and parameters."""
    from app.passwords import hash_password, verify_password

    stored = hash_password(USER_PASSWORD)
    verify_password(USER_PASSWORD, stored)
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        verify_password(USER_PASSWORD, stored)
        count += 1
    return count / (time.perf_counter() - started)


# --- databases ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def sqlite_database(workdir):
    yield "sqlite:///" + str(Path(workdir).resolve() / "bench.sqlite3"), None


def _pg_bin():
    if os.geteuid() != 0:
        raise Skip("not running as root: the throwaway cluster is started as the postgres user with runuser")
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        raise Skip("PostgreSQL is not installed (apt-get install -y postgresql)")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise Skip("there is no postgres OS user") from None
    if shutil.which("runuser") is None:
        raise Skip("runuser is missing")
    return Path(max(found, key=lambda p: int(re.search(r"/(\d+)/bin/", p).group(1)))).parent


def _as_postgres(command, timeout=120):
    result = subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True,
                            timeout=timeout, stdin=subprocess.DEVNULL, start_new_session=True)
    if result.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed (exit {result.returncode}): "
                           f"{(result.stderr or result.stdout).strip()[-400:]}")
    return result


@contextlib.contextmanager
def postgres_database(workdir):
    """A throwaway cluster (TOOLCHAIN.md section 2, option B) with default durability settings."""
    pgbin = _pg_bin()
    pgdir = Path(tempfile.mkdtemp(prefix="bench-pg.", dir="/tmp"))
    shutil.chown(pgdir, "postgres", "postgres")
    data = pgdir / "data"
    port = tt.free_port()
    started = False
    try:
        _as_postgres([str(pgbin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                      "--no-locale"])
        # fsync, synchronous_commit and full_page_writes keep their defaults: a fair benchmark pays for them.
        options = f"-c listen_addresses={HOST} -p {port} -k {pgdir} -c shared_buffers={PG_SHARED_BUFFERS}"
        _as_postgres([str(pgbin / "pg_ctl"), "-D", str(data), "-l", str(pgdir / "log"), "-w", "-t", "60",
                      "-o", options, "start"])
        started = True
        _as_postgres([str(pgbin / "createdb"), "-h", HOST, "-p", str(port), "-U", "postgres", "oauth_bench"])
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
        yield f"postgresql://postgres@{HOST}:{port}/oauth_bench", postmaster
    finally:
        if started:
            for mode in ("fast", "immediate"):
                try:
                    _as_postgres([str(pgbin / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "-t", "60", "stop"])
                    break
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    log(f"postgres: stop -m {mode} failed: {exc}")
        shutil.rmtree(pgdir, ignore_errors=True)


# --- seeding -----------------------------------------------------------------------------------------------


def cli(env, *argv, stdin=""):
    """`python -m app ...` against the benchmark's database; the parsed JSON it prints."""
    result = subprocess.run([sys.executable, "-m", "app", *argv], cwd=REPO_ROOT, env=env, input=stdin,
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"python -m app {' '.join(argv[:2])} failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def seed_base(env):
    """A tenant, a user and the three clients the scenarios use, all with the admin CLI."""
    tenant = cli(env, "tenant", "create", "--slug", "bench", "--name", "Bench Inc.")
    user = cli(env, "user", "create", "--tenant", "bench", "--email", USER_EMAIL, "--name", "Bench User",
               "--email-verified", "--password-stdin", stdin=USER_PASSWORD + "\n")
    service = cli(env, "client", "create", "--name", "Bench service", "--audience", "global",
                  "--grant", "client_credentials", "--scope", "api.read", "--scope", "api.write")
    web = cli(env, "client", "create", "--name", "Bench web app", "--audience", "global",
              "--grant", "authorization_code", "--grant", "refresh_token",
              "--redirect-uri", "http://127.0.0.1:9/callback", "--scope", USER_SCOPE)
    tv = cli(env, "client", "create", "--name", "Bench TV", "--audience", "global", "--public",
             "--grant", DEVICE_GRANT, "--grant", "refresh_token", "--scope", USER_SCOPE)
    dpop_service = cli(env, "client", "create", "--name", "Bench DPoP service", "--audience", "global",
                       "--grant", "client_credentials", "--scope", "api.read", "--scope", "api.write", "--require-dpop")
    return {"tenant": tenant, "user": user, "service": service, "web": web, "tv": tv, "dpop_service": dpop_service}


def seed_key_service(env, workdir):
    """A private_key_jwt service registered with the admin CLI (--jwks-file); (client, its RSA private key as PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks_file = Path(workdir) / "key-service-jwks.json"
    public = {**RSAAlgorithm.to_jwk(private.public_key(), as_dict=True), "kid": "bench-1", "alg": "RS256"}
    jwks_file.write_text(json.dumps({"keys": [public]}))
    client = cli(env, "client", "create", "--name", "Bench key service", "--audience", "global",
                 "--grant", "client_credentials", "--scope", "api.read", "--scope", "api.write",
                 "--auth-method", "private_key_jwt", "--jwks-file", str(jwks_file))
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return client, pem


def _sign_assertion_range(client_id, pem, token_url, first, count):
    import jwt
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pem, None)
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": token_url, "iat": now, "exp": now + 300}
    return [jwt.encode({**claims, "jti": f"bench-{now}-{n}"}, key, algorithm="RS256", headers={"kid": "bench-1"})
            for n in range(first, first + count)]


def sign_assertions(client_id, pem, token_url, count):
    """count RS256 client assertions, each with its own jti, valid for the next 5 minutes (RFC 7523 §3).

    RS256, the usual private_key_jwt algorithm (OIDC Core's default, Authlib's); signed on every core.
    """
    processes = loadgen.cpu_count()
    shares = [count // processes + (i < count % processes) for i in range(processes)]
    firsts = [sum(shares[:i]) for i in range(processes)]
    with concurrent.futures.ProcessPoolExecutor(processes) as pool:
        parts = pool.map(_sign_assertion_range, [client_id] * processes, [pem] * processes,
                         [token_url] * processes, firsts, shares)
        return [assertion for part in parts for assertion in part]


def key_spec(args, base, token_url):
    """The private_key_jwt scenario with a pool of fresh assertions (one per request, each sent once)."""
    count = math.ceil(KEY_RATE_CAP * args.duration) + args.connections + 1
    started = time.perf_counter()
    assertions = sign_assertions(base["key_service"]["client_id"], base["key_private_key"], token_url, count)
    log(f"signed {count} RS256 client assertions for {KEY_SCENARIO} in {time.perf_counter() - started:.1f} s")
    body = urlencode({"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE})
    # feed "chain" with the ok200 classifier: no answer feeds a chain, so each item is sent once.
    spec = loadgen.LoadSpec(KEY_SCENARIO, "POST", TOKEN_PATH, {"Content-Type": FORM},
                            body_template=body + "&client_assertion={item}", items=assertions[1:], feed="chain")
    return spec, assertions[0]


def seed_pools(env, base, refresh_count, device_count):
    """Refresh tokens and pending device codes, made by the app's own functions on the same database."""
    from app.store import refresh_tokens
    from app.application import build_services
    from app.store.clients import find_client
    from app.config import load_config
    from app.db import dialect
    from app.device import DeviceAuthorizations

    services = build_services(load_config(env))
    database, clock = services.database, services.clock
    try:
        web = find_client(database, base["web"]["client_id"])
        tv = find_client(database, base["tv"]["client_id"])
        user, now = base["user"], int(clock.now())
        with database.atomic():
            # Offline tokens (offline_access), each its own family, as a CLI signed in long ago holds them.
            tokens = [refresh_tokens.create(database, now=now, ttl=services.tokens.refresh_token_ttl(web),
                                            application_id=web.id, user_id=user["id"], tenant_id=user["tenant_id"],
                                            session_id=None, scope=USER_SCOPE, offline=True, auth_time=now)
                      for _ in range(refresh_count)]
        devices = DeviceAuthorizations(database, services.config, clock, services.throttle, services.audit)

        def start_devices(count):
            # peewee keeps one connection per thread, so each thread has its own transaction.
            try:
                with database.atomic():
                    return [devices.start(tv, "openid profile")["device_code"] for _ in range(count)]
            finally:
                database.close()

        # start() costs a few round trips to PostgreSQL (a savepoint each): several connections hide the
        # latency. SQLite has one writer at a time, so one thread.
        threads = 8 if dialect(database) == "postgres" else 1
        shares = [device_count // threads + (i < device_count % threads) for i in range(threads)]
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            codes = [code for part in pool.map(start_devices, shares) for code in part]
    finally:
        database.close()
    return tokens, codes


def seed_large(env):
    """bench/seed_large.py on the same database; returns the seconds it took."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(BENCH_DIR / "seed_large.py")], cwd=REPO_ROOT, env=env,
                            stdout=sys.stderr, stderr=sys.stderr, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"seed_large.py failed (exit {result.returncode})")
    return time.perf_counter() - started


# --- the server and the HTTP set-up ----------------------------------------------------------------------


def gunicorn_settings(env):
    """workers and worker_class as gunicorn.conf.py sets them (gunicorn --print-config)."""
    result = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--print-config"],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    settings = dict(re.findall(r"^(workers|worker_class)\s+= (\S+)$", result.stdout, re.M))
    return {"workers": int(settings.get("workers", 0)), "worker_class": settings.get("worker_class", "?")}


def start_gunicorn(env, port, log_file, config="gunicorn.conf.py"):
    """gunicorn as gunicorn.conf.py configures it: only the bind address is given."""
    command = [sys.executable, "-m", "gunicorn", "-c", config, "-b", f"{HOST}:{port}"]
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log_file,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_workers(server, expected, timeout=10):
    """The worker pids, once as many as gunicorn.conf.py asks for have started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = children(server.pid)
        if len(workers) >= expected:
            return workers
        time.sleep(0.1)
    return children(server.pid)


def http_request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def mint_user_access_token(port, base, refresh_token):
    """A user's access token with openid, through the real refresh_token grant."""
    form = urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token})
    authorization = tt.basic_auth_header(base["web"]["client_id"], base["web"]["client_secret"])
    status, _, body = http_request(port, "POST", TOKEN_PATH, form,
                                   {"Content-Type": FORM, "Authorization": authorization})
    if status != 200:
        raise RuntimeError(f"minting a user access token failed: HTTP {status} {body[:200]!r}")
    return json.loads(body)["access_token"]


def login_csrf(port):
    """The CSRF cookie and token of the login form, through GET /login and the email step."""
    status, headers, body = http_request(port, "GET", LOGIN_PATH)
    cookie = next((value.split(";", 1)[0] for name, value in headers
                   if name.lower() == "set-cookie" and "csrf" in value.split("=", 1)[0]), None)
    match = re.search(rb'name="csrf_token" value="([^"]+)"', body)
    if status != 200 or cookie is None or match is None:
        raise RuntimeError(f"GET /login gave no CSRF cookie and token (HTTP {status})")
    token = match.group(1).decode()
    form = urlencode({"csrf_token": token, "step": "email", "next": "", "email": USER_EMAIL})
    status, _, body = http_request(port, "POST", LOGIN_PATH, form,
                                   {"Content-Type": FORM, "Cookie": cookie})
    if status != 200 or b'name="password"' not in body:
        raise RuntimeError(f"the email step of /login did not show the password step (HTTP {status})")
    return cookie, token


def build_specs(base, refresh_pool, device_pool, access_token, csrf):
    web_auth = tt.basic_auth_header(base["web"]["client_id"], base["web"]["client_secret"])
    service_auth = tt.basic_auth_header(base["service"]["client_id"], base["service"]["client_secret"])
    dpop_auth = tt.basic_auth_header(base["dpop_service"]["client_id"], base["dpop_service"]["client_secret"])
    cookie, token = csrf
    device_prefix = urlencode({"grant_type": DEVICE_GRANT, "client_id": base["tv"]["client_id"]})
    password_form = urlencode({"csrf_token": token, "step": "password", "next": "", "email": USER_EMAIL,
                               "password": USER_PASSWORD}).encode()
    return {
        "client_credentials": loadgen.LoadSpec(
            "client_credentials", "POST", TOKEN_PATH, {"Content-Type": FORM, "Authorization": service_auth},
            body=tt.TOKEN_BODY),
        # Its pool of proofs is signed just before it runs (run_scenarios), so that they are fresh.
        "client_credentials_dpop": loadgen.LoadSpec(
            "client_credentials_dpop", "POST", TOKEN_PATH, {"Content-Type": FORM, "Authorization": dpop_auth},
            body=tt.TOKEN_BODY, feed="once", item_header="DPoP"),
        "refresh_token": loadgen.LoadSpec(
            "refresh_token", "POST", TOKEN_PATH, {"Content-Type": FORM, "Authorization": web_auth},
            body_template="grant_type=refresh_token&refresh_token={item}", items=refresh_pool, feed="chain",
            classify="refresh"),
        "device_polling": loadgen.LoadSpec(
            "device_polling", "POST", TOKEN_PATH, {"Content-Type": FORM},
            body_template=device_prefix + "&device_code={item}", items=device_pool, feed="cycle",
            classify="device"),
        "userinfo": loadgen.LoadSpec(
            "userinfo", "GET", USERINFO_PATH, {"Authorization": "Bearer " + access_token}),
        "introspection": loadgen.LoadSpec(
            "introspection", "POST", INTROSPECT_PATH, {"Content-Type": FORM, "Authorization": web_auth},
            body=urlencode({"token": access_token}).encode()),
        "jwks": loadgen.LoadSpec("jwks", "GET", JWKS_PATH),
        "discovery": loadgen.LoadSpec("discovery", "GET", DISCOVERY_PATH),
        "password": loadgen.LoadSpec(
            "password", "POST", LOGIN_PATH, {"Content-Type": FORM, "Cookie": cookie}, body=password_form,
            classify="password"),
    }


def smoke(spec, port, item=None):
    """One request of the scenario before the load: None when it is answered as expected, else why not."""
    body = spec.body if spec.feed in ("static", "once") else spec.body_for(item)
    headers = dict(spec.headers)
    if spec.item_header:
        headers[spec.item_header] = item
    status, _, answer = http_request(port, spec.method, spec.path, body, headers)
    ok = {"ok200": status == 200, "password": status == 200 and loadgen.SIGNED_IN in answer,
          "device": status == 400 and loadgen.PENDING in answer,
          "refresh": status == 200 and b'"refresh_token"' in answer}[spec.classify]
    return None if ok else f"HTTP {status}: {answer[:200]!r}"


# --- one database, one data size -----------------------------------------------------------------------------


def run_scenarios(args, env, port, base, workdir, db_pid, label):
    """Start gunicorn, run every chosen scenario, stop it; the figures by scenario."""
    connections = args.connections
    refresh_count = connections * REFRESH_POOL_PER_CONNECTION + 8
    device_count = (math.ceil(DEVICE_RATE_CAP * DEVICE_POOL_SECONDS) + 1) if "device_polling" in args.scenarios else 0
    started = time.perf_counter()
    refresh_pool, device_pool = seed_pools(env, base, refresh_count, device_count)
    log(f"[{label}] seeded {len(refresh_pool)} refresh tokens and {len(device_pool)} pending device codes "
        f"with the app's functions in {time.perf_counter() - started:.1f} s")
    # Kept out of the load's pools: the userinfo token and each scenario's smoke request.
    spare_tokens, refresh_pool = refresh_pool[:4], refresh_pool[4:]
    spare_codes, device_pool = device_pool[:1], device_pool[1:]

    log_path = Path(workdir) / f"gunicorn-{label.replace('/', '-')}.log"
    config = "gunicorn.conf.py"
    if args.profile:
        profile_dir = Path(workdir) / f"profile-{label.replace('/', '-')}"
        profile_dir.mkdir()
        env = {**env, profile_workers.PROFILE_DIR_ENV: str(profile_dir)}
        config = str(BENCH_DIR / "gunicorn_profiled.conf.py")
    with open(log_path, "wb") as log_file:
        server = start_gunicorn(env, port, log_file, config)
    results = {}
    try:
        try:
            tt.wait_until_healthy(server, port)
        except RuntimeError:
            log(tt.server_log_tail(log_path))
            raise
        workers = wait_for_workers(server, args.gunicorn['workers'] or multiprocessing.cpu_count())
        log(f"[{label}] gunicorn master {server.pid}, {len(workers)} workers {workers}")
        access_token = (mint_user_access_token(port, base, spare_tokens[0])
                        if {"userinfo", "introspection"} & set(args.scenarios) else "")
        csrf = login_csrf(port) if "password" in args.scenarios else ("", "")
        specs = build_specs(base, refresh_pool, device_pool, access_token, csrf)
        issuer = env["OAUTH_ISSUER_BASE"] + ISSUER_PATH
        for name in args.scenarios:
            spec = specs.get(name)
            smoke_item = {"refresh": spare_tokens[1] if len(spare_tokens) > 1 else None,
                          "device": spare_codes[0] if spare_codes else None}.get(spec.classify if spec else None)
            if name == KEY_SCENARIO:
                spec, smoke_item = key_spec(args, base, issuer + "/token")
            elif spec.item_header == "DPoP":
                spec = fresh_proofs(spec, issuer + "/token", args.duration, label)
                smoke_item, spec.items = spec.items[0], spec.items[1:]
            problem = smoke(spec, port, smoke_item)
            if problem:
                log(f"[{label}] {name}: the smoke request was not answered as expected: {problem}")
            figures = measure(args, spec, port, server.pid, db_pid, workdir)
            figures["workers"] = len(workers)
            figures["smoke_problem"] = problem
            if name == "client_credentials" and args.peer and label == "sqlite/empty":
                figures = alternate_with_peer(args, spec, figures, port, server.pid, db_pid, workdir, label)
                figures["workers"] = len(workers)
                figures["smoke_problem"] = problem
            if name == "client_credentials":
                figures["token_verifies_against_jwks"] = tt.token_verifies_against_jwks(
                    port, tt.basic_auth_header(base["service"]["client_id"], base["service"]["client_secret"]),
                    base["service"]["client_id"], issuer)
            results[name] = figures
            log(f"[{label}] {name}: {figures['req_per_s']:.0f} req/s, p99 {fmt_ms(figures['p99_ms'])}, "
                f"{figures['errors']} errors, {fmt_cpu(figures['cpu_ms_per_req'])} server CPU ms/req")
    finally:
        tt.stop_gunicorn(server)
    problems = tt.count_log_problems(log_path)
    if problems:
        log(f"[{label}] the server log has {problems} error/traceback lines: {log_path}")
        log(tt.server_log_tail(log_path, 10))
    for figures in results.values():
        figures["server_log_problem_lines"] = problems
    if args.profile:
        stats = profile_workers.load(profile_dir)
        if stats is not None and os.environ.get("BENCH_PROFILE_KEEP"):
            stats.dump_stats(os.environ["BENCH_PROFILE_KEEP"])
        requests = sum(figures["requests"] for figures in results.values())
        if stats is not None and requests:
            lines = profile_workers.summarize(stats, requests)
            PROFILES.append((f"{label} ({', '.join(results)})", lines))
    return results


def fresh_proofs(spec, token_url, duration, label):
    """The scenario with a pool of DPoP proofs signed now, one per request it can make."""
    count = math.ceil(DPOP_RATE_CAP * duration) + 64
    started = time.perf_counter()
    proofs = dpop_proofs.proof_pool(token_url, count)
    signing_s = time.perf_counter() - started
    log(f"[{label}] signed {count} DPoP proofs in {signing_s:.1f} s")
    if signing_s + duration > dpop_proofs.FRESH_FOR_S - 5:
        log(f"[{label}] warning: the last proofs will be close to {dpop_proofs.FRESH_FOR_S} s old; use a shorter "
            "--duration")
    return dataclasses.replace(spec, items=proofs)


def _median_run(runs):
    return sorted(runs, key=lambda figures: figures["req_per_s"])[(len(runs) - 1) // 2]


PEER_WARMUP_S = 3


def alternate_with_peer(args, spec, first, port, server_pid, db_pid, workdir, label):
    """Our client_credentials and node-oidc-provider's, alternated round by round on the same load.

    Each side's figure is its median round (by req/s); ours carries the peer's figures and the ratio.
    """
    ours, theirs = [first], []
    peer_spec = peer_node.client_credentials_spec()
    # Node compiles its hot functions as it runs them: the peer's first seconds under load are its slowest,
    # and ours have already had that time (the run above). An untimed warm-up evens that out.
    measure(argparse.Namespace(**{**vars(args), "duration": PEER_WARMUP_S}), peer_spec, args.peer["port"],
            args.peer["pid"], None, workdir)
    for _ in range(args.peer_rounds):
        theirs.append(measure(args, peer_spec, args.peer["port"], args.peer["pid"], None, workdir))
        log(f"[{label}] node-oidc-provider client_credentials: {theirs[-1]['req_per_s']:.0f} req/s, "
            f"p99 {fmt_ms(theirs[-1]['p99_ms'])}, {theirs[-1]['errors']} errors")
        ours.append(measure(args, spec, port, server_pid, db_pid, workdir))
        log(f"[{label}] client_credentials again: {ours[-1]['req_per_s']:.0f} req/s, "
            f"p99 {fmt_ms(ours[-1]['p99_ms'])}")
    figures, peer = dict(_median_run(ours)), _median_run(theirs)
    figures["rounds"] = [round(run["req_per_s"]) for run in ours]
    figures["peer"] = {**peer, "rounds": [round(run["req_per_s"]) for run in theirs]}
    figures["peer_ratio"] = figures["req_per_s"] / peer["req_per_s"] if peer["req_per_s"] else None
    return figures


def measure(args, spec, port, server_pid, db_pid, workdir):
    before = {}

    def on_start():
        before["server"] = tree_cpu_seconds(server_pid)
        before["db"] = tree_cpu_seconds(db_pid)

    if args.tool == "wrk":
        load = loadgen.run_wrk(spec, port, args.duration, args.connections, loadgen.cpu_count(), workdir, on_start)
    else:
        load = loadgen.run_python(spec, port, args.duration, args.connections, args.load_processes, on_start)
    time.sleep(SETTLE_S)  # requests still in flight at the deadline finish; their CPU is the server's
    server_cpu = tree_cpu_seconds(server_pid) - before["server"]
    db_cpu = tree_cpu_seconds(db_pid) - before["db"] if db_pid else None
    requests = load["requests"]
    return {
        "tool": load["tool"],
        "requests": requests,
        "elapsed_s": round(load["elapsed"], 3),
        "req_per_s": requests / load["elapsed"] if load["elapsed"] else 0.0,
        "p50_ms": load["p50_ms"],
        "p99_ms": load["p99_ms"],
        "errors": load["errors"],
        "authorization_pending": load["pending"],
        "slow_down": load["slow_down"],
        "error_samples": load["samples"],
        "server_cpu_s": round(server_cpu, 3),
        "cpu_ms_per_req": server_cpu * 1000 / requests if requests else None,
        "db_cpu_ms_per_req": db_cpu * 1000 / requests if requests and db_cpu is not None else None,
    }


def run_database(kind, args, workdir):
    """Every scenario on one kind of database (and on its large version with --large)."""
    context = sqlite_database if kind == "sqlite" else postgres_database
    leg_dir = Path(workdir) / kind
    leg_dir.mkdir()
    with context(leg_dir) as (url, db_pid):
        port = tt.free_port()
        env = tt.service_env(leg_dir, port)
        env["OAUTH_DATABASE_URL"] = url  # service_env sends the access log to /dev/null (still formatted)
        env["PYTHONPATH"] = str(REPO_ROOT)
        env["OAUTH_ACCESS_TOKEN_ALG"] = args.access_token_alg
        started = time.perf_counter()
        base = seed_base(env)
        if KEY_SCENARIO in args.scenarios:
            base["key_service"], base["key_private_key"] = seed_key_service(env, leg_dir)
        log(f"[{kind}] database {url}; tenant, user and clients created with the admin CLI in "
            f"{time.perf_counter() - started:.1f} s")
        leg = {"url": url, "empty": run_scenarios(args, env, port, base, leg_dir, db_pid, f"{kind}/empty")}
        if args.large:
            log(f"[{kind}] seeding the large data set with bench/seed_large.py ...")
            leg["seed_large_s"] = round(seed_large(env), 1)
            log(f"[{kind}] seed_large.py took {leg['seed_large_s']:.1f} s")
            leg["large"] = run_scenarios(args, env, port, base, leg_dir, db_pid, f"{kind}/large")
        return leg


# --- report ----------------------------------------------------------------------------------------------------


def fmt_ms(value):
    return "-" if value is None else f"{value:.1f}"


def fmt_cpu(value):
    return "-" if value is None else f"{value:.3f}"


def mark(ok):
    return "✓" if ok else "✗"


def ratio_of(figures, sign_rate):
    """Requests per server CPU-second ÷ RS256 signs per CPU-second."""
    cpu = figures.get("cpu_ms_per_req")
    return (1000 / cpu) / sign_rate if cpu else None


def evaluate(report):
    """Every target of issue 7 with its figure and whether it is met."""
    checks = []
    sign_rate, argon = report["rs256_signs_per_s"], report["argon2id_verifications_per_s_all_workers"]

    def add(what, value, target, ok):
        checks.append({"check": what, "value": value, "target": target, "met": bool(ok)})

    for kind, leg in report["databases"].items():
        if "skipped" in leg:
            continue
        for size in ("empty", "large"):
            results = leg.get(size)
            if not results:
                continue
            where = f"{kind}/{size}"
            for name, figures in results.items():
                rps = figures["req_per_s"]
                if name in RPS_TARGETS:
                    add(f"{name} req/s [{where}]", round(rps), f">= {RPS_TARGETS[name]}", rps >= RPS_TARGETS[name])
                if name == "client_credentials":
                    ratio = ratio_of(figures, sign_rate)
                    add(f"client_credentials req per server CPU-s ÷ RS256 signs/s [{where}]",
                        None if ratio is None else round(ratio, 3), f">= {RATIO_TARGET}",
                        ratio is not None and ratio >= RATIO_TARGET)
                    p99 = figures["p99_ms"]
                    add(f"client_credentials p99 ms at {report['connections']} connections [{where}]",
                        None if p99 is None else round(p99, 1), f"<= {P99_TARGET_MS}",
                        p99 is not None and p99 <= P99_TARGET_MS)
                    add(f"client_credentials errors [{where}]", figures["errors"], "= 0", figures["errors"] == 0)
                    if figures.get("peer_ratio") is not None:
                        add(f"client_credentials vs node-oidc-provider, alternated in this run [{where}]",
                            f"{figures['peer_ratio']:.2f}x ({figures['req_per_s']:.0f} vs "
                            f"{figures['peer']['req_per_s']:.0f} req/s)", f">= {PEER_RATIO_TARGET:.1f}x",
                            figures["peer_ratio"] >= PEER_RATIO_TARGET)
                plain = results.get("client_credentials")
                if name == "client_credentials_dpop" and plain and plain["req_per_s"]:
                    share = rps / plain["req_per_s"]
                    add(f"client_credentials_dpop vs client_credentials req/s [{where}]", f"{share:.2f}x",
                        f">= {DPOP_SHARE}x", share >= DPOP_SHARE)
                if name == KEY_SCENARIO and plain and plain["req_per_s"]:
                    share = rps / plain["req_per_s"]
                    # Requests per server CPU-second too: on a busy machine it is the steadier comparison.
                    cpu_share = (plain["cpu_ms_per_req"] / figures["cpu_ms_per_req"]
                                 if plain["cpu_ms_per_req"] and figures["cpu_ms_per_req"] else None)
                    add(f"{KEY_SCENARIO} req/s vs client_credentials [{where}]",
                        f"{share:.2f}x" + (f" (per server CPU-second {cpu_share:.2f}x)" if cpu_share else ""),
                        f">= {KEY_RATIO_TARGET}x", share >= KEY_RATIO_TARGET)
                if name == "password" and argon:
                    add(f"password step req/s vs Argon2id verifications/s x workers [{where}]",
                        f"{rps:.1f} of {argon:.1f} ({rps / argon:.0%})", f">= {PASSWORD_SHARE:.0%}",
                        rps >= PASSWORD_SHARE * argon)
                if size == "large" and leg.get("empty", {}).get(name):
                    empty = leg["empty"][name]["req_per_s"]
                    change = rps / empty - 1 if empty else 0.0
                    add(f"{name} large vs empty database [{kind}]", f"{change:+.1%}",
                        f"within -{LARGE_WITHIN:.0%}", change >= -LARGE_WITHIN)
    dbs = report["databases"]
    for size in ("empty", "large"):
        sqlite_cc = dbs.get("sqlite", {}).get(size, {}).get("client_credentials")
        pg_cc = dbs.get("postgres", {}).get(size, {}).get("client_credentials")
        if sqlite_cc and pg_cc and sqlite_cc["req_per_s"]:
            change = pg_cc["req_per_s"] / sqlite_cc["req_per_s"] - 1
            add(f"client_credentials Postgres vs SQLite [{size}]", f"{change:+.1%}",
                f"within -{POSTGRES_WITHIN:.0%}", change >= -POSTGRES_WITHIN)
    return checks


def target_cell(name, figures, argon):
    rps = figures["req_per_s"]
    if name in RPS_TARGETS:
        return f">={RPS_TARGETS[name]} {mark(rps >= RPS_TARGETS[name])}"
    if name == "password" and argon:
        goal = PASSWORD_SHARE * argon
        return f">={goal:.0f} {mark(rps >= goal)}"
    return ""


def notes_cell(figures, sqlite_figures=None, empty_figures=None):
    notes = []
    if figures["authorization_pending"] or figures["slow_down"]:
        notes.append(f"pending {figures['authorization_pending']}, slow_down {figures['slow_down']}")
    if sqlite_figures and sqlite_figures["req_per_s"]:
        notes.append(f"vs SQLite {figures['req_per_s'] / sqlite_figures['req_per_s'] - 1:+.0%}")
    if empty_figures and empty_figures["req_per_s"]:
        change = figures["req_per_s"] / empty_figures["req_per_s"] - 1
        notes.append(f"vs empty {change:+.0%} {mark(change >= -LARGE_WITHIN)}")
    if figures.get("smoke_problem"):
        notes.append("smoke request failed")
    return "; ".join(notes)


def print_report(report):
    sign_rate, argon = report["rs256_signs_per_s"], report["argon2id_verifications_per_s_all_workers"]
    print(f"Issue 7 benchmark: {report['cpu_count']} cores, gunicorn as gunicorn.conf.py configures it "
          f"({report['workers']} {report['gunicorn']['worker_class']} workers), {report['connections']} connections, "
          f"{report['duration_s']:g} s per scenario, load generator: {report['load_generator']}, "
          f"access tokens {report['access_token_alg']}")
    print(f"Measured in this run, one core: RS256 signs/s (PyJWT, RSA-2048 key object) {sign_rate:.0f}; "
          f"Argon2id verifications/s {report['argon2id_verifications_per_s']:.1f} "
          f"(x {report['workers']} workers = {argon:.1f})")
    print("The load generator shares the cores with the server: req/s are a lower bound for the server alone;")
    print("server CPU ms/req is the gunicorn master and workers' own CPU time per request (from /proc).")
    print()
    header = (f"{'scenario':<23} {'database':<16} {'req/s':>8} {'target':>10} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'errors':>6} {'CPU ms/req':>10} {'db CPU':>7} {'ratio':>6}  notes")
    print(header)
    print("-" * len(header))
    dbs = report["databases"]
    for kind, leg in dbs.items():
        if "skipped" in leg:
            print(f"{'(all)':<23} {kind:<16} skipped: {leg['skipped']}")
            continue
        for size in ("empty", "large"):
            for name, figures in (leg.get(size) or {}).items():
                sqlite_figures = dbs.get("sqlite", {}).get(size, {}).get(name) if kind != "sqlite" else None
                empty_figures = leg["empty"].get(name) if size == "large" else None
                ratio = ratio_of(figures, sign_rate)
                print(f"{name:<23} {kind + '/' + size:<16} {figures['req_per_s']:>8.0f} "
                      f"{target_cell(name, figures, argon):>10} {fmt_ms(figures['p50_ms']):>7} "
                      f"{fmt_ms(figures['p99_ms']):>7} {figures['errors']:>6} {fmt_cpu(figures['cpu_ms_per_req']):>10} "
                      f"{fmt_cpu(figures['db_cpu_ms_per_req']):>7} {'-' if ratio is None else f'{ratio:.2f}':>6}  "
                      f"{notes_cell(figures, sqlite_figures, empty_figures)}")
                peer = figures.get("peer")
                if peer:
                    print(f"{'  node-oidc-provider':<19} {'in memory':<16} {peer['req_per_s']:>8.0f} {'':>10} "
                          f"{fmt_ms(peer['p50_ms']):>7} {fmt_ms(peer['p99_ms']):>7} {peer['errors']:>6} "
                          f"{fmt_cpu(peer['cpu_ms_per_req']):>10} {'-':>7} {'-':>6}  "
                          f"rounds {peer['rounds']} vs ours {figures['rounds']}: {figures['peer_ratio']:.2f}x")
        if leg.get("seed_large_s") is not None:
            print(f"{'':<23} {kind:<16} seed_large.py took {leg['seed_large_s']:.0f} s")
    print()
    print("ratio = requests per server CPU-second ÷ RS256 signs per CPU-second (refresh_token signs twice per "
          "request);")
    print("db CPU = the PostgreSQL server's CPU ms per request (on SQLite that work is inside the workers).")
    print()
    if report.get("peer_skipped"):
        print(f"node-oidc-provider peer skipped: {report['peer_skipped']}")
    print("Targets (issues 7 and 16):")
    for check in report["checks"]:
        print(f"  {mark(check['met'])} {check['check']}: {check['value']} (target {check['target']})")
    for kind, leg in dbs.items():
        for size in ("empty", "large"):
            for name, figures in (leg.get(size) or {}).items():
                for sample in figures["error_samples"]:
                    print(f"  error sample {name} [{kind}/{size}]: {sample}")
                if figures.get("smoke_problem"):
                    print(f"  smoke request {name} [{kind}/{size}]: {figures['smoke_problem']}")
                if figures.get("token_verifies_against_jwks") is False:
                    print(f"  client_credentials [{kind}/{size}]: the token did NOT verify against the JWKS")


def start_peer(args, report, workdir, stack):
    """node-oidc-provider running for the SQLite client_credentials comparison, or None (and why not)."""
    if args.peer_rounds <= 0 or "client_credentials" not in args.scenarios or "sqlite" not in args.databases:
        return None
    reason = peer_node.unavailable()
    if reason is None:
        try:
            folder = Path(workdir) / "peer"
            log("installing node-oidc-provider from npm into a temporary folder ...")
            peer_node.install(folder)
            port = tt.free_port()
            pid = stack.enter_context(peer_node.running(folder, port, workers=2, alg=args.access_token_alg))
            log(f"node-oidc-provider on port {port} (2 cluster workers)")
            return {"port": port, "pid": pid}
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            reason = str(exc)
    log(f"node-oidc-provider peer skipped: {reason}")
    report["peer_skipped"] = reason
    return None


def _terminate(signum, frame):
    log(f"signal {signum}: stopping gunicorn, wrk and PostgreSQL, removing the temporary files")
    raise SystemExit(128 + signum)


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    started = time.perf_counter()
    report = {"cpu_count": loadgen.cpu_count(), "connections": args.connections, "duration_s": args.duration,
              "access_token_alg": args.access_token_alg,
              "load_generator": "wrk" if args.tool == "wrk" else f"python ({args.load_processes} processes)",
              "databases": {}}
    try:
        log("measuring the single-core RS256 sign rate and Argon2id verification rate ...")
        report["rs256_signs_per_s"] = tt.measure_sign_rate(f"http://{HOST}:8000" + ISSUER_PATH)
        report["argon2id_verifications_per_s"] = measure_argon2_rate()
        with tempfile.TemporaryDirectory(prefix="bench-run-") as workdir:
            # --print-config loads the app, which opens its database: give it a throwaway one.
            args.gunicorn = report["gunicorn"] = gunicorn_settings(tt.service_env(Path(workdir) / "config", 8000))
            with contextlib.ExitStack() as stack:
                args.peer = start_peer(args, report, workdir, stack)
                for kind in args.databases:
                    try:
                        report["databases"][kind] = run_database(kind, args, workdir)
                    except Skip as exc:
                        log(f"[{kind}] skipped: {exc}")
                        report["databases"][kind] = {"skipped": str(exc)}
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        log(f"benchmark failed: {type(exc).__name__}: {exc}")
        return 1
    workers = [figures["workers"] for leg in report["databases"].values() for size in ("empty", "large")
               for figures in (leg.get(size) or {}).values()]
    report["workers"] = max(workers) if workers else report.get("gunicorn", {}).get("workers", 0)
    report["argon2id_verifications_per_s_all_workers"] = report["argon2id_verifications_per_s"] * report["workers"]
    report["checks"] = evaluate(report)
    report["total_s"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
        for label, lines in PROFILES:
            print(f"\nWhere the workers' CPU went, {label}, per request (cProfile, wall clock, idle set apart):")
            print("\n".join("  " + line for line in lines))
        print(f"\n(whole run: {report['total_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
