"""Signing keys: the JWKS (RFC 7517/7638), rotation, and private keys encrypted at rest."""

import json

import jwt
import pytest
import webtest

from app.application import create_app
from app.config import Config
from app.jws import CLOCK_SKEW
from app.keygen import KeyConfigurationError, thumbprint
from app.store import signing_keys
from app.store.signing_keys import list_keys, rotate_keys
from tests.conftest import JWKS_PATH, TOKEN_PATH
from tests.helpers import (LOGOUT_PATH, POST_LOGOUT_REDIRECT_URI, USERINFO_PATH, basic, bearer, client_credentials,
                           sign_in_tokens, verify_with_jwks)

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def test_jwks_publishes_the_active_public_key_only(http):
    response = http.get(JWKS_PATH)
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.content_type == "application/json"
    (key,) = response.json["keys"]
    assert key["kty"] == "RSA" and key["use"] == "sig" and key["alg"] == "RS256"
    assert key["kid"] == thumbprint(key)
    assert not PRIVATE_MEMBERS & set(key)
    assert len(jwt.PyJWK(key).key.public_numbers().n.to_bytes(256, "big")) == 256  # RSA-2048


def test_first_start_creates_exactly_one_active_key(config, clock, clean_database):
    clean_database.execute_sql("DELETE FROM signing_key")
    first = create_app(config, clock=clock)
    second = create_app(config, clock=clock)
    keys = list_keys(clean_database, clock.now())
    assert [k["status"] for k in keys] == ["active"]
    for application in (first, second):
        application.services.database.close()


def kid_of(token):
    return jwt.get_unverified_header(token)["kid"]


def test_a_rotated_key_is_published_at_once_and_signs_only_after_the_activation_delay(
        http, services, service_client, config, clock):
    old_kid = kid_of(client_credentials(http, service_client).json["access_token"])
    (new_kid,), activates_at = rotate_keys(services.database, config, clock.now())
    assert activates_at == int(clock.now()) + config.key_activation_delay
    clock.advance(config.key_refresh_interval)  # running workers notice within the refresh interval
    assert published_kids(http) == {old_kid, new_kid}
    assert http.get(JWKS_PATH).json["keys"][0]["kid"] == old_kid  # the signing key first

    clock.advance(activates_at - clock.now() - 1)
    before = client_credentials(http, service_client).json["access_token"]
    assert kid_of(before) == old_kid
    clock.advance(1)
    after = client_credentials(http, service_client).json["access_token"]
    assert kid_of(after) == new_kid
    assert published_kids(http) == {old_kid, new_kid}
    verify_with_jwks(http, before, service_client["client_id"], clock=clock)
    verify_with_jwks(http, after, service_client["client_id"], clock=clock)


def test_another_worker_sees_a_rotation_within_its_refresh_interval(http, app, services, config, clock):
    other_worker = webtest.TestApp(create_app(config, clock=clock))
    try:
        assert published_kids(other_worker) == published_kids(http)
        (new_kid,), _ = rotate_keys(services.database, config, clock.now())
        clock.advance(config.key_refresh_interval)
        assert new_kid in published_kids(other_worker)
    finally:
        other_worker.app.services.database.close()


def test_rotate_now_signs_with_the_new_key_at_once(http, services, service_client, config, clock):
    old_kid = kid_of(client_credentials(http, service_client).json["access_token"])
    (new_kid,), activates_at = rotate_keys(services.database, config, clock.now(), immediately=True)
    assert activates_at == int(clock.now())
    clock.advance(config.key_refresh_interval)  # every worker within its refresh interval
    assert kid_of(client_credentials(http, service_client).json["access_token"]) == new_kid
    assert published_kids(http) == {old_kid, new_kid}


