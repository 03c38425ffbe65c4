"""User passwords: Argon2id (OWASP parameters), PHC-encoded, rehashed when parameters change."""

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

_PHC = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$")


def hash_password(password):
    kdf = Argon2id(salt=os.urandom(SALT_LENGTH), length=HASH_LENGTH, iterations=ITERATIONS,
                   lanes=LANES, memory_cost=MEMORY_KIB)
    return kdf.derive_phc_encoded(password.encode("utf-8"))


def verify_password(password, phc_hash):
    """True when the password matches the stored PHC string."""
    try:
        Argon2id.verify_phc_encoded(password.encode("utf-8"), phc_hash)
    except (InvalidKey, ValueError):
        return False
    return True


def needs_rehash(phc_hash):
    match = _PHC.match(phc_hash)
    return not match or tuple(int(x) for x in match.groups()) != (MEMORY_KIB, ITERATIONS, LANES)


# Verified against when an email is unknown, so that costs the same time as a wrong password.
DUMMY_HASH = hash_password("not a real password: only spends the same time")
