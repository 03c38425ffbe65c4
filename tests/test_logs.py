"""Logs as operators read them: gunicorn's access log is one JSON object per request, with the request id."""

import json
import urllib.request

import pytest

from tests.live import live_server


@pytest.fixture
def server(database_url, clean_database, tmp_path):
    with live_server(database_url, tmp_path, workers=1) as running:
        yield running


def get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers, response.read()


def access_lines(server):
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == "gunicorn.access"]


def test_each_request_writes_one_json_access_line_with_its_request_id(server):
    headers, body = get(server.url + "/api/v1/platform/.well-known/jwks.json",
                        {"User-Agent": 'odd "agent"\\ with quotes', "X-Request-ID": "from-nginx-0001"})
    _, _ = get(server.url + "/healthz")
    server.process.terminate()  # flushes and closes the log
    server.process.wait(timeout=20)

    lines = access_lines(server)
    (jwks_line,) = [line for line in lines if line["path"].endswith("/jwks.json")]
    health_line = lines[-1]
    assert jwks_line["path"] == "/api/v1/platform/.well-known/jwks.json"
    assert jwks_line["method"] == "GET" and jwks_line["status"] == 200 and jwks_line["bytes"] == len(body)
    assert jwks_line["request_id"] == headers["X-Request-ID"] == "from-nginx-0001"
    assert jwks_line["user_agent"] == 'odd "agent"\\ with quotes'
    assert jwks_line["remote"] == "127.0.0.1" and jwks_line["level"] == "info"
    assert jwks_line["time"].endswith("Z") and len(jwks_line["time"]) == 20
    assert health_line["path"] == "/healthz" and len(health_line["request_id"]) == 16
