"""User passwords: Argon2id (OWASP parameters), PHC-encoded, salted per email with a server key.

Every account of one email shares a salt, HMAC-SHA256(server key, email), so a sign-in attempt costs
one Argon2id computation however many tenants hold the email: the result is compared with each
account's stored hash. A hash in an older form (random salt, other parameters, another key) is
verified on its own and replaced by the current form when its password is next entered.
"""

import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

# OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1.
MEMORY_KIB = 19 * 1024
ITERATIONS = 2
LANES = 1
HASH_LENGTH = 32
SALT_LENGTH = 16
# The name of the server_secret row holding the salt key.
SALT_KEY_NAME = "password-salt"

_PHC = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$")


def email_salt(salt_key, email):
    """The salt of every hash for this normalised email: a keyed hash, so nobody precomputes without the key."""
    return hmac.new(salt_key, b"argon2id-salt\x00" + email.encode("utf-8"), hashlib.sha256).digest()[:SALT_LENGTH]


def hash_password(password, salt=None):
    """A PHC string; salt=None draws a random one (the per-email salt is the caller's to give)."""
    kdf = Argon2id(salt=salt if salt is not None else os.urandom(SALT_LENGTH), length=HASH_LENGTH,
                   iterations=ITERATIONS, lanes=LANES, memory_cost=MEMORY_KIB)
    return kdf.derive_phc_encoded(password.encode("utf-8"))


def verify_password(password, phc_hash):
    """True when the password matches the stored PHC string."""
    try:
        Argon2id.verify_phc_encoded(password.encode("utf-8"), phc_hash)
    except (InvalidKey, ValueError):
        return False
    return True


def _settings(phc_hash):
    """Everything before the hash itself: algorithm, version, parameters and salt."""
    return phc_hash.rpartition("$")[0]


def matching_hashes(password, salt, stored_hashes):
    """([whether the password matches each stored hash], the hash in the current form).

    One Argon2id computation covers every hash made with this salt and the current parameters; only a
    hash in an older form costs a computation of its own.
    """
    current = hash_password(password, salt)
    settings = _settings(current)
    matches = []
    for stored in stored_hashes:
        if _settings(stored) == settings:
            matches.append(hmac.compare_digest(stored.encode(), current.encode()))
        else:
            matches.append(verify_password(password, stored))
    return matches, current


def is_current(phc_hash, current):
    """The stored hash already has the current form (same parameters and salt as `current`)."""
    return _settings(phc_hash) == _settings(current)


def needs_rehash(phc_hash):
    """The parameters differ from today's (the salt aside)."""
    match = _PHC.match(phc_hash)
    return not match or tuple(int(x) for x in match.groups()) != (MEMORY_KIB, ITERATIONS, LANES)
