"""The error contract: JSON 404/405, 422 validation bodies, and never a traceback."""

import logging

import pytest

from tests.conftest import JWKS_PATH, TOKEN_PATH


def test_unknown_path_is_json_404(http):
    response = http.get("/api/v1/platform/nothing-here", status=404)
    assert response.json["error"] == "not_found"
    assert response.content_type == "application/json"


def test_wrong_method_is_json_405_with_allow(http):
    response = http.get(TOKEN_PATH, status=405)
    assert response.json["error"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
    response = http.delete(JWKS_PATH, status=405)
    assert response.json["error"] == "method_not_allowed"


def test_an_unexpected_exception_is_logged_and_answered_without_a_traceback(app, http, caplog):
    class Broken:
        def on_get(self, req, resp):
            raise RuntimeError("secret internal detail")

    app.add_route("/broken", Broken())
    with caplog.at_level(logging.ERROR, logger="app.errors"):
        response = http.get("/broken", status=500)
    assert response.json == {"error": "server_error", "error_description": "Internal error; it has been logged"}
    assert "secret internal detail" not in response.text and "Traceback" not in response.text
    assert any("secret internal detail" in (r.exc_text or "") for r in caplog.records)


@pytest.mark.parametrize("path", [JWKS_PATH, TOKEN_PATH, "/healthz"])
def test_every_response_sends_nosniff(http, path):
    response = http.get(path, expect_errors=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
