"""/healthz answers readiness; a database that cannot be reached is a 503, never a traceback."""

import webtest

from app.application import create_app
from app.config import Config
from tests.conftest import TOKEN_PATH

# Nothing listens on port 1, so this is a real unreachable database, not a mock.
UNREACHABLE = "postgresql://nobody:nothing@127.0.0.1:1/none"


def test_healthz_is_200_when_the_database_answers(http):
    assert http.get("/healthz").json == {"status": "ok", "database": "ok"}


def test_an_unreachable_database_gives_503_json(clock):
    application = create_app(Config(database_url=UNREACHABLE), clock=clock, prepare=False)
    http = webtest.TestApp(application)
    assert http.get("/healthz", status=503).json["status"] == "unavailable"
    response = http.post(TOKEN_PATH, {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
                         status=503)
    assert response.json["error"] == "temporarily_unavailable"
    assert response.headers["Retry-After"]
