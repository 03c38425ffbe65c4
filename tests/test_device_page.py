"""The /device page: enter the code, sign in if needed, see the application and scopes, approve or deny."""

from urllib.parse import parse_qs, urlsplit

import pytest

from app.scopes import describe
from tests.helpers import (CONTENT_SECURITY_POLICY, DEVICE_PAGE_PATH, DEVICE_VERIFY_PATH, LOGIN_PATH, device_client,
                           poll_device, sign_in, start_device)

STRICT_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Cache-Control",
                  "X-Frame-Options")


def confirm_page(http, user_code):
    return http.get(DEVICE_PAGE_PATH, {"user_code": user_code})


def decision_form(page):
    forms = [form for form in page.forms.values() if form.method.upper() == "POST"]
    assert len(forms) == 1, page.text
    return forms[0]


def pending(http, user_code):
    return http.get(DEVICE_VERIFY_PATH, {"user_code": user_code}, status="*").status_int == 200


def assert_code_entry_form(page):
    form = page.html.find("form", attrs={"action": DEVICE_PAGE_PATH})
    assert form is not None and form.get("method", "get").lower() == "get"
    field = form.find("input", attrs={"name": "user_code"})
    assert field is not None and field.get("id")
    label = form.find("label", attrs={"for": field["id"]})
    assert label is not None and label.get_text(strip=True)
    return field


def test_without_a_code_the_page_asks_for_it_with_a_labelled_field(http):
    page = http.get(DEVICE_PAGE_PATH)
    assert page.content_type == "text/html"
    assert_code_entry_form(page)
    assert '<html lang="en">' in page.text


def test_a_code_link_sends_a_signed_out_person_to_sign_in_first(http, tv):
    user_code = start_device(http, tv).json["user_code"]
    response = confirm_page(http, user_code)
    assert response.status_int == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == LOGIN_PATH and not location.netloc
    assert parse_qs(location.query) == {"next": [f"{DEVICE_PAGE_PATH}?user_code={user_code}"]}


def test_the_login_detour_carries_the_code_as_typed_in_its_canonical_form(http, tv):
    user_code = start_device(http, tv).json["user_code"]
    response = confirm_page(http, user_code.lower().replace("-", " "))
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == [
        f"{DEVICE_PAGE_PATH}?user_code={user_code}"]


def test_after_signing_in_the_person_comes_back_to_the_same_code(http, tv, user):
    user_code = start_device(http, tv).json["user_code"]
    login_page = confirm_page(http, user_code).follow()
    response = sign_in(http, page=login_page)
    assert response.status_int == 303
    assert response.headers["Location"] == f"{DEVICE_PAGE_PATH}?user_code={user_code}"
    page = response.follow()
    assert page.html.find(id="shown-code").get_text(strip=True) == user_code
    assert decision_form(page)["user_code"].value == user_code


def test_the_page_names_the_application_and_the_scopes_in_words_with_approve_and_deny(http, tv, signed_in):
    user_code = start_device(http, tv, scope="openid profile email").json["user_code"]
    page = confirm_page(http, user_code)
    assert page.status_int == 200
    assert "TV App" in page.html.find("h1").get_text()
    items = [li.get_text(strip=True) for li in page.html.find(id="scopes").find_all("li")]
    assert items == [describe("openid"), describe("profile"), describe("email")]
    for scope, item in zip(["openid", "profile", "email"], items):
        assert item != scope and " " in item, item
    assert signed_in["email"] in page.text
    form = decision_form(page)
    assert form.action == DEVICE_PAGE_PATH
    assert form["csrf_token"].value
    buttons = {button["value"]: button.get_text(strip=True) for button in
               page.html.find("form", attrs={"method": "post"}).find_all("button", attrs={"name": "action"})}
    assert buttons == {"approve": "Approve", "deny": "Deny"}


def test_the_application_name_is_escaped(http, make_client, signed_in):
    client = device_client(make_client, name='<script>alert("x")</script> & Co')
    page = confirm_page(http, start_device(http, client).json["user_code"])
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text


