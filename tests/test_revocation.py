"""POST /oauth/revoke (RFC 7009, DESIGN endpoint 10): a client revokes its own tokens, and nothing else."""

import json
import os
import threading

import pytest

from app.db import write_transaction
from app.housekeeping import prune
from app.revocation import GrantRevocation
from app.store import refresh_tokens
from app.store.clients import find_client
from tests.helpers import (LOGOUT_PATH, POST_LOGOUT_REDIRECT_URI, USERINFO_PATH, basic, bearer, client_credentials,
                           exchange_code, get_code, refresh, sign_in_tokens, web_client)

REVOKE_PATH = "/api/v1/platform/oauth/revoke"
INTROSPECT_PATH = "/api/v1/platform/oauth/introspect"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


def revoke(http, client, token, status=200, **params):
    """Authenticate as the client does at the token endpoint: Basic with its secret, client_id alone if public."""
    form, headers = {"token": token, **params}, {}
    if client.get("client_secret"):
        headers["Authorization"] = basic(client["client_id"], client["client_secret"])
    else:
        form["client_id"] = client["client_id"]
    return http.post(REVOKE_PATH, form, headers=headers, status=status)


def introspect(http, client, token):
    return http.post(INTROSPECT_PATH, {"token": token},
                     headers={"Authorization": basic(client["client_id"], client["client_secret"])}).json


def revocation_events(services):
    rows = services.database.execute_sql(
        "SELECT client_id, detail FROM audit_event WHERE event = 'token.revoked' ORDER BY id").fetchall()
    return [(client_id, json.loads(detail)) for client_id, detail in rows]


@pytest.fixture
def web(make_client):
    """A confidential web client that also exchanges its users' tokens."""
    return web_client(make_client, public=False, name="Acme Web",
                      grants=("authorization_code", "refresh_token", TOKEN_EXCHANGE))


@pytest.fixture
def other(make_client):
    return web_client(make_client, public=False, name="Other App",
                      grants=("authorization_code", "refresh_token", TOKEN_EXCHANGE, "client_credentials"))


def test_discovery_advertises_the_endpoint_and_its_client_authentication(http):
    document = http.get("/api/v1/platform/oauth/.well-known/openid-configuration").json
    assert document["revocation_endpoint"] == "http://localhost" + REVOKE_PATH
    assert document["revocation_endpoint_auth_methods_supported"] == \
        document["token_endpoint_auth_methods_supported"]


def test_a_refresh_token_revokes_its_family_and_the_access_tokens_issued_from_it(http, services, client, user):
    first = sign_in_tokens(http, client, scope="openid profile")
    second = refresh(http, client, first["refresh_token"]).json
    response = revoke(http, client, second["refresh_token"])
    assert response.body == b"" and response.headers["Cache-Control"] == "no-store"
    assert refresh(http, client, second["refresh_token"], status=400).json["error"] == "invalid_grant"
    for access_token in (first["access_token"], second["access_token"]):
        http.get(USERINFO_PATH, headers=bearer(access_token), status=401)
    [(client_id, detail)] = revocation_events(services)
    assert client_id == client["client_id"] and detail["token_type"] == "refresh_token"
    assert second["refresh_token"] not in json.dumps(detail)


def test_a_rotated_out_refresh_token_still_ends_its_family(http, client, user):
    first = sign_in_tokens(http, client)
    second = refresh(http, client, first["refresh_token"]).json
    revoke(http, client, first["refresh_token"])
    assert refresh(http, client, second["refresh_token"], status=400).json["error"] == "invalid_grant"
    http.get(USERINFO_PATH, headers=bearer(second["access_token"]), status=401)


def test_other_families_of_the_same_user_and_client_live_on(http, client, user):
    revoked = sign_in_tokens(http, client)
    kept = sign_in_tokens(http, client)
    revoke(http, client, revoked["refresh_token"])
    assert http.get(USERINFO_PATH, headers=bearer(kept["access_token"])).json["sub"]
    assert refresh(http, client, kept["refresh_token"]).json["access_token"]


def test_an_access_token_is_refused_by_userinfo_introspection_and_token_exchange(http, services, web, other, user):
    tokens = sign_in_tokens(http, web, scope="openid profile")
    revoke(http, web, tokens["access_token"], token_type_hint="access_token")
    response = http.get(USERINFO_PATH, headers=bearer(tokens["access_token"]), status=401)
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert introspect(http, web, tokens["access_token"]) == {"active": False}
    exchange = http.post("/api/v1/platform/oauth/token", {
        "grant_type": TOKEN_EXCHANGE, "subject_token": tokens["access_token"],
        "subject_token_type": ACCESS_TOKEN_TYPE, "audience": other["client_id"]},
        headers={"Authorization": basic(web["client_id"], web["client_secret"])}, status=400)
    assert exchange.json["error"] == "invalid_request"
    # The refresh token was not named, so it lives on, and so do the access tokens it brings.
    fresh = refresh(http, web, tokens["refresh_token"]).json
    assert http.get(USERINFO_PATH, headers=bearer(fresh["access_token"])).json["sub"]
    [(_, detail)] = revocation_events(services)
    assert detail["token_type"] == "access_token" and tokens["access_token"] not in json.dumps(detail)


