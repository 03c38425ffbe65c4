"""The service as deployed: Debian's nginx with deploy/nginx.conf and TLS, in front of two gunicorn
instances sharing one PostgreSQL database.

The shipped config is changed only in its ports, certificate paths and upstream list. Runs in
.ci/run's PostgreSQL half (two instances on one SQLite file is not a deployment this project
supports across hosts); it needs `nginx` and `openssl` (.ci/run installs nginx).
"""

import contextlib
import html
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import pytest
import requests

from app.ratelimit import WRONG_PASSWORD_PER_IP
from tests.conftest import DISCOVERY_PATH, JWKS_PATH, TABLES, TOKEN_PATH
from tests.helpers import AUTHORIZE_PATH, USERINFO_PATH, pkce_pair
from tests.live import ROOT, free_port, live_server

pytestmark = pytest.mark.skipif(
    not (os.environ.get("OAUTH_TEST_DATABASE_URL") or "").startswith("postgres"),
    reason="runs in .ci/run's PostgreSQL half: two instances behind nginx share one PostgreSQL")

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIRECT_URI = "https://app.example/callback"
PASSWORD = "correct horse battery"
WORKERS = 2


def adapt(config, tls_port, http_port, certificate, key, upstreams):
    """The shipped config with only its ports, certificate paths and upstream servers replaced."""
    changed, lines = set(), []
    for line in config.splitlines():
        indent = line[:len(line) - len(line.lstrip())]
        words = line.split()
        if words[:3] == ["listen", "443", "ssl"]:
            line, _ = indent + f"listen 127.0.0.1:{tls_port} " + " ".join(words[2:]), changed.add("tls")
        elif words[:2] == ["listen", "80;"]:
            line, _ = indent + f"listen 127.0.0.1:{http_port};", changed.add("http")
        elif words[:1] == ["ssl_certificate"]:
            line, _ = indent + f"ssl_certificate {certificate};", changed.add("certificate")
        elif words[:1] == ["ssl_certificate_key"]:
            line, _ = indent + f"ssl_certificate_key {key};", changed.add("key")
        elif words[:1] == ["server"] and re.match(r"\d+\.\d+\.\d+\.\d+:\d+", words[1]):
            if "upstream" in changed:
                continue
            changed.add("upstream")
            line = "\n".join(indent + " ".join(["server", upstream, *words[2:]]) for upstream in upstreams)
        lines.append(line)
    assert changed == {"tls", "http", "certificate", "key", "upstream"}, changed
    return "\n".join(lines) + "\n"


@dataclass
class Stack:
    url: str  # nginx, https
    certificate: str
    a: object  # the two gunicorn instances (tests.live.LiveServer)
    b: object
    client: dict
    nginx_log: Path

    def get(self, path, session=None, **kwargs):
        return (session or requests).get(self.url + path, verify=self.certificate, timeout=10, **kwargs)

    def post(self, path, session=None, **kwargs):
        return (session or requests).post(self.url + path, verify=self.certificate, timeout=10, **kwargs)


def self_signed_certificate(folder):
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True, timeout=60)
    return str(certificate), str(key)


