"""The tenant-agnostic login pages: /login (email, then password) and /login/tenant (the chooser)."""

import pytest
import webtest

from app.application import create_app
from app.config import Config
from tests.helpers import (AUTHORIZE_PATH, CONTENT_SECURITY_POLICY, CSRF_COOKIE, EMAIL, LOGIN_PATH, LOGOUT_PATH,
                           PASSWORD, SESSION_COOKIE, USERINFO_PATH, authorize_params, bearer, exchange_code, get_code,
                           pkce_pair, redirect_query, refresh, set_status, sign_in, sign_in_tokens, verify_with_jwks)

WRONG_CREDENTIALS = "The email address or password is incorrect."
SHARED = "sam@example.com"        # in acme and globex, same password: the chooser appears
SPLIT = "kim@example.com"         # in acme and globex, a different password in each


@pytest.fixture
def acme(tenant):
    """conftest's tenant (Acme, where `user` lives), named beside globex."""
    return tenant


@pytest.fixture
def globex(make_tenant):
    return make_tenant(slug="globex", name="Globex Corporation")


@pytest.fixture
def shared(acme, globex, make_user):
    """The same email and password in two tenants: {slug: user}."""
    return {slug: make_user(tenant=slug, email=SHARED, password=PASSWORD) for slug in ("acme", "globex")}


def email_step(http, email, next_path=None):
    page = http.get(LOGIN_PATH, {"next": next_path} if next_path else {})
    form = page.forms[0]
    form["email"] = email
    return form.submit()


def chooser(http, next_path=None, email=SHARED):
    page = sign_in(http, email, PASSWORD, page=http.get(LOGIN_PATH, {"next": next_path} if next_path else {}))
    assert page.status_int == 200 and page.forms[0].action == "/login/tenant", page.text
    return page


def signed_in_tenant(http, client, clock, **kwargs):
    """Sign in through /authorize; the tenant_id the ID token names and the tenant slug userinfo gives."""
    body = exchange_code(http, client, get_code(http, client, scope="openid", **kwargs)).json
    claims = verify_with_jwks(http, body["id_token"], client["client_id"], clock=clock)
    return claims["tenant_id"], http.get(USERINFO_PATH, headers=bearer(body["access_token"])).json["tenant"]


def prompt_none(http, client):
    _, challenge = pkce_pair()
    response = http.get(AUTHORIZE_PATH, authorize_params(client, prompt="none", code_challenge=challenge,
                                                         code_challenge_method="S256"), status=303)
    return redirect_query(response)


# --- Email, then password --------------------------------------------------------------------------

def test_the_email_step_leads_to_the_password_step(http, user):
    page = http.get(LOGIN_PATH)
    assert [field.name for field in page.forms[0].fields.get("email", [])] == ["email"]
    assert "password" not in page.forms[0].fields
    page = email_step(http, EMAIL)
    form = page.forms[0]
    assert form["email"].value == EMAIL
    assert "password" in form.fields
    form["password"] = PASSWORD
    response = form.submit()
    assert response.status_int == 200
    assert "You are signed in" in response.text and "Acme Inc." in response.text
    assert http.cookies.get(SESSION_COOKIE)


def test_the_email_is_matched_without_regard_to_case_or_surrounding_spaces(http, user):
    response = sign_in(http, "  Ada@Example.COM ", PASSWORD)
    assert "You are signed in" in response.text


def test_the_password_page_appears_for_an_unknown_email_too(http, user):
    known = email_step(http, EMAIL)
    unknown = email_step(http, "nobody@example.com")
    assert unknown.status_int == known.status_int == 200
    assert unknown.forms[0]["email"].value == "nobody@example.com"
    assert unknown.text.replace("nobody@example.com", "X") == known.text.replace(EMAIL, "X")


def test_a_wrong_password_and_an_unknown_email_give_byte_identical_pages(http, user):
    wrong_password = sign_in(http, EMAIL, "not the password")
    unknown_email = sign_in(http, "nobody@example.com", PASSWORD)
    assert wrong_password.status_int == unknown_email.status_int == 200
    assert WRONG_CREDENTIALS in wrong_password.text
    assert wrong_password.body == unknown_email.body
    assert SESSION_COOKIE not in http.cookies


