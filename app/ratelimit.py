"""Throttles stored in the database, so they hold across gunicorn workers and hosts.

Fixed windows: a bucket counts hits per window; once the count reaches the limit, requests are
refused until the window ends. Windows pass, so nobody can lock a user out for good.
"""

from dataclasses import dataclass

from app.capped import capped
from app.clientip import throttle_bucket
from app.errors import TooManyRequests
from app.store import throttles


@dataclass(frozen=True)
class Limit:
    name: str
    limit: int
    window: int
    # The key is a client address: counted per IPv4 address or IPv6 /64, however it was spelt.
    per_address: bool = False


# DESIGN.md defaults: wrong passwords per account and per IP, unknown user codes per IP.
WRONG_PASSWORD_PER_ACCOUNT = Limit("pw-account", 10, 900)
WRONG_PASSWORD_PER_IP = Limit("pw-ip", 20, 900, per_address=True)
UNKNOWN_USER_CODE_PER_IP = Limit("usercode-ip", 10, 900, per_address=True)


class Throttle:
    def __init__(self, database, clock):
        self._database = database
        self._clock = clock

    def _window(self, limit):
        now = int(self._clock.now())
        start = now - now % limit.window
        return start, start + limit.window - now

    @staticmethod
    def _bucket(limit, key):
        return f"{limit.name}:{capped(throttle_bucket(key) if limit.per_address else key)}"

    def check(self, limit, key):
        """Raise TooManyRequests (with Retry-After) while the bucket is full."""
        start, retry_after = self._window(limit)
        if throttles.hits(self._database, self._bucket(limit, key), start) >= limit.limit:
            raise TooManyRequests(retry_after)

    def hit(self, limit, key):
        """Count one event (atomically, whichever worker sees it)."""
        start, _ = self._window(limit)
        throttles.hit(self._database, self._bucket(limit, key), start, start + limit.window)
