"""Tenant-agnostic sign-in: find where an email's password verifies (no account enumeration)."""

from app.authorization import resumed_request_id
from app.errors import PageError
from app.passwords import SALT_KEY_NAME, email_salt, is_current, matching_hashes
from app.ratelimit import WRONG_PASSWORD_PER_ACCOUNT, WRONG_PASSWORD_PER_IP
from app.store import authorization_requests, login_challenges, server_secrets
from app.store.users import (find_active_user, find_user, normalize_email, update_password_hash,
                             users_with_email)

CHALLENGE_TTL = 300
MAX_PASSWORD_LENGTH = 1024


class SignIn:
    def __init__(self, database, clock, throttle, audit):
        self._database = database
        self._clock = clock
        self._throttle = throttle
        self._audit = audit
        self._salt_key = None

    def verify(self, email, password, ip):
        """The active users with this email whose password verifies, in every tenant.

        Wrong passwords are throttled per account (the email) and per client address; the windows
        pass, so nobody can lock a user out for good. An unknown email costs one Argon2id
        verification, like a wrong password, and counts the same; so does an email in several tenants.
        """
        email = normalize_email(email)
        self._throttle.check(WRONG_PASSWORD_PER_IP, ip)
        self._throttle.check(WRONG_PASSWORD_PER_ACCOUNT, email)
        matched = self._matching_users(email, password)
        if matched:
            return matched
        self._throttle.hit(WRONG_PASSWORD_PER_IP, ip)
        self._throttle.hit(WRONG_PASSWORD_PER_ACCOUNT, email)
        self._audit.record("signin.failure", ip=ip, email=email)
        return []

    def succeeded(self, user, ip):
        self._audit.record("signin.success", user_id=user.id, tenant_id=user.tenant_id, ip=ip, email=user.email)

    def _salt(self, email):
        if self._salt_key is None:
            self._salt_key = server_secrets.get_or_create(self._database, SALT_KEY_NAME, self._clock.now())
        return email_salt(self._salt_key, email)

    def _matching_users(self, email, password):
        candidates = users_with_email(self._database, email)[:20]
        if not password or len(password) > MAX_PASSWORD_LENGTH:
            # Still one Argon2id computation: a refused password costs what a wrong one does.
            password, candidates = "", []
        matches, current = matching_hashes(password, self._salt(email), [u.password_hash for u in candidates])
        matched = [user for user, match in zip(candidates, matches) if match and user.is_active]
        for user in matched:
            if not is_current(user.password_hash, current):
                update_password_hash(self._database, user.id, current, self._clock.now())
        return matched

    def create_challenge(self, users, next_path):
        """Remember, briefly, which accounts verified, so the person can pick the tenant."""
        return login_challenges.insert(self._database, user_ids=[u.id for u in users], next_path=next_path,
                                       now=self._clock.now(), ttl=CHALLENGE_TTL)

    def redeem_challenge(self, token, tenant_slug):
        """(user, next_path) for the chosen tenant; the challenge works once."""
        challenge = login_challenges.find(self._database, token)
        now = int(self._clock.now())
        if challenge is None or not challenge.is_open(now):
            raise PageError("Your sign-in has expired", "Please sign in again.", status=400)
        users = [find_user(self._database, user_id) for user_id in challenge.user_ids]
        chosen = [u for u in users if u is not None and u.is_active and u.tenant_slug == tenant_slug]
        if not chosen:
            raise PageError("Choose a workspace", "Pick one of the workspaces listed on the previous page.",
                            status=400)
        if not login_challenges.consume(self._database, challenge.id, now):
            raise PageError("Your sign-in has expired", "Please sign in again.", status=400)
        return chosen[0], challenge.next_path

    def signed_in_user(self, session):
        """Who a live session belongs to, while that user and tenant are active."""
        return find_active_user(self._database, session.user_id, session.tenant_id)

    def application_name(self, next_path):
        """The application a sign-in is for, when next_path resumes one of its open authorization requests."""
        request_id = resumed_request_id(next_path)
        if request_id is None:
            return None
        return authorization_requests.open_request_application_name(self._database, request_id, self._clock.now())

    def signed_in_for(self, next_path, session):
        """When next_path resumes a stored authorization request, record that this session signed in for it."""
        request_id = resumed_request_id(next_path)
        if request_id is not None:
            authorization_requests.mark_signed_in(self._database, request_id, session.id, self._clock.now())

    def challenge_tenants(self, users):
        return [{"slug": u.tenant_slug, "name": u.tenant_name} for u in users]
