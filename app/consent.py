"""Consent (OIDC Core §3.1.2.4): which requests need the person's say, the consent page's two answers.

A client created with --require-consent asks for the scopes a user has not allowed it yet; any
client asks when the request says prompt=consent; other clients are first-party and never ask.
The page resumes the stored authorization request, which its Allow or Deny consumes (one use).
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from app.authorization import consent_path, resume_path
from app.db import write_transaction
from app.errors import AccessDenied, AuthorizationRedirect
from app.scopes import describe
from app.store import consents
from app.store.users import find_user


def _destination(redirect_uri):
    """Where the person goes afterwards, as they would recognise it: the host, or an app's own scheme."""
    parts = urlsplit(redirect_uri)
    return parts.netloc or parts.scheme + ":"


class Consents:
    """The remembered consents and the policy of when to ask."""

    def __init__(self, database, clock, audit):
        self._database = database
        self._clock = clock
        self._audit = audit

    def needed(self, request, session):
        """prompt=consent always asks; a --require-consent client asks for scopes not yet allowed."""
        if "consent" in request.prompt:
            return True
        if not request.client.require_consent:
            return False
        granted = consents.granted_scopes(self._database, session.user_id, request.client.id)
        return not set(request.scope.split()) <= granted

    def remember(self, request, session):
        consents.grant(self._database, session.user_id, request.client.id, request.scope.split(), self._clock.now())

    def audit(self, allowed, request, session, ip):
        self._audit.record("consent.given" if allowed else "consent.denied", client_id=request.client.client_id,
                           user_id=session.user_id, tenant_id=session.tenant_id, ip=ip, scope=request.scope)


@dataclass(frozen=True)
class ConsentPrompt:
    """What the consent page shows; sid ties the answer to the account the page was shown to."""

    request: str
    application: str
    scopes: list
    destination: str
    email: str
    tenant: str
    sid: str


class ConsentPage:
    """The consent page's work: what to show, and the person's Allow or Deny (single use, never a code on Deny)."""

    def __init__(self, database, config, authorizer, consents_):
        self._database = database
        self._config = config
        self._authorizer = authorizer
        self._consents = consents_

    def prompt(self, request_id, session):
        """A ConsentPrompt, or the URL to go to instead (sign in first, or no consent needed after all)."""
        stored, request, session = self._authorizer.open_request(request_id, session)
        if session is None:
            return self._authorizer.sign_in_url(request_id, request)
        if not self._consents.needed(request, session):
            return resume_path(request_id)
        user = find_user(self._database, session.user_id)
        return ConsentPrompt(request_id, request.client.name,
                             [{"scope": s, "description": describe(s)} for s in request.scope.split()],
                             _destination(request.redirect_uri), user.email, user.tenant_name, session.sid)

    def decide(self, request_id, session, sid, allow, ip):
        """The answer: Allow issues the code (and remembers the scopes), Deny sends access_denied back."""
        stored, request, session = self._authorizer.open_request(request_id, session)
        if session is None:
            return self._authorizer.sign_in_url(request_id, request)
        if sid != session.sid:
            # Another account signed in since the page was shown: that account must see the page itself.
            return consent_path(request_id)
        with write_transaction(self._database):
            self._authorizer.consume(stored)
            if allow:
                self._consents.remember(request, session)
                location = self._authorizer.issue_code(request, session)
        self._consents.audit(allow, request, session, ip)
        if not allow:
            raise AuthorizationRedirect(AccessDenied("The user denied the request"), request.redirect_uri,
                                        request.state, self._config.issuer)
        return location
