"""GET and POST /oauth/logout (OpenID Connect RP-Initiated Logout 1.0)."""

import base64
import json
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from app.store.signing_keys import rotate_keys
from tests.helpers import (AUTHORIZE_PATH, CSRF_COOKIE, LOGOUT_PATH, POST_LOGOUT_REDIRECT_URI, SESSION_COOKIE,
                           USERINFO_PATH, authorize_params, bearer, pkce_pair, redirect_query, refresh,
                           sign_in_tokens, web_client)


@pytest.fixture
def signed_in(http, client, user):
    """The browser `http` is signed in; the client's tokens for that session."""
    return sign_in_tokens(http, client)


def prompt_none(http, client):
    _, challenge = pkce_pair()
    response = http.get(AUTHORIZE_PATH, authorize_params(client, prompt="none", code_challenge=challenge,
                                                         code_challenge_method="S256"), status=303)
    return redirect_query(response)


def assert_signed_in(http, client):
    assert "code" in prompt_none(http, client)


def assert_signed_out(http, client):
    assert prompt_none(http, client)["error"] == "login_required"


def assert_cookie_cleared(http, response):
    """The response overwrites the session cookie with an empty value, and the browser holds no session id."""
    headers = [h for h in response.headers.getall("Set-Cookie") if h.startswith(SESSION_COOKIE + "=")]
    assert headers, "the session cookie is not cleared"
    assert headers[0].split(";", 1)[0] in (SESSION_COOKIE + "=", SESSION_COOKIE + '=""')
    assert http.cookies.get(SESSION_COOKIE, "") in ("", '""')


def assert_page(response, status):
    assert response.status_int == status
    assert response.content_type == "text/html"
    assert "Location" not in response.headers


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unverified(token):
    return jwt.decode(token, options={"verify_signature": False})


# --- With a hint for this session: at once ----------------------------------------------------------

def test_a_hint_for_this_session_logs_out_at_once_and_returns_to_the_registered_uri_with_state(
        http, client, signed_in):
    response = http.get(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"],
                                      "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI, "state": "bye-1"},
                        status=303)
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == POST_LOGOUT_REDIRECT_URI
    assert parse_qs(location.query) == {"state": ["bye-1"]}
    assert_cookie_cleared(http, response)
    assert_signed_out(http, client)