def test_a_second_rotation_replaces_a_key_that_has_not_signed_yet(http, services, service_client, config, clock):
    old_kid = kid_of(client_credentials(http, service_client).json["access_token"])
    (pending_kid,), _ = rotate_keys(services.database, config, clock.now())
    clock.advance(60)
    (newest_kid,), activates_at = rotate_keys(services.database, config, clock.now())
    assert published_kids(http) == {old_kid, newest_kid}  # the replaced key signed nothing, so it may go
    clock.advance(activates_at - clock.now() - 1)
    assert kid_of(client_credentials(http, service_client).json["access_token"]) == old_kid
    clock.advance(1)
    assert kid_of(client_credentials(http, service_client).json["access_token"]) == newest_kid
    assert {k["kid"]: k["status"] for k in list_keys(services.database, clock.now())}[pending_kid] == "unpublished"


def test_a_retired_key_leaves_the_jwks_once_every_token_it_signed_has_expired(
        http, services, service_client, config, clock):
    old_kid = kid_of(client_credentials(http, service_client).json["access_token"])
    _, activates_at = rotate_keys(services.database, config, clock.now())
    clock.advance(activates_at - clock.now() - 1)
    last = client_credentials(http, service_client).json["access_token"]  # the old key's last token
    assert kid_of(last) == old_kid
    clock.advance(config.longest_token_ttl - 1)  # the last second of that token's life
    verify_with_jwks(http, last, service_client["client_id"], clock=clock)
    # A minute more (jws.CLOCK_SKEW) for a worker that had not refreshed or a host whose clock runs behind.
    clock.advance(activates_at + config.longest_token_ttl + CLOCK_SKEW - clock.now() - 1)
    assert old_kid in published_kids(http)
    clock.advance(1)
    assert old_kid not in published_kids(http)


def test_a_longer_client_token_lifetime_keeps_the_retired_key_published_longer(
        http, services, config, clock, make_client):
    make_client(access_token_ttl=config.longest_token_ttl * 2)
    old_kid = http.get(JWKS_PATH).json["keys"][0]["kid"]
    rotate_keys(services.database, config, clock.now(), immediately=True)
    clock.advance(config.longest_token_ttl + CLOCK_SKEW + 1)
    assert old_kid in published_kids(http)
    clock.advance(config.longest_token_ttl)
    assert old_kid not in published_kids(http)


def audited(database, event):
    return [json.loads(detail)["kid"] for (detail,) in database.execute_sql(
        f"SELECT detail FROM audit_event WHERE event = {database.param} ORDER BY id", (event,)).fetchall()]


def test_activation_is_audited_once_by_whichever_worker_sees_it_first(http, app, services, config, clock,
                                                                      service_client):
    other_worker = create_app(config, clock=clock)
    try:
        (new_kid,), activates_at = rotate_keys(services.database, config, clock.now())
        clock.advance(activates_at - clock.now() - 1)
        client_credentials(http, service_client)
        assert audited(services.database, "key.activated") == []
        clock.advance(1)
        other_worker.services.keyring.sign({"iss": config.issuer, "sub": "x", "iat": 1, "exp": 2})
        client_credentials(http, service_client)
        http.get(JWKS_PATH)
        assert audited(services.database, "key.activated") == [new_kid]
    finally:
        other_worker.services.database.close()


def test_private_keys_are_encrypted_at_rest_when_a_key_encryption_key_is_set(database_url, clock, clean_database):
    clean_database.execute_sql("DELETE FROM signing_key")
    config = Config(database_url=database_url, key_encryption_key="correct kek", cookie_secure=False)
    application = create_app(config, clock=clock)
    (pem,) = [row[0] for row in clean_database.execute_sql("SELECT private_key FROM signing_key").fetchall()]
    assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    token = application.services.keyring.sign({"iss": config.issuer, "sub": "x", "iat": 1, "exp": 2})
    assert jwt.get_unverified_header(token)["kid"]
    application.services.database.close()

    with pytest.raises(KeyConfigurationError, match="cannot be decrypted"):
        create_app(Config(database_url=database_url, key_encryption_key="wrong kek"), clock=clock)
    with pytest.raises(KeyConfigurationError, match="OAUTH_KEY_ENCRYPTION_KEY is not set"):
        create_app(Config(database_url=database_url), clock=clock)


def test_without_a_key_encryption_key_keys_are_plain_pkcs8(clean_database):
    (pem,) = [row[0] for row in clean_database.execute_sql("SELECT private_key FROM signing_key").fetchall()]
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")


