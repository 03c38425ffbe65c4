"""OAUTH_ACCESS_TOKEN_ALG=ES256: access tokens signed ES256 (P-256), ID tokens still RS256.

Every test here runs the app with that setting (the `config` fixture below); the default stays RS256
and the rest of the suite covers it.
"""

import dataclasses
import json

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from hypothesis import HealthCheck, given, settings, strategies as st

from app.application import create_app
from app.config import ConfigError, load_config
from app.keygen import thumbprint
from app.store import signing_keys
from app.store.signing_keys import list_keys, rotate_keys
from tests.conftest import DISCOVERY_PATH, JWKS_PATH
from tests.helpers import ISSUER, b64json, bearer, client_credentials, refresh, sign_in_tokens


@pytest.fixture
def config(config):
    return dataclasses.replace(config, access_token_alg="ES256")


def published(http):
    return {key["kid"]: key for key in http.get(JWKS_PATH).json["keys"]}


def verify(http, token, alg, audience):
    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg
    key = jwt.PyJWK(published(http)[header["kid"]])
    return jwt.decode(token, key.key, algorithms=[alg], audience=audience, issuer=ISSUER)


def test_the_setting_is_read_and_checked():
    assert load_config({"OAUTH_ACCESS_TOKEN_ALG": "ES256"}).signing_algorithms == ("RS256", "ES256")
    assert load_config({}).access_token_alg == "RS256"
    with pytest.raises(ConfigError, match="OAUTH_ACCESS_TOKEN_ALG"):
        load_config({"OAUTH_ACCESS_TOKEN_ALG": "HS256"})


def test_start_adds_one_active_es256_key_and_the_jwks_publishes_both(http, services, clock):
    keys = list_keys(services.database, clock.now())
    assert sorted(k["alg"] for k in keys if k["status"] == "active") == ["ES256", "RS256"]
    jwks = published(http)
    (ec_key,) = [k for k in jwks.values() if k["kty"] == "EC"]
    assert set(ec_key) == {"kty", "crv", "x", "y", "kid", "use", "alg"}
    assert (ec_key["crv"], ec_key["alg"], ec_key["use"]) == ("P-256", "ES256", "sig")
    assert ec_key["kid"] == thumbprint(ec_key)
    # A second start (another worker) adds nothing.
    create_app(services.config, clock=clock).services.database.close()
    assert len(list_keys(services.database, clock.now())) == len(keys)


def test_es256_signing_makes_pyjwts_header_and_payload_bytes_and_a_signature_pyjwt_accepts(services):
    """ECDSA signatures are randomised, so the signature is compared by verifying it (RFC 7518 §3.4)."""
    claims = {"iss": services.config.issuer, "sub": "x", "iat": 1, "exp": 2, "name": "Zoë \u2603"}
    token = services.keyring.sign(claims, typ="at+jwt", alg="ES256")
    kid = jwt.get_unverified_header(token)["kid"]
    key = load_pem_private_key(signing_keys.private_key_pem(services.database, kid).encode(), password=None)
    reference = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"})
    assert token.rsplit(".", 1)[0] == reference.rsplit(".", 1)[0]
    assert jwt.decode(token, key.public_key(), algorithms=["ES256"], options={"verify_exp": False}) == claims


def test_client_credentials_tokens_are_es256_and_verify_with_the_jwks(http, service_client):
    token = client_credentials(http, service_client).json["access_token"]
    claims = verify(http, token, "ES256", service_client["client_id"])
    assert claims["client_id"] == service_client["client_id"]
    assert b64json(token.split(".")[0])["typ"] == "at+jwt"


def test_in_the_browser_flow_the_id_token_stays_rs256_and_userinfo_takes_the_es256_token(http, user, client):
    tokens = sign_in_tokens(http, client)
    verify(http, tokens["access_token"], "ES256", client["client_id"])
    verify(http, tokens["id_token"], "RS256", client["client_id"])
    info = http.get("/api/v1/platform/oauth/userinfo", headers=bearer(tokens["access_token"])).json
    assert info["sub"] == str(user["id"])
    refreshed = refresh(http, client, tokens["refresh_token"]).json
    assert jwt.get_unverified_header(refreshed["access_token"])["alg"] == "ES256"


def test_rotation_renews_both_keys_and_old_tokens_still_verify(http, services, service_client, config, clock):
    old_token = client_credentials(http, service_client).json["access_token"]
    new_kids, activates_at = rotate_keys(services.database, config, clock.now())
    clock.advance(config.key_refresh_interval)
    assert set(new_kids) <= set(published(http)) and len(new_kids) == 2
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    assert jwt.get_unverified_header(client_credentials(http, service_client).json["access_token"])["kid"] == old_kid
    clock.advance(activates_at - clock.now())
    new_token = client_credentials(http, service_client).json["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] in new_kids
    assert services.keyring.decode(old_token)["sub"] == service_client["client_id"]
    active = {k["alg"]: k["kid"] for k in list_keys(services.database, clock.now()) if k["status"] == "active"}
    assert sorted(active.values()) == sorted(new_kids) and set(active) == {"RS256", "ES256"}


def test_algorithm_confusion_is_refused(http, services, service_client):
    """A token must use the algorithm of the key its kid names, whatever its header claims."""
    token = client_credentials(http, service_client).json["access_token"]
    header, payload, signature = token.split(".")
    rsa_kid = [k["kid"] for k in published(http).values() if k["kty"] == "RSA"][0]
    swapped = dict(b64json(header), kid=rsa_kid)
    forged_header = jwt.utils.base64url_encode(json.dumps(swapped).encode()).decode()
    with pytest.raises(jwt.PyJWTError):
        services.keyring.decode(f"{forged_header}.{payload}.{signature}")
    as_rs256 = dict(b64json(header), alg="RS256")
    forged_header = jwt.utils.base64url_encode(json.dumps(as_rs256).encode()).decode()
    with pytest.raises(jwt.InvalidAlgorithmError):
        services.keyring.decode(f"{forged_header}.{payload}.{signature}")


@pytest.mark.parametrize("signature", ["", "AA", "A" * 86, "A" * 88])
def test_es256_signatures_of_the_wrong_shape_are_refused(http, services, service_client, signature):
    token = client_credentials(http, service_client).json["access_token"]
    header, payload, _ = token.split(".")
    with pytest.raises(jwt.PyJWTError):
        services.keyring.decode(f"{header}.{payload}.{signature}")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_single_character_change_to_an_es256_token_is_accepted(services, data):
    now = int(services.clock.now())
    token = services.keyring.sign({"iss": services.config.issuer, "sub": "s", "iat": now, "exp": now + 60},
                                  typ="at+jwt", alg="ES256")
    assert services.keyring.decode(token)["sub"] == "s"
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from("AQgw_-.9zZ=+/ ").filter(lambda c: c != token[position]))
    with pytest.raises(jwt.PyJWTError):
        services.keyring.decode(token[:position] + replacement + token[position + 1:])


def test_discovery_advertises_es256_for_access_tokens_and_rs256_for_id_tokens(http):
    document = http.get(DISCOVERY_PATH).json
    assert document["access_token_signing_alg_values_supported"] == ["ES256"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
