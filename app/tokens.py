"""The claims of each token the service signs (RFC 9068 access tokens, OIDC ID tokens)."""

import hashlib
import secrets

from app.base64url import b64url


def at_hash(access_token):
    """OIDC Core §3.1.3.6: base64url of the left half of SHA-256 of the access token."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest()[:16])


def present_claims(claims):
    """The claims that have a value: OIDC Core §5.3.2 omits a claim rather than sending it null or empty."""
    return {name: value for name, value in claims.items() if value is not None and value != ""}


class TokenIssuer:
    """Builds and signs JWTs with the key ring's active key."""

    def __init__(self, config, keyring, clock):
        self._config = config
        self._keyring = keyring
        self._clock = clock

    def access_token_ttl(self, client):
        return client.access_token_ttl or self._config.access_token_ttl

    def refresh_token_ttl(self, client):
        return client.refresh_token_ttl or self._config.refresh_token_ttl

    def access_token(self, *, client, subject, scope, audience=None, tenant_id=None, extra=None, jkt=None):
        """An RFC 9068 JWT access token, DPoP-bound by cnf.jkt when given (RFC 9449 §6.1); (token, expires_in)."""
        now = int(self._clock.now())
        ttl = self.access_token_ttl(client)
        claims = {
            "iss": self._config.issuer,
            "sub": subject,
            "aud": audience or client.client_id,
            "exp": now + ttl,
            "iat": now,
            "jti": secrets.token_urlsafe(16),
            "client_id": client.client_id,
        }
        if scope:
            claims["scope"] = scope
        if tenant_id is not None:
            claims["tenant_id"] = str(tenant_id)
        if jkt is not None:
            claims["cnf"] = {"jkt": jkt}
        if extra:
            claims.update(extra)
        return self._keyring.sign(claims, typ="at+jwt", alg=self._config.access_token_alg), ttl

    def id_token(self, *, client, subject, tenant_id, auth_time, access_token, nonce=None, sid=None):
        """An OIDC ID token (Core §2) for the client, bound to its access token by at_hash."""
        now = int(self._clock.now())
        claims = {
            "iss": self._config.issuer,
            "sub": subject,
            "aud": client.client_id,
            "azp": client.client_id,
            "exp": now + self._config.id_token_ttl,
            "iat": now,
            "auth_time": int(auth_time),
            "at_hash": at_hash(access_token),
            "tenant_id": str(tenant_id),
            "nonce": nonce,
            "sid": sid,
        }
        return self._keyring.sign(present_claims(claims), typ="JWT")
