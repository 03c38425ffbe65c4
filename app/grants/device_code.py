"""device_code grant (RFC 8628 §3.4-3.5): polling until the person decides; tokens are issued once."""

from app import opaque
from app.db import relaxed_commit
from app.device import DEVICE_GRANT
from app.errors import AccessDenied, AuthorizationPending, ExpiredToken, InvalidGrant, InvalidRequest, SlowDown
from app.grants.user_tokens import issue_user_tokens
from app.users import find_user

SLOW_DOWN_STEP = 5
# A poll exactly one interval after the last one is on time, whatever floating point makes of it.
_TOLERANCE = 0.001


class DeviceCodeGrant:
    grant_type = DEVICE_GRANT

    def __init__(self, services):
        self._services = services
        self._database = services.database

    def issue(self, client, params):
        if "device_code" not in params:
            raise InvalidRequest("device_code is required")
        database, now = self._database, self._services.clock.now()
        p = database.param
        row = database.execute_sql(
            "SELECT d.id, d.application_id, d.status, d.user_id, d.tenant_id, d.scope, d.auth_time,"
            " d.poll_interval, d.expires_at, d.session_id, s.sid FROM device_authorization d"
            f" LEFT JOIN sso_session s ON s.id = d.session_id WHERE d.device_code_hash = {p}",
            (opaque.digest(params["device_code"]),)).fetchone()
        if row is None or row[1] != client.id:
            raise InvalidGrant("The device code is invalid")
        device_id, _, status, user_id, tenant_id, scope, auth_time, interval, expires_at, session_id, sid = row
        if status == "redeemed":
            raise InvalidGrant("The device code has already been used")
        if now >= expires_at:
            raise ExpiredToken("The device code has expired; start again")
        self._check_pace(device_id, interval, now)
        if status == "pending":
            raise AuthorizationPending("The user has not yet approved the request")
        if status == "denied":
            raise AccessDenied("The user denied the request")
        user = find_user(database, user_id)
        if user is None or not user.is_active or user.tenant_id != tenant_id:
            raise InvalidGrant("The user or their tenant is no longer active")

        def consume():
            """Tokens are issued once: only the request that flips approved to redeemed gets them."""
            return database.execute_sql(f"UPDATE device_authorization SET status = 'redeemed', redeemed_at = {p}"
                                        f" WHERE id = {p} AND status = 'approved'", (int(now), device_id)).rowcount == 1

        # Bound to the session that approved: without offline_access, signing out there ends it.
        response = issue_user_tokens(self._services, client, user, consume=consume, scope=scope, auth_time=auth_time,
                                     session_id=session_id, sid=sid, device_authorization_id=device_id)
        if response is None:
            raise InvalidGrant("The device code has already been used")
        return response

    def _check_pace(self, device_id, interval, now):
        """§3.5: polling faster than the interval is slow_down, and the interval grows by 5 s for good."""
        p = self._database.param
        cursor = self._database.execute_sql(
            f"UPDATE device_authorization SET last_polled_at = {p} WHERE id = {p}"
            f" AND (last_polled_at IS NULL OR last_polled_at <= {p} - poll_interval)"
            f" AND {relaxed_commit(self._database)}",  # a lost poll time only forgives one poll
            (now, device_id, now + _TOLERANCE))
        if cursor.rowcount == 1:
            return
        self._database.execute_sql(
            f"UPDATE device_authorization SET poll_interval = poll_interval + {p}, last_polled_at = {p}"
            f" WHERE id = {p}", (SLOW_DOWN_STEP, now, device_id))
        raise SlowDown(f"Polling too fast; wait at least {interval + SLOW_DOWN_STEP} seconds between requests")
