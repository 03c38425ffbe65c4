"""Helpers shared by the tests: token requests and verifying JWTs against the published JWKS."""

import base64
import json

import jwt

from tests.conftest import ISSUER_BASE, JWKS_PATH, TOKEN_PATH

ISSUER = ISSUER_BASE + "/api/v1/platform/oauth"


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def client_credentials(http, client, status=200, **params):
    form = {"grant_type": "client_credentials", **params}
    return http.post(TOKEN_PATH, form, headers={"Authorization": basic(client["client_id"], client["client_secret"])},
                     status=status)


def verify_with_jwks(http, token, audience, typ=None, clock=None):
    """Verify a JWT the way a resource server would: with the key the JWKS publishes under its kid.

    With a clock, time claims are checked against it instead of the wall clock."""
    header = jwt.get_unverified_header(token)
    if typ is not None:
        assert header["typ"] == typ
    keys = {k["kid"]: k for k in http.get(JWKS_PATH).json["keys"]}
    assert header["kid"] in keys, "the signing key is not published"
    key = jwt.PyJWK(keys[header["kid"]])
    options = {"verify_iat": False, "verify_exp": False, "verify_nbf": False} if clock else {}
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer=ISSUER, options=options)
    if clock is not None:
        assert claims["iat"] <= clock.now() < claims["exp"]
    return claims


def b64json(segment):
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
