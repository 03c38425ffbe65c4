"""Accepting our own access tokens: an RFC 9068 JWT we signed, unexpired, and not revoked (RFC 7009 §2.1)."""

import jwt

from app.store import token_revocations

# The private claim naming the grant (refresh-token family) an access token was issued from.
GRANT_ID = "grant_id"


class RevokedToken(jwt.InvalidTokenError):
    """The token, or the grant it was issued from, has been revoked."""


def audiences(claims):
    """The token's aud as a list (RFC 7519 §4.1.3 allows one string or an array)."""
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else list(aud or ())


def user_subject(claims):
    """(user id, tenant id) of a user's token; None for a client acting for itself (no tenant_id)."""
    sub = str(claims["sub"])
    if "tenant_id" not in claims or not (sub.isascii() and sub.isdigit()):
        return None
    return int(sub), claims["tenant_id"]


def live_claims(keyring, database, token):
    """The claims of a live access token; raises a jwt.PyJWTError otherwise (revoked: RevokedToken)."""
    # typ at+jwt (RFC 9068 §2.1) keeps ID tokens and other JWTs we sign out.
    claims = keyring.decode(token, typ="at+jwt")
    if token_revocations.is_revoked(database, claims.get("jti"), claims.get(GRANT_ID)):
        raise RevokedToken("the access token has been revoked")
    return claims
