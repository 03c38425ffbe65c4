"""The userinfo endpoint's work (OIDC Core §5.3): the claims of a bearer access token's user, by scope."""

import jwt

from app.errors import InsufficientScope, InvalidToken
from app.store.users import find_active_user
from app.tokens import present_claims


def userinfo_claims(keyring, database, authorization):
    """Claims about the token's user, by the token's scopes (RFC 6750 §2.1 for the header)."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Send the access token as 'Authorization: Bearer <token>'")
    try:
        claims = keyring.decode(token.strip(), typ="at+jwt")
    except jwt.PyJWTError:
        raise InvalidToken() from None
    scopes = str(claims.get("scope", "")).split()
    sub = str(claims["sub"])
    if "tenant_id" not in claims or not (sub.isascii() and sub.isdigit()):
        raise InvalidToken("The access token does not belong to a user")
    if "openid" not in scopes:
        raise InsufficientScope("The access token lacks the openid scope")
    user = find_active_user(database, claims["sub"], claims["tenant_id"])
    if user is None:
        raise InvalidToken("The user is no longer active")
    result = {"sub": str(user.id), "tenant_id": str(user.tenant_id), "tenant": user.tenant_slug}
    if "profile" in scopes:
        result.update(name=user.name, given_name=user.given_name, family_name=user.family_name,
                      updated_at=user.updated_at)
    if "email" in scopes:
        result.update(email=user.email, email_verified=user.email_verified)
    return present_claims(result)
