"""KeyRing.decode, the service's own JWT verification (userinfo, token exchange, logout hints).

It does PyJWT's checks without PyJWT's slow generic path, so these tests hold it to PyJWT's answers on
good tokens and to a refusal (a jwt.PyJWTError, never another exception) on every kind of bad one.
"""

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from hypothesis import HealthCheck, given, settings, strategies as st

from app.jws import CLOCK_SKEW
from app.store import signing_keys


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def active_key(services):
    kid = services.keyring.active_kid()
    return kid, load_pem_private_key(signing_keys.private_key_pem(services.database, kid).encode(), password=None)


def raw_token(header, payload, key):
    """A compact JWS over exactly these header and payload bytes (dicts are JSON-encoded)."""
    encode = (lambda part: part if isinstance(part, bytes) else json.dumps(part).encode())
    signing_input = f"{b64(encode(header))}.{b64(encode(payload))}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


@pytest.fixture
def claims(services):
    now = int(services.clock.now())
    return {"iss": services.config.issuer, "sub": "42", "aud": "api", "iat": now, "exp": now + 600,
            "jti": "j1", "scope": "openid", "tenant_id": "7"}


@pytest.fixture
def token(services, claims):
    return services.keyring.sign(claims, typ="at+jwt")


def test_a_good_token_gives_the_claims_pyjwt_gives(services, claims, token):
    kid, private = active_key(services)
    reference = jwt.decode(token, private.public_key(), algorithms=["RS256"], issuer=services.config.issuer,
                           audience="api", options={"verify_exp": False, "verify_iat": False})
    assert services.keyring.decode(token, typ="at+jwt") == reference == claims
    assert services.keyring.decode(token, audience="api") == claims


def test_the_token_type_is_checked_when_asked(services, claims):
    kid, private = active_key(services)
    plain = services.keyring.sign(claims)  # typ JWT
    with pytest.raises(jwt.InvalidTokenError):
        services.keyring.decode(plain, typ="at+jwt")
    long_form = raw_token({"alg": "RS256", "kid": kid, "typ": "application/at+jwt"}, claims, private)
    assert services.keyring.decode(long_form, typ="at+jwt") == claims


def test_an_expired_token_is_refused_by_the_services_clock(services, claims, token):
    services.clock.advance(601)
    with pytest.raises(jwt.ExpiredSignatureError):
        services.keyring.decode(token)
    assert services.keyring.decode(token, verify_exp=False) == claims


@pytest.mark.parametrize("change", [
    pytest.param({"iss": "https://evil.example"}, id="foreign issuer"),
    pytest.param({"iss": None}, id="no issuer"),
    pytest.param({"sub": None}, id="no subject"),
    pytest.param({"sub": 42}, id="numeric subject"),
    pytest.param({"iat": None}, id="no iat"),
    pytest.param({"exp": None}, id="no exp"),
    pytest.param({"exp": "tomorrow"}, id="text exp"),
    pytest.param({"exp": True}, id="boolean exp"),
    pytest.param({"iat": "yesterday"}, id="text iat"),
    pytest.param({"jti": 5}, id="numeric jti"),
])
def test_claims_pyjwt_would_refuse_are_refused(services, claims, change):
    kid, private = active_key(services)
    bad = {k: v for k, v in {**claims, **change}.items() if v is not None}
    with pytest.raises(jwt.PyJWTError):
        services.keyring.decode(raw_token({"alg": "RS256", "kid": kid}, bad, private))


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_iat_or_nbf_more_than_a_minute_ahead_is_refused(services, claims, token, claim):
    """RFC 7519 §4.1.5/§4.1.6: 60 s of leeway (jws.CLOCK_SKEW) for another host's clock, no more."""
    now = int(services.clock.now())
    within = services.keyring.sign({**claims, claim: now + CLOCK_SKEW}, typ="at+jwt")
    beyond = services.keyring.sign({**claims, claim: now + CLOCK_SKEW + 1}, typ="at+jwt")
    assert services.keyring.decode(within)[claim] == now + CLOCK_SKEW
    with pytest.raises(jwt.ImmatureSignatureError):
        services.keyring.decode(beyond)
    with pytest.raises(jwt.ImmatureSignatureError):
        services.keyring.decode(beyond, verify_exp=False)  # an expired-is-fine logout hint too
    services.clock.advance(1)
    assert services.keyring.decode(beyond)[claim] == now + CLOCK_SKEW + 1


