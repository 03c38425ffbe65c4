"""Throttles stored in the database, so they hold across gunicorn workers and hosts.

Fixed windows: a bucket counts hits per window; once the count reaches the limit, requests are
refused until the window ends. Windows pass, so nobody can lock a user out for good.
"""

from dataclasses import dataclass

from app.errors import TooManyRequests
from app.store import throttles


@dataclass(frozen=True)
class Limit:
    name: str
    limit: int
    window: int


# DESIGN.md defaults: wrong passwords per account and per IP, unknown user codes per IP.
WRONG_PASSWORD_PER_ACCOUNT = Limit("pw-account", 10, 900)
WRONG_PASSWORD_PER_IP = Limit("pw-ip", 20, 900)
UNKNOWN_USER_CODE_PER_IP = Limit("usercode-ip", 10, 900)


class Throttle:
    def __init__(self, database, clock):
        self._database = database
        self._clock = clock

    def _window(self, limit):
        now = int(self._clock.now())
        start = now - now % limit.window
        return start, start + limit.window - now

    def check(self, limit, key):
        """Raise TooManyRequests (with Retry-After) while the bucket is full."""
        start, retry_after = self._window(limit)
        if throttles.hits(self._database, f"{limit.name}:{key}", start) >= limit.limit:
            raise TooManyRequests(retry_after)

    def hit(self, limit, key):
        """Count one event (atomically, whichever worker sees it)."""
        start, _ = self._window(limit)
        throttles.hit(self._database, f"{limit.name}:{key}", start, start + limit.window)
