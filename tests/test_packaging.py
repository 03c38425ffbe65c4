"""`pip install .` (not editable) gives a package that migrates and serves from any directory.

The wheel carries the top-level sql/, templates/ and static/ folders as app/sql, app/templates and
app/static (setup.cfg's package_dir and package_data); these tests build it from a copy of this checkout.
"""

import base64
import configparser
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jwt
import pytest

from tests.conftest import DISCOVERY_PATH, JWKS_PATH, TEST_DATABASE_URL, TOKEN_PATH
from tests.live import free_port

ROOT = Path(__file__).resolve().parent.parent
DATA_FOLDERS = {"app.sql": "sql", "app.templates": "templates", "app.static": "static"}
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".hypothesis",
                                    ".pytest_cache", "var", "out", "screenshots")


def _setup_options():
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return parser


def _listed(value):
    return {line.split("=")[0].strip(): line.split("=", 1)[-1].strip()
            for line in value.strip().splitlines() if line.strip()}


def test_setup_cfg_lists_every_package_on_disk_and_maps_the_data_folders():
    options = _setup_options()
    listed = set(_listed(options["options"]["packages"]))
    on_disk = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "app").rglob("__init__.py")}
    assert listed == on_disk | set(DATA_FOLDERS)
    assert _listed(options["options"]["package_dir"]) == DATA_FOLDERS


def test_package_data_globs_cover_every_file_of_the_data_folders():
    package_data = dict(_setup_options()["options.package_data"])
    for package, folder in DATA_FOLDERS.items():
        globs = [pattern.strip() for pattern in package_data[package].split(",")]
        shipped = {path for pattern in globs for path in (ROOT / folder).glob(pattern)}
        files = {path for path in (ROOT / folder).rglob("*") if path.is_file() and "__pycache__" not in path.parts}
        assert files and files == shipped, f"{folder}/: not shipped: {sorted(map(str, files - shipped))}"


def _run(argv, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _get(url, headers=None, data=None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers, response.read()


def _wait_ready(process, url, log_path, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("gunicorn exited during start:\n" + log_path.read_text(errors="replace"))
        try:
            if _get(url + "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not become ready:\n" + log_path.read_text(errors="replace"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv with the package installed from a copy of this checkout; (python, bin, seconds taken)."""
    base = tmp_path_factory.mktemp("install")
    started = time.monotonic()
    source = base / "src"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    venv = base / "venv"
    # No pip inside the venv (saves ~3 s); this interpreter's pip installs into it, dependencies included.
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--disable-pip-version-check",
          str(source)])
    return python, venv / "bin", time.monotonic() - started


def _clean_env(workdir, **extra):
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("OAUTH_", "GUNICORN_", "PYTHON"))}
    return {**env, "OAUTH_DATABASE_URL": "sqlite:///" + str(workdir / "oauth.sqlite3"), **extra}


@pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="run once, in the SQLite half of CI; it uses its own database")
def test_installed_package_migrates_and_serves_from_another_directory(installed, tmp_path):
    python, bin_dir, install_seconds = installed
    assert install_seconds < 60
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = _clean_env(workdir, OAUTH_ISSUER_BASE=base)

    located = _run([str(python), "-c", "import app; print(app.__file__)"], cwd=workdir, env=env).stdout
    assert Path(located.strip()).is_relative_to(python.parent.parent), located

    applied = json.loads(_run([str(python), "-m", "app", "db", "migrate"], cwd=workdir, env=env).stdout)["applied"]
    assert applied == sorted(path.stem for path in (ROOT / "sql" / "sqlite").glob("*.sql")) and applied

    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        # Plain gunicorn: no gunicorn.conf.py and so no on_starting hook; two workers race to make the first key.
        process = subprocess.Popen([str(bin_dir / "gunicorn"), "app.wsgi:application", "-b", f"127.0.0.1:{port}",
                                    "-w", "2"], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(process, base, log_path)
        status, _, body = _get(base + DISCOVERY_PATH)
        assert status == 200 and json.loads(body)["issuer"] == base + "/api/v1/platform/oauth"
        # The workers made the key (JWKS before any CLI command, which would make one too): one per algorithm.
        status, _, body = _get(base + JWKS_PATH)
        jwks = {key["kid"]: key for key in json.loads(body)["keys"]}
        assert status == 200 and jwks
        keys = json.loads(_run([str(python), "-m", "app", "keys", "list"], cwd=workdir, env=env).stdout)
        active = [key["alg"] for key in keys if key["status"] == "active"]
        assert sorted(active) == sorted(set(active)) and {key["kid"] for key in keys} == set(jwks), keys

        client = json.loads(_run([str(python), "-m", "app", "client", "create", "--name", "Service", "--audience",
                                  "global", "--grant", "client_credentials"], cwd=workdir, env=env).stdout)
        basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
        status, _, body = _get(base + TOKEN_PATH, data=b"grant_type=client_credentials",
                               headers={"Authorization": "Basic " + basic,
                                        "Content-Type": "application/x-www-form-urlencoded"})
        token = json.loads(body)["access_token"]
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, jwt.PyJWK(jwks[header["kid"]]).key, algorithms=[header["alg"]],
                            audience=client["client_id"])
        assert status == 200 and claims["sub"] == client["client_id"]

        status, headers, page = _get(base + "/login")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b'<input type="email"' in page and b'href="/static/style.css"' in page
        status, headers, css = _get(base + "/static/style.css")
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        assert css == (ROOT / "static" / "style.css").read_bytes()
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="run once, in the SQLite half of CI")
def test_installed_package_without_migration_files_refuses_to_migrate(installed, tmp_path):
    python, _, _ = installed
    site_app = Path(_run([str(python), "-c", "import app; print(app.__file__)"], cwd=tmp_path,
                         env=_clean_env(tmp_path)).stdout.strip()).parent
    broken = tmp_path / "broken"
    shutil.copytree(site_app, broken / "app", ignore=shutil.ignore_patterns("sql", "__pycache__"))
    env = _clean_env(tmp_path, PYTHONPATH=str(broken))

    result = subprocess.run([str(python), "-m", "app", "db", "migrate"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode != 0 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "no migration files" in result.stderr
