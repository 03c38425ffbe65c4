"""The userinfo endpoint's work (OIDC Core §5.3): the claims of an access token's user, by scope.

The token comes as `Bearer` (RFC 6750 §2.1) or, when it is DPoP-bound, as `DPoP` with a proof by its key
(RFC 9449 §7.1); a DPoP-bound token is refused as Bearer, or a stolen copy would work without the key.
"""

import jwt

from app.access_tokens import live_claims
from app.dpop import SIGNING_ALGORITHMS
from app.errors import InsufficientScope, InvalidDPoPProof, InvalidToken
from app.store.users import find_active_user
from app.tokens import present_claims


def _dpop_refusal(description):
    return InvalidDPoPProof.challenge(description, SIGNING_ALGORITHMS)


def _presented_token(authorization):
    """(scheme, token): `Bearer <token>` or `DPoP <token>`, the scheme case-insensitive (RFC 9110 §11.1)."""
    scheme, _, token = authorization.partition(" ")
    scheme, token = scheme.lower(), token.strip()
    if scheme not in ("bearer", "dpop") or not token:
        raise InvalidToken("Send the access token as 'Authorization: Bearer <token>' or, for a DPoP-bound "
                           "token, 'Authorization: DPoP <token>' with a DPoP proof")
    return scheme, token


def verified_claims(keyring, database, authorization, check_proof):
    """The claims of a live (unrevoked) access token once the request proves what it demands (RFC 9449 §7.1).

    check_proof(token, fail) verifies the request's DPoP proof (with ath) and returns its key's thumbprint.
    """
    scheme, token = _presented_token(authorization)
    if scheme == "dpop":
        # The proof first: every refusal of it is invalid_dpop_proof, whatever the token is.
        jkt = check_proof(token, _dpop_refusal)
    try:
        claims = live_claims(keyring, database, token)
    except jwt.PyJWTError:
        raise InvalidToken(scheme="DPoP" if scheme == "dpop" else "Bearer") from None
    cnf = claims.get("cnf")
    bound = cnf.get("jkt") if isinstance(cnf, dict) else None
    if scheme == "bearer":
        if bound is not None:
            raise InvalidToken("This access token is DPoP-bound: send it as 'Authorization: DPoP <token>' with a "
                               "DPoP proof signed by its key")
        return claims
    if bound is None:
        raise InvalidToken("This access token is not DPoP-bound; send it as 'Authorization: Bearer <token>'",
                           scheme="DPoP")
    if jkt != bound:
        raise _dpop_refusal("The DPoP proof is signed by a key other than the one the access token is bound to")
    return claims


def userinfo_claims(keyring, database, authorization, check_proof):
    """Claims about the token's user, by the token's scopes."""
    claims = verified_claims(keyring, database, authorization, check_proof)
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
