"""GET /healthz: readiness, 200 when the database answers and 503 when it does not."""

import logging

from app.db import ping

log = logging.getLogger("app.health")


class HealthResource:
    def __init__(self, database):
        self._database = database

    def on_get(self, req, resp):
        try:
            ping(self._database)
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            log.warning("health check failed: %s", exc)
            try:
                self._database.close()
            except Exception:  # noqa: BLE001
                pass
            resp.status = 503
            resp.media = {"status": "unavailable", "database": "unreachable"}
            return
        resp.media = {"status": "ok", "database": "ok"}

    on_head = on_get