def test_an_empty_email_asks_for_one(http, user):
    response = email_step(http, "")
    assert "Enter your email address." in response.text
    assert "password" not in response.forms[0].fields


# --- CSRF ------------------------------------------------------------------------------------------

def _no_field(form, cookie):
    return {name: value for name, value in form.items() if name != "csrf_token"}, cookie


def _wrong_field(form, cookie):
    return {**form, "csrf_token": "x" * 43}, cookie


def _no_cookie(form, cookie):
    return form, None


def _other_browsers_pair(form, cookie):
    token = "y" * 43
    return {**form, "csrf_token": token}, "z" * 43


CSRF_FAULTS = pytest.mark.parametrize("fault", [_no_field, _wrong_field, _no_cookie, _other_browsers_pair],
                                      ids=["field-missing", "field-wrong", "cookie-missing", "cookie-and-field-differ"])


def post_with_csrf_fault(http, path, form, fault):
    cookie = http.cookies[CSRF_COOKIE]
    form, cookie = fault(form, cookie)
    http.reset()
    if cookie is not None:
        http.set_cookie(CSRF_COOKIE, cookie)
    return http.post(path, form, expect_errors=True)


@CSRF_FAULTS
def test_login_without_the_right_csrf_token_is_403(http, user, fault):
    page = email_step(http, EMAIL)
    form = dict(page.forms[0].submit_fields())
    form["password"] = PASSWORD
    response = post_with_csrf_fault(http, LOGIN_PATH, form, fault)
    assert response.status_int == 403
    assert response.content_type == "text/html"
    assert SESSION_COOKIE not in http.cookies


def test_login_with_the_right_csrf_token_succeeds(http, user):
    page = email_step(http, EMAIL)
    form = dict(page.forms[0].submit_fields())
    form["password"] = PASSWORD
    assert "You are signed in" in http.post(LOGIN_PATH, form).text


@CSRF_FAULTS
def test_the_tenant_chooser_without_the_right_csrf_token_is_403(http, shared, fault):
    form = dict(chooser(http).forms[0].submit_fields())
    form["tenant"] = "globex"
    response = post_with_csrf_fault(http, "/login/tenant", form, fault)
    assert response.status_int == 403
    assert SESSION_COOKIE not in http.cookies


# --- Markup, headers, cookies ----------------------------------------------------------------------

def assert_accessible_form(page):
    html = page.html
    assert html.find("html")["lang"] == "en"
    for label in html.find_all("label"):
        assert html.find(id=label["for"]) is not None, label
    labelled = {label["for"] for label in html.find_all("label")}
    for field in html.find_all("input"):
        if field.get("type") not in ("hidden", "submit"):
            assert field.get("id") in labelled, field


def test_the_email_field_is_type_email_with_a_label(http, user):
    page = http.get(LOGIN_PATH)
    assert page.html.find("input", attrs={"name": "email"})["type"] == "email"
    assert_accessible_form(page)


def test_the_password_field_is_type_password_with_a_label(http, user):
    page = email_step(http, EMAIL)
    assert page.html.find("input", attrs={"name": "password"})["type"] == "password"
    assert_accessible_form(page)


def test_the_tenant_chooser_lists_labelled_choices(http, shared):
    page = chooser(http)
    assert_accessible_form(page)
    assert len(page.html.find_all("input", attrs={"type": "radio", "name": "tenant"})) == 2


def _email_page(http, client):
    return http.get(LOGIN_PATH)


def _password_page(http, client):
    return email_step(http, EMAIL)


def _wrong_password_page(http, client):
    return sign_in(http, EMAIL, "wrong")


def _chooser_page(http, client):
    return chooser(http)


def _signed_in_page(http, client):
    return sign_in(http)


def _csrf_error_page(http, client):
    return http.post(LOGIN_PATH, {"email": EMAIL}, status=403)


def _chooser_error_page(http, client):
    form = dict(chooser(http).forms[0].submit_fields())
    return http.post("/login/tenant", {**form, "tenant": "nowhere"}, status=400)