def test_the_lean_signing_path_produces_standard_jwts(services, http):
    """Byte for byte what PyJWT makes with the same key, header and claims, and verifiable with the JWKS."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    claims = {"iss": services.config.issuer, "sub": "x", "aud": "y", "iat": 1, "exp": 2, "scope": "a b",
              "tenant_id": "7", "name": "Zoë \u2603"}
    token = services.keyring.sign(claims, typ="at+jwt")
    header = jwt.get_unverified_header(token)
    pem = signing_keys.private_key_pem(services.database, services.keyring.active_kid())
    key = load_pem_private_key(pem.encode(), password=None)
    reference = jwt.encode(claims, key, algorithm="RS256", headers={"kid": header["kid"], "typ": "at+jwt"})
    assert token == reference  # RS256 (PKCS #1 v1.5) is deterministic: header, payload and signature bytes
    published = {k["kid"]: k for k in http.get(JWKS_PATH).json["keys"]}
    assert jwt.decode(token, jwt.PyJWK(published[header["kid"]]).key, algorithms=["RS256"], audience="y",
                      options={"verify_exp": False}) == claims


# --- A key that has left the JWKS verifies nothing (issue 13 item 3) ------------------------------------

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def far_future(services, token, typ):
    """The same claims re-signed by the key that signs now, valid for a year: what a leaked key could mint."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return services.keyring.sign({**claims, "exp": int(services.clock.now()) + 365 * 86400}, typ=typ)


def retire_and_unpublish(services, config, clock, kid):
    """Rotate, then move the clock to the end of the old key's publication window, checking it was published."""
    rotate_keys(services.database, config, clock.now(), immediately=True)
    (old,) = [key for key in list_keys(services.database, clock.now()) if key["kid"] == kid]
    clock.advance(old["publish_until"] - clock.now() - 1)

    def unpublish():
        clock.advance(1)
    return unpublish


def published_kids(http):
    return {key["kid"] for key in http.get(JWKS_PATH).json["keys"]}


def test_a_token_signed_by_an_unpublished_key_is_refused_by_userinfo(http, services, config, clock, client, user):
    token = far_future(services, sign_in_tokens(http, client)["access_token"], "at+jwt")
    kid = jwt.get_unverified_header(token)["kid"]
    unpublish = retire_and_unpublish(services, config, clock, kid)
    assert kid in published_kids(http)
    http.get(USERINFO_PATH, headers=bearer(token), status=200)
    unpublish()
    assert kid not in published_kids(http)
    response = http.get(USERINFO_PATH, headers=bearer(token), status=401)
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_a_token_signed_by_an_unpublished_key_is_refused_by_token_exchange(
        http, services, config, clock, make_client):
    gateway = make_client(name="Gateway", grants=["client_credentials", TOKEN_EXCHANGE], scopes=["api.read"])
    orders = make_client(name="Orders API", grants=["client_credentials"])
    token = far_future(services, client_credentials(http, gateway).json["access_token"], "at+jwt")
    form = {"grant_type": TOKEN_EXCHANGE, "subject_token": token, "audience": orders["client_id"],
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token"}
    auth = {"Authorization": basic(gateway["client_id"], gateway["client_secret"])}
    unpublish = retire_and_unpublish(services, config, clock, jwt.get_unverified_header(token)["kid"])
    http.post(TOKEN_PATH, form, headers=auth, status=200)
    unpublish()
    assert http.post(TOKEN_PATH, form, headers=auth, status=400).json["error"] == "invalid_request"


def test_an_id_token_hint_signed_by_an_unpublished_key_is_refused(http, services, config, clock, client, user):
    hint = sign_in_tokens(http, client)["id_token"]
    unpublish = retire_and_unpublish(services, config, clock, jwt.get_unverified_header(hint)["kid"])
    unpublish()
    sign_in_tokens(http, client)  # a live session again (the old one may have idled out), signed by the new key
    response = http.get(LOGOUT_PATH, {"id_token_hint": hint, "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI},
                        status=400)
    assert "Location" not in response.headers
