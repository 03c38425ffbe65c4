"""GET and POST /api/v1/platform/oauth/userinfo (OIDC Core §5.3, bearer token per RFC 6750)."""

import jwt

from app.errors import InvalidToken, OAuthError, ValidationFailed
from app.users import find_user


class InsufficientScope(OAuthError):
    error = "insufficient_scope"
    status = 403

    def __init__(self, description):
        super().__init__(description, headers={
            "WWW-Authenticate": 'Bearer error="insufficient_scope", scope="openid"'})


def userinfo_claims(keyring, database, authorization):
    """Claims about the token's user, by the token's scopes."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Send the access token as 'Authorization: Bearer <token>'")
    try:
        claims = keyring.decode(token.strip(), typ="at+jwt")
    except jwt.PyJWTError:
        raise InvalidToken() from None
    scopes = str(claims.get("scope", "")).split()
    if "tenant_id" not in claims or not str(claims["sub"]).isdigit():
        raise InvalidToken("The access token does not belong to a user")
    if "openid" not in scopes:
        raise InsufficientScope("The access token lacks the openid scope")
    user = find_user(database, claims["sub"])
    if user is None or not user.is_active or str(user.tenant_id) != str(claims["tenant_id"]):
        raise InvalidToken("The user is no longer active")
    result = {"sub": str(user.id), "tenant_id": str(user.tenant_id), "tenant": user.tenant_slug}
    if "profile" in scopes:
        result.update(name=user.name, given_name=user.given_name, family_name=user.family_name,
                      updated_at=user.updated_at)
    if "email" in scopes:
        result.update(email=user.email, email_verified=user.email_verified)
    return result


class UserinfoResource:
    def __init__(self, keyring, database):
        self._keyring = keyring
        self._database = database

    def on_get(self, req, resp):
        authorization = req.get_header("Authorization")
        if authorization is None:
            raise ValidationFailed.missing("header", "authorization")
        resp.media = userinfo_claims(self._keyring, self._database, authorization)
        resp.set_header("Cache-Control", "no-store")

    on_post = on_get
