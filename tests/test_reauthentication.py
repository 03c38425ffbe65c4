"""prompt=login and max_age=0 force a new sign-in, even within the second of the last one (OIDC Core §3.1.2.1).

Issue 13 item 4 and issue 14 item 7: whole-second auth times let a sign-in made in the same second
as the request stand for the one the request asked for. The clock does not move in these tests unless
a test says so: every step happens within one second.
"""

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers import (AUTHORIZE_PATH, authorize_params, exchange_code, get_code, is_login_redirect, pkce_pair,
                           redirect_query, sign_in, verify_with_jwks)

FORCING = pytest.mark.parametrize("overrides", [{"prompt": "login"}, {"max_age": "0"}],
                                  ids=["prompt-login", "max-age-0"])


def with_pkce(client, **overrides):
    _, challenge = pkce_pair()
    return authorize_params(client, **{"code_challenge": challenge, "code_challenge_method": "S256", **overrides})


def next_path(response):
    return parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]


@FORCING
def test_a_forcing_request_in_the_same_second_as_the_sign_in_shows_the_login_page(http, client, user, overrides):
    get_code(http, client)
    assert get_code(http, client, **overrides).login_shown


@FORCING
def test_a_forcing_request_cannot_be_resumed_with_the_sign_in_of_the_same_second(http, client, user, clock, overrides):
    get_code(http, client)
    clock.advance(0.4)
    response = http.get(AUTHORIZE_PATH, with_pkce(client, **overrides), status=303)
    assert is_login_redirect(response)
    assert is_login_redirect(http.get(next_path(response), status=303))


@FORCING
def test_the_sign_in_made_for_the_request_satisfies_it_within_the_same_second(http, client, user, clock, overrides):
    first = exchange_code(http, client, get_code(http, client)).json
    authorization = get_code(http, client, **overrides)
    assert authorization.login_shown
    second = exchange_code(http, client, authorization).json
    claims = verify_with_jwks(http, second["id_token"], client["client_id"], clock=clock)
    assert claims["auth_time"] == verify_with_jwks(http, first["id_token"], client["client_id"],
                                                   clock=clock)["auth_time"]


@FORCING
def test_a_sign_in_made_for_another_request_does_not_satisfy_this_one(http, client, user, overrides):
    get_code(http, client)
    waiting = http.get(AUTHORIZE_PATH, with_pkce(client, **overrides), status=303)
    assert get_code(http, client, **overrides).login_shown  # a second request, signed in for
    assert is_login_redirect(http.get(next_path(waiting), status=303))


def test_max_age_0_with_prompt_none_is_login_required(http, client, user):
    get_code(http, client)
    query = redirect_query(http.get(AUTHORIZE_PATH, with_pkce(client, prompt="none", max_age="0"), status=303))
    assert query["error"] == "login_required"


def test_a_request_without_prompt_resumes_with_a_sign_in_made_elsewhere(http, client, user):
    """Only forcing requests need the sign-in made for them; a plain one takes any live session."""
    waiting = http.get(AUTHORIZE_PATH, with_pkce(client), status=303)
    assert sign_in(http).status_int == 200
    query = redirect_query(http.get(next_path(waiting), status=303))
    assert query["code"]
