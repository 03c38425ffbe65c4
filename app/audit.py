"""The audit trail: one structured log line and one row per security event, never a secret.

The log line is written at once, before the response. The row may be group-committed: rows wait in
the process for at most `audit_flush_interval` seconds (DESIGN: at most 1 s) and are written by one
multi-row INSERT, so a busy token endpoint pays one write per interval instead of one per token. A
graceful stop (SIGTERM, and the old workers of a SIGHUP reload) writes what is waiting before the
process exits; a crash (SIGKILL, power loss) can lose the rows of the last interval, which the log
lines still hold.
"""

import atexit
import json
import logging
import os
import threading

from app.capped import capped
from app.store import audit_events

log = logging.getLogger("app.audit")

# Names that must never reach the trail, whatever a caller passes.
_FORBIDDEN = {"password", "client_secret", "code", "refresh_token", "access_token", "id_token", "device_code",
              "user_code", "session", "code_verifier", "subject_token"}


class Audit:
    def __init__(self, database, clock, flush_interval=0.0):
        self._database = database
        self._clock = clock
        self._flush_interval = flush_interval
        self._pending = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._flusher_pid = None
        self._flusher = None

    def record(self, event, *, client_id=None, user_id=None, tenant_id=None, ip=None, **detail):
        # Attacker-typed text (a 60 KB "email") is stored capped, so failures cannot grow the table by their size.
        detail = {k: capped(v) if isinstance(v, str) else v for k, v in detail.items()
                  if k not in _FORBIDDEN and v is not None}
        client_id = capped(client_id) if isinstance(client_id, str) else client_id
        now = int(self._clock.now())
        log.info(json.dumps({"event": event, "time": now, "client_id": client_id, "user_id": user_id,
                             "tenant_id": tenant_id, "ip": ip, **detail}, sort_keys=True))
        row = (event, now, client_id, user_id, tenant_id, ip, json.dumps(detail, sort_keys=True))
        if self._flush_interval <= 0:
            audit_events.insert_many(self._database, [row])
            return
        with self._lock:
            self._pending.append(row)
        self._ensure_flusher()

    def flush(self):
        """Write every waiting row now (one transaction); returns how many were written."""
        with self._lock:
            rows, self._pending = self._pending, []
        if not rows:
            return 0
        try:
            audit_events.insert_many(self._database, rows)
        except Exception:
            # Keep them for the next attempt (the database may be back); the log lines are already out.
            with self._lock:
                self._pending[:0] = rows
            raise
        return len(rows)

    def stop(self):
        """Graceful stop: let the flusher finish the group it may be writing, then write what is left.

        Safe to call more than once. Without the join, rows the flusher had taken but not yet written
        would die with it when the interpreter ends its daemon threads.
        """
        self._wake.set()
        flusher = self._flusher
        if flusher is not None and flusher is not threading.current_thread() and self._flusher_pid == os.getpid():
            flusher.join(timeout=10)
        try:
            self.flush()
        except Exception as exc:  # noqa: BLE001 - at exit there is nobody to tell but the log
            log.error("%d audit rows could not be written at exit (their log lines were): %s",
                      len(self._pending), exc)

    def _ensure_flusher(self):
        # One flusher thread per process: a forked worker starts its own.
        if self._flusher_pid == os.getpid():
            return
        with self._lock:
            if self._flusher_pid == os.getpid():
                return
            self._flusher_pid = os.getpid()
            self._wake = threading.Event()
            self._flusher = threading.Thread(target=self._flush_periodically, name="audit-flush", daemon=True)
        self._flusher.start()
        atexit.register(self.stop)

    def _flush_periodically(self):
        while not self._wake.wait(self._flush_interval):
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - a database outage must not end the flusher; rows stay queued
                log.warning("%d audit rows could not be written (their log lines were); retrying: %s",
                            len(self._pending), exc)
        # The flusher's own connection is per thread: close it when the process stops.
        self._database.close()
