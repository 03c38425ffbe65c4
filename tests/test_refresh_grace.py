"""The refresh grace window (client create --refresh-grace-seconds N, DESIGN endpoint 8): a response lost
on the way may be asked for again with the token just rotated out, within N seconds and only that token."""

import pytest

from app.store import refresh_tokens

from tests.helpers import USERINFO_PATH, bearer, refresh, sign_in_tokens, web_client

GRACE = 30


@pytest.fixture
def graceful(make_client):
    return web_client(make_client, refresh_grace_seconds=GRACE)


def audit_events(services, event):
    p = services.database.param
    return services.database.execute_sql(f"SELECT detail FROM audit_event WHERE event = {p}", (event,)).fetchall()


def live_tokens(services, refresh_token_family):
    p = services.database.param
    return services.database.execute_sql(
        f"SELECT COUNT(*) FROM refresh_token WHERE family_id = {p} AND rotated_at IS NULL AND revoked_at IS NULL",
        (refresh_token_family,)).fetchone()[0]


def family_of(services, refresh_token):
    return refresh_tokens.find(services.database, refresh_token).family_id


def test_within_the_window_the_rotated_out_token_gets_a_fresh_pair_in_the_same_family(
        http, services, graceful, user, clock):
    first = sign_in_tokens(http, graceful, scope="openid profile")["refresh_token"]
    family = family_of(services, first)
    lost = refresh(http, graceful, first).json  # the response that never reached the client
    clock.advance(GRACE - 1)
    again = refresh(http, graceful, first).json
    assert again["refresh_token"] not in (first, lost["refresh_token"])
    assert again["scope"] == "openid profile"
    assert family_of(services, again["refresh_token"]) == family
    assert live_tokens(services, family) == 1
    assert http.get(USERINFO_PATH, headers=bearer(again["access_token"])).json["sub"]
    assert refresh(http, graceful, again["refresh_token"]).json["refresh_token"]
    assert len(audit_events(services, "refresh_token.grace_reuse")) == 1


def test_the_successor_that_was_never_received_is_retired_so_the_family_never_splits(http, graceful, user, clock):
    first = sign_in_tokens(http, graceful)["refresh_token"]
    lost = refresh(http, graceful, first).json["refresh_token"]
    again = refresh(http, graceful, first).json["refresh_token"]
    # Whoever holds the retired successor (a thief who raced the client) brings the whole family down.
    assert refresh(http, graceful, lost, status=400).json["error"] == "invalid_grant"
    assert refresh(http, graceful, again, status=400).json["error"] == "invalid_grant"


def test_after_the_window_reuse_revokes_the_family(http, services, graceful, user, clock):
    first = sign_in_tokens(http, graceful)
    second = refresh(http, graceful, first["refresh_token"]).json
    clock.advance(GRACE)
    assert refresh(http, graceful, first["refresh_token"], status=400).json["error"] == "invalid_grant"
    assert refresh(http, graceful, second["refresh_token"], status=400).json["error"] == "invalid_grant"
    # The reuse revoked the grant, so the access tokens issued from it are refused too.
    http.get(USERINFO_PATH, headers=bearer(second["access_token"]), status=401)
    assert len(audit_events(services, "refresh_token.reuse_detected")) == 1


def test_only_the_immediately_previous_token_qualifies(http, graceful, user, clock):
    first = sign_in_tokens(http, graceful)["refresh_token"]
    second = refresh(http, graceful, first).json["refresh_token"]
    third = refresh(http, graceful, second).json["refresh_token"]
    clock.advance(1)
    # first's successor (second) was used: first is two rotations back, and reuse revokes the family.
    assert refresh(http, graceful, first, status=400).json["error"] == "invalid_grant"
    assert refresh(http, graceful, third, status=400).json["error"] == "invalid_grant"


def test_the_previous_token_may_come_back_more_than_once_within_the_window(http, graceful, user, clock):
    first = sign_in_tokens(http, graceful)["refresh_token"]
    refresh(http, graceful, first)
    refresh(http, graceful, first)
    clock.advance(GRACE - 1)
    last = refresh(http, graceful, first).json["refresh_token"]
    assert refresh(http, graceful, last).json["access_token"]


def test_without_a_grace_window_the_previous_token_is_reuse_at_once(http, client, user):
    first = sign_in_tokens(http, client)["refresh_token"]
    second = refresh(http, client, first).json["refresh_token"]
    assert refresh(http, client, first, status=400).json["error"] == "invalid_grant"
    assert refresh(http, client, second, status=400).json["error"] == "invalid_grant"


def test_a_revoked_family_gets_no_grace(http, graceful, user):
    first = sign_in_tokens(http, graceful)["refresh_token"]
    second = refresh(http, graceful, first).json["refresh_token"]
    http.post("/api/v1/platform/oauth/revoke", {"token": second, "client_id": graceful["client_id"]}, status=200)
    assert refresh(http, graceful, first, status=400).json["error"] == "invalid_grant"


def test_grace_does_not_outlive_the_token_itself(http, make_client, user, clock):
    short = web_client(make_client, refresh_grace_seconds=GRACE, refresh_token_ttl=100)
    first = sign_in_tokens(http, short, scope="openid offline_access")["refresh_token"]
    clock.advance(95)
    refresh(http, short, first)
    clock.advance(10)
    assert refresh(http, short, first, status=400).json["error"] == "invalid_grant"


def test_the_grace_retry_may_narrow_scope_but_never_widen_it(http, graceful, user):
    first = sign_in_tokens(http, graceful, scope="openid profile")["refresh_token"]
    refresh(http, graceful, first)
    assert refresh(http, graceful, first, scope="openid email", status=400).json["error"] == "invalid_scope"
    narrowed = refresh(http, graceful, first, scope="openid").json
    assert narrowed["scope"] == "openid"
    assert refresh(http, graceful, narrowed["refresh_token"]).json["scope"] == "openid profile"
