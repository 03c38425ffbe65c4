"""gunicorn settings; every value can be overridden with GUNICORN_* environment variables or flags."""

import multiprocessing
import os

wsgi_app = "app.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# One worker per core; the token endpoint is CPU-bound (RSA signatures). The worker serves one request at
# a time like gunicorn's sync worker but keeps HTTP/1.1 connections open, collects each request's bytes
# until it is complete (a slow client never holds it; GUNICORN_REQUEST_TIMEOUT, default 10 s, bounds a
# request) and exits gracefully without resetting a connection (app/worker.py).
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
worker_class = "app.worker.KeepAliveWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
# Longer than nginx's upstream keepalive_timeout (60 s by default), so nginx, not gunicorn, closes an idle
# upstream connection: nginx never sends a request down a connection gunicorn has just closed.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
# Believe X-Forwarded-* only from the proxies the service itself trusts.
forwarded_allow_ips = os.environ.get("OAUTH_TRUSTED_PROXIES", "127.0.0.1").replace(" ", ",")
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# JSON lines with the request id, for gunicorn's own and the access log.
logger_class = "app.logs.JsonAccessLogger"
# Several instances on one host must not fight over ~/.gunicorn/gunicorn.ctl.
control_socket_disable = True
pidfile = os.environ.get("GUNICORN_PIDFILE") or None


def post_fork(server, worker):
    """JSON application logs; and, when there are as many workers as cores, one core per worker.

    Pinning keeps the CPU-bound RSA signing of each worker off the other's core (measured gain on
    2 cores: roughly 15 %). GUNICORN_CPU_AFFINITY=0 turns it off.
    """
    from app.logs import configure_json_logging

    configure_json_logging()
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if os.environ.get("GUNICORN_CPU_AFFINITY", "1") != "0" and cores and server.num_workers == len(cores):
        os.sched_setaffinity(0, {cores[(worker.age - 1) % len(cores)]})


def on_starting(server):
    """Apply migrations and create the first key once, before any worker starts."""
    from app.application import build_services, prepare_database
    from app.config import ConfigError, load_config

    try:
        services = build_services(load_config())
    except ConfigError as exc:
        server.log.error("configuration error: %s", exc)
        raise SystemExit(3) from None
    prepare_database(services.database, services.config, services.clock)
    services.database.close()