@contextlib.contextmanager
def _nginx(folder, site):
    (folder / "site.conf").write_text(site)
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in kinds)
    (folder / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} info;\n"
        + "events { worker_connections 1024; }\n"
        + f"http {{\n    access_log {folder / 'access.log'};\n{temp}\n    include {folder / 'site.conf'};\n}}\n")
    command = [NGINX, "-c", str(folder / "nginx.conf"), "-p", str(folder)]
    checked = subprocess.run(command + ["-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command + ["-g", "daemon off;"], stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(predicate, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(message)


@pytest.fixture(scope="module")
def stack(database_url, admin_database, tmp_path_factory):
    for table in TABLES:
        admin_database.execute_sql(f"DELETE FROM {table}")
    folder = tmp_path_factory.mktemp("nginx")
    tls_port, http_port = free_port(), free_port()
    base = f"https://127.0.0.1:{tls_port}"
    settings = {"OAUTH_ISSUER_BASE": base, "OAUTH_TRUSTED_PROXIES": "127.0.0.1"}
    if os.environ.get("OAUTH_TEST_WORKER_CLASS"):  # the same figures for another worker class, to compare
        settings["GUNICORN_CMD_ARGS"] = "--worker-class " + os.environ["OAUTH_TEST_WORKER_CLASS"]
    certificate, key = self_signed_certificate(folder)
    with contextlib.ExitStack() as stack_:
        a = stack_.enter_context(live_server(database_url, folder, workers=WORKERS, extra_env=settings))
        b = stack_.enter_context(live_server(database_url, folder, workers=WORKERS, extra_env=settings))
        upstreams = [server.url.removeprefix("http://") for server in (a, b)]
        site = adapt((ROOT / "deploy" / "nginx.conf").read_text(), tls_port, http_port, certificate, key, upstreams)
        stack_.enter_context(_nginx(folder, site))
        a.cli("tenant", "create", "--slug", "acme", "--name", "Acme")
        a.cli("user", "create", "--tenant", "acme", "--email", "ada@example.com", "--name", "Ada",
              "--password-stdin", stdin=PASSWORD + "\n")
        client = a.cli("client", "create", "--name", "Web", "--audience", "global", "--redirect-uri", REDIRECT_URI,
                       "--grant", "authorization_code", "--grant", "refresh_token", "--grant", "client_credentials",
                       "--scope", "openid profile email offline_access api.read")
        result = Stack(base, certificate, a, b, client, folder / "access.log")
        _wait_for(lambda: _answers(result), 10, "nginx did not answer")
        yield result


def _answers(stack):
    try:
        return stack.get("/healthz").status_code == 200
    except requests.RequestException:
        return False


def _form_field(page, name):
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} field in the page"
    return html.unescape(match.group(1))


def browser_sign_in(stack, session):
    """authorize → login (email, password) → continue, as a browser does through nginx; the code and verifier."""
    verifier, challenge = pkce_pair()
    response = stack.get(AUTHORIZE_PATH, session, allow_redirects=False, params={
        "response_type": "code", "client_id": stack.client["client_id"], "redirect_uri": REDIRECT_URI,
        "scope": "openid offline_access", "state": "s-1", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    assert response.status_code == 303, response.text
    page = session.get(urljoin(stack.url, response.headers["Location"]), verify=stack.certificate, timeout=10).text
    form = {"csrf_token": _form_field(page, "csrf_token"), "next": _form_field(page, "next")}
    page = stack.post("/login", session, data={**form, "step": "email", "email": "ada@example.com"}).text
    signed_in = stack.post("/login", session, allow_redirects=False,
                           data={**form, "step": "password", "email": "ada@example.com", "password": PASSWORD})
    assert signed_in.status_code == 303, signed_in.text
    response = session.get(urljoin(stack.url, signed_in.headers["Location"]), verify=stack.certificate,
                           allow_redirects=False, timeout=10)
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    query = parse_qs(urlsplit(location).query)
    return query["code"][0], verifier, signed_in


def tokens_from(server, stack, code, verifier):
    """Redeem the code directly at one instance."""
    auth = (stack.client["client_id"], stack.client["client_secret"])
    response = requests.post(server.url + TOKEN_PATH, timeout=10, auth=auth,
                             data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                                   "code_verifier": verifier})
    assert response.status_code == 200, response.text
    return response.json()


def test_discovery_through_nginx_shows_the_https_issuer(stack):
    response = stack.get(DISCOVERY_PATH)
    assert response.status_code == 200
    assert response.json()["issuer"] == stack.url + "/api/v1/platform/oauth"
    assert response.json()["token_endpoint"].startswith(stack.url + "/")
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000"
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])  # nginx's $request_id


def test_plain_http_is_redirected_to_https(stack):
    http_port = re.search(r"listen 127\.0\.0\.1:(\d+);", (stack.nginx_log.parent / "site.conf").read_text()).group(1)
    response = requests.get(f"http://127.0.0.1:{http_port}/healthz", allow_redirects=False, timeout=10)
    assert response.status_code == 301 and response.headers["Location"] == "https://127.0.0.1/healthz"


def test_a_browser_sign_in_through_nginx_gets_host_prefixed_secure_cookies(stack):
    with requests.Session() as session:
        _, _, signed_in = browser_sign_in(stack, session)
    cookies = signed_in.raw.headers.getlist("Set-Cookie")
    session_cookie = [c for c in cookies if c.startswith("__Host-oauth_session=")]
    assert session_cookie, cookies
    attributes = [part.strip().lower() for part in session_cookie[0].split(";")]
    assert "secure" in attributes and "httponly" in attributes and "path=/" in attributes
    assert not any(part.startswith("domain=") for part in attributes)


def test_a_token_from_one_instance_is_honoured_by_the_other(stack):
    with requests.Session() as session:
        code, verifier, _ = browser_sign_in(stack, session)
    tokens = tokens_from(stack.a, stack, code, verifier)
    userinfo = requests.get(stack.b.url + USERINFO_PATH, headers={"Authorization": "Bearer " + tokens["access_token"]},
                            timeout=10)
    assert userinfo.status_code == 200 and userinfo.json()["sub"]
    refreshed = requests.post(stack.b.url + TOKEN_PATH, auth=(stack.client["client_id"], stack.client["client_secret"]),
                              data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                              timeout=10)
    assert refreshed.status_code == 200, refreshed.text