def _authorize_error_page(http, client):
    return http.get(AUTHORIZE_PATH, authorize_params(client, redirect_uri="https://evil.example/"), status=400)


def _logout_confirmation_page(http, client):
    sign_in(http)
    return http.get(LOGOUT_PATH)


def _signed_out_page(http, client):
    return http.get(LOGOUT_PATH)


@pytest.mark.parametrize("open_page", [
    _email_page, _password_page, _wrong_password_page, _chooser_page, _signed_in_page, _csrf_error_page,
    _chooser_error_page, _authorize_error_page, _logout_confirmation_page, _signed_out_page,
], ids=lambda f: f.__name__.strip("_"))
def test_every_page_sends_the_strict_headers(http, shared, user, client, open_page):
    page = open_page(http, client)
    assert page.content_type == "text/html"
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.html.find("html")["lang"] == "en"
    assert page.html.find("script") is None and page.html.find(style=True) is None


def set_cookies(response):
    """name -> the Set-Cookie header that sets it."""
    return {header.split("=", 1)[0]: header for header in response.headers.getall("Set-Cookie")}


def cookie_attributes(header):
    return {part.strip().split("=", 1)[0].lower() for part in header.split(";")[1:]}


def test_the_session_and_csrf_cookies_are_httponly_and_samesite_lax(http, user):
    csrf = set_cookies(http.get(LOGIN_PATH))[CSRF_COOKIE]
    session = set_cookies(sign_in(http))[SESSION_COOKIE]
    for header in (csrf, session):
        assert {"httponly", "path"} <= cookie_attributes(header)
        assert "samesite=lax" in header.lower()
        assert "domain" not in cookie_attributes(header)


@pytest.fixture
def https_http(database_url, clock, clean_database):
    """The app as deployed behind TLS: Secure cookies with the __Host- prefix."""
    app = create_app(Config(issuer_base="https://localhost", database_url=database_url, cookie_secure=True),
                     clock=clock)
    yield webtest.TestApp(app, extra_environ={"wsgi.url_scheme": "https", "HTTP_HOST": "localhost"})
    app.services.database.close()


def test_outside_local_http_the_cookies_are_secure_with_the_host_prefix(https_http, user):
    csrf = set_cookies(https_http.get(LOGIN_PATH))["__Host-" + CSRF_COOKIE]
    session = set_cookies(sign_in(https_http))["__Host-" + SESSION_COOKIE]
    for header in (csrf, session):
        attributes = cookie_attributes(header)
        assert {"secure", "httponly"} <= attributes and "domain" not in attributes
        assert "path=/;" in header.lower().replace(" ", "") + ";"


# --- Sessions ----------------------------------------------------------------------------------------

def test_every_sign_in_issues_a_new_session_id_and_the_old_one_stops_working(http, user, client):
    sign_in(http)
    first = http.cookies[SESSION_COOKIE]
    sign_in(http, page=http.get(LOGIN_PATH, {"next": "/device"}))
    second = http.cookies[SESSION_COOKIE]
    assert first != second
    http.reset()
    http.set_cookie(SESSION_COOKIE, second)
    assert "code" in prompt_none(http, client)
    http.reset()
    http.set_cookie(SESSION_COOKIE, first)
    assert prompt_none(http, client)["error"] == "login_required"


def test_the_same_user_signing_in_again_keeps_the_session_and_its_refresh_tokens(http, user, client, clock):
    """Re-authentication is not logout: prompt=login must not kill another app's session-bound tokens."""
    first = sign_in_tokens(http, client, scope="openid")
    clock.advance(60)
    second = sign_in_tokens(http, client, scope="openid", prompt="login")
    first_id = verify_with_jwks(http, first["id_token"], client["client_id"], clock=clock)
    second_id = verify_with_jwks(http, second["id_token"], client["client_id"], clock=clock)
    assert second_id["sid"] == first_id["sid"] and second_id["auth_time"] == first_id["auth_time"] + 60
    assert refresh(http, client, first["refresh_token"]).json["access_token"]


