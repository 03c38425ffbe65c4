"""private_key_jwt: a client authenticates with a JWT signed by one of its registered keys (RFC 7523 §2.2, §3).

OIDC Core §9 names the method; the rules here are RFC 7523 §3's: iss and sub are the client_id, aud
names this server (its issuer, or the URL of the endpoint called), exp bounds the assertion's life
(at most MAX_LIFETIME ahead, give or take jws.CLOCK_SKEW as for iat and nbf) and each jti is
accepted once, across every worker (app/store/used_jti.py).
Parsed public keys are kept per client, so the token endpoint never re-parses a JWK (STYLE rule 9).
"""

import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from app import jws
from app.errors import InvalidClient
from app.jws import CLOCK_SKEW
from app.store import used_jti

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = jws.ALGORITHMS
MAX_LIFETIME = 300
USED_JTI_KIND = "client_assertion"
MAX_JTI_LENGTH = 256
_VERIFIERS = {"RS256": RSAAlgorithm(RSAAlgorithm.SHA256), "ES256": ECAlgorithm(ECAlgorithm.SHA256)}
_KEY_TYPE = {"RS256": "RSA", "ES256": "EC"}


def parse(assertion):
    """(header, claims, signing input, signature) of a compact JWS; InvalidClient when it is not one."""
    try:
        return jws.parts(assertion)
    except jwt.DecodeError:
        raise InvalidClient("client_assertion is not a well-formed signed JWT") from None


def claimed_client_id(claims):
    """The client a parsed assertion says it is (its sub, else iss), before anything is verified."""
    client_id = claims.get("sub", claims.get("iss"))
    if not isinstance(client_id, str) or not client_id:
        raise InvalidClient("client_assertion names no client (sub)")
    return client_id


def _number(claims, name):
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidClient(f"The assertion's {name} must be a number (seconds since the epoch)")
    return value


class ClientAssertions:
    """Verifies client assertions (RFC 7523 §3) against the client's registered JWKS."""

    def __init__(self, database, clock, issuer):
        self._database = database
        self._clock = clock
        self._issuer = issuer
        self._keys = {}  # application id -> (the JWKS the keys were parsed from, [(kid, alg, key)])

    def verify(self, client, parsed, endpoint):
        """Accept the assertion (as parse() returned it) for this client at this endpoint URL once, or raise."""
        header, claims, signing_input, signature = parsed
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise InvalidClient("The client assertion must be signed with RS256 or ES256")
        if "crit" in header:
            raise InvalidClient("The client assertion carries critical header parameters this server does not know")
        if not any(_VERIFIERS[alg].verify(signing_input, key, signature) for key in self._candidates(client, header)):
            raise InvalidClient("The client assertion's signature does not verify with the client's registered keys")
        self._check_claims(client, claims, endpoint)

    def _candidates(self, client, header):
        kid, alg = header.get("kid"), header["alg"]
        keys = [key for key_id, key_alg, key in self._parsed_keys(client)
                if key_alg == alg and (kid is None or key_id == kid)]
        if not keys:
            raise InvalidClient("No key registered for this client matches the assertion's kid and alg")
        return keys

    def _parsed_keys(self, client):
        cached = self._keys.get(client.id)
        if cached is not None and cached[0] == client.jwks:
            return cached[1]
        parsed = []
        for jwk in (client.jwks or {}).get("keys", ()):
            alg = jwk.get("alg") or ("RS256" if jwk.get("kty") == "RSA" else "ES256")
            if alg not in _VERIFIERS or jwk.get("kty") != _KEY_TYPE[alg] or jwk.get("crv", "P-256") != "P-256":
                continue
            try:
                parsed.append((jwk.get("kid"), alg, _VERIFIERS[alg].from_jwk(jwk)))
            except (InvalidKeyError, ValueError, TypeError, KeyError):
                continue  # registration checks every key; one that no longer parses simply verifies nothing
        self._keys[client.id] = (client.jwks, parsed)
        return parsed

    def _check_claims(self, client, claims, endpoint):
        now = self._clock.now()
        if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
            raise InvalidClient("The client assertion's iss and sub must both be the client_id")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(value in (self._issuer, endpoint) for value in audiences):
            raise InvalidClient(f"The client assertion's aud must be the issuer ({self._issuer}) or {endpoint}")
        expires = _number(claims, "exp")
        if expires is None:
            raise InvalidClient("The client assertion has no exp")
        if expires <= now:
            raise InvalidClient("The client assertion has expired")
        if expires > now + MAX_LIFETIME + CLOCK_SKEW:
            raise InvalidClient(f"The client assertion's exp is more than {MAX_LIFETIME} seconds ahead")
        for name in ("iat", "nbf"):
            value = _number(claims, name)
            if value is not None and value > now + CLOCK_SKEW:
                raise InvalidClient(f"The client assertion's {name} is in the future")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
            raise InvalidClient("The client assertion needs a jti (a unique string of at most 256 characters)")
        # Scoped by client: one client's ids never collide with, or burn, another's.
        if not used_jti.use_once(self._database, USED_JTI_KIND, client.client_id + " " + jti, expires, now):
            raise InvalidClient("This client assertion was already used (its jti was seen before)")
