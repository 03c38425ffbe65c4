"""A standard OIDC client library (Authlib) completes the flows against a real gunicorn."""

import re
import time
import warnings
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge

with warnings.catch_warnings():
    # Authlib announces joserfc as its successor; authlib.jose is still its shipped JOSE module.
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, jwt

from tests.live import live_server

REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: the test reads the Location header


class _Forms(HTMLParser):
    """The first form of a page: its action and its input values."""

    def __init__(self):
        super().__init__()
        self.action, self.fields = None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("name"):
            self.fields.setdefault(attrs["name"], attrs.get("value") or "")


def submit_first_form(browser, base, response, **values):
    parser = _Forms()
    parser.feed(response.text)
    return browser.post(urljoin(base, parser.action), data={**parser.fields, **values}, allow_redirects=False)


def follow_until(browser, base, response, stop_prefix):
    """Follow redirects like a browser until one points at stop_prefix; return that Location."""
    for _ in range(10):
        location = response.headers.get("Location")
        assert response.status_code in (302, 303) and location, response.text[:500]
        if location.startswith(stop_prefix):
            return location
        response = browser.get(urljoin(base, location), allow_redirects=False)
        if response.status_code == 200:
            return response
    raise AssertionError("too many redirects")


@pytest.fixture
def server(database_url, clean_database, tmp_path):
    # A one-second device polling interval keeps the device test short; the rule is the same.
    with live_server(database_url, tmp_path, extra_env={"OAUTH_DEVICE_POLL_INTERVAL": "1"}) as running:
        running.cli("tenant", "create", "--slug", "acme", "--name", "Acme Inc.")
        running.cli("user", "create", "--tenant", "acme", "--email", "ada@example.com", "--name", "Ada Lovelace",
                    "--given-name", "Ada", "--family-name", "Lovelace", "--email-verified", "--password-stdin",
                    stdin="analytical engine\n")
        yield running