def test_a_client_credentials_token_can_be_revoked(http, service_client):
    token = client_credentials(http, service_client).json["access_token"]
    assert introspect(http, service_client, token)["active"] is True
    revoke(http, service_client, token)
    assert introspect(http, service_client, token) == {"active": False}


def test_tokens_exchanged_from_a_revoked_grant_are_refused_too(http, web, other, user):
    tokens = sign_in_tokens(http, web, scope="openid profile")
    exchanged = http.post("/api/v1/platform/oauth/token", {
        "grant_type": TOKEN_EXCHANGE, "subject_token": tokens["access_token"],
        "subject_token_type": ACCESS_TOKEN_TYPE, "audience": other["client_id"]},
        headers={"Authorization": basic(web["client_id"], web["client_secret"])}).json["access_token"]
    assert introspect(http, other, exchanged)["active"] is True
    revoke(http, web, tokens["refresh_token"])
    assert introspect(http, other, exchanged) == {"active": False}


def test_another_clients_tokens_are_never_revoked(http, services, web, other, user):
    tokens = sign_in_tokens(http, web, scope="openid profile")
    exchanged = http.post("/api/v1/platform/oauth/token", {
        "grant_type": TOKEN_EXCHANGE, "subject_token": tokens["access_token"],
        "subject_token_type": ACCESS_TOKEN_TYPE, "audience": other["client_id"]},
        headers={"Authorization": basic(web["client_id"], web["client_secret"])}).json["access_token"]
    # Being the audience of a token does not make it yours: it was issued to web.
    for token in (tokens["refresh_token"], tokens["access_token"], exchanged):
        assert revoke(http, other, token).body == b""
    assert http.get(USERINFO_PATH, headers=bearer(tokens["access_token"])).json["sub"]
    assert introspect(http, other, exchanged)["active"] is True
    assert refresh(http, web, tokens["refresh_token"]).json["access_token"]
    assert revocation_events(services) == []


@pytest.mark.parametrize("token", ["not-a-token", "a.b.c", "x" * 5000, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
                                   "\u00e9t\u00e9"])
def test_unknown_tokens_answer_200_with_nothing_changed(http, services, client, user, token):
    tokens = sign_in_tokens(http, client)
    assert revoke(http, client, token).body == b""
    assert refresh(http, client, tokens["refresh_token"]).status_int == 200
    assert revocation_events(services) == []


def test_an_id_token_or_an_expired_access_token_changes_nothing(http, services, client, user, clock):
    tokens = sign_in_tokens(http, client)
    revoke(http, client, tokens["id_token"])
    assert http.get(USERINFO_PATH, headers=bearer(tokens["access_token"])).json["sub"]
    clock.advance(3600)
    revoke(http, client, tokens["access_token"])
    assert revocation_events(services) == []


def test_an_already_revoked_token_answers_200_and_changes_nothing(http, services, client, user):
    tokens = sign_in_tokens(http, client)
    revoke(http, client, tokens["refresh_token"])
    revoke(http, client, tokens["refresh_token"])
    revoke(http, client, tokens["access_token"])
    revoke(http, client, tokens["access_token"])
    assert [detail["token_type"] for _, detail in revocation_events(services)] == ["refresh_token", "access_token"]


def test_after_logout_revoking_the_refresh_token_is_harmless_and_its_access_tokens_stay_ended(http, client, user):
    """Logout ended the session's grants, access tokens included; the CLI's revoke call on logout still gets 200."""
    tokens = sign_in_tokens(http, client, scope="openid profile")
    http.get(LOGOUT_PATH, {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI},
             status=303)
    http.get(USERINFO_PATH, headers=bearer(tokens["access_token"]), status=401)
    revoke(http, client, tokens["refresh_token"])
    http.get(USERINFO_PATH, headers=bearer(tokens["access_token"]), status=401)


def test_a_reused_code_revokes_the_access_tokens_issued_from_it(http, client, user):
    authorization = get_code(http, client, scope="openid profile")
    tokens = exchange_code(http, client, authorization).json
    assert exchange_code(http, client, authorization, status=400).json["error"] == "invalid_grant"
    http.get(USERINFO_PATH, headers=bearer(tokens["access_token"]), status=401)


def test_a_reused_code_revokes_its_access_token_when_the_client_has_no_refresh_grant(http, make_client, user):
    no_refresh = web_client(make_client, grants=("authorization_code",), name="No Refresh App")
    authorization = get_code(http, no_refresh, scope="openid profile")
    tokens = exchange_code(http, no_refresh, authorization).json
    assert "refresh_token" not in tokens
    assert http.get(USERINFO_PATH, headers=bearer(tokens["access_token"])).json["sub"]
    assert exchange_code(http, no_refresh, authorization, status=400).json["error"] == "invalid_grant"
    http.get(USERINFO_PATH, headers=bearer(tokens["access_token"]), status=401)


