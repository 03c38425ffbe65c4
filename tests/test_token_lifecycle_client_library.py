"""Authlib's RFC 7009 revocation and RFC 7662 introspection clients against a real gunicorn."""

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.base_client.errors import OAuthError

from tests.live import live_server_with_ada
from tests.test_oidc_client_library import REDIRECT_URI, follow_until, submit_first_form

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


@pytest.fixture
def server(database_url, clean_database, tmp_path):
    with live_server_with_ada(database_url, tmp_path) as running:
        yield running


def metadata_of(server):
    return requests.get(server.url + "/api/v1/platform/oauth/.well-known/openid-configuration").json()


def sign_in(server, session, metadata):
    """The browser part of the code flow (with PKCE), then Authlib redeems the code."""
    verifier = "lifecycle-" + "v" * 50
    url, _ = session.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier)
    browser = requests.Session()
    login_page = follow_until(browser, server.url, browser.get(url, allow_redirects=False), REDIRECT_URI)
    password_page = submit_first_form(browser, server.url, login_page, email="ada@example.com")
    signed_in = submit_first_form(browser, server.url, password_page, password="analytical engine")
    return session.fetch_token(metadata["token_endpoint"], code_verifier=verifier,
                               authorization_response=follow_until(browser, server.url, signed_in, REDIRECT_URI))


def test_a_resource_server_introspects_and_the_app_revokes_with_authlib(server):
    web_app = server.cli("client", "create", "--name", "Acme web", "--audience", "global", "--grant",
                         "authorization_code", "--grant", "refresh_token", "--grant", TOKEN_EXCHANGE,
                         "--redirect-uri", REDIRECT_URI, "--scope", "openid profile orders.read")
    orders = server.cli("client", "create", "--name", "Orders API", "--audience", "global", "--grant",
                        "client_credentials")
    metadata = metadata_of(server)
    web = OAuth2Session(web_app["client_id"], web_app["client_secret"], scope="openid orders.read",
                        code_challenge_method="S256",
                        redirect_uri=REDIRECT_URI)
    token = sign_in(server, web, metadata)

    own = web.introspect_token(metadata["introspection_endpoint"], token=token["access_token"],
                               token_type_hint="access_token").json()
    assert own["active"] is True and own["client_id"] == web_app["client_id"] and own["scope"] == "openid orders.read"

    for_orders = requests.post(metadata["token_endpoint"], auth=(web_app["client_id"], web_app["client_secret"]), data={
        "grant_type": TOKEN_EXCHANGE, "subject_token": token["access_token"], "audience": orders["client_id"],
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token"}).json()["access_token"]
    resource_server = OAuth2Session(orders["client_id"], orders["client_secret"])
    seen = resource_server.introspect_token(metadata["introspection_endpoint"], token=for_orders).json()
    assert seen["active"] is True and seen["aud"] == orders["client_id"] and seen["sub"] == own["sub"]
    assert seen["act"] == {"sub": web_app["client_id"]} and seen["tenant_id"] == own["tenant_id"]

    # Sign-out: the app revokes its refresh token; the grant's access tokens die with it.
    response = web.revoke_token(metadata["revocation_endpoint"], token=token["refresh_token"],
                                token_type_hint="refresh_token")
    assert response.status_code == 200
    assert resource_server.introspect_token(metadata["introspection_endpoint"], token=for_orders).json() == {
        "active": False}
    assert web.get(metadata["userinfo_endpoint"]).status_code == 401
    with pytest.raises(OAuthError) as refused:
        web.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert refused.value.error == "invalid_grant"


def test_a_public_cli_revokes_with_its_client_id_alone(server):
    cli = server.cli("client", "create", "--name", "Acme CLI", "--audience", "global", "--public", "--grant",
                     "authorization_code", "--grant", "refresh_token", "--redirect-uri", REDIRECT_URI,
                     "--scope", "openid profile")
    metadata = metadata_of(server)
    session = OAuth2Session(cli["client_id"], scope="openid profile", redirect_uri=REDIRECT_URI,
                            code_challenge_method="S256", token_endpoint_auth_method="none",
                            revocation_endpoint_auth_method="none")
    token = sign_in(server, session, metadata)
    assert session.get(metadata["userinfo_endpoint"]).status_code == 200

    assert session.revoke_token(metadata["revocation_endpoint"], token=token["access_token"],
                                token_type_hint="access_token").status_code == 200
    assert session.get(metadata["userinfo_endpoint"]).status_code == 401
    # The refresh token was not named: it still brings a working access token, until it is revoked too.
    refreshed = session.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert session.get(metadata["userinfo_endpoint"]).status_code == 200
    assert session.revoke_token(metadata["revocation_endpoint"], token=refreshed["refresh_token"]).status_code == 200
    assert session.get(metadata["userinfo_endpoint"]).status_code == 401
    # A public client cannot introspect (RFC 7662 §2.1: resource servers authenticate).
    response = session.introspect_token(metadata["introspection_endpoint"], token=refreshed["access_token"])
    assert response.status_code == 401 and "WWW-Authenticate" not in response.headers
