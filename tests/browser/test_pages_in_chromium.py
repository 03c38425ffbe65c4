"""The sign-in, tenant chooser, device and logout pages in a real Chromium, against a real gunicorn.

Every page visited is checked for <html lang="en">, a title, a label for each visible input, its
stylesheet, and no CSP violation; the `watch` fixture fails a test on any console error. Screenshots
at desktop and phone width land in tests/browser/screenshots/ (git-ignored).
"""

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import DEVICE_GRANT, PASSWORD, SAM_PASSWORD, WEB_SCOPES

PAGE_FACTS = """() => ({
  lang: document.documentElement.getAttribute('lang'),
  title: document.title.trim(),
  unlabeled: [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter((el) => !el.id || !document.querySelector('label[for="' + CSS.escape(el.id) + '"]'))
    .map((el) => el.outerHTML),
  styled: [...document.styleSheets].some((s) => (s.href || '').endsWith('/static/style.css') && s.cssRules.length > 0),
  csp: window.__cspViolations || [],
})"""


def check_page(page, title):
    """The accessibility and CSP basics every page of the service must meet."""
    expect(page).to_have_title(re.compile("^" + re.escape(title)))
    facts = page.evaluate(PAGE_FACTS)
    assert facts["lang"] == "en"
    assert facts["title"]
    assert facts["unlabeled"] == [], "inputs without a <label for=…>"
    assert facts["styled"], "style.css did not load"
    assert facts["csp"] == [], "CSP violations"


@dataclass
class Flow:
    url: str
    state: str
    nonce: str
    verifier: str


def authorize(server, **extra):
    """An authorization request of the public web client, with PKCE S256, state and nonce."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    params = {"response_type": "code", "client_id": server.web_client_id, "redirect_uri": server.rp.callback,
              "scope": WEB_SCOPES, "state": state, "nonce": nonce, "code_challenge": challenge,
              "code_challenge_method": "S256", **extra}
    return Flow(server.api + "/authorize?" + urlencode(params), state, nonce, verifier)


def at_callback(page, server):
    """Wait for the relying party's callback; its query parameters (one value each)."""
    page.wait_for_url(re.compile("^" + re.escape(server.rp.callback) + r"\?"))
    expect(page.locator("#rp")).to_have_text("callback received")
    return {name: values[0] for name, values in parse_qs(urlsplit(page.url).query).items()}


def enter_email(page, email, shoot=None, shot=None):
    check_page(page, "Sign in")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    if shoot:
        shoot(shot)
    page.get_by_label("Email address").fill(email)
    page.click("#continue")


def enter_password(page, password, shoot=None, shot=None):
    check_page(page, "Enter your password")
    if shoot:
        shoot(shot)
    page.get_by_label("Password").fill(password)
    page.click("#sign-in")


def sign_in(page, email, password):
    enter_email(page, email)
    enter_password(page, password)


