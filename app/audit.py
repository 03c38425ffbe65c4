"""The audit trail: one row and one structured log line per security event, never a secret."""

import json
import logging

from app.db import relaxed_commit

log = logging.getLogger("app.audit")

# Names that must never reach the trail, whatever a caller passes.
_FORBIDDEN = {"password", "client_secret", "code", "refresh_token", "access_token", "id_token", "device_code",
              "user_code", "session", "code_verifier", "subject_token"}


class Audit:
    def __init__(self, database, clock):
        self._database = database
        self._clock = clock

    def record(self, event, *, client_id=None, user_id=None, tenant_id=None, ip=None, **detail):
        detail = {k: v for k, v in detail.items() if k not in _FORBIDDEN and v is not None}
        now = int(self._clock.now())
        p = self._database.param
        self._database.execute_sql(
            "INSERT INTO audit_event (event, created_at, client_id, user_id, tenant_id, ip, detail)"
            f" SELECT CAST({p} AS TEXT), CAST({p} AS BIGINT), CAST({p} AS TEXT), CAST({p} AS BIGINT),"
            f" CAST({p} AS BIGINT), CAST({p} AS TEXT), CAST({p} AS TEXT) WHERE {relaxed_commit(self._database)}",
            (event, now, client_id, user_id, tenant_id, ip, json.dumps(detail, sort_keys=True)))
        log.info(json.dumps({"event": event, "time": now, "client_id": client_id, "user_id": user_id,
                             "tenant_id": tenant_id, "ip": ip, **detail}, sort_keys=True))
