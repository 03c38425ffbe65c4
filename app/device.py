"""Device authorization (RFC 8628): starting a request, looking up a user code, approving or denying."""

import secrets
from dataclasses import dataclass

from app import opaque
from app.errors import InvalidScope, NotFound, UnauthorizedClient
from app.ratelimit import UNKNOWN_USER_CODE_PER_IP
from app.scopes import describe, parse_scope, require_subset
from app.store import device_authorizations

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# RFC 8628 §6.1: consonants only, no vowels (no accidental words), no look-alikes.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
DEVICE_PAGE = "/device"
UNKNOWN_CODE = "This code is not valid: it may be mistyped, expired or already used"


def normalize_user_code(value):
    """Case, dashes and spaces do not matter when a person types the code (§6.1)."""
    cleaned = "".join(ch for ch in (value or "").upper() if ch not in "- \t")
    if len(cleaned) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in cleaned):
        return None
    return cleaned


def format_user_code(code):
    return code[:4] + "-" + code[4:]


@dataclass(frozen=True)
class PendingDevice:
    id: int
    user_code: str
    client_id: str
    application: str
    scope: str
    expires_at: int

    def scopes(self):
        return [{"scope": s, "description": describe(s)} for s in self.scope.split()]


class DeviceAuthorizations:
    def __init__(self, database, config, clock, throttle, audit):
        self._database = database
        self._config = config
        self._clock = clock
        self._throttle = throttle
        self._audit = audit

    def now(self):
        return self._clock.now()

    def start(self, client, scope_param):
        """§3.1-3.2: a device code for the device, a short user code for the person."""
        if not client.is_global:
            raise UnauthorizedClient("This endpoint serves GLOBAL applications")
        if DEVICE_GRANT not in client.grant_types:
            raise UnauthorizedClient("This client may not use the device authorization grant")
        scopes = parse_scope(scope_param if scope_param is not None else "openid")
        if not scopes:
            raise InvalidScope("scope must name at least one scope")
        require_subset(scopes, client.allowed_scopes)
        now = int(self._clock.now())
        expires_in = self._config.device_code_ttl
        device_code = opaque.new_secret()
        for _ in range(10):
            user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
            if device_authorizations.insert(self._database, device_code=device_code, user_code=user_code,
                                            application_id=client.id, scope=" ".join(scopes),
                                            poll_interval=self._config.device_poll_interval, now=now,
                                            ttl=expires_in):
                break
            # else the same user code is already in use: draw another
        else:
            raise RuntimeError("could not draw a free user code")
        shown = format_user_code(user_code)
        page = self._config.issuer_base + DEVICE_PAGE
        return {"device_code": device_code, "user_code": shown, "verification_uri": page,
                "verification_uri_complete": page + "?user_code=" + shown, "expires_in": expires_in,
                "interval": self._config.device_poll_interval}

    def pending(self, user_code, ip):
        """The pending request for a typed code; unknown, expired and decided codes look the same.

        Guesses are throttled per client address (10 unknown codes per 15 minutes, then 429).
        """
        self._throttle.check(UNKNOWN_USER_CODE_PER_IP, ip)
        try:
            return self._find_pending(user_code)
        except NotFound:
            self._throttle.hit(UNKNOWN_USER_CODE_PER_IP, ip)
            raise

    def _find_pending(self, user_code):
        code = normalize_user_code(user_code)
        if code is None:
            raise NotFound(UNKNOWN_CODE)
        row = device_authorizations.find_pending(self._database, code, self._clock.now())
        if row is None:
            raise NotFound(UNKNOWN_CODE)
        return PendingDevice(row.id, format_user_code(code), row.client_id, row.application, row.scope,
                             row.expires_at)

    def decide(self, user_code, approve, session, ip):
        """Approve (binding the signed-in user and their tenant) or deny; a code is decided once."""
        pending = self.pending(user_code, ip)
        if not device_authorizations.decide(self._database, pending.id, approve=approve, session=session,
                                            now=self._clock.now()):
            raise NotFound(UNKNOWN_CODE)
        self._audit.record("device.approved" if approve else "device.denied", client_id=pending.client_id,
                           user_id=session.user_id, tenant_id=session.tenant_id, ip=ip)
        return pending
