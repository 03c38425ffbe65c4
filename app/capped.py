"""Caps on attacker-typed text that the service stores (audit details, throttle buckets).

A failed attempt must not grow the database by the size of what was typed: text longer than any real
identifier (an email is at most 254 characters, RFC 5321 §4.5.3.1) is kept as its first characters
and the SHA-256 of the whole, so equal inputs still meet in one throttle bucket.
"""

import hashlib

MAX_STORED = 254
_KEPT = 64


def capped(text):
    """The text itself when short; else its first 64 characters, '...sha256:' and the digest of all of it."""
    if len(text) <= MAX_STORED:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{text[:_KEPT]}...sha256:{digest}"
