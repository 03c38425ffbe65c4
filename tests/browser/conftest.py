"""Browser fixtures: Debian's Chromium driven by pytest-playwright, a real gunicorn seeded through the
admin CLI, a tiny relying party to land on, and a helper that saves screenshots at two widths."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import TABLES, insert_signing_key
from tests.live import LiveServer, live_server

# Debian's Chromium (never `playwright install`): see /work/shared/TOOLCHAIN.md §3.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

PASSWORD = "analytical engine"        # ada@example.com
SAM_PASSWORD = "one password, two workspaces"  # sam@example.com, the same in globex and initech
WEB_SCOPES = "openid profile email"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

# Collects CSP violations in the page itself; Playwright's init scripts are not subject to the page's CSP.
CSP_RECORDER = """
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations = window.__cspViolations || [];
  window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI);
});
"""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": DESKTOP, "locale": "en-US"}


# --- the relying party: where the browser lands after authorize and after logout -----------------------

class _RelyingPartyHandler(BaseHTTPRequestHandler):
    BODY = (b'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Relying party</title></head>'
            b'<body><p id="rp">callback received</p></body></html>')

    def do_GET(self):  # noqa: N802 - the name http.server calls
        self.server.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        self.wfile.write(self.BODY)

    def log_message(self, format, *args):  # keep pytest's output clean
        pass


@dataclass
class RelyingParty:
    url: str
    paths: list

    @property
    def callback(self):
        return self.url + "/callback"

    @property
    def signed_out(self):
        return self.url + "/signed-out"


@pytest.fixture(scope="module")
def relying_party():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RelyingPartyHandler)
    httpd.daemon_threads = True
    httpd.paths = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield RelyingParty(f"http://127.0.0.1:{httpd.server_address[1]}", httpd.paths)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


# --- the server ------------------------------------------------------------------------------------------

@dataclass
class Seeded:
    live: LiveServer
    rp: RelyingParty
    web_client_id: str
    device_client_id: str
    tenant_ids: dict = field(default_factory=dict)
    partner_client_id: str = ""  # a third-party web client: created with --require-consent

    @property
    def url(self):
        return self.live.url

    @property
    def api(self):
        return self.live.url + "/api/v1/platform/oauth"

    @property
    def issuer(self):
        return self.api


def _clean(admin_database, cached_key):
    """What tests/conftest.py's clean_database does, once per module (that fixture is function-scoped,
    and starting and seeding gunicorn for every test would triple the run time)."""
    for table in TABLES:
        admin_database.execute_sql(f"DELETE FROM {table}")
    insert_signing_key(admin_database, cached_key)


@pytest.fixture(scope="module")
def server(database_url, admin_database, cached_key, relying_party, tmp_path_factory):
    """One gunicorn per module (SQLite, or Postgres with OAUTH_TEST_DATABASE_URL), seeded with the CLI."""
    _clean(admin_database, cached_key)
    # A one-second device polling interval keeps the device tests short; the rule is the same.
    with live_server(database_url, tmp_path_factory.mktemp("browser"),
                     extra_env={"OAUTH_DEVICE_POLL_INTERVAL": "1"}) as live:
        tenant_ids = {}
        for slug, name in (("acme", "Acme Inc."), ("globex", "Globex Corporation"), ("initech", "Initech")):
            tenant_ids[slug] = live.cli("tenant", "create", "--slug", slug, "--name", name)["id"]
        live.cli("user", "create", "--tenant", "acme", "--email", "ada@example.com", "--name", "Ada Lovelace",
                 "--email-verified", "--password-stdin", stdin=PASSWORD + "\n")
        for slug in ("globex", "initech"):
            live.cli("user", "create", "--tenant", slug, "--email", "sam@example.com", "--name", "Sam Sample",
                     "--password-stdin", stdin=SAM_PASSWORD + "\n")
        web = live.cli("client", "create", "--name", "Acme Notes", "--audience", "global", "--public",
                       "--grant", "authorization_code", "--grant", "refresh_token",
                       "--redirect-uri", relying_party.callback,
                       "--post-logout-redirect-uri", relying_party.signed_out, "--scope", WEB_SCOPES)
        device = live.cli("client", "create", "--name", "Living-room TV", "--audience", "global", "--public",
                          "--grant", DEVICE_GRANT, "--scope", WEB_SCOPES)
        partner = live.cli("client", "create", "--name", "Partner Planner", "--audience", "global", "--public",
                           "--grant", "authorization_code", "--redirect-uri", relying_party.callback,
                           "--scope", WEB_SCOPES, "--require-consent")
        yield Seeded(live, relying_party, web["client_id"], device["client_id"], tenant_ids, partner["client_id"])


# --- pages: console and CSP watch, and screenshots --------------------------------------------------------

class PageWatch:
    """Console errors and uncaught exceptions seen by one page; a test may allow some by substring."""

    def __init__(self, page):
        self.errors, self.allowed = [], []
        page.on("console", lambda message: message.type == "error" and self.errors.append(
            f"{message.text} ({message.location.get('url')})"))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.add_init_script(CSP_RECORDER)

    def allow(self, substring):
        self.allowed.append(substring)

    def unexpected(self):
        return [e for e in self.errors if not any(allowed in e for allowed in self.allowed)]


@pytest.fixture
def watch(page, server):
    """Attach before the first navigation; after the test, no console error or CSP violation may remain."""
    watcher = PageWatch(page)
    yield watcher
    assert watcher.unexpected() == [], "console errors / CSP violations"


@pytest.fixture(scope="session")
def screenshot_dir():
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def shoot(page, screenshot_dir):
    """shoot("01-login-email") saves 01-login-email-desktop.png and 01-login-email-phone.png (full page).

    At phone width the page must not scroll sideways (nothing overflows the screen)."""
    def take(name):
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {label} width"
            page.screenshot(path=str(screenshot_dir / f"{name}-{label}.png"), full_page=True)
        page.set_viewport_size(DESKTOP)
    return take