def test_reusing_one_code_leaves_the_access_tokens_of_other_codes_alone(http, client, user):
    reused = get_code(http, client, scope="openid profile")
    exchange_code(http, client, reused)
    other = exchange_code(http, client, get_code(http, client, scope="openid profile")).json
    exchange_code(http, client, reused, status=400)
    assert http.get(USERINFO_PATH, headers=bearer(other["access_token"])).json["sub"]


def test_a_missing_token_is_422_before_client_authentication(http):
    response = http.post(REVOKE_PATH, {"client_id": "nobody"}, status=422)
    assert response.json == {"detail": [{"loc": ["body", "token"], "msg": "Field required", "type": "missing"}]}


@pytest.mark.parametrize("how", ["basic", "body"])
def test_a_wrong_secret_is_invalid_client_challenging_basic_only_when_basic_was_tried(http, web, user, how):
    tokens = sign_in_tokens(http, web)
    if how == "basic":
        response = http.post(REVOKE_PATH, {"token": tokens["refresh_token"]},
                             headers={"Authorization": basic(web["client_id"], "wrong")}, status=401)
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    else:
        response = http.post(REVOKE_PATH, {"token": tokens["refresh_token"], "client_id": web["client_id"],
                                           "client_secret": "wrong"}, status=401)
        assert "WWW-Authenticate" not in response.headers
    assert response.json["error"] == "invalid_client"
    assert refresh(http, web, tokens["refresh_token"]).status_int == 200


def test_a_confidential_client_may_authenticate_in_the_body(http, web, user):
    tokens = sign_in_tokens(http, web)
    http.post(REVOKE_PATH, {"token": tokens["refresh_token"], "client_id": web["client_id"],
                            "client_secret": web["client_secret"]}, status=200)
    assert refresh(http, web, tokens["refresh_token"], status=400).json["error"] == "invalid_grant"


def test_a_confidential_client_without_its_secret_revokes_nothing(http, web, user):
    tokens = sign_in_tokens(http, web)
    http.post(REVOKE_PATH, {"token": tokens["refresh_token"], "client_id": web["client_id"]}, status=401)
    assert refresh(http, web, tokens["refresh_token"]).status_int == 200


def test_revocations_are_pruned_once_the_tokens_they_cover_have_expired(http, services, client, user, clock):
    tokens = sign_in_tokens(http, client, scope="openid profile")
    revoke(http, client, tokens["access_token"])
    revoke(http, client, tokens["refresh_token"])
    clock.advance(3599)
    assert prune(services.database, clock.now())["token_revocation"] == 0
    http.get(USERINFO_PATH, headers=bearer(tokens["access_token"]), status=401)
    clock.advance(2)
    assert prune(services.database, clock.now())["token_revocation"] == 2


@pytest.mark.skipif(not os.environ.get("OAUTH_TEST_DATABASE_URL"),
                    reason="PostgreSQL's row locks and per-statement snapshots; SQLite has one writer at a time")
def test_a_rotation_committing_while_the_revocation_waits_for_its_lock_is_revoked_too(
        http, services, admin_database, client, user):
    tokens = sign_in_tokens(http, client)
    stored = refresh_tokens.find(services.database, tokens["refresh_token"])
    now = int(services.clock.now())
    revocation = GrantRevocation(services.database, services.config, services.tokens)
    with write_transaction(admin_database):
        # A refresh in flight: the presented token is rotated out and its successor inserted, not yet committed.
        assert refresh_tokens.mark_rotated(admin_database, stored.id, now)
        successor = refresh_tokens.create(
            admin_database, now=now, ttl=3600, application_id=stored.application_id, user_id=stored.user_id,
            tenant_id=stored.tenant_id, session_id=stored.session_id, scope=stored.scope, offline=stored.offline,
            auth_time=stored.auth_time, family_id=stored.family_id, parent_id=stored.id)
        owner = find_client(services.database, client["client_id"])

        def revoke_in_another_connection():
            try:
                revocation.revoke(owner, stored.family_id, now)
            finally:
                services.database.close()  # this thread's own connection
        worker = threading.Thread(target=revoke_in_another_connection)
        worker.start()
        for _ in range(500):  # until the revocation waits for the row lock the rotation holds
            if admin_database.execute_sql("SELECT COUNT(*) FROM pg_locks WHERE NOT granted").fetchone()[0]:
                break
            threading.Event().wait(0.01)
        else:
            raise AssertionError("the revocation never waited for the rotation's lock")
    worker.join(timeout=30)
    assert refresh_tokens.find(admin_database, successor).revoked_at is not None
