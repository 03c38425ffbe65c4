"""device_code grant (RFC 8628 §3.4-3.5): polling until the person decides; tokens are issued once."""

from app.device import DEVICE_GRANT
from app.errors import AccessDenied, AuthorizationPending, ExpiredToken, InvalidGrant, InvalidRequest, SlowDown
from app.store import device_authorizations

SLOW_DOWN_STEP = 5
# A poll exactly one interval after the last one is on time, whatever floating point makes of it.
_TOLERANCE = 0.001


class DeviceCodeGrant:
    grant_type = DEVICE_GRANT

    def __init__(self, database, clock, user_tokens):
        self._database = database
        self._clock = clock
        self._user_tokens = user_tokens

    def issue(self, client, params, dpop_jkt=None):
        if "device_code" not in params:
            raise InvalidRequest("device_code is required")
        database, now = self._database, self._clock.now()
        device = device_authorizations.find_by_device_code(database, params["device_code"])
        if device is None or device.application_id != client.id:
            raise InvalidGrant("The device code is invalid")
        if device.status == "redeemed":
            raise InvalidGrant("The device code has already been used")
        if now >= device.expires_at:
            raise ExpiredToken("The device code has expired; start again")
        self._check_pace(device, now)
        if device.status == "pending":
            raise AuthorizationPending("The user has not yet approved the request")
        if device.status == "denied":
            raise AccessDenied("The user denied the request")
        user = self._user_tokens.active_user(device.user_id, device.tenant_id)
        # Bound to the session that approved: without offline_access, signing out there ends it.
        response = self._user_tokens.issue(
            client, user, consume=lambda: device_authorizations.redeem(database, device.id, now), scope=device.scope,
            auth_time=device.auth_time, session_id=device.session_id, sid=device.sid,
            device_authorization_id=device.id, dpop_jkt=dpop_jkt)
        if response is None:
            raise InvalidGrant("The device code has already been used")
        return response

    def _check_pace(self, device, now):
        """§3.5: polling faster than the interval is slow_down, and the interval grows by 5 s for good."""
        if device_authorizations.record_poll(self._database, device.id, now, _TOLERANCE):
            return
        device_authorizations.slow_down(self._database, device.id, SLOW_DOWN_STEP, now)
        raise SlowDown(f"Polling too fast; wait at least {device.poll_interval + SLOW_DOWN_STEP} seconds "
                       "between requests")