@pytest.mark.parametrize("value", ["soon", True, None])
def test_a_non_numeric_nbf_is_refused(services, claims, value):
    kid, private = active_key(services)
    with pytest.raises(jwt.PyJWTError):
        services.keyring.decode(raw_token({"alg": "RS256", "kid": kid}, {**claims, "nbf": value}, private))


@pytest.mark.parametrize("audience, accepted", [("api", True), ("elsewhere", False)])
def test_the_audience_is_checked_when_asked(services, claims, audience, accepted):
    kid, private = active_key(services)
    for aud in ("api", ["other", "api"]):
        token = raw_token({"alg": "RS256", "kid": kid}, {**claims, "aud": aud}, private)
        if accepted:
            assert services.keyring.decode(token, audience=audience)["aud"] == aud
        else:
            with pytest.raises(jwt.InvalidAudienceError):
                services.keyring.decode(token, audience=audience)
    no_audience = raw_token({"alg": "RS256", "kid": kid}, {k: v for k, v in claims.items() if k != "aud"}, private)
    with pytest.raises(jwt.MissingRequiredClaimError):
        services.keyring.decode(no_audience, audience="api")


def forged(services, claims, kind):
    kid, private = active_key(services)
    good = services.keyring.sign(claims)
    header, payload, signature = good.split(".")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "alg none": f"{b64(json.dumps({'alg': 'none', 'kid': kid}).encode())}.{payload}.",
        "HS256 with the public key": jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"kid": kid}),
        "another key under our kid": raw_token({"alg": "RS256", "kid": kid}, claims, stranger),
        "unknown kid": raw_token({"alg": "RS256", "kid": "nope"}, claims, private),
        "numeric kid": raw_token({"alg": "RS256", "kid": 1}, claims, private),
        "no kid": raw_token({"alg": "RS256"}, claims, private),
        "two segments": f"{header}.{payload}",
        "four segments": f"{good}.{signature}",
        "padding": good + "=",
        "standard base64 alphabet": good[:-2] + "+/",
        "non-ASCII": good[:-1] + "é",
        "spaces": " " + good,
        "header not an object": raw_token([1, 2], claims, private),
        "payload not an object": raw_token({"alg": "RS256", "kid": kid}, b'"just a string"', private),
        "payload not JSON": raw_token({"alg": "RS256", "kid": kid}, b"\xff\xfe", private),
        "header not JSON": f"{b64(b'{')}.{payload}.{signature}",
        "empty": "",
        "dots": "..",
        "claims swapped in": f"{header}.{b64(json.dumps({**claims, 'sub': '1'}).encode())}.{signature}",
    }[kind]


@pytest.mark.parametrize("kind", [
    "alg none", "HS256 with the public key", "another key under our kid", "unknown kid", "numeric kid", "no kid",
    "two segments", "four segments", "padding", "standard base64 alphabet", "non-ASCII", "spaces",
    "header not an object", "payload not an object", "payload not JSON", "header not JSON", "empty", "dots",
    "claims swapped in"])
def test_malformed_and_forged_tokens_are_refused(services, claims, kind):
    with pytest.raises(jwt.PyJWTError):
        services.keyring.decode(forged(services, claims, kind))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_single_character_change_is_accepted(services, token, data):
    """Every position, including the last of the signature whose spare bits base64 would ignore."""
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from("AQgw_-.9zZ=+/ ").filter(lambda c: c != token[position]))
    with pytest.raises(jwt.PyJWTError):
        services.keyring.decode(token[:position] + replacement + token[position + 1:])
