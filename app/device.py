"""Device authorization (RFC 8628): starting a request, looking up a user code, approving or denying."""

import secrets
from dataclasses import dataclass

import peewee

from app import opaque
from app.db import write_transaction
from app.errors import InvalidScope, NotFound, UnauthorizedClient
from app.ratelimit import UNKNOWN_USER_CODE_PER_IP
from app.scopes import describe, parse_scope, require_subset

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
        p = self._database.param
        for _ in range(10):
            user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
            try:
                with write_transaction(self._database):
                    self._database.execute_sql(
                        "INSERT INTO device_authorization (device_code_hash, user_code_hash, application_id, scope,"
                        f" status, poll_interval, created_at, expires_at) VALUES ({p}, {p}, {p}, {p}, 'pending',"
                        f" {p}, {p}, {p})",
                        (opaque.digest(device_code), opaque.digest(user_code), client.id, " ".join(scopes),
                         self._config.device_poll_interval, now, now + expires_in))
                break
            except peewee.IntegrityError:
                continue  # the same user code is already in use: draw another
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
        p = self._database.param
        row = self._database.execute_sql(
            "SELECT d.id, a.client_id, a.name, d.scope, d.expires_at FROM device_authorization d"
            " JOIN application a ON a.id = d.application_id"
            f" WHERE d.user_code_hash = {p} AND d.status = 'pending' AND d.expires_at > {p} AND a.status = 'active'",
            (opaque.digest(code), int(self._clock.now()))).fetchone()
        if row is None:
            raise NotFound(UNKNOWN_CODE)
        return PendingDevice(row[0], format_user_code(code), row[1], row[2], row[3], row[4])

    def decide(self, user_code, approve, session, ip):
        """Approve (binding the signed-in user and their tenant) or deny; a code is decided once."""
        pending = self.pending(user_code, ip)
        now = int(self._clock.now())
        p = self._database.param
        cursor = self._database.execute_sql(
            f"UPDATE device_authorization SET status = {p}, user_id = {p}, tenant_id = {p}, session_id = {p},"
            f" auth_time = {p}, decided_at = {p} WHERE id = {p} AND status = 'pending' AND expires_at > {p}",
            ("approved" if approve else "denied", session.user_id, session.tenant_id, session.id,
             session.auth_time, now, pending.id, now))
        if cursor.rowcount != 1:
            raise NotFound(UNKNOWN_CODE)
        self._audit.record("device.approved" if approve else "device.denied", client_id=pending.client_id,
                           user_id=session.user_id, tenant_id=session.tenant_id, ip=ip)
        return pending
