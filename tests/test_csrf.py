"""Login CSRF (issue 13 item 6): the form token is an HMAC of the pre-session the CSRF cookie names.

A token works only with the cookie it was made for, only in full, and only until the next sign-in,
which starts a new pre-session. A browser that says (Sec-Fetch-Site) another site sent the form is
refused too: that stops even an attacker who planted a cookie and fetched its token himself.
"""

import pytest

from tests.helpers import CSRF_COOKIE, EMAIL, LOGIN_PATH, LOGOUT_PATH, PASSWORD, SESSION_COOKIE, sign_in


def password_form(http):
    """The password step's fields (with the page's csrf_token), ready to post."""
    page = http.get(LOGIN_PATH)
    form = page.forms[0]
    form["email"] = EMAIL
    fields = dict(form.submit().forms[0].submit_fields())
    fields["password"] = PASSWORD
    return fields


def post_login(http, fields, cookie, headers=None):
    http.set_cookie(CSRF_COOKIE, cookie)
    return http.post(LOGIN_PATH, fields, headers=headers or {}, expect_errors=True)


def assert_refused(http, response):
    assert response.status_int == 403 and "This form has expired" in response.text
    assert SESSION_COOKIE not in http.cookies


@pytest.mark.parametrize("value", ["a" * 10, "a" * 43, "a" * 64], ids=["short", "full-length", "long"])
def test_a_planted_cookie_repeated_in_the_form_is_refused(http, user, value):
    """The old double submit accepted any cookie equal to the field, 10 characters included."""
    fields = {**password_form(http), "csrf_token": value}
    http.reset()
    assert_refused(http, post_login(http, fields, value))


def test_the_cookie_value_itself_is_not_the_token(http, user):
    fields = password_form(http)
    cookie = http.cookies[CSRF_COOKIE]
    assert fields["csrf_token"] != cookie
    assert_refused(http, post_login(http, {**fields, "csrf_token": cookie}, cookie))


def test_a_token_works_only_with_the_cookie_it_was_made_for(http, user, app):
    import webtest
    other = webtest.TestApp(app)
    others_fields = password_form(other)
    fields = password_form(http)
    assert_refused(http, post_login(http, {**fields, "csrf_token": others_fields["csrf_token"]},
                                    http.cookies[CSRF_COOKIE]))
    # The other browser's own pair is fine: the token is bound to its cookie, not to a person.
    assert post_login(other, others_fields, other.cookies[CSRF_COOKIE]).status_int == 200


@pytest.mark.parametrize("mangle", [lambda t: t[:-1], lambda t: t[:20], lambda t: t + "\n", lambda t: t + "A",
                                    lambda t: t.swapcase()],
                         ids=["one-short", "truncated", "trailing-newline", "one-long", "case-changed"])
def test_only_the_full_token_is_accepted(http, user, mangle):
    fields = password_form(http)
    assert_refused(http, post_login(http, {**fields, "csrf_token": mangle(fields["csrf_token"])},
                                    http.cookies[CSRF_COOKIE]))


@pytest.mark.parametrize("cookie", ["short", "x" * 42 + "!", "y" * 44], ids=["short", "bad-character", "long"])
def test_a_malformed_cookie_is_replaced_by_a_new_pre_session(http, cookie):
    http.set_cookie(CSRF_COOKIE, cookie)
    response = http.get(LOGIN_PATH)
    assert http.cookies[CSRF_COOKIE] != cookie and len(http.cookies[CSRF_COOKIE]) == 43
    assert len(response.forms[0]["csrf_token"].value) == 43


def test_the_right_pair_signs_in(http, user):
    fields = password_form(http)
    response = post_login(http, fields, http.cookies[CSRF_COOKIE])
    assert response.status_int == 200 and "You are signed in" in response.text


@pytest.mark.parametrize("tenants", [1, 2], ids=["one-tenant", "tenant-chooser"])
def test_signing_in_starts_a_new_pre_session(http, make_tenant, make_user, tenants):
    for slug in ("acme", "globex")[:tenants]:
        make_tenant(slug=slug, name=slug.title())
        make_user(tenant=slug)
    page = http.get(LOGIN_PATH)
    before = http.cookies[CSRF_COOKIE]
    response = sign_in(http, page=page, tenant="globex" if tenants == 2 else None)
    assert "You are signed in" in response.text
    assert http.cookies[CSRF_COOKIE] != before


def test_a_token_from_before_the_sign_in_is_refused_after_it(http, user):
    fields = password_form(http)
    old_token = fields["csrf_token"]
    assert "You are signed in" in http.post(LOGIN_PATH, fields).text
    form = http.get(LOGOUT_PATH).forms[0]
    assert form["csrf_token"].value != old_token
    refused = http.post(LOGOUT_PATH, {**dict(form.submit_fields()), "csrf_token": old_token}, expect_errors=True)
    assert refused.status_int == 403
    assert http.cookies.get(SESSION_COOKIE)
    assert "You are signed out" in form.submit().text


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_valid_pair_posted_from_another_site_is_refused(http, user, site):
    """An attacker who planted a cookie and fetched its token himself still posts from his own page."""
    fields = password_form(http)
    assert_refused(http, post_login(http, fields, http.cookies[CSRF_COOKIE], {"Sec-Fetch-Site": site}))


@pytest.mark.parametrize("site", ["same-origin", "none"])
def test_a_valid_pair_posted_from_our_own_page_signs_in(http, user, site):
    fields = password_form(http)
    response = post_login(http, fields, http.cookies[CSRF_COOKIE], {"Sec-Fetch-Site": site})
    assert "You are signed in" in response.text