def test_a_refresh_token_raced_on_both_instances_wins_once(stack):
    with requests.Session() as session:
        code, verifier, _ = browser_sign_in(stack, session)
    refresh_token = tokens_from(stack.a, stack, code, verifier)["refresh_token"]
    racers = 8
    barrier, results = threading.Barrier(racers), [None] * racers

    def race(i):
        server = (stack.a, stack.b)[i % 2]
        barrier.wait()
        results[i] = requests.post(server.url + TOKEN_PATH, timeout=10,
                                   auth=(stack.client["client_id"], stack.client["client_secret"]),
                                   data={"grant_type": "refresh_token", "refresh_token": refresh_token}).status_code
    threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] + [400] * (racers - 1)


def _login_posts(server):
    return len(re.findall(r'"method": "POST", "path": "/login"', server.log()))


def test_throttles_count_across_instances_and_a_client_sent_forwarded_for_does_not_reset_them(stack, admin_database):
    posts_before = _login_posts(stack.a), _login_posts(stack.b)
    try:
        with requests.Session() as session:
            page = stack.get("/login", session).text
            csrf = _form_field(page, "csrf_token")
            statuses = []
            for attempt in range(WRONG_PASSWORD_PER_IP.limit + 1):
                # A new account each time (the per-account limit stays far), and a new forged address.
                response = stack.post("/login", session, headers={"X-Forwarded-For": f"203.0.113.{attempt}"}, data={
                    "csrf_token": csrf, "step": "password", "email": f"nobody{attempt}@example.com",
                    "password": "wrong", "next": ""})
                statuses.append(response.status_code)
        assert statuses == [200] * WRONG_PASSWORD_PER_IP.limit + [429]
        # nginx spread the attempts over both instances: the count lives in the shared database.
        assert _login_posts(stack.a) > posts_before[0] and _login_posts(stack.b) > posts_before[1]
    finally:
        admin_database.execute_sql("DELETE FROM rate_counter")


def test_a_rotated_key_appears_on_both_instances(stack):
    kid = stack.a.cli("keys", "rotate", "--now")["kid"]

    def published_and_used_on_both():
        for server in (stack.a, stack.b):
            if kid not in {k["kid"] for k in requests.get(server.url + JWKS_PATH, timeout=10).json()["keys"]}:
                return False
            token = requests.post(server.url + TOKEN_PATH, auth=(stack.client["client_id"],
                                                                 stack.client["client_secret"]),
                                  data={"grant_type": "client_credentials", "scope": "api.read"}, timeout=10).json()
            if jwt.get_unverified_header(token["access_token"])["kid"] != kid:
                return False
        return True
    _wait_for(published_and_used_on_both, 10, "the rotated key did not reach both instances")


class Load:
    """Clients posting client_credentials through nginx, each on its own kept-alive connection to nginx."""

    def __init__(self, stack, clients=4):
        self.stack, self.stop, self.results = stack, threading.Event(), []
        self.threads = [threading.Thread(target=self._run) for _ in range(clients)]

    def _run(self):
        with requests.Session() as session:
            session.auth = (self.stack.client["client_id"], self.stack.client["client_secret"])
            while not self.stop.is_set():
                try:
                    status = self.stack.post(TOKEN_PATH, session, data={"grant_type": "client_credentials",
                                                                        "scope": "api.read"}).status_code
                except requests.RequestException as exc:
                    status = type(exc).__name__
                self.results.append(status)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def mark(self):
        return len(self.results)

    def failures(self, since):
        return [status for status in self.results[since:] if status != 200]


def _reload(server):
    """SIGHUP the gunicorn master; wait until its new workers booted and its old ones exited."""
    booted, exited = server.log().count("Booting worker"), server.log().count("Worker exiting")
    server.process.send_signal(signal.SIGHUP)
    _wait_for(lambda: server.log().count("Booting worker") >= booted + WORKERS
              and server.log().count("Worker exiting") >= exited + WORKERS, 30, "the reload did not finish")


def test_reloads_lose_no_request_and_a_graceful_stop_loses_almost_none(stack):
    with Load(stack) as load:
        time.sleep(0.5)
        _reload(stack.a)
        time.sleep(0.3)
        _reload(stack.b)
        time.sleep(0.3)
        reloads = load.mark()
        stack.a.process.send_signal(signal.SIGTERM)
        assert stack.a.process.wait(timeout=30) == 0
        time.sleep(0.5)
    reload_failures = [status for status in load.results[:reloads] if status != 200]
    stop_failures = load.failures(reloads)
    print(f"\nthrough nginx: {reloads} requests during two reloads, {len(reload_failures)} failed;"
          f" {len(load.results) - reloads} during a graceful stop, {len(stop_failures)} failed")
    assert reloads > 100 and len(load.results) - reloads > 50, "too little load to show anything"
    assert reload_failures == []
    assert len(stop_failures) <= 9, stop_failures
    assert "Traceback" not in stack.a.log() + stack.b.log()
