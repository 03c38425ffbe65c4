"""Opaque secrets the server hands out: 256-bit random, stored only as their SHA-256 digest."""

import hashlib
import hmac
import secrets


def new_secret():
    """A URL-safe (base64url) 256-bit random string."""
    return secrets.token_urlsafe(32)


def digest(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def matches(secret, stored_digest):
    """Constant-time comparison of a presented secret with a stored digest."""
    if not stored_digest:
        return False
    return hmac.compare_digest(digest(secret), stored_digest)