def test_another_user_signing_in_ends_the_previous_users_session(http, user, make_user, client, clock):
    first = sign_in_tokens(http, client, scope="openid")
    make_user(email="grace@example.com", password="another long password", name="Grace")
    sign_in_tokens(http, client, "grace@example.com", "another long password", scope="openid", prompt="login")
    assert refresh(http, client, first["refresh_token"], status=400).json["error"] == "invalid_grant"


def test_a_signed_in_person_opening_the_login_page_sees_who_they_are(http, user):
    sign_in(http)
    page = http.get(LOGIN_PATH)
    assert "You are signed in" in page.text and EMAIL in page.text
    assert page.html.find("a", href=LOGOUT_PATH) is not None


def test_the_login_page_names_the_application_that_asked(http, user, client):
    response = http.get(AUTHORIZE_PATH, authorize_params(client, code_challenge=pkce_pair()[1],
                                                         code_challenge_method="S256"), status=303)
    page = response.follow()
    assert "to continue to" in page.text and "Web App" in page.text
    form = page.forms[0]
    form["email"] = EMAIL
    assert "Web App" in form.submit().text


def test_logout_expires_the_session_cookie(http, user):
    sign_in(http)
    page = http.get(LOGOUT_PATH)
    response = page.forms[0].submit()
    header = set_cookies(response)[SESSION_COOKIE]
    assert header.startswith(SESSION_COOKIE + "=;") or header.startswith(SESSION_COOKIE + '="";')
    assert "expires=thu, 01 jan 1970" in header.lower()


def test_a_session_cookie_planted_before_sign_in_is_replaced(http, user, client):
    http.set_cookie(SESSION_COOKIE, "planted-by-an-attacker")
    sign_in(http)
    assert http.cookies[SESSION_COOKIE] != "planted-by-an-attacker"
    http.reset()
    http.set_cookie(SESSION_COOKIE, "planted-by-an-attacker")
    assert prompt_none(http, client)["error"] == "login_required"


# --- Several tenants ---------------------------------------------------------------------------------

def test_an_email_in_two_tenants_signs_into_the_tenant_whose_password_matched(
        http, acme, globex, make_user, client, clock):
    make_user(tenant="acme", email=SPLIT, password="acme password")
    make_user(tenant="globex", email=SPLIT, password="globex password")
    assert signed_in_tenant(http, client, clock, email=SPLIT, password="globex password") == (
        str(globex["id"]), "globex")
    http.reset()
    assert signed_in_tenant(http, client, clock, email=SPLIT, password="acme password") == (str(acme["id"]), "acme")


def test_the_same_password_in_two_tenants_shows_a_chooser_listing_both(http, shared):
    page = chooser(http)
    assert "Acme Inc." in page.text and "Globex Corporation" in page.text
    assert sorted(field["value"] for field in page.html.find_all("input", attrs={"name": "tenant"})) == [
        "acme", "globex"]
    assert SESSION_COOKIE not in http.cookies


@pytest.mark.parametrize("slug", ["acme", "globex"])
def test_choosing_a_tenant_signs_into_that_tenant(http, shared, client, clock, slug):
    tenant_id, tenant_slug = signed_in_tenant(http, client, clock, email=SHARED, tenant=slug)
    assert (tenant_id, tenant_slug) == (str(shared[slug]["tenant_id"]), slug)


def test_a_tenant_challenge_works_once(http, shared):
    form = dict(chooser(http).forms[0].submit_fields())
    assert "You are signed in" in http.post("/login/tenant", {**form, "tenant": "acme"}).text
    # Signing in replaced the CSRF token: replay with the new one, so only the challenge can refuse.
    form["csrf_token"] = http.get(LOGIN_PATH, {"next": "/"}).forms[0]["csrf_token"].value
    response = http.post("/login/tenant", {**form, "tenant": "globex"}, status=400)
    assert response.content_type == "text/html"


def test_a_tenant_challenge_expires(http, shared, clock):
    form = dict(chooser(http).forms[0].submit_fields())
    clock.advance(301)
    http.post("/login/tenant", {**form, "tenant": "acme"}, status=400)


