"""A real gunicorn serving the app on a free loopback port, for end-to-end and concurrency tests."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    env: dict
    process: subprocess.Popen
    log_path: Path

    def cli(self, *argv, stdin=""):
        """Run `python -m app …` against the server's database; returns the parsed JSON."""
        result = subprocess.run([sys.executable, "-m", "app", *argv], env=self.env, cwd=ROOT, input=stdin,
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise AssertionError(f"CLI {argv} failed: {result.stderr}")
        return json.loads(result.stdout)

    def log(self):
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def live_server(database_url, tmp_path, workers=2, extra_env=None):
    port = free_port()
    env = {**os.environ, "OAUTH_DATABASE_URL": database_url, "OAUTH_ISSUER_BASE": f"http://127.0.0.1:{port}",
           "PYTHONPATH": str(ROOT), "GUNICORN_ACCESSLOG": "-", **(extra_env or {})}
    env.pop("GUNICORN_PIDFILE", None)
    log_path = tmp_path / f"gunicorn-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}",
             "-w", str(workers)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", env, process, log_path)
    try:
        _wait_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def live_server_with_ada(database_url, tmp_path, **options):
    """live_server with the Acme tenant and Ada in it (password "analytical engine"), made with the CLI."""
    with live_server(database_url, tmp_path, **options) as running:
        running.cli("tenant", "create", "--slug", "acme", "--name", "Acme Inc.")
        running.cli("user", "create", "--tenant", "acme", "--email", "ada@example.com", "--name", "Ada Lovelace",
                    "--password-stdin", stdin="analytical engine\n")
        yield running


def _wait_ready(server, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.process.poll() is not None:
            raise AssertionError("gunicorn exited during start:\n" + server.log())
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not become ready:\n" + server.log())
