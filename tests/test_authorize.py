"""GET and POST /oauth/authorize (RFC 6749 §4.1.1-2, OIDC Core §3.1.2, RFC 7636, RFC 9207)."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.helpers import (AUTHORIZE_PATH, CONTENT_SECURITY_POLICY, EMAIL, ISSUER, REDIRECT_URI, authorize_params,
                           exchange_code, get_code, is_login_redirect, pkce_pair, redirect_query, set_application,
                           set_status, sign_in, verify_with_jwks, web_client)

REQUIRED = ("response_type", "client_id", "redirect_uri", "scope")


@pytest.fixture
def confidential(make_client):
    return web_client(make_client, public=False, name="Confidential App")


def send(http, method, params, status):
    if method == "GET":
        return http.get(AUTHORIZE_PATH, params, status=status)
    return http.post(AUTHORIZE_PATH, params, status=status)


def with_pkce(client, **overrides):
    _, challenge = pkce_pair()
    return authorize_params(client, **{"code_challenge": challenge, "code_challenge_method": "S256", **overrides})


def assert_error_page(response):
    assert response.status_int == 400
    assert response.content_type == "text/html"
    assert "Location" not in response.headers
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


# --- The request's shape: 422 ---------------------------------------------------------------------

@pytest.mark.parametrize("method, location", [("GET", "query"), ("POST", "body")])
@pytest.mark.parametrize("name", REQUIRED)
def test_a_missing_required_parameter_is_422_naming_it_and_where_it_belongs(http, client, method, location, name):
    response = send(http, method, with_pkce(client, **{name: None}), status=422)
    assert response.json == {"detail": [{"loc": [location, name], "msg": "Field required", "type": "missing"}]}
    assert "Location" not in response.headers


def test_every_missing_required_parameter_is_listed(http):
    response = http.get(AUTHORIZE_PATH, status=422)
    assert [entry["loc"] for entry in response.json["detail"]] == [["query", name] for name in REQUIRED]


def test_an_empty_required_parameter_counts_as_missing(http, client):
    response = http.get(AUTHORIZE_PATH, with_pkce(client, scope=""), status=422)
    assert response.json["detail"][0]["loc"] == ["query", "scope"]


def test_validation_runs_before_the_client_check(http):
    response = http.get(AUTHORIZE_PATH, {"response_type": "code", "client_id": "nobody",
                                         "redirect_uri": REDIRECT_URI}, status=422)
    assert response.json["detail"][0]["loc"] == ["query", "scope"]


# --- Client and redirect_uri: an HTML page, never a redirect ------------------------------------

def _unknown_client(services, make_client, make_tenant):
    return "no-such-client"


def _disabled_client(services, make_client, make_tenant):
    client = web_client(make_client)
    set_application(services, client, "status", "disabled")
    return client["client_id"]


def _tenant_client(services, make_client, make_tenant):
    make_tenant(slug="initech", name="Initech")
    return web_client(make_client, audience="tenant", tenant="initech")["client_id"]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("make_client_id", [_unknown_client, _disabled_client, _tenant_client],
                         ids=["unknown", "disabled", "tenant"])
def test_a_client_that_is_not_an_active_global_app_gets_an_error_page_and_no_redirect(
        http, services, make_client, make_tenant, method, make_client_id):
    client_id = make_client_id(services, make_client, make_tenant)
    _, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI, "scope": "openid",
              "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}
    assert_error_page(send(http, method, params, status=400))


@pytest.mark.parametrize("redirect_uri", [
    REDIRECT_URI + "x",
    REDIRECT_URI + "/extra",
    REDIRECT_URI + "?next=1",
    REDIRECT_URI + "#fragment",
    REDIRECT_URI.replace("app.example", "APP.example"),
    REDIRECT_URI.replace("callback", "Callback"),
    REDIRECT_URI + "/",
    REDIRECT_URI.replace("https://app.example", "https://app.example:443"),
    REDIRECT_URI.replace("https:", "http:"),
    "https://evil.example/callback",
], ids=["text-appended", "path-appended", "query-appended", "fragment-appended", "host-case", "path-case",
        "trailing-slash", "explicit-port", "other-scheme", "other-host"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_redirect_uri_that_is_not_registered_character_for_character_gets_an_error_page(
        http, client, redirect_uri, method):
    assert_error_page(send(http, method, with_pkce(client, redirect_uri=redirect_uri), status=400))


def test_the_client_checks_come_before_every_error_that_would_redirect(http, client):
    params = authorize_params(client, redirect_uri=REDIRECT_URI + "/extra", response_type="token",
                              scope="admin", code_challenge_method="plain")
    assert_error_page(http.get(AUTHORIZE_PATH, params, status=400))


# --- Other errors redirect with error, error_description, state and iss ------------------------------

@pytest.mark.parametrize("overrides, error", [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": "code id_token"}, "unsupported_response_type"),
    ({"scope": "openid admin"}, "invalid_scope"),
    ({"scope": 'openid bad"scope'}, "invalid_scope"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ({"code_challenge": "too-short"}, "invalid_request"),
    ({"code_challenge": "a" * 129}, "invalid_request"),
    ({"code_challenge": "a" * 42 + "+/="}, "invalid_request"),
    ({"code_challenge_method": None}, "invalid_request"),
    ({"code_challenge": None}, "invalid_request"),
    ({"prompt": "sometimes"}, "invalid_request"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"max_age": "soon"}, "invalid_request"),
], ids=["response-type-token", "response-type-hybrid", "scope-not-allowed", "scope-malformed", "pkce-plain",
        "pkce-missing-for-public-client", "challenge-too-short", "challenge-too-long", "challenge-bad-characters",
        "challenge-without-method", "method-without-challenge", "unknown-prompt", "prompt-none-combined",
        "max-age-not-a-number"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_errors_after_the_client_check_redirect_with_error_description_state_and_iss(
        http, client, overrides, error, method):
    response = send(http, method, with_pkce(client, state="st-42", **overrides), status=303)
    query = redirect_query(response)
    assert query["error"] == error
    assert query["error_description"]
    assert query["state"] == "st-42"
    assert query["iss"] == ISSUER
    assert "code" not in query


def test_a_client_without_the_authorization_code_grant_is_unauthorized_client(http, make_client):
    client = make_client(grants=["client_credentials"], redirect_uris=[REDIRECT_URI], scopes=["openid"])
    query = redirect_query(http.get(AUTHORIZE_PATH, authorize_params(client), status=303))
    assert query["error"] == "unauthorized_client"
    assert query["state"] == "state-123" and query["iss"] == ISSUER


def test_an_error_redirect_carries_no_state_when_none_was_sent(http, client):
    query = redirect_query(http.get(AUTHORIZE_PATH, with_pkce(client, state=None, response_type="token"),
                                    status=303))
    assert query["error"] == "unsupported_response_type"
    assert "state" not in query


def test_a_confidential_client_may_omit_pkce(http, confidential, user):
    authorization = get_code(http, confidential, pkce=False)
    assert authorization.code and authorization.verifier is None


# --- Sign-in, sessions and prompt --------------------------------------------------------------------

def test_without_a_session_the_browser_goes_to_the_login_page_on_this_host(http, client, user):
    response = http.get(AUTHORIZE_PATH, with_pkce(client), status=303)
    assert is_login_redirect(response)
    location = urlsplit(response.headers["Location"])
    assert not location.netloc
    next_path = parse_qs(location.query)["next"][0]
    assert next_path.startswith("/authorize/continue?request=")
    assert response.headers["Cache-Control"] == "no-store"


def test_the_state_comes_back_unchanged_with_the_code(http, client, user):
    state = "a state with spaces & symbols/?=é"
    authorization = get_code(http, client, state=state)
    assert authorization.state == state
    assert authorization.iss == ISSUER


def test_prompt_none_without_a_session_redirects_login_required(http, client, user):
    query = redirect_query(http.get(AUTHORIZE_PATH, with_pkce(client, prompt="none"), status=303))
    assert query["error"] == "login_required"
    assert query["state"] == "state-123" and query["iss"] == ISSUER
    assert "code" not in query


def test_prompt_none_with_a_session_issues_the_code_at_once(http, client, user):
    get_code(http, client)
    authorization = get_code(http, client, prompt="none")
    assert not authorization.login_shown
    assert exchange_code(http, client, authorization).json["access_token"]


def test_with_a_live_session_the_code_is_issued_without_the_login_page(http, client, user):
    first = get_code(http, client)
    assert first.login_shown
    second = get_code(http, client)
    assert not second.login_shown
    assert second.code != first.code
    assert exchange_code(http, client, second).json["access_token"]


def test_prompt_login_forces_a_new_sign_in_and_auth_time_shows_it(http, client, user, clock):
    first = exchange_code(http, client, get_code(http, client)).json
    first_auth_time = verify_with_jwks(http, first["id_token"], client["client_id"], clock=clock)["auth_time"]
    clock.advance(120)
    authorization = get_code(http, client, prompt="login")
    assert authorization.login_shown
    claims = verify_with_jwks(http, exchange_code(http, client, authorization).json["id_token"],
                              client["client_id"], clock=clock)
    assert claims["auth_time"] == first_auth_time + 120 == int(clock.now())


def test_prompt_login_forces_a_sign_in_even_within_the_second_of_the_last_one(http, client, user):
    get_code(http, client)
    assert get_code(http, client, prompt="login").login_shown


def test_after_a_prompt_login_sign_in_the_new_session_is_reused(http, client, user, clock):
    get_code(http, client)
    clock.advance(60)
    assert get_code(http, client, prompt="login").login_shown
    assert not get_code(http, client).login_shown


def test_prompt_login_cannot_be_skipped_by_resuming_with_the_old_session(http, client, user, clock):
    get_code(http, client)
    clock.advance(60)
    response = http.get(AUTHORIZE_PATH, with_pkce(client, prompt="login"), status=303)
    assert is_login_redirect(response)
    next_path = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
    assert is_login_redirect(http.get(next_path, status=303))


def test_an_authentication_older_than_max_age_forces_a_new_sign_in(http, client, user, clock):
    get_code(http, client)
    clock.advance(301)
    authorization = get_code(http, client, max_age="300")
    assert authorization.login_shown
    claims = verify_with_jwks(http, exchange_code(http, client, authorization).json["id_token"],
                              client["client_id"], clock=clock)
    assert claims["auth_time"] == int(clock.now())


def test_an_authentication_within_max_age_is_reused(http, client, user, clock):
    get_code(http, client)
    clock.advance(299)
    assert not get_code(http, client, max_age="300").login_shown


def test_prompt_none_with_an_authentication_older_than_max_age_is_login_required(http, client, user, clock):
    get_code(http, client)
    clock.advance(301)
    query = redirect_query(http.get(AUTHORIZE_PATH, with_pkce(client, prompt="none", max_age="300"), status=303))
    assert query["error"] == "login_required"


@pytest.mark.parametrize("overrides", [{"max_age": "0"}, {"max_age": "1"}, {"prompt": "login"}])
def test_the_sign_in_a_request_asked_for_satisfies_it_even_a_second_later(http, client, user, clock, overrides):
    get_code(http, client)
    clock.advance(60)
    response = http.get(AUTHORIZE_PATH, with_pkce(client, **overrides), status=303)
    assert is_login_redirect(response)
    continue_response = sign_in(http, page=response.follow())
    clock.advance(2)
    query = redirect_query(http.get(continue_response.headers["Location"], status=303))
    assert query["code"]


@pytest.mark.parametrize("suspend", ["user", "tenant"])
def test_the_session_of_a_suspended_user_no_longer_signs_in(http, services, client, user, suspend):
    get_code(http, client)
    set_status(services, suspend, user["id"] if suspend == "user" else user["tenant_id"], "suspended")
    query = redirect_query(http.get(AUTHORIZE_PATH, with_pkce(client, prompt="none"), status=303))
    assert query["error"] == "login_required"
    assert is_login_redirect(http.get(AUTHORIZE_PATH, with_pkce(client), status=303))


def test_login_hint_prefills_the_email(http, client, user):
    response = http.get(AUTHORIZE_PATH, with_pkce(client, login_hint=EMAIL), status=303)
    page = response.follow()
    assert page.forms[0]["email"].value == EMAIL


def test_markup_in_login_hint_comes_back_escaped(http, client):
    hint = '"><script>alert(1)</script>'
    page = http.get(AUTHORIZE_PATH, with_pkce(client, login_hint=hint), status=303).follow()
    assert "<script>" not in page.text
    assert page.html.find("script") is None
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert page.forms[0]["email"].value == hint


def test_unknown_parameters_are_ignored(http, client, user):
    authorization = get_code(http, client, foo="bar", ui_locales="de", claims_locales="fr")
    assert exchange_code(http, client, authorization).json["access_token"]


def test_a_registered_redirect_uri_with_a_query_keeps_it_and_gets_the_code_appended(http, make_client, user):
    redirect_uri = "https://app.example/cb?tenant=x&mode=full"
    client = web_client(make_client, redirect_uris=[redirect_uri])
    authorization = get_code(http, client, redirect_uri=redirect_uri)
    assert authorization.code
    assert exchange_code(http, client, authorization).json["access_token"]


def test_an_error_redirect_also_keeps_the_registered_query(http, make_client):
    redirect_uri = "https://app.example/cb?tenant=x"
    client = web_client(make_client, redirect_uris=[redirect_uri])
    response = http.get(AUTHORIZE_PATH, with_pkce(client, redirect_uri=redirect_uri, scope="admin"), status=303)
    query = redirect_query(response, redirect_uri)
    assert query["tenant"] == "x" and query["error"] == "invalid_scope"


@pytest.mark.parametrize("repeated", ["scope", "client_id", "redirect_uri", "state"])
def test_a_repeated_parameter_is_an_error_page_and_never_redirects(http, client, repeated):
    params = list(with_pkce(client).items())
    params.append((repeated, dict(params)[repeated]))
    response = http.get(AUTHORIZE_PATH + "?" + urlencode(params), status=400)
    assert "Location" not in response.headers
    assert response.content_type == "text/html"
    assert f"Parameter &#x27;{repeated}&#x27; is repeated" in response.text


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_post_authorize_with_the_same_parameters_as_a_form_works(http, client, user, method, clock):
    authorization = get_code(http, client, method=method, nonce="n-1")
    assert authorization.login_shown
    body = exchange_code(http, client, authorization).json
    assert verify_with_jwks(http, body["id_token"], client["client_id"], clock=clock)["nonce"] == "n-1"


def test_a_sign_in_link_works_once(http, client, user):
    response = http.get(AUTHORIZE_PATH, with_pkce(client), status=303)
    continue_response = sign_in(http, page=response.follow())
    next_path = continue_response.headers["Location"]
    assert redirect_query(http.get(next_path, status=303))["code"]
    assert http.get(next_path, status=400).content_type == "text/html"


def test_a_sign_in_link_expires(http, client, user, clock):
    response = http.get(AUTHORIZE_PATH, with_pkce(client), status=303)
    page = response.follow()
    clock.advance(1801)
    continue_response = sign_in(http, page=page)
    assert http.get(continue_response.headers["Location"], status=400).content_type == "text/html"
