"""The audit trail: one row and one structured log line per security event, never a secret."""

import json
import logging

from app.capped import capped
from app.store import audit_events

log = logging.getLogger("app.audit")

# Names that must never reach the trail, whatever a caller passes.
_FORBIDDEN = {"password", "client_secret", "code", "refresh_token", "access_token", "id_token", "device_code",
              "user_code", "session", "code_verifier", "subject_token"}


class Audit:
    def __init__(self, database, clock):
        self._database = database
        self._clock = clock

    def record(self, event, *, client_id=None, user_id=None, tenant_id=None, ip=None, **detail):
        # Attacker-typed text (a 60 KB "email") is stored capped, so failures cannot grow the table by their size.
        detail = {k: capped(v) if isinstance(v, str) else v for k, v in detail.items()
                  if k not in _FORBIDDEN and v is not None}
        client_id = capped(client_id) if isinstance(client_id, str) else client_id
        now = int(self._clock.now())
        audit_events.insert(self._database, event=event, now=now, client_id=client_id, user_id=user_id,
                            tenant_id=tenant_id, ip=ip, detail_json=json.dumps(detail, sort_keys=True))
        log.info(json.dumps({"event": event, "time": now, "client_id": client_id, "user_id": user_id,
                             "tenant_id": tenant_id, "ip": ip, **detail}, sort_keys=True))
