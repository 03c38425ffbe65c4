"""Time, injectable so tests drive it instead of sleeping."""

import time


class SystemClock:
    def now(self):
        return time.time()


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self, start=1_800_000_000.0):
        self.current = float(start)

    def now(self):
        return self.current

    def advance(self, seconds):
        self.current += seconds