def test_authlib_completes_the_code_flow_with_pkce_and_the_id_token_verifies(server):
    client_info = server.cli("client", "create", "--name", "Acme CLI", "--audience", "global", "--public",
                             "--grant", "authorization_code", "--grant", "refresh_token",
                             "--redirect-uri", REDIRECT_URI, "--scope", "openid profile email")
    metadata = requests.get(server.url + "/api/v1/platform/oauth/.well-known/openid-configuration").json()
    client = OAuth2Session(client_info["client_id"], scope="openid profile email", redirect_uri=REDIRECT_URI,
                           code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier = "v" * 20 + "erifier-" + "x" * 30
    url, state = client.create_authorization_url(metadata["authorization_endpoint"], nonce="n-0S6_WzA2Mj",
                                                 code_verifier=verifier)
    assert create_s256_code_challenge(verifier) in url

    browser = requests.Session()
    login_page = follow_until(browser, server.url, browser.get(url, allow_redirects=False), REDIRECT_URI)
    password_page = submit_first_form(browser, server.url, login_page, email="ada@example.com")
    assert password_page.status_code == 200 and 'type="password"' in password_page.text
    signed_in = submit_first_form(browser, server.url, password_page, password="analytical engine")
    callback = follow_until(browser, server.url, signed_in, REDIRECT_URI)
    assert f"state={state}" in callback and "iss=" in callback

    token = client.fetch_token(metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    keys = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"]).json())
    claims = jwt.decode(token["id_token"], keys, claims_options={
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": client_info["client_id"]},
        "nonce": {"essential": True, "value": "n-0S6_WzA2Mj"}})
    claims.validate()
    assert claims["tenant_id"] and claims["sid"] and claims["at_hash"]

    userinfo = client.get(metadata["userinfo_endpoint"]).json()
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["email"] == "ada@example.com" and userinfo["tenant"] == "acme"
    assert userinfo["given_name"] == "Ada" and userinfo["email_verified"] is True

    refreshed = client.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert re.match(r"^[\w-]+\.[\w-]+\.[\w-]+$", refreshed["access_token"])


def test_authlib_through_the_consent_page_on_an_ephemeral_loopback_port(server):
    """A third-party CLI (--require-consent) listening on a port of its choosing (RFC 8252 §7.3)."""
    client_info = server.cli("client", "create", "--name", "Partner CLI", "--audience", "global", "--public",
                             "--grant", "authorization_code", "--redirect-uri", REDIRECT_URI,
                             "--scope", "openid profile", "--require-consent")
    ephemeral = "http://127.0.0.1:51234/callback"
    metadata = requests.get(server.url + "/api/v1/platform/oauth/.well-known/openid-configuration").json()
    assert "consent" in metadata["prompt_values_supported"]
    client = OAuth2Session(client_info["client_id"], scope="openid profile", redirect_uri=ephemeral,
                           code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier = "c" * 20 + "onsent-" + "y" * 30
    url, state = client.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier)

    browser = requests.Session()
    login_page = follow_until(browser, server.url, browser.get(url, allow_redirects=False), ephemeral)
    password_page = submit_first_form(browser, server.url, login_page, email="ada@example.com")
    signed_in = submit_first_form(browser, server.url, password_page, password="analytical engine")
    consent_page = follow_until(browser, server.url, signed_in, ephemeral)
    assert "Allow Partner CLI to use your account?" in consent_page.text and "See your name" in consent_page.text
    allowed = submit_first_form(browser, server.url, consent_page, action="allow")
    callback = follow_until(browser, server.url, allowed, ephemeral)
    assert f"state={state}" in callback

    token = client.fetch_token(metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    keys = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"]).json())
    claims = jwt.decode(token["id_token"], keys, claims_options={
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": client_info["client_id"]}})
    claims.validate()

    # Consent is remembered: a silent request for the same scopes comes straight back with a code.
    url, state = client.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier,
                                                 prompt="none")
    silent = follow_until(browser, server.url, browser.get(url, allow_redirects=False), ephemeral)
    assert f"state={state}" in silent and "code=" in silent and "error" not in silent


def test_authlib_client_credentials_against_gunicorn(server):
    info = server.cli("client", "create", "--name", "Billing", "--audience", "global", "--grant",
                      "client_credentials", "--scope", "billing.read")
    metadata = requests.get(server.url + "/api/v1/platform/oauth/.well-known/openid-configuration").json()
    client = OAuth2Session(info["client_id"], info["client_secret"], scope="billing.read")
    token = client.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    keys = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"]).json())
    claims = jwt.decode(token["access_token"], keys)
    claims.validate()
    assert claims["sub"] == info["client_id"] and claims["scope"] == "billing.read"


def test_a_device_client_and_a_person_complete_the_device_flow_against_gunicorn(server):
    info = server.cli("client", "create", "--name", "Living-room TV", "--audience", "global", "--public",
                      "--grant", "urn:ietf:params:oauth:grant-type:device_code", "--scope", "openid profile")
    api = server.url + "/api/v1/platform/oauth"
    started = requests.post(api + "/device/authorize",
                            data={"client_id": info["client_id"], "scope": "openid profile"}).json()
    poll = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": started["device_code"],
            "client_id": info["client_id"]}
    assert requests.post(api + "/token", data=poll).json()["error"] == "authorization_pending"

    browser = requests.Session()
    opened = browser.get(started["verification_uri_complete"], allow_redirects=False)
    login_page = follow_until(browser, server.url, opened, "http://never")
    password_page = submit_first_form(browser, server.url, login_page, email="ada@example.com")
    signed_in = submit_first_form(browser, server.url, password_page, password="analytical engine")
    approve_page = follow_until(browser, server.url, signed_in, "http://never")
    assert "Living-room TV" in approve_page.text and "See your name" in approve_page.text
    done = submit_first_form(browser, server.url, approve_page, action="approve")
    assert "You can return to your device" in done.text

    # The device waits out the interval before polling again, as RFC 8628 §3.5 asks.
    assert started["interval"] == 1
    time.sleep(started["interval"])
    tokens = requests.post(api + "/token", data=poll).json()
    assert tokens["token_type"] == "Bearer" and tokens["id_token"]


def test_a_back_end_service_exchanges_a_users_token_for_a_downstream_api_against_gunicorn(server):
    """RFC 8693: the API that received a user's token calls another API on that user's behalf."""
    exchange = "urn:ietf:params:oauth:grant-type:token-exchange"
    web_app = server.cli("client", "create", "--name", "Acme web", "--audience", "global", "--grant",
                         "authorization_code", "--grant", exchange, "--redirect-uri", REDIRECT_URI,
                         "--scope", "openid profile reports.read")
    backend = server.cli("client", "create", "--name", "Reports back-end", "--audience", "global", "--grant",
                         exchange, "--scope", "reports.read")
    ledger = server.cli("client", "create", "--name", "Ledger API", "--audience", "global", "--grant",
                        "client_credentials")
    metadata = requests.get(server.url + "/api/v1/platform/oauth/.well-known/openid-configuration").json()
    web = OAuth2Session(web_app["client_id"], web_app["client_secret"], scope="openid reports.read",
                        redirect_uri=REDIRECT_URI)
    url, _ = web.create_authorization_url(metadata["authorization_endpoint"])
    browser = requests.Session()
    login_page = follow_until(browser, server.url, browser.get(url, allow_redirects=False), REDIRECT_URI)
    password_page = submit_first_form(browser, server.url, login_page, email="ada@example.com")
    signed_in = submit_first_form(browser, server.url, password_page, password="analytical engine")
    user_token = web.fetch_token(metadata["token_endpoint"],
                                 authorization_response=follow_until(browser, server.url, signed_in, REDIRECT_URI))

    def trade(client, token, audience, scope):
        return requests.post(metadata["token_endpoint"], auth=(client["client_id"], client["client_secret"]), data={
            "grant_type": exchange, "subject_token": token, "audience": audience, "scope": scope,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token"})

    # The back-end may not trade a token that was issued to the web app and never named it.
    assert trade(backend, user_token["access_token"], ledger["client_id"], "reports.read").status_code == 400

    # The web app calls the back-end with a token for it; the back-end calls the ledger on the user's behalf.
    for_backend = trade(web_app, user_token["access_token"], backend["client_id"], "reports.read").json()
    for_ledger = trade(backend, for_backend["access_token"], ledger["client_id"], "reports.read").json()
    assert for_ledger["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    keys = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"]).json())
    claims = jwt.decode(for_ledger["access_token"], keys, claims_options={
        "aud": {"essential": True, "value": ledger["client_id"]}})
    claims.validate()
    original = jwt.decode(user_token["access_token"], keys)
    assert claims["sub"] == original["sub"] and claims["tenant_id"] == original["tenant_id"]
    assert claims["act"] == {"sub": backend["client_id"], "act": {"sub": web_app["client_id"]}}
    assert claims["scope"] == "reports.read"
