"""Where a worker's time goes under load: cProfile in every gunicorn worker, grouped by layer.

Used by `bench/run.py --profile` (best with one scenario, e.g. `--scenarios client_credentials`): gunicorn is
started with gunicorn_profiled.conf.py instead of gunicorn.conf.py (the same settings, plus a profiler
started in post_fork and written at worker exit), and after the load the profiles of all workers are added
up and printed per request, by layer (RS256 signature, HTTP, database, logging, JSON, falcon, app, ...)
and by function.

The profiler's clock is wall time: waiting for the next request is set apart (it is idle, not work), but a
worker preempted by the load generator on a shared core is charged to whatever it was running, and
cProfile's own cost inflates layers made of many small Python calls (HTTP parsing, logging, JSON) more
than single C calls (the signature, SQLite). Read the table as proportions; the `CPU ms/req` column of
the benchmark table (from /proc, without a profiler) is the true total.
"""

import glob
import os
import pstats

PROFILE_DIR_ENV = "BENCH_PROFILE_DIR"

# (layer, test on (file, function name)); the first that matches wins.
IDLE = "waiting for a request (idle)"
LAYERS = [
    (IDLE, lambda f, n: "poll' of 'select" in n or n == "<built-in method select.select>"),
    ("RS256 signature", lambda f, n: "RSAPrivateKey" in n and "sign" in n),
    ("RS256 verification", lambda f, n: "RSAPublicKey" in n and "verify" in n),
    ("Argon2id", lambda f, n: "argon2" in n.lower() or "argon2" in f.lower()),
    ("database driver (sqlite3, psycopg)", lambda f, n: "sqlite3" in n or "psycopg" in f),
    ("peewee", lambda f, n: f.endswith("peewee.py")),
    ("logging (access log, app log)", lambda f, n: "/logging/" in f or f.endswith("app/logs.py")),
    ("JSON", lambda f, n: "/json/" in f or "_json" in n),
    ("falcon", lambda f, n: "/falcon/" in f),
    ("HTTP: gunicorn and the worker", lambda f, n: "/gunicorn/" in f or f.endswith("app/worker.py")
     or "socket" in n or "select" in n or "epoll" in n),
    ("application (app/)", lambda f, n: "/app/" in f),
]


def layer_of(filename, name):
    for layer, matches in LAYERS:
        if matches(filename, name):
            return layer
    return "other (stdlib, hashing, base64, ...)"


def load(profile_dir):
    files = sorted(glob.glob(os.path.join(profile_dir, "worker-*.prof")))
    return pstats.Stats(*files) if files else None


def summarize(stats, requests, top=12):
    """Lines of text: CPU µs per request by layer, then the functions with the most own CPU time."""
    by_layer, functions = {}, []
    for (filename, _line, name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        layer = layer_of(filename, name)
        by_layer[layer] = by_layer.get(layer, 0.0) + own
        if layer != IDLE:
            functions.append((own, f"{os.path.basename(filename)}:{name}" if filename != "~" else name))
    idle = by_layer.pop(IDLE, 0.0)
    total = sum(by_layer.values()) or 1.0
    lines = [f"{'layer':<40} {'µs/req':>8} {'share':>6}"]
    for layer, seconds in sorted(by_layer.items(), key=lambda item: -item[1]):
        lines.append(f"{layer:<40} {seconds * 1e6 / requests:>8.0f} {seconds * 100 / total:>5.0f} %")
    lines.append(f"{'busy total (with the profiler' + chr(39) + 's cost)':<40} {total * 1e6 / requests:>8.0f}")
    lines.append(f"{IDLE:<40} {idle * 1e6 / requests:>8.0f}")
    lines.append("")
    lines.append(f"{'function (own time)':<70} {'µs/req':>8}")
    for own, label in sorted(functions, reverse=True)[:top]:
        lines.append(f"{label[:70]:<70} {own * 1e6 / requests:>8.1f}")
    return lines