@pytest.mark.parametrize("slug", ["initech", "nowhere", ""])
def test_choosing_a_tenant_that_was_not_offered_is_400(http, shared, make_tenant, make_user, slug):
    # initech also has this email, with another password: its account must not be reachable.
    make_tenant(slug="initech", name="Initech")
    make_user(tenant="initech", email=SHARED, password="initech password")
    form = dict(chooser(http).forms[0].submit_fields())
    response = http.post("/login/tenant", {**form, "tenant": slug}, status=400)
    assert response.content_type == "text/html"
    assert SESSION_COOKIE not in http.cookies


def test_a_forged_challenge_is_400(http, shared):
    form = dict(chooser(http).forms[0].submit_fields())
    http.post("/login/tenant", {**form, "challenge": "forged", "tenant": "acme"}, status=400)
    assert SESSION_COOKIE not in http.cookies


@pytest.mark.parametrize("suspend", ["user", "tenant"])
def test_a_suspended_user_or_tenant_cannot_sign_in(http, services, user, acme, suspend):
    set_status(services, suspend, user["id"] if suspend == "user" else acme["id"], "suspended")
    response = sign_in(http)
    assert WRONG_CREDENTIALS in response.text
    assert SESSION_COOKIE not in http.cookies
    assert response.body == sign_in(http, "nobody@example.com", PASSWORD).body


def test_a_suspended_tenant_is_left_out_when_the_email_is_in_another(http, services, shared, globex, client, clock):
    set_status(services, "tenant", globex["id"], "suspended")
    assert signed_in_tenant(http, client, clock, email=SHARED)[1] == "acme"


# --- next ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("next_path", [
    "https://evil.example/", "//evil.example", "/\\evil.example", "\\\\evil.example", "http:evil.example",
    "javascript:alert(1)", "/\tevil.example", "/\r\nSet-Cookie:x=1",
])
def test_next_never_leads_off_this_host(http, user, next_path):
    page = http.get(LOGIN_PATH, {"next": next_path})
    response = sign_in(http, page=page)
    assert response.status_int == 200
    assert "Location" not in response.headers
    assert "You are signed in" in response.text


@pytest.mark.parametrize("next_path", ["//evil.example", "https://evil.example/"])
def test_a_forged_next_field_is_not_followed_either(http, user, next_path):
    form = dict(email_step(http, EMAIL).forms[0].submit_fields())
    response = http.post(LOGIN_PATH, {**form, "password": PASSWORD, "next": next_path})
    assert response.status_int == 200 and "Location" not in response.headers


def test_next_on_this_host_is_followed_after_sign_in(http, user):
    response = sign_in(http, page=http.get(LOGIN_PATH, {"next": "/some/local/path?x=1"}))
    assert response.status_int == 303
    assert response.headers["Location"] in ("/some/local/path?x=1", "http://localhost/some/local/path?x=1")


def test_next_survives_the_tenant_chooser(http, shared):
    page = chooser(http, next_path="/some/local/path")
    form = page.forms[0]
    form["tenant"] = "globex"
    response = form.submit()
    assert response.status_int == 303
    assert response.headers["Location"].endswith("/some/local/path")


def test_a_password_hashed_with_old_parameters_is_rehashed_at_sign_in(http, user, services):
    """DESIGN: Argon2id at OWASP parameters, rehashed on login when the parameters change."""
    import os

    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    from app.passwords import needs_rehash
    old = Argon2id(salt=os.urandom(16), length=32, iterations=1, lanes=1, memory_cost=8 * 1024).derive_phc_encoded(
        PASSWORD.encode())
    p = services.database.param
    services.database.execute_sql(f'UPDATE "user" SET password_hash = {p} WHERE id = {p}', (old, user["id"]))
    assert needs_rehash(old)
    assert sign_in(http).status_int == 200
    (stored,) = services.database.execute_sql(f'SELECT password_hash FROM "user" WHERE id = {p}',
                                              (user["id"],)).fetchone()
    assert stored != old and stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and not needs_rehash(stored)
