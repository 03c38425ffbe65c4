"""The SSO session cookie and CSRF tokens of the service's own pages.

The session cookie holds a 256-bit random value; the database keeps only its SHA-256 digest.
A new value is issued at every sign-in (no fixation). CSRF: the CSRF cookie (with the __Host- prefix
outside local http) names a pre-session, a 256-bit random id; every form carries an HMAC of that id
under a server key, so a token is valid only with the cookie it was made for and only in full. The
pre-session is replaced at sign-in, so no token from before the sign-in works after it.
"""

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timezone

from app import opaque
from app.base64url import b64url
from app.db import write_transaction
from app.errors import PageError
from app.store import refresh_tokens, server_secrets, sso_sessions, token_revocations
from app.store.sso_sessions import StoredSession

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Touch last_seen_at at most this often, so reading a session is not a write every time.
_TOUCH_EVERY = 60
CSRF_KEY_NAME = "csrf"
# 32 random bytes (the pre-session id) and a SHA-256 HMAC are both 43 base64url characters.
_CSRF_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")
# Fetch Metadata: our forms post from our own pages; a browser that says otherwise was sent by another site.
_OWN_FORM_SITES = ("same-origin", "none")


class Sessions:
    def __init__(self, database, config, clock):
        self._database = database
        self._config = config
        self._clock = clock
        prefix = "__Host-" if config.cookie_secure else ""
        self.session_cookie = prefix + "oauth_session"
        self.csrf_cookie = prefix + "oauth_csrf"
        self._csrf_key = None

    def _set_cookie(self, resp, name, value, max_age):
        resp.set_cookie(name, value, max_age=max_age, path="/", secure=self._config.cookie_secure,
                        http_only=True, same_site="Lax")

    def _expire_cookie(self, resp, name):
        # falcon drops max_age=0, so a date in the past is what makes browsers delete the cookie.
        resp.set_cookie(name, "", expires=_EPOCH, path="/", secure=self._config.cookie_secure, http_only=True,
                        same_site="Lax")

    @staticmethod
    def _cookie(req, name):
        values = req.get_cookie_values(name)
        return values[0] if values else None

    def current(self, req):
        """The live session named by the request's cookie, or None (idle and absolute limits applied)."""
        value = self._cookie(req, self.session_cookie)
        if not value:
            return None
        stored = sso_sessions.find_by_cookie(self._database, value)
        now = int(self._clock.now())
        if stored is None or not stored.is_live(now, self._config.session_idle_ttl):
            return None
        if now - stored.last_seen_at >= _TOUCH_EVERY:
            sso_sessions.touch(self._database, stored.id, now)
        return stored

    def start(self, req, resp, user_id, tenant_id):
        """Sign in: always a brand-new cookie value (no fixation).

        The same user signing in again keeps the session (its sid and its refresh tokens) with a new
        auth_time; another user ends the browser's previous session first.
        """
        previous = self.current(req)
        self._new_presession(req, resp)
        value = opaque.new_secret()
        now = int(self._clock.now())
        expires_at = now + self._config.session_absolute_ttl
        if previous is not None and previous.user_id == user_id:
            sso_sessions.renew(self._database, previous.id, cookie_value=value, now=now, expires_at=expires_at)
            self._set_cookie(resp, self.session_cookie, value, self._config.session_absolute_ttl)
            return StoredSession(previous.id, previous.sid, user_id, tenant_id, now, expires_at, now, None)
        if previous is not None:
            self.end(previous)
        sid = secrets.token_urlsafe(16)
        session_pk = sso_sessions.insert(self._database, cookie_value=value, sid=sid, user_id=user_id,
                                         tenant_id=tenant_id, now=now, expires_at=expires_at)
        self._set_cookie(resp, self.session_cookie, value, self._config.session_absolute_ttl)
        return StoredSession(session_pk, sid, user_id, tenant_id, now, expires_at, now, None)

    def end(self, session):
        """End a session and the grants bound to it: their refresh tokens and the access tokens issued from them
        (offline ones survive)."""
        now = int(self._clock.now())
        with write_transaction(self._database):
            sso_sessions.end(self._database, session.id, now)
            for family_id, client_id, client_ttl in refresh_tokens.session_bound_grants(self._database, session.id):
                # Until the last access token of the grant could expire (the client's TTL may have shrunk since).
                ttl = max(client_ttl or 0, self._config.access_token_ttl)
                token_revocations.revoke_grant(self._database, family_id, client_id=client_id, now=now,
                                               expires_at=now + ttl)
            refresh_tokens.revoke_session_bound(self._database, session.id, now)

    def clear(self, resp):
        self._expire_cookie(resp, self.session_cookie)

    # --- CSRF -------------------------------------------------------------------------------

    def _csrf_for(self, presession):
        if self._csrf_key is None:
            self._csrf_key = server_secrets.get_or_create(self._database, CSRF_KEY_NAME, self._clock.now())
        mac = hmac.new(self._csrf_key, b"csrf\x00" + presession.encode("ascii"), hashlib.sha256).digest()
        return b64url(mac)

    def _new_presession(self, req, resp):
        presession = secrets.token_urlsafe(32)
        self._set_cookie(resp, self.csrf_cookie, presession, None)
        # Later code in this request (the page rendered after a sign-in) must use the new one.
        req.context.presession = presession
        return presession

    def csrf_token(self, req, resp):
        """The token forms must carry; starts a pre-session (the CSRF cookie) when the browser has none."""
        presession = getattr(req.context, "presession", None) or self._cookie(req, self.csrf_cookie)
        if not presession or not _CSRF_VALUE.fullmatch(presession):
            presession = self._new_presession(req, resp)
        req.context.presession = presession
        return self._csrf_for(presession)

    def check_csrf(self, req, form):
        """403 unless the form's csrf_token is the full HMAC of the CSRF cookie's pre-session, sent from our page.

        Sec-Fetch-Site (Fetch Metadata) also stops a site that planted its own cookie and token pair.
        """
        presession = self._cookie(req, self.csrf_cookie)
        sent = form.get("csrf_token")
        site = req.get_header("Sec-Fetch-Site")
        if not (presession and sent and _CSRF_VALUE.fullmatch(presession) and _CSRF_VALUE.fullmatch(sent)
                and hmac.compare_digest(self._csrf_for(presession).encode(), sent.encode())
                and (site is None or site in _OWN_FORM_SITES)):
            raise PageError("This form has expired",
                            "The page was open too long or was sent from somewhere else. Go back, reload the "
                            "page and try again.", status=403)
