"""node-oidc-provider as a benchmark peer (issue 16), run beside the service on the same load.

Installed from npm into a temporary folder when node and npm are present (never committed): the
team's peer script (../shared/bench/peer-node-oidc-provider.mjs) with 2 cluster workers, an in-memory
store and client_credentials issuing RS256 JWT access tokens, like ours. `unavailable()` says why it
cannot run; the benchmark then skips it with that message.
"""

import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import loadgen
import token_throughput as tt

PEER_SCRIPT = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "peer-node-oidc-provider.mjs"
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret-0123456789abcdef"
TOKEN_PATH = "/token"
PACKAGE = "oidc-provider@9"


def unavailable():
    """None when the peer can run here, else the reason it cannot."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not PEER_SCRIPT.is_file():
        return f"the peer script {PEER_SCRIPT} is missing"
    return None


def install(folder):
    """npm install oidc-provider into folder and put the peer script beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    for command in (["npm", "init", "-y"], ["npm", "install", "--no-audit", "--no-fund", "-q", PACKAGE]):
        result = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {(result.stderr or result.stdout)[-500:]}")
    shutil.copy(PEER_SCRIPT, folder / PEER_SCRIPT.name)


def _answers(port):
    try:
        conn = http.client.HTTPConnection(tt.HOST, port, timeout=2)
        conn.request("GET", "/.well-known/openid-configuration")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


@contextlib.contextmanager
def running(folder, port, workers=2, alg="RS256"):
    """The peer listening on 127.0.0.1:port until the block ends; yields its master's pid."""
    env = {**os.environ, "PORT": str(port), "WORKERS": str(workers), "FORMAT": "jwt", "ALG": alg,
           "NODE_ENV": "production"}
    log = open(folder / "peer.log", "wb")
    process = subprocess.Popen(["node", str(folder / PEER_SCRIPT.name)], cwd=folder, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("node-oidc-provider did not start: "
                                   + (folder / "peer.log").read_text(errors="replace")[-500:])
            time.sleep(0.1)
        yield process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def client_credentials_spec():
    """The same request as our client_credentials scenario: POST token, HTTP Basic, one RS256 signature."""
    return loadgen.LoadSpec("peer_client_credentials", "POST", TOKEN_PATH,
                            {"Content-Type": "application/x-www-form-urlencoded",
                             "Authorization": tt.basic_auth_header(CLIENT_ID, CLIENT_SECRET)},
                            body=tt.TOKEN_BODY)
