"""Token endpoint throughput benchmark.

Measures how many client_credentials access tokens the service issues per second
when run exactly as deployed (gunicorn with gunicorn.conf.py and its workers), and
puts that next to how fast one core can produce an RS256 signature with PyJWT.
The ratio `req/s ÷ signs/s` tells how close the endpoint comes to the raw
signing cost: every token needs one RSA-2048 signature, so the signature rate
of one core times the number of cores is a rough ceiling.

What it does:
  1. creates a throw-away SQLite database in a temporary directory,
  2. creates a confidential client with the admin CLI (`python -m app client create`),
  3. starts gunicorn on a free loopback port and waits for GET /healthz,
  4. measures the single-core RS256 sign rate while the server is idle,
  5. drives POST /api/v1/platform/oauth/token from a separate process
     (N threads, one HTTP connection each) for a bounded time,
  6. checks that an issued token verifies against the published JWKS,
  7. stops gunicorn and prints the figures (or one JSON object with --json).

It is a benchmark, not a test: it prints numbers and never passes or fails.
The load generator shares the machine with the server, so on a small machine
the figures are a lower bound for the server alone.

Run from the repository root:

    .venv/bin/python bench/token_throughput.py
    .venv/bin/python bench/token_throughput.py --duration 5 --connections 8 --workers 2 --json
"""

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TOKEN_PATH = "/api/v1/platform/oauth/token"
JWKS_PATH = "/api/v1/platform/.well-known/jwks.json"
ISSUER_PATH = "/api/v1/platform/oauth"
HEALTH_PATH = "/healthz"
TOKEN_BODY = b"grant_type=client_credentials"

STARTUP_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10
REQUEST_TIMEOUT_S = 5
SIGN_DURATION_S = 2.0


# --- setup -----------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Benchmark the OAuth token endpoint under gunicorn.")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.connections < 1 or args.workers < 1:
        parser.error("--duration must be > 0, --connections and --workers must be >= 1")
    return args


def free_port():
    # Let the kernel pick; the tiny race until gunicorn binds is acceptable for a benchmark.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def service_env(tmpdir, port):
    env = dict(os.environ)
    env["OAUTH_DATABASE_URL"] = "sqlite:///" + str(Path(tmpdir).resolve() / "bench.sqlite3")
    env["OAUTH_ISSUER_BASE"] = f"http://{HOST}:{port}"
    env["GUNICORN_ACCESSLOG"] = "/dev/null"
    # Workers are given on the command line; keep stray settings from the shell out of the way.
    env.pop("GUNICORN_WORKERS", None)
    env.pop("GUNICORN_BIND", None)
    env.pop("GUNICORN_PIDFILE", None)
    return env


def create_client(env):
    """Create a client_credentials client with the admin CLI; return (client_id, client_secret)."""
    command = [sys.executable, "-m", "app", "client", "create", "--name", "bench", "--audience", "global",
               "--grant", "client_credentials", "--scope", "api.read"]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"client create failed (exit {result.returncode}): {result.stderr.strip()}")
    created = json.loads(result.stdout)
    return created["client_id"], created["client_secret"]


def basic_auth_header(client_id, client_secret):
    # Both parts are ASCII here; RFC 6749 form-encoding of the parts is a no-op for them.
    pair = f"{client_id}:{client_secret}".encode("utf-8")
    return "Basic " + base64.b64encode(pair).decode("ascii")


# --- the server --------------------------------------------------------------


def start_gunicorn(env, port, workers, log_file):
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-b", f"{HOST}:{port}",
               "-w", str(workers), "--access-logfile", "/dev/null"]
    # Own session: if the master must be killed, its workers can be killed with it.
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)


def wait_until_healthy(server, port):
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited during startup with code {server.returncode}")
        try:
            status, _ = http_get(port, HEALTH_PATH, timeout=1)
            if status == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer {HEALTH_PATH} with 200 within {STARTUP_TIMEOUT_S} s")