def test_approving_says_the_person_can_return_to_their_device_and_the_device_gets_tokens(http, tv, signed_in):
    body = start_device(http, tv).json
    done = decision_form(confirm_page(http, body["user_code"])).submit("action", value="approve")
    assert done.status_int == 200
    assert "You can return to your device" in done.html.find(id="result").get_text()
    assert "TV App" in done.text
    assert not pending(http, body["user_code"])
    assert poll_device(http, tv, body["device_code"], status=200).json["access_token"]


def test_denying_says_so_and_the_device_gets_access_denied(http, tv, signed_in):
    body = start_device(http, tv).json
    done = decision_form(confirm_page(http, body["user_code"])).submit("action", value="deny")
    assert done.status_int == 200
    assert "denied" in done.html.find("h1").get_text().lower()
    assert "not given access" in done.html.find(id="result").get_text()
    assert poll_device(http, tv, body["device_code"]).json["error"] == "access_denied"


@pytest.mark.parametrize("user_code", ["BCDF-GHJK", "not a code", "AEIO-UAEI"])
def test_an_unknown_code_shows_an_error_and_the_form_again(http, signed_in, user_code):
    page = http.get(DEVICE_PAGE_PATH, {"user_code": user_code}, status=404)
    assert page.html.find(attrs={"role": "alert"}).get_text(strip=True)
    field = assert_code_entry_form(page)
    assert field["value"] == user_code


def test_an_expired_code_shows_the_same_error_as_an_unknown_one(http, tv, signed_in, clock):
    user_code = start_device(http, tv).json["user_code"]
    clock.advance(600)
    expired = http.get(DEVICE_PAGE_PATH, {"user_code": user_code}, status=404)
    unknown = http.get(DEVICE_PAGE_PATH, {"user_code": "BCDF-GHJK"}, status=404)
    assert expired.html.find(attrs={"role": "alert"}).get_text() == unknown.html.find(
        attrs={"role": "alert"}).get_text()


def test_a_decision_on_a_code_already_decided_shows_the_error_not_a_second_result(http, tv, signed_in):
    user_code = start_device(http, tv).json["user_code"]
    form = decision_form(confirm_page(http, user_code))
    form.submit("action", value="approve")
    again = form.submit("action", value="deny", status=404)
    assert again.html.find(attrs={"role": "alert"}).get_text(strip=True)
    assert again.html.find(id="result") is None


@pytest.mark.parametrize("path", ["entry", "confirm", "done", "unknown"])
def test_every_device_page_sends_the_strict_headers_of_the_login_pages(http, tv, signed_in, path):
    login = http.get(LOGIN_PATH)
    user_code = start_device(http, tv).json["user_code"]
    if path == "entry":
        page = http.get(DEVICE_PAGE_PATH)
    elif path == "confirm":
        page = confirm_page(http, user_code)
    elif path == "done":
        page = decision_form(confirm_page(http, user_code)).submit("action", value="approve")
    else:
        page = http.get(DEVICE_PAGE_PATH, {"user_code": "BCDF-GHJK"}, status=404)
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    for name in STRICT_HEADERS:
        assert page.headers.get(name) == login.headers.get(name), name


def test_the_login_redirect_is_not_cached(http, tv):
    response = confirm_page(http, start_device(http, tv).json["user_code"])
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("csrf_token", [None, "forged-" + "x" * 40])
def test_posting_the_decision_without_the_csrf_token_is_403(http, tv, signed_in, csrf_token):
    user_code = start_device(http, tv).json["user_code"]
    confirm_page(http, user_code)  # the browser now holds a CSRF cookie
    form = {"user_code": user_code, "action": "approve"}
    if csrf_token:
        form["csrf_token"] = csrf_token
    page = http.post(DEVICE_PAGE_PATH, form, status=403)
    assert page.content_type == "text/html"
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert pending(http, user_code)


def test_a_decision_posted_after_the_session_ended_sends_the_person_to_sign_in(http, tv, signed_in, services):
    user_code = start_device(http, tv).json["user_code"]
    form = decision_form(confirm_page(http, user_code))
    services.database.execute_sql("UPDATE sso_session SET ended_at = 1")
    response = form.submit("action", value="approve", status=303)
    assert urlsplit(response.headers["Location"]).path == LOGIN_PATH
    assert pending(http, user_code)