def test_logout_revokes_the_sessions_refresh_token(http, client, signed_in):
    http.get(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"]})
    assert refresh(http, client, signed_in["refresh_token"], status=400).json["error"] == "invalid_grant"


def test_logout_ends_the_access_tokens_of_the_sessions_grants(http, client, signed_in):
    assert http.get(USERINFO_PATH, headers=bearer(signed_in["access_token"])).json["sub"]
    http.get(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"]})
    response = http.get(USERINFO_PATH, headers=bearer(signed_in["access_token"]), status=401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_logout_ends_the_access_tokens_issued_by_rotation_too(http, client, signed_in):
    rotated = refresh(http, client, signed_in["refresh_token"]).json
    http.get(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"]})
    for access_token in (signed_in["access_token"], rotated["access_token"]):
        http.get(USERINFO_PATH, headers=bearer(access_token), status=401)


def test_logout_leaves_offline_grants_and_their_access_tokens_alone(http, client, user):
    offline = sign_in_tokens(http, client, scope="openid profile offline_access")
    http.get(LOGOUT_PATH, {"id_token_hint": offline["id_token"]})
    assert http.get(USERINFO_PATH, headers=bearer(offline["access_token"])).json["sub"]
    assert refresh(http, client, offline["refresh_token"]).json["access_token"]


def test_the_ended_session_cookie_no_longer_works_even_if_replayed(http, client, signed_in):
    cookie = http.cookies[SESSION_COOKIE]
    http.get(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"]})
    http.set_cookie(SESSION_COOKIE, cookie)
    assert_signed_out(http, client)


def test_a_hint_without_a_redirect_uri_logs_out_to_the_signed_out_page(http, client, signed_in):
    response = http.get(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"]})
    assert_page(response, 200)
    assert "You are signed out" in response.text
    assert_cookie_cleared(http, response)
    assert_signed_out(http, client)


def test_the_redirect_uri_without_state_carries_no_state(http, signed_in):
    response = http.get(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"],
                                      "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI}, status=303)
    assert response.headers["Location"] == POST_LOGOUT_REDIRECT_URI


def test_logout_by_post_with_a_hint_works_too(http, client, signed_in):
    response = http.post(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"],
                                       "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI, "state": "s"},
                         status=303)
    assert response.headers["Location"] == POST_LOGOUT_REDIRECT_URI + "?state=s"
    assert_signed_out(http, client)


def test_an_expired_hint_is_accepted(http, client, signed_in, clock):
    clock.advance(2 * 3600)
    http.get(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"],
                           "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI}, status=303)
    assert_signed_out(http, client)


def test_a_hint_signed_with_a_retired_key_is_accepted(http, services, config, client, signed_in, clock):
    old_kid = jwt.get_unverified_header(signed_in["id_token"])["kid"]
    rotate_keys(services.database, config, clock.now(), immediately=True)
    clock.advance(config.key_refresh_interval)
    assert jwt.get_unverified_header(sign_in_tokens(http, client)["id_token"])["kid"] != old_kid
    http.get(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"],
                           "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI}, status=303)
    assert_signed_out(http, client)


def test_the_client_is_taken_from_the_hints_audience(http, make_client, user):
    # Two clients, the same post-logout URI registered only for the second: the hint decides.
    first = web_client(make_client, name="First", post_logout_redirect_uris=["https://first.example/bye"])
    second = web_client(make_client, name="Second", post_logout_redirect_uris=["https://second.example/bye"])
    sign_in_tokens(http, first)
    hint = sign_in_tokens(http, second)["id_token"]
    http.get(LOGOUT_PATH, {"id_token_hint": hint, "post_logout_redirect_uri": "https://first.example/bye"},
             status=400)
    response = http.get(LOGOUT_PATH, {"id_token_hint": hint, "post_logout_redirect_uri": "https://second.example/bye"},
                        status=303)
    assert response.headers["Location"] == "https://second.example/bye"


# --- Refused requests: a page, never a redirect ----------------------------------------------------------

@pytest.mark.parametrize("uri", [
    POST_LOGOUT_REDIRECT_URI + "/more", POST_LOGOUT_REDIRECT_URI + "?next=1", POST_LOGOUT_REDIRECT_URI + "/",
    POST_LOGOUT_REDIRECT_URI.upper(), "https://evil.example/signed-out", "//evil.example",
], ids=["path-appended", "query-appended", "trailing-slash", "other-case", "other-host", "scheme-relative"])
def test_an_unregistered_post_logout_redirect_uri_is_a_400_page_and_never_a_redirect(
        http, client, signed_in, uri):
    response = http.get(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"], "post_logout_redirect_uri": uri,
                                      "state": "s"}, status=400)
    assert_page(response, 400)
    assert_signed_in(http, client)


def test_a_post_logout_redirect_uri_without_any_client_is_refused(http, client, signed_in):
    response = http.get(LOGOUT_PATH, {"post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI}, status=400)
    assert_page(response, 400)


def test_a_uri_registered_for_another_client_is_refused(http, make_client, client, signed_in):
    web_client(make_client, name="Other", post_logout_redirect_uris=["https://other.example/bye"])
    response = http.get(LOGOUT_PATH, {"client_id": client["client_id"],
                                      "post_logout_redirect_uri": "https://other.example/bye"}, status=400)
    assert_page(response, 400)
    assert_signed_in(http, client)


def _foreign_signature(token, key):
    header = jwt.get_unverified_header(token)
    return jwt.encode(unverified(token), key, algorithm="RS256", headers={"kid": header["kid"]})


def _alg_none(token, key):
    header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": jwt.get_unverified_header(token)["kid"]}).encode())
    return header + "." + token.split(".")[1] + "."


def _tampered(token, key):
    header, payload, signature = token.split(".")
    claims = unverified(token)
    claims["sid"] = "another-session"
    return header + "." + b64url(json.dumps(claims).encode()) + "." + signature


def _garbage(token, key):
    return "not-a-token"


@pytest.mark.parametrize("forge", [_foreign_signature, _alg_none, _tampered, _garbage],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_hint_we_did_not_sign_is_a_400_page(http, client, signed_in, forge):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = http.get(LOGOUT_PATH, {"id_token_hint": forge(signed_in["id_token"], key),
                                      "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI}, status=400)
    assert_page(response, 400)
    assert_signed_in(http, client)


def test_an_access_token_is_not_accepted_as_a_hint(http, client, signed_in):
    response = http.get(LOGOUT_PATH, {"id_token_hint": signed_in["access_token"]}, status=400)
    assert_page(response, 400)
    assert_signed_in(http, client)


@pytest.mark.parametrize("typ", ["AT+JWT", "At+Jwt", "application/AT+JWT"])
def test_an_access_token_is_refused_as_a_hint_whatever_the_case_of_its_typ(http, services, client, signed_in, typ):
    """RFC 7515 §4.1.9: typ values compare case-insensitively."""
    access_claims = unverified(signed_in["access_token"])
    token = services.keyring.sign({**access_claims, "sid": unverified(signed_in["id_token"])["sid"]}, typ=typ)
    response = http.get(LOGOUT_PATH, {"id_token_hint": token, "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI},
                        status=400)
    assert_page(response, 400)
    assert_signed_in(http, client)


def test_a_hint_issued_in_the_future_is_refused(http, services, client, signed_in, clock):
    claims = unverified(signed_in["id_token"])
    hint = services.keyring.sign({**claims, "iat": int(clock.now()) + 3600})
    response = http.get(LOGOUT_PATH, {"id_token_hint": hint, "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI},
                        status=400)
    assert_page(response, 400)
    assert_signed_in(http, client)


def test_a_client_id_that_is_not_the_hints_audience_is_a_400_page(http, make_client, client, signed_in):
    other = web_client(make_client, name="Other")
    response = http.get(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"], "client_id": other["client_id"]},
                        status=400)
    assert_page(response, 400)
    assert_signed_in(http, client)


def test_a_client_id_equal_to_the_hints_audience_is_accepted(http, client, signed_in):
    http.get(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"], "client_id": client["client_id"],
                           "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI}, status=303)
    assert_signed_out(http, client)


# --- Without a hint: ask first ------------------------------------------------------------------------

def test_without_a_hint_the_user_is_asked_to_confirm_with_a_csrf_form(http, client, signed_in):
    page = http.get(LOGOUT_PATH)
    assert_page(page, 200)
    form = page.forms[0]
    assert form.method.upper() == "POST"
    assert len(form["csrf_token"].value) == 43 and http.cookies[CSRF_COOKIE]
    assert_signed_in(http, client)
    response = form.submit()
    assert_page(response, 200)
    assert "You are signed out" in response.text
    assert_cookie_cleared(http, response)
    assert_signed_out(http, client)
    assert refresh(http, client, signed_in["refresh_token"], status=400).json["error"] == "invalid_grant"


def test_a_hint_for_another_session_asks_to_confirm(http, client, signed_in):
    http.reset()
    sign_in_tokens(http, client)
    page = http.get(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"]})
    assert page.forms[0]["confirm"].value == "yes"
    assert_signed_in(http, client)


def test_the_confirmation_returns_to_the_registered_uri_with_state(http, client, signed_in):
    page = http.get(LOGOUT_PATH, {"client_id": client["client_id"],
                                  "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI, "state": "st"})
    assert "Web App" in page.text
    response = page.forms[0].submit(status=303)
    assert response.headers["Location"] == POST_LOGOUT_REDIRECT_URI + "?state=st"
    assert_signed_out(http, client)


@pytest.mark.parametrize("csrf_token", [None, "wrong-" + "x" * 40], ids=["missing", "wrong"])
def test_confirming_without_the_right_csrf_token_is_403(http, client, signed_in, csrf_token):
    form = dict(http.get(LOGOUT_PATH).forms[0].submit_fields())
    form.pop("csrf_token")
    if csrf_token is not None:
        form["csrf_token"] = csrf_token
    response = http.post(LOGOUT_PATH, form, status=403)
    assert response.content_type == "text/html"
    assert_signed_in(http, client)


def test_no_session_at_all_gives_the_signed_out_page_which_leads_back_to_sign_in(http, client, user):
    response = http.get(LOGOUT_PATH)
    assert_page(response, 200)
    assert "You are signed out" in response.text
    assert response.html.find("a", href="/login") is not None


def test_no_session_with_a_valid_hint_still_returns_to_the_registered_uri(http, client, signed_in):
    http.reset()
    response = http.get(LOGOUT_PATH, {"id_token_hint": signed_in["id_token"],
                                      "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI, "state": "s"}, status=303)
    assert response.headers["Location"] == POST_LOGOUT_REDIRECT_URI + "?state=s"


def test_after_logout_prompt_none_is_login_required(http, client, signed_in):
    assert_signed_in(http, client)
    http.get(LOGOUT_PATH).forms[0].submit()
    assert_signed_out(http, client)
