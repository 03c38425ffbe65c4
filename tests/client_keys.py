"""Test helpers for private_key_jwt clients: key pairs, their public JWKS, and client assertions (RFC 7523)."""

import secrets
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.helpers import ISSUER

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_URL = ISSUER + "/token"


@dataclass(frozen=True)
class ClientKey:
    """A private key the client keeps, and the public JWK it registers."""

    alg: str
    kid: str
    private_key: object

    @property
    def public_jwk(self):
        if self.alg == "RS256":
            jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def sign(self, claims, headers=None, alg=None):
        return jwt.encode(claims, self.private_key, algorithm=alg or self.alg,
                          headers={"kid": self.kid, **(headers or {})})


def new_key(alg="ES256", kid=None):
    private = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if alg == "RS256"
               else ec.generate_private_key(ec.SECP256R1()))
    return ClientKey(alg, kid or secrets.token_hex(4), private)


def jwks(*keys):
    return {"keys": [key.public_jwk for key in keys]}


def assertion_claims(client_id, now, audience=TOKEN_URL, **overrides):
    """The claims of a valid assertion; an override of None drops the claim."""
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "jti": secrets.token_urlsafe(16),
              "iat": int(now), "exp": int(now) + 60}
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def assertion_form(assertion, **extra):
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion, **extra}