def stop_gunicorn(server):
    """SIGTERM to the master for a graceful stop; kill the whole group if it lingers."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
    # Workers of a killed (or crashed) master could survive it; they share its process group.
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if server.poll() is None:
        server.wait(timeout=STOP_TIMEOUT_S)


def server_log_tail(log_path, lines=20):
    try:
        return "\n".join(Path(log_path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def count_log_problems(log_path):
    """Error and critical lines of the server's log (JSON lines, or gunicorn's plain ones), tracebacks, timeouts."""
    try:
        text = Path(log_path).read_text(errors="replace")
    except OSError:
        return 0
    markers = ('"level": "error"', '"level": "critical"', "[ERROR]", "[CRITICAL]", "Traceback", "WORKER TIMEOUT")
    return sum(1 for line in text.splitlines() if any(marker in line for marker in markers))


# --- HTTP helpers --------------------------------------------------------------


def http_get(port, path, timeout=REQUEST_TIMEOUT_S):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def request_token(port, authorization):
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request("POST", TOKEN_PATH, body=TOKEN_BODY, headers=token_headers(authorization))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def token_headers(authorization):
    return {"Content-Type": "application/x-www-form-urlencoded", "Authorization": authorization,
            "Accept": "application/json"}


# --- load generator (runs in its own process) -------------------------------------


class ConnectionStats:
    """Per-thread results; merged once the threads are done so no locking is needed while running."""

    def __init__(self):
        self.latencies = []
        self.errors = 0
        self.connects = 0
        self.error_samples = []

    def record_error(self, description):
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(description)


def send_one(conn, authorization):
    """One token request on an open connection; returns (status, server_wants_close)."""
    conn.request("POST", TOKEN_PATH, body=TOKEN_BODY, headers=token_headers(authorization))
    response = conn.getresponse()
    response.read()
    return response.status, response.will_close


def drive_connection(port, authorization, deadline, stats):
    """Send requests back to back on one connection until the deadline, reconnecting as needed."""
    conn = None
    while time.monotonic() < deadline:
        reused = conn is not None
        if conn is None:
            conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
            stats.connects += 1
        started = time.perf_counter()
        try:
            status, wants_close = send_one(conn, authorization)
        except (http.client.HTTPException, OSError) as exc:
            conn.close()
            conn = None
            # A kept-alive connection the server already closed is not an error: retry on a fresh one.
            if not reused:
                stats.record_error(f"{type(exc).__name__}: {exc}")
                time.sleep(0.01)  # don't spin if the server is gone
            continue
        stats.latencies.append(time.perf_counter() - started)
        if status != 200:
            stats.record_error(f"HTTP {status}")
        # The server answered "Connection: close" (every 100th request, or a sync worker): reconnect.
        if wants_close:
            conn.close()
            conn = None
    if conn is not None:
        conn.close()


def run_load(port, authorization, duration, connections):
    """Entry point of the load process: N threads, one connection each, for `duration` seconds."""
    all_stats = [ConnectionStats() for _ in range(connections)]
    started = time.perf_counter()
    deadline = time.monotonic() + duration
    threads = [threading.Thread(target=drive_connection, args=(port, authorization, deadline, stats), daemon=True)
               for stats in all_stats]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "elapsed": elapsed,
        "latencies": [lat for stats in all_stats for lat in stats.latencies],
        "errors": sum(stats.errors for stats in all_stats),
        "connects": sum(stats.connects for stats in all_stats),
        "error_samples": [s for stats in all_stats for s in stats.error_samples][:5],
    }


def ignore_sigint():
    # Ctrl-C reaches the whole process group; the parent handles it and terminates the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_load_in_subprocess(port, authorization, duration, connections):
    # A separate process so the client's GIL and CPU use don't distort the sign-rate measurement here,
    # and so the load generator is not sharing an interpreter with anything else.
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes=1, initializer=ignore_sigint) as pool:
        pending = pool.apply_async(run_load, (port, authorization, duration, connections))
        return pending.get(timeout=duration + REQUEST_TIMEOUT_S + 15)


# --- RS256 sign rate -------------------------------------------------------------


def sample_claims(issuer):
    now = int(time.time())
    return {
        "iss": issuer,
        "sub": "bench-client",
        "aud": "bench-client",
        "exp": now + 3600,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "client_id": "bench-client",
        "scope": "api.read",
    }


def measure_sign_rate(issuer, seconds=SIGN_DURATION_S):
    """Signatures per second of PyJWT RS256 with an RSA-2048 key object, on this one thread."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    headers = {"kid": "x", "typ": "at+jwt"}
    claims = sample_claims(issuer)
    jwt.encode(claims, key, algorithm="RS256", headers=headers)  # warm up imports and caches
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        claims["jti"] = uuid.uuid4().hex  # like the service, every token differs
        jwt.encode(claims, key, algorithm="RS256", headers=headers)
        count += 1
    return count / (time.perf_counter() - started)


# --- token verification ------------------------------------------------------------


