"""Loopback redirect URIs (RFC 8252 §7.3): a public client's 127.0.0.1 / [::1] URI matches on any port."""

import pytest

from tests.helpers import (AUTHORIZE_PATH, CONTENT_SECURITY_POLICY, authorize_params, exchange_code, get_code,
                           is_login_redirect, pkce_pair, redirect_query, web_client)

LOOPBACK_V4 = "http://127.0.0.1:9/callback"
LOOPBACK_V6 = "http://[::1]:9/callback"


def authorize(http, client, redirect_uri, status, **overrides):
    _, challenge = pkce_pair()
    params = authorize_params(client, redirect_uri=redirect_uri, code_challenge=challenge,
                              code_challenge_method="S256", **overrides)
    return http.get(AUTHORIZE_PATH, params, status=status)


def assert_error_page(response):
    assert response.status_int == 400 and response.content_type == "text/html"
    assert "Location" not in response.headers
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "Invalid redirect address" in response.text


@pytest.mark.parametrize("registered, requested", [
    (LOOPBACK_V4, "http://127.0.0.1:51234/callback"),
    (LOOPBACK_V4, "http://127.0.0.1/callback"),
    (LOOPBACK_V6, "http://[::1]:51234/callback"),
    ("http://127.0.0.1/callback", "http://127.0.0.1:8080/callback"),
    ("http://127.0.0.1:9/callback?cli=1", "http://127.0.0.1:65535/callback?cli=1"),
    ("http://127.0.0.1:9", "http://127.0.0.1:4000"),
], ids=["v4-other-port", "v4-no-port", "v6-other-port", "registered-without-port", "with-query", "no-path"])
def test_a_public_client_may_use_any_port_on_its_loopback_redirect_uri(http, make_client, user, registered,
                                                                       requested):
    client = web_client(make_client, redirect_uris=[registered])
    assert is_login_redirect(authorize(http, client, requested, status=303))


def test_the_code_comes_back_to_the_port_asked_for_and_redeems_with_that_exact_uri(http, make_client, user):
    client = web_client(make_client, redirect_uris=[LOOPBACK_V4])
    ephemeral = "http://127.0.0.1:51234/callback"
    authorization = get_code(http, client, redirect_uri=ephemeral)
    assert authorization.redirect_uri == ephemeral
    # RFC 6749 §4.1.3: the token request repeats the redirect_uri of the authorization request, port included.
    refused = exchange_code(http, client, authorization, redirect_uri=LOOPBACK_V4, status=400)
    assert refused.json["error"] == "invalid_grant"
    assert "access_token" in exchange_code(http, client, authorization).json


def test_a_redirect_with_an_error_goes_to_the_port_asked_for(http, make_client):
    client = web_client(make_client, redirect_uris=[LOOPBACK_V4])
    ephemeral = "http://127.0.0.1:51234/callback"
    query = redirect_query(authorize(http, client, ephemeral, status=303, scope="admin"), ephemeral)
    assert query["error"] == "invalid_scope" and query["state"] == "state-123"


@pytest.mark.parametrize("registered, requested", [
    (LOOPBACK_V4, "http://127.0.0.1:51234/callback/extra"),
    (LOOPBACK_V4, "http://127.0.0.1:51234/Callback"),
    (LOOPBACK_V4, "http://127.0.0.1:51234/callback?x=1"),
    (LOOPBACK_V4, "http://127.0.0.1:51234/"),
    (LOOPBACK_V4, "https://127.0.0.1:51234/callback"),
    (LOOPBACK_V4, "http://127.0.0.2:51234/callback"),
    (LOOPBACK_V4, "http://[::1]:51234/callback"),
    (LOOPBACK_V4, "http://localhost:51234/callback"),
    (LOOPBACK_V4, "http://127.0.0.1:51234@evil.example/callback"),
    (LOOPBACK_V4, "http://127.0.0.1.evil.example:51234/callback"),
    (LOOPBACK_V4, "http://127.0.0.1:0/callback"),
    (LOOPBACK_V4, "http://127.0.0.1:65536/callback"),
    (LOOPBACK_V4, "http://127.0.0.1:/callback"),
    (LOOPBACK_V4, "http://127.0.0.1:80a/callback"),
    (LOOPBACK_V4, "http://127.0.0.1:51234/callback#frag"),
    ("http://localhost:9/callback", "http://localhost:51234/callback"),
    ("https://127.0.0.1:9/callback", "https://127.0.0.1:51234/callback"),
    ("https://app.example:8443/callback", "https://app.example:9443/callback"),
], ids=["path-appended", "path-case", "query-added", "other-path", "https", "other-v4-address", "v6-for-v4",
        "localhost-for-ip", "userinfo-trick", "host-suffix", "port-0", "port-too-big", "empty-port", "bad-port",
        "fragment", "localhost-registered", "https-loopback", "not-loopback"])
def test_only_the_port_of_an_http_loopback_ip_redirect_uri_may_differ(http, make_client, registered, requested):
    client = web_client(make_client, redirect_uris=[registered])
    assert_error_page(authorize(http, client, requested, status=400))


def test_a_confidential_client_gets_no_port_latitude(http, make_client, user):
    client = web_client(make_client, public=False, redirect_uris=[LOOPBACK_V4])
    assert_error_page(authorize(http, client, "http://127.0.0.1:51234/callback", status=400))
    assert is_login_redirect(authorize(http, client, LOOPBACK_V4, status=303))