def exchange(server, flow, code):
    response = requests.post(server.api + "/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": server.rp.callback,
        "client_id": server.web_client_id, "code_verifier": flow.verifier}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def verified_id_token(server, token):
    keys = jwt.PyJWKSet.from_dict(requests.get(server.url + "/api/v1/platform/.well-known/jwks.json",
                                               timeout=10).json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    return jwt.decode(token, key.key, algorithms=[key.algorithm_name], audience=server.web_client_id,
                      issuer=server.issuer)


def start_device(server):
    response = requests.post(server.api + "/device/authorize", data={
        "client_id": server.device_client_id, "scope": "openid profile"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def poll(server, started):
    return requests.post(server.api + "/token", data={
        "grant_type": DEVICE_GRANT, "device_code": started["device_code"], "client_id": server.device_client_id},
        timeout=10)


# --- authorization code --------------------------------------------------------------------------------

def test_a_single_tenant_user_signs_in_through_the_login_pages(page, server, watch, shoot):
    flow = authorize(server)
    page.goto(flow.url)
    enter_email(page, "ada@example.com", shoot, "01-login-email")
    expect(page.get_by_label("Email address")).to_have_value("ada@example.com")
    enter_password(page, PASSWORD, shoot, "02-login-password")

    callback = at_callback(page, server)
    assert callback["state"] == flow.state and callback["iss"] == server.issuer and callback["code"]
    assert set(callback) == {"code", "state", "iss"}


def test_the_tenant_chooser_picks_the_workspace_the_tokens_are_for(page, server, watch, shoot):
    flow = authorize(server)
    page.goto(flow.url)
    sign_in(page, "sam@example.com", SAM_PASSWORD)

    check_page(page, "Choose a workspace")
    expect(page.locator("legend")).to_contain_text("sam@example.com")
    expect(page.get_by_label("Globex Corporation", exact=True)).to_be_visible()
    expect(page.get_by_label("Initech", exact=True)).to_be_visible()
    page.get_by_label("Initech", exact=True).check()
    shoot("03-tenant-chooser")
    page.click("#choose")

    callback = at_callback(page, server)
    assert callback["state"] == flow.state and callback["iss"] == server.issuer
    tokens = exchange(server, flow, callback["code"])
    claims = verified_id_token(server, tokens["id_token"])
    assert claims["nonce"] == flow.nonce
    assert str(claims["tenant_id"]) == str(server.tenant_ids["initech"])
    userinfo = requests.get(server.api + "/userinfo", timeout=10,
                            headers={"Authorization": "Bearer " + tokens["access_token"]}).json()
    assert userinfo["tenant"] == "initech" and userinfo["tenant_id"] == str(claims["tenant_id"])
    assert userinfo["email"] == "sam@example.com"


# --- consent -------------------------------------------------------------------------------------------

def test_a_third_party_application_asks_for_consent_once_per_set_of_scopes(page, server, watch, shoot):
    flow = authorize(server, client_id=server.partner_client_id, scope="openid profile")
    page.goto(flow.url)
    sign_in(page, "ada@example.com", PASSWORD)

    check_page(page, "Allow access")
    expect(page.get_by_role("heading", name="Allow Partner Planner to use your account?")).to_be_visible()
    expect(page.locator("#scopes li")).to_have_text(["Sign you in and know who you are", "See your name"])
    expect(page.locator("body")).to_contain_text("ada@example.com")
    expect(page.locator("#destination")).to_contain_text("127.0.0.1")
    focus_on(page, "allow")  # the keyboard reaches Allow, with a visible focus ring
    ring = page.evaluate(FOCUS_RING)
    assert ring["style"] != "none" and ring["width"] >= 2, ring
    shoot("15-consent")
    page.click("#allow")
    callback = at_callback(page, server)
    assert callback["state"] == flow.state and callback["iss"] == server.issuer and callback["code"]

    again = authorize(server, client_id=server.partner_client_id, scope="openid")  # nothing new: no page
    page.goto(again.url)
    assert at_callback(page, server)["code"]

    wider = authorize(server, client_id=server.partner_client_id, scope="openid profile email")
    page.goto(wider.url)
    check_page(page, "Allow access")
    expect(page.locator("#scopes li")).to_have_count(3)


def test_deny_on_the_consent_page_returns_access_denied_to_the_application(page, server, watch):
    page.goto(server.url + "/login")
    sign_in(page, "ada@example.com", PASSWORD)
    flow = authorize(server, prompt="consent")  # the first-party client asks because the request says so
    page.goto(flow.url)
    check_page(page, "Allow access")
    expect(page.get_by_role("heading", name="Allow Acme Notes to use your account?")).to_be_visible()
    page.click("#deny")
    callback = at_callback(page, server)
    assert callback["error"] == "access_denied" and "code" not in callback
    assert callback["state"] == flow.state and callback["iss"] == server.issuer


# --- device flow ---------------------------------------------------------------------------------------

def test_a_person_approves_a_device_on_the_device_page(page, server, watch, shoot):
    started = start_device(server)
    assert started["interval"] == 1
    assert poll(server, started).json()["error"] == "authorization_pending"

    page.goto(started["verification_uri_complete"])
    sign_in(page, "ada@example.com", PASSWORD)  # not signed in: login first, then back to the code

    check_page(page, "Connect a device")
    expect(page.get_by_role("heading", name="Connect Living-room TV?")).to_be_visible()
    expect(page.locator("#shown-code")).to_have_text(started["user_code"])
    expect(page.locator("#scopes li")).to_have_text(["Sign you in and know who you are", "See your name"])
    expect(page.locator("body")).to_contain_text("ada@example.com")
    shoot("04-device-approve")
    page.click("#approve")

    check_page(page, "Device approved")
    expect(page.locator("#result")).to_contain_text("You can return to your device")
    expect(page.locator("#result")).to_contain_text("Living-room TV")
    shoot("05-device-done")

    time.sleep(started["interval"])  # the device waits out the interval before polling again (RFC 8628 §3.5)
    tokens = poll(server, started).json()
    assert tokens["token_type"] == "Bearer" and tokens["access_token"] and tokens["id_token"]


def test_a_person_types_the_code_and_denies_the_device(page, server, watch, shoot):
    started = start_device(server)
    page.goto(server.url + "/device")
    check_page(page, "Connect a device")
    shoot("06-device-enter")
    # Case and dashes do not matter when the code is typed.
    page.get_by_label("Code").fill(started["user_code"].replace("-", "").lower())
    page.click("#submit-code")
    sign_in(page, "ada@example.com", PASSWORD)

    check_page(page, "Connect a device")
    expect(page.locator("#shown-code")).to_have_text(started["user_code"])
    page.click("#deny")

    check_page(page, "Request denied")
    expect(page.get_by_role("heading", name="Request denied")).to_be_visible()
    expect(page.locator("#result")).to_contain_text("was not given access")
    shoot("07-device-denied")

    time.sleep(started["interval"])
    response = poll(server, started)
    assert response.status_code == 400 and response.json()["error"] == "access_denied"


def test_an_unknown_user_code_is_explained_on_the_device_page(page, server, watch, shoot):
    page.goto(server.url + "/login")
    sign_in(page, "ada@example.com", PASSWORD)
    watch.allow("status of 404")  # the page is served with 404, which Chromium logs
    response = page.goto(server.url + "/device?user_code=BCDF-GHJK")
    assert response.status == 404
    check_page(page, "Connect a device")
    expect(page.locator("#error")).to_contain_text("This code is not valid")
    expect(page.get_by_label("Code")).to_have_value("BCDF-GHJK")
    shoot("08-device-unknown-code")


# --- logout --------------------------------------------------------------------------------------------

def test_sign_out_confirms_and_does_not_leave_a_dead_end(page, server, watch, shoot):
    page.goto(server.url + "/login")
    sign_in(page, "ada@example.com", PASSWORD)
    check_page(page, "Signed in")
    expect(page.locator("body")).to_contain_text("Acme Inc.")
    shoot("09-signed-in")

    page.goto(authorize(server, prompt="none").url)  # the SSO session answers silently
    assert "code" in at_callback(page, server)

    page.goto(server.api + "/logout")
    check_page(page, "Sign out")
    shoot("10-logout-confirm")
    page.click("#sign-out")

    check_page(page, "Signed out")
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    again = page.get_by_role("link", name="Sign in again")
    expect(again).to_be_visible()
    shoot("11-signed-out")
    again.click()
    expect(page.get_by_label("Email address")).to_be_visible()

    flow = authorize(server, prompt="none")
    page.goto(flow.url)
    callback = at_callback(page, server)
    assert callback["error"] == "login_required"
    assert callback["state"] == flow.state and callback["iss"] == server.issuer and "code" not in callback


def test_sign_out_requested_by_the_application_returns_to_it(page, server, watch):
    page.goto(authorize(server).url)
    sign_in(page, "ada@example.com", PASSWORD)
    at_callback(page, server)

    page.goto(server.api + "/logout?" + urlencode({
        "client_id": server.web_client_id, "post_logout_redirect_uri": server.rp.signed_out, "state": "bye-1"}))
    check_page(page, "Sign out")
    expect(page.locator(".lead")).to_contain_text("Acme Notes asks to sign you out")
    page.click("#sign-out")
    page.wait_for_url(server.rp.signed_out + "?state=bye-1")

    page.goto(authorize(server, prompt="none").url)
    assert at_callback(page, server)["error"] == "login_required"


# --- keyboard ------------------------------------------------------------------------------------------

def focus_on(page, element_id, max_tabs=6):
    """Focus is on the element, or Tab reaches it."""
    for _ in range(max_tabs):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id}")


FOCUS_RING = """() => {
  const style = getComputedStyle(document.activeElement);
  return {id: document.activeElement.id, style: style.outlineStyle, width: parseFloat(style.outlineWidth)};
}"""


def test_sign_in_with_the_keyboard_only(page, server, watch, shoot):
    flow = authorize(server)
    page.goto(flow.url)
    check_page(page, "Sign in")
    focus_on(page, "email")
    page.keyboard.type("ada@example.com")
    page.keyboard.press("Tab")  # to Continue: the focused button shows a visible focus ring
    ring = page.evaluate(FOCUS_RING)
    assert ring["id"] == "continue" and ring["style"] != "none" and ring["width"] >= 2, ring
    shoot("12-keyboard-focus")
    page.keyboard.press("Enter")

    check_page(page, "Enter your password")
    focus_on(page, "password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    callback = at_callback(page, server)
    assert callback["state"] == flow.state and callback["code"]


# --- errors --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, title, shot", [
    ({"client_id": "no-such-client"}, "Unknown application", "13-error-unknown-client"),
    ({"redirect_uri": "http://127.0.0.1:9/elsewhere"}, "Invalid redirect address", None),
])
def test_a_bad_client_or_redirect_uri_is_an_error_page_not_a_redirect(page, server, watch, shoot, change, title,
                                                                      shot):
    watch.allow("status of 400")  # the page is served with 400, which Chromium logs
    response = page.goto(authorize(server, **change).url)
    assert response.status == 400
    assert page.url.startswith(server.api + "/authorize?")  # stayed here: never sent to an unchecked address
    check_page(page, title)
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.locator("#error")).to_contain_text("Return to")
    expect(page.get_by_role("link", name="Go to the sign-in page")).to_be_visible()
    if shot:
        shoot(shot)


def test_a_wrong_password_and_an_unknown_email_get_the_same_generic_error(page, server, watch, shoot):
    page.goto(authorize(server).url)
    sign_in(page, "ada@example.com", "not the password")
    check_page(page, "Sign in")
    generic = "The email address or password is incorrect."
    expect(page.locator("#error")).to_have_text(generic)
    expect(page.get_by_label("Email address")).to_be_focused()
    expect(page.get_by_label("Email address")).to_have_attribute("aria-describedby", "error")  # read out with it
    shoot("14-wrong-password")

    sign_in(page, "nobody@example.com", "whatever it is")
    expect(page.locator("#error")).to_have_text(generic)

    sign_in(page, "ada@example.com", PASSWORD)  # the request survives the failed attempts
    assert at_callback(page, server)["code"]