def token_verifies_against_jwks(port, authorization, client_id, issuer):
    """Fetch one token and the JWKS; True when the token's signature, issuer and audience check out."""
    status, body = request_token(port, authorization)
    if status != 200:
        return False
    token = json.loads(body)["access_token"]
    status, body = http_get(port, JWKS_PATH)
    if status != 200:
        return False
    kid = jwt.get_unverified_header(token).get("kid")
    for jwk in json.loads(body).get("keys", []):
        if jwk.get("kid") != kid:
            continue
        try:
            jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience=client_id, issuer=issuer)
            return True
        except jwt.PyJWTError:
            return False
    return False


# --- report -------------------------------------------------------------------------


def percentile_ms(sorted_seconds, fraction):
    """Nearest-rank percentile, in milliseconds."""
    if not sorted_seconds:
        return None
    index = min(len(sorted_seconds) - 1, max(0, round(fraction * len(sorted_seconds)) - 1))
    return sorted_seconds[index] * 1000


def summarize(args, load, sign_rate, verifies, log_problems):
    latencies = sorted(load["latencies"])
    requests = len(latencies)  # answered requests, any status; transport failures only count as errors
    req_per_s = requests / load["elapsed"] if load["elapsed"] > 0 else 0.0
    return {
        "duration_s": round(load["elapsed"], 3),
        "workers": args.workers,
        "connections": args.connections,
        "requests": requests,
        "errors": load["errors"],
        "req_per_s": round(req_per_s, 1),
        "p50_ms": round(percentile_ms(latencies, 0.50), 2) if latencies else None,
        "p99_ms": round(percentile_ms(latencies, 0.99), 2) if latencies else None,
        "tcp_connects": load["connects"],
        "rs256_signs_per_s_single_core": round(sign_rate, 1),
        "req_per_s_over_signs_per_s": round(req_per_s / sign_rate, 3) if sign_rate else None,
        "cpu_count": os.cpu_count(),
        "token_verifies_against_jwks": verifies,
        "server_log_problem_lines": log_problems,
        "error_samples": load["error_samples"],
    }


def print_report(figures):
    def ms(value):
        return "n/a" if value is None else f"{value:.2f} ms"

    print(f"token endpoint: {figures['workers']} gunicorn workers, {figures['connections']} connections, "
          f"{figures['duration_s']:.1f} s, {figures['cpu_count']} CPUs")
    print(f"  requests          {figures['requests']}")
    print(f"  errors            {figures['errors']}")
    print(f"  req/s             {figures['req_per_s']:.1f}")
    print(f"  latency p50       {ms(figures['p50_ms'])}")
    print(f"  latency p99       {ms(figures['p99_ms'])}")
    print(f"  TCP connects      {figures['tcp_connects']}")
    print(f"RS256 signs/s (PyJWT, RSA-2048, single core): {figures['rs256_signs_per_s_single_core']:.1f}")
    print(f"req/s ÷ signs/s: {figures['req_per_s_over_signs_per_s']}")
    print(f"token verifies against JWKS: {'yes' if figures['token_verifies_against_jwks'] else 'no'}")
    if figures["server_log_problem_lines"]:
        print(f"server log: {figures['server_log_problem_lines']} error/traceback lines")
    for sample in figures["error_samples"]:
        print(f"  error sample: {sample}")


# --- main ---------------------------------------------------------------------------


def run_benchmark(args, tmpdir):
    port = free_port()
    env = service_env(tmpdir, port)
    issuer = env["OAUTH_ISSUER_BASE"] + ISSUER_PATH
    client_id, client_secret = create_client(env)
    authorization = basic_auth_header(client_id, client_secret)

    log_path = Path(tmpdir) / "gunicorn.log"
    with open(log_path, "wb") as log_file:
        server = start_gunicorn(env, port, args.workers, log_file)
    try:
        try:
            wait_until_healthy(server, port)
        except RuntimeError:
            print(server_log_tail(log_path), file=sys.stderr)
            raise
        # Sign rate first, while the server is idle, so the two measurements don't compete for CPU.
        sign_rate = measure_sign_rate(issuer)
        load = run_load_in_subprocess(port, authorization, args.duration, args.connections)
        verifies = token_verifies_against_jwks(port, authorization, client_id, issuer)
    finally:
        stop_gunicorn(server)
    return summarize(args, load, sign_rate, verifies, count_log_problems(log_path))


def main(argv=None):
    args = parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="token-bench-") as tmpdir:
            figures = run_benchmark(args, tmpdir)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, multiprocessing.TimeoutError, subprocess.TimeoutExpired) as exc:
        print(f"benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(figures))
    else:
        print_report(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
