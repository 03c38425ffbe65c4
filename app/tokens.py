"""The claims of each token the service signs (RFC 9068 access tokens, OIDC ID tokens)."""

import secrets


class TokenIssuer:
    """Builds and signs JWTs with the key ring's active key."""

    def __init__(self, config, keyring, clock):
        self._config = config
        self._keyring = keyring
        self._clock = clock

    def access_token_ttl(self, client):
        return client.access_token_ttl or self._config.access_token_ttl

    def access_token(self, *, client, subject, scope, audience=None, tenant_id=None, extra=None):
        """An RFC 9068 JWT access token; returns (token, expires_in)."""
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
        if extra:
            claims.update(extra)
        return self._keyring.sign(claims, typ="at+jwt"), ttl
