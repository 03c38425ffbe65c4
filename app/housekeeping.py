"""`db prune`: delete what has expired, so tables do not grow without bound."""

from app.db import write_transaction
from app.store import (audit_events, authorization_codes, authorization_requests, device_authorizations,
                       login_challenges, pushed_requests, refresh_tokens, sso_sessions, throttles, token_revocations,
                       used_jti)

# Expired rows stay this long after expiry (useful when investigating an incident).
GRACE_SECONDS = 86400


def prune(database, now, audit_days=365):
    """Delete expired codes, device requests, sessions, dead refresh tokens and old throttle rows.

    Pruning never widens what a token can do: refresh tokens bound to a pruned session are deleted
    with it, and only offline ones (which outlive their session by design) survive, unlinked.
    """
    now = int(now)
    old = now - GRACE_SECONDS
    with write_transaction(database):
        counts = {"refresh_token": refresh_tokens.prune(database, old)}
        refresh_tokens.detach_from_codes(database, *authorization_codes.expired(database, old))
        counts["authorization_code"] = authorization_codes.prune(database, old)
        refresh_tokens.detach_from_device_authorizations(database, *device_authorizations.expired(database, old))
        counts["device_authorization"] = device_authorizations.prune(database, old)
        counts["authorization_request"] = authorization_requests.prune(database, old)
        counts["login_challenge"] = login_challenges.prune(database, old)
        counts["pushed_authorization_request"] = pushed_requests.prune(database, old)
        dead_sessions = sso_sessions.dead(database, old)
        counts["refresh_token"] += refresh_tokens.drop_with_sessions(database, *dead_sessions)
        authorization_codes.detach_from_sessions(database, *dead_sessions)
        device_authorizations.detach_from_sessions(database, *dead_sessions)
        counts["sso_session"] = sso_sessions.prune(database, old)
        counts["rate_counter"] = throttles.prune(database, now)
        counts["used_jti"] = used_jti.prune(database, now)
        # A revocation is needed only while a token it covers could still be accepted (unexpired).
        counts["token_revocation"] = token_revocations.prune(database, now)
        counts["audit_event"] = audit_events.prune(database, now - audit_days * 86400)
    return {name: max(count, 0) for name, count in counts.items()}
