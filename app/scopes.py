"""Scopes (RFC 6749 §3.3): parsing, validation and what each one means to a person."""

import re

from app.errors import InvalidScope

_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")

# Scopes that only make sense when a user signs in.
USER_SCOPES = ("openid", "profile", "email", "offline_access")

DESCRIPTIONS = {
    "openid": "Sign you in and know who you are",
    "profile": "See your name",
    "email": "See your email address",
    "offline_access": "Stay signed in and act for you when you are not present",
}


def is_valid_scope_token(token):
    return bool(_SCOPE_TOKEN.match(token))


def parse_scope(value):
    """A scope parameter as an ordered list of distinct tokens."""
    tokens = []
    for token in value.split(" "):
        if not token:
            continue
        if not is_valid_scope_token(token):
            raise InvalidScope(f"'{token}' is not a valid scope token")
        if token not in tokens:
            tokens.append(token)
    return tokens


def require_subset(requested, allowed):
    """Every requested scope must be one the client may have."""
    extra = [scope for scope in requested if scope not in allowed]
    if extra:
        raise InvalidScope("Scope not allowed for this client: " + " ".join(extra))


def describe(scope):
    return DESCRIPTIONS.get(scope, f"Access '{scope}'")
