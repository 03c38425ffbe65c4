"""The consent page and remembered consent (OIDC Core §3.1.2.4, §3.1.2.6; DESIGN endpoint 3)."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers import (AUTHORIZE_PATH, CONTENT_SECURITY_POLICY, ISSUER, LOGIN_PATH, Authorization,
                           authorize_params, exchange_code, is_login_redirect, pkce_pair, redirect_query, set_status,
                           sign_in, web_client)

CONSENT_PATH = "/authorize/consent"
RESUME_PATH = "/authorize/continue"


@pytest.fixture
def partner(make_client):
    """A third-party application: created with --require-consent."""
    return web_client(make_client, name="Partner Notes", require_consent=True)


def start(http, client, **params):
    """GET /authorize with PKCE; returns (response, code_verifier)."""
    verifier, challenge = pkce_pair()
    params = authorize_params(client, code_challenge=challenge, code_challenge_method="S256", **params)
    return http.get(AUTHORIZE_PATH, params, status=303), verifier


def is_consent_redirect(response):
    return response.status_int == 303 and urlsplit(response.headers["Location"]).path == CONSENT_PATH


def consent_page(http, client, **params):
    """Authorize, signing in if asked, up to the consent page; returns (page, code_verifier)."""
    response, verifier = start(http, client, **params)
    if is_login_redirect(response):
        response = sign_in(http, page=response.follow()).follow(status=303)
    assert is_consent_redirect(response), response.headers["Location"]
    page = response.follow(status=200)
    return page, verifier


def answer(page, action, status=303):
    return page.forms[0].submit("action", value=action, status=status)


def audit_rows(services, event):
    return services.database.execute_sql(
        f"SELECT client_id, user_id, tenant_id, detail FROM audit_event WHERE event = {services.database.param}",
        (event,)).fetchall()


def request_id_of(page):
    return page.forms[0]["request"].value


# --- Who is asked ---------------------------------------------------------------------------------------

def test_a_require_consent_client_shows_the_consent_page_after_sign_in(http, partner, user):
    page, _ = consent_page(http, partner, scope="openid profile email")
    assert page.content_type == "text/html"
    assert '<html lang="en">' in page.text
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "Allow Partner Notes to use your account?" in page.text
    for description in ("Sign you in and know who you are", "See your name", "See your email address"):
        assert description in page.text
    assert "ada@example.com" in page.text and "app.example" in page.text
    form = page.forms[0]
    assert form.action == CONSENT_PATH and form.method.lower() == "post"
    assert form["csrf_token"].value and form["request"].value and form["sid"].value
    assert [b.value_if_submitted() for b in form.fields["action"]] == ["allow", "deny"]


def test_a_first_party_client_skips_the_page(http, client, signed_in):
    response, _ = start(http, client)
    assert "code" in redirect_query(response)


def test_prompt_consent_asks_a_first_party_client_too(http, client, signed_in):
    page, _ = consent_page(http, client, prompt="consent")
    assert "Allow Web App to use your account?" in page.text


def test_prompt_consent_asks_again_even_when_consent_is_remembered(http, partner, signed_in):
    page, _ = consent_page(http, partner)
    answer(page, "allow")
    consent_page(http, partner, prompt="consent")


def test_without_a_session_the_person_signs_in_first_then_sees_the_page(http, partner, user):
    response, _ = start(http, partner)
    assert is_login_redirect(response)
    after_sign_in = sign_in(http, page=response.follow())
    assert urlsplit(after_sign_in.headers["Location"]).path == RESUME_PATH
    assert is_consent_redirect(after_sign_in.follow(status=303))


# --- Allow and Deny ------------------------------------------------------------------------------------

def test_allow_issues_a_code_with_state_and_iss_that_redeems(http, services, partner, user):
    page, verifier = consent_page(http, partner, scope="openid profile")
    query = redirect_query(answer(page, "allow"))
    assert query["state"] == "state-123" and query["iss"] == ISSUER
    tokens = exchange_code(http, partner, Authorization(query["code"], query["state"], query["iss"],
                                                        partner["redirect_uris"][0], verifier, True)).json
    assert tokens["scope"] == "openid profile" and tokens["id_token"]
    ((client_id, user_id, tenant_id, detail),) = audit_rows(services, "consent.given")
    assert (client_id, user_id, tenant_id) == (partner["client_id"], user["id"], user["tenant_id"])
    assert json.loads(detail)["scope"] == "openid profile"


def test_deny_sends_access_denied_with_state_and_iss_and_no_code(http, services, partner, user):
    page, _ = consent_page(http, partner)
    query = redirect_query(answer(page, "deny"))
    assert query["error"] == "access_denied" and "code" not in query
    assert query["state"] == "state-123" and query["iss"] == ISSUER
    ((client_id, user_id, _, _),) = audit_rows(services, "consent.denied")
    assert (client_id, user_id) == (partner["client_id"], user["id"])
    assert audit_rows(services, "consent.given") == []


def test_deny_is_not_remembered_the_next_request_asks_again(http, partner, signed_in):
    answer(consent_page(http, partner)[0], "deny")
    consent_page(http, partner)


# --- Remembered per user, client and scopes ----------------------------------------------------------

def test_a_request_for_no_new_scopes_goes_straight_through(http, partner, signed_in):
    answer(consent_page(http, partner, scope="openid profile email")[0], "allow")
    for scope in ("openid profile email", "openid email", "openid"):
        response, _ = start(http, partner, scope=scope)
        assert "code" in redirect_query(response), scope


def test_new_scopes_ask_again_and_then_are_remembered_too(http, partner, signed_in):
    answer(consent_page(http, partner, scope="openid")[0], "allow")
    page, _ = consent_page(http, partner, scope="openid email")
    assert "See your email address" in page.text
    answer(page, "allow")
    response, _ = start(http, partner, scope="openid email")
    assert "code" in redirect_query(response)


def sign_in_as_bo(http):
    """Bo signs in in the same browser (the login page, as when someone else is already signed in)."""
    sign_in(http, "bo@example.com", "bo's own password", page=http.get(LOGIN_PATH, {"next": "/"}))


def test_consent_is_per_user(http, services, partner, signed_in, make_user):
    make_user(email="bo@example.com", password="bo's own password")
    answer(consent_page(http, partner)[0], "allow")
    sign_in_as_bo(http)
    consent_page(http, partner)


def test_consent_is_per_client(http, partner, make_client, signed_in):
    answer(consent_page(http, partner)[0], "allow")
    other = web_client(make_client, name="Other Partner", require_consent=True)
    consent_page(http, other)


# --- prompt=none ---------------------------------------------------------------------------------------

def test_prompt_none_without_consent_is_consent_required(http, partner, signed_in):
    response, _ = start(http, partner, prompt="none")
    query = redirect_query(response)
    assert query["error"] == "consent_required" and "code" not in query
    assert query["state"] == "state-123" and query["iss"] == ISSUER


def test_prompt_none_with_remembered_consent_issues_a_code(http, partner, signed_in):
    answer(consent_page(http, partner)[0], "allow")
    response, _ = start(http, partner, prompt="none")
    assert "code" in redirect_query(response)


def test_prompt_none_with_new_scopes_is_consent_required(http, partner, signed_in):
    answer(consent_page(http, partner, scope="openid")[0], "allow")
    response, _ = start(http, partner, prompt="none", scope="openid email")
    assert redirect_query(response)["error"] == "consent_required"


def test_prompt_none_without_a_session_is_still_login_required(http, partner, user):
    response, _ = start(http, partner, prompt="none")
    assert redirect_query(response)["error"] == "login_required"


# --- One use, CSRF, and no way around the page ---------------------------------------------------------

def test_an_answered_request_cannot_be_answered_again(http, partner, signed_in):
    page, _ = consent_page(http, partner)
    assert "code" in redirect_query(answer(page, "allow"))
    again = answer(page, "allow", status=400)
    assert "This sign-in link has expired" in again.text and "Location" not in again.headers


def test_a_denied_request_cannot_be_allowed_afterwards(http, partner, signed_in):
    page, _ = consent_page(http, partner)
    answer(page, "deny")
    assert "Location" not in answer(page, "allow", status=400).headers
    resumed = http.get(RESUME_PATH, {"request": request_id_of(page)}, status=400)
    assert "Location" not in resumed.headers


def test_the_resume_path_cannot_skip_the_page(http, partner, signed_in):
    page, _ = consent_page(http, partner)
    resumed = http.get(RESUME_PATH, {"request": request_id_of(page)}, status=303)
    assert is_consent_redirect(resumed)


@pytest.mark.parametrize("token", [None, "", "not-the-cookie-value-but-long-enough-to-look-real"])
def test_an_answer_without_the_right_csrf_token_is_403_and_changes_nothing(
        http, services, partner, signed_in, token):
    page, _ = consent_page(http, partner)
    form = {"request": request_id_of(page), "sid": page.forms[0]["sid"].value, "action": "allow"}
    if token is not None:
        form["csrf_token"] = token
    refused = http.post(CONSENT_PATH, form, status=403)
    assert "Location" not in refused.headers
    assert audit_rows(services, "consent.given") == []
    assert "code" in redirect_query(answer(page, "allow"))  # the request is still open


@pytest.mark.parametrize("action", [None, "approve", "ALLOW"])
def test_an_answer_other_than_allow_or_deny_is_400(http, partner, signed_in, action):
    page, _ = consent_page(http, partner)
    form = {field: page.forms[0][field].value for field in ("csrf_token", "request", "sid")}
    if action is not None:
        form["action"] = action
    assert "Location" not in http.post(CONSENT_PATH, form, status=400).headers
    assert "code" in redirect_query(answer(page, "allow"))


@pytest.mark.parametrize("request_id", [None, "", "no-such-request"])
def test_an_unknown_request_is_an_error_page(http, signed_in, request_id):
    params = {} if request_id is None else {"request": request_id}
    page = http.get(CONSENT_PATH, params, status=400)
    assert "This sign-in link has expired" in page.text
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_an_expired_request_cannot_be_allowed(http, services, partner, signed_in, clock):
    page, _ = consent_page(http, partner)
    clock.advance(services.config.authorization_request_ttl + 1)
    assert "Location" not in answer(page, "allow", status=400).headers


def test_after_sign_out_the_page_and_the_answer_send_the_person_to_sign_in(http, partner, signed_in):
    page, _ = consent_page(http, partner)
    http.reset()  # the session cookie is gone (and with it the CSRF cookie)
    assert is_login_redirect(http.get(CONSENT_PATH, {"request": request_id_of(page)}, status=303))


def test_an_answer_without_a_session_sends_the_person_to_sign_in_and_issues_nothing(
        http, services, partner, signed_in):
    page, _ = consent_page(http, partner)
    services.database.execute_sql("UPDATE sso_session SET ended_at = 1")
    response = answer(page, "allow")
    assert is_login_redirect(response)
    assert audit_rows(services, "consent.given") == []


def test_a_suspended_user_cannot_allow(http, services, partner, signed_in):
    page, _ = consent_page(http, partner)
    set_status(services, "user", signed_in["id"], "suspended")
    assert is_login_redirect(answer(page, "allow"))


def test_an_answer_from_another_account_than_the_page_was_shown_to_shows_the_page_again(
        http, services, partner, user, make_user):
    make_user(email="bo@example.com", password="bo's own password")
    page, _ = consent_page(http, partner)
    sign_in_as_bo(http)  # another tab, another account
    # Bo's sign-in renewed the CSRF pre-session (issue 13 item 6): Ada's page as it stands is refused...
    assert answer(page, "allow", status=403).status_int == 403
    # ...and with the current token the account check still tells the answer is not Bo's.
    page.forms[0]["csrf_token"] = http.get(LOGIN_PATH, {"next": "/"}).forms[0]["csrf_token"].value
    response = answer(page, "allow")
    assert is_consent_redirect(response)
    assert audit_rows(services, "consent.given") == []
    shown_to_bo = response.follow(status=200)
    assert "bo@example.com" in shown_to_bo.text
    assert "code" in redirect_query(answer(shown_to_bo, "allow"))


def test_the_application_name_is_escaped(http, make_client, signed_in):
    evil = web_client(make_client, name='Evil <script>alert(1)</script> "App"', require_consent=True)
    page, _ = consent_page(http, evil)
    assert "<script>" not in page.text
    assert "Evil &lt;script&gt;alert(1)&lt;/script&gt; &quot;App&quot;" in page.text


def test_a_custom_scheme_redirect_is_named_by_its_scheme(http, make_client, signed_in):
    app = web_client(make_client, redirect_uris=["com.example.notes:/oauth"], require_consent=True)
    page, _ = consent_page(http, app)
    assert "com.example.notes:" in page.text
    location = answer(page, "allow").headers["Location"]
    assert location.startswith("com.example.notes:/oauth?") and "code" in parse_qs(urlsplit(location).query)


def test_a_page_left_open_while_consent_was_given_elsewhere_goes_straight_on(http, partner, signed_in):
    first, _ = consent_page(http, partner)
    second, _ = consent_page(http, partner)
    answer(first, "allow")
    resumed = http.get(CONSENT_PATH, {"request": request_id_of(second)}, status=303)
    assert urlsplit(resumed.headers["Location"]).path == RESUME_PATH
    assert "code" in redirect_query(resumed.follow(status=303))


def test_prompt_login_and_consent_signs_in_again_then_asks(http, client, signed_in):
    response, _ = start(http, client, prompt="login consent")
    assert is_login_redirect(response)
    after = sign_in(http, page=response.follow()).follow(status=303)
    assert is_consent_redirect(after)
    assert "code" in redirect_query(answer(after.follow(status=200), "allow"))
