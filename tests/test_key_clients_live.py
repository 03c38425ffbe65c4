"""private_key_jwt and pushed authorization requests end to end: Authlib's client against a real gunicorn."""

import json
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey
from jwt.algorithms import RSAAlgorithm

from tests.live import live_server_with_ada
from tests.test_oidc_client_library import follow_until, submit_first_form

REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: the test reads the Location header
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
    """Authlib's private_key_jwt, with assertions that live 60 s (its default is an hour; this server takes 5 min).

    The claims are a new dict per assertion: Authlib writes the jti into the dict it is given, so a dict
    passed once to the constructor would carry the same jti into every assertion.
    """

    def sign(self, auth, token_endpoint):
        self.claims = {"exp": int(time.time()) + 60}
        return super().sign(auth, token_endpoint)


@pytest.fixture
def server(database_url, clean_database, tmp_path):
    with live_server_with_ada(database_url, tmp_path) as running:
        running.metadata = requests.get(
            running.url + "/api/v1/platform/oauth/.well-known/openid-configuration").json()
        yield running


@pytest.fixture
def key_pair(tmp_path):
    """(private key, path of a JWKS file with its public key) as a service would keep and register them."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)]}))
    return RSAKey.import_key(pem), str(jwks_file)


def test_authlib_signs_private_key_jwt_assertions_for_client_credentials(server, key_pair):
    key, jwks_file = key_pair
    info = server.cli("client", "create", "--name", "Key Service", "--audience", "global", "--grant",
                      "client_credentials", "--scope", "reports.read", "--auth-method", "private_key_jwt",
                      "--jwks-file", jwks_file)
    assert "client_secret" not in info
    token_endpoint = server.metadata["token_endpoint"]
    assert "private_key_jwt" in server.metadata["token_endpoint_auth_methods_supported"]
    session = OAuth2Session(info["client_id"], key, scope="reports.read", token_endpoint_auth_method="private_key_jwt")
    session.register_client_auth_method(ShortLivedPrivateKeyJWT(token_endpoint))
    first = session.fetch_token(token_endpoint, grant_type="client_credentials")
    second = session.fetch_token(token_endpoint, grant_type="client_credentials")  # a fresh jti each time
    assert first["access_token"] != second["access_token"] and first["scope"] == "reports.read"

    # The same assertion presented twice: the second time it is refused, whichever worker answers.
    assertion = private_key_jwt_sign(key, info["client_id"], token_endpoint, claims={"exp": int(time.time()) + 60})
    form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    assert requests.post(token_endpoint, data=form).status_code == 200
    replay = requests.post(token_endpoint, data=form)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"

    # Authlib's default assertion lives an hour: more than the 5 minutes accepted here.
    session = OAuth2Session(info["client_id"], key, token_endpoint_auth_method="private_key_jwt")
    session.register_client_auth_method(PrivateKeyJWT(token_endpoint))
    with pytest.raises(Exception, match="invalid_client"):
        session.fetch_token(token_endpoint, grant_type="client_credentials")


def test_a_par_only_key_client_signs_a_person_in_with_pushed_requests(server, key_pair):
    key, jwks_file = key_pair
    info = server.cli("client", "create", "--name", "Acme Portal", "--audience", "global", "--grant",
                      "authorization_code", "--redirect-uri", REDIRECT_URI, "--scope", "openid profile email",
                      "--auth-method", "private_key_jwt", "--jwks-file", jwks_file, "--require-par")
    metadata = server.metadata
    par_endpoint = metadata["pushed_authorization_request_endpoint"]
    session = OAuth2Session(info["client_id"], key, scope="openid profile", redirect_uri=REDIRECT_URI,
                            code_challenge_method="S256", token_endpoint_auth_method="private_key_jwt")
    session.register_client_auth_method(ShortLivedPrivateKeyJWT(metadata["token_endpoint"]))
    verifier = "v" * 20 + "erifier-" + "y" * 30
    url, state = session.create_authorization_url(metadata["authorization_endpoint"], nonce="n-par",
                                                  code_verifier=verifier)

    # Not pushed: refused (the registered redirect_uri learns why).
    refused = requests.get(url, allow_redirects=False)
    assert refused.status_code == 303
    assert parse_qs(urlsplit(refused.headers["Location"]).query)["error"] == ["invalid_request"]

    # Pushed: the same parameters, with an assertion Authlib signs for the PAR endpoint.
    assertion = private_key_jwt_sign(key, info["client_id"], par_endpoint, claims={"exp": int(time.time()) + 60})
    pushed = requests.post(par_endpoint, data={**{k: v[0] for k, v in parse_qs(urlsplit(url).query).items()},
                                               "client_assertion_type": ASSERTION_TYPE,
                                               "client_assertion": assertion})
    assert pushed.status_code == 201, pushed.text
    request_uri = pushed.json()["request_uri"]
    query = urlencode({"client_id": info["client_id"], "request_uri": request_uri})
    authorize = metadata["authorization_endpoint"] + "?" + query
    browser = requests.Session()
    login_page = follow_until(browser, server.url, browser.get(authorize, allow_redirects=False), REDIRECT_URI)
    password_page = submit_first_form(browser, server.url, login_page, email="ada@example.com")
    signed_in = submit_first_form(browser, server.url, password_page, password="analytical engine")
    callback = follow_until(browser, server.url, signed_in, REDIRECT_URI)
    assert f"state={state}" in callback

    token = session.fetch_token(metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    assert token["id_token"] and token["scope"] == "openid profile"
    # The request_uri was used up by the first visit.
    again = browser.get(authorize, allow_redirects=False)
    assert again.status_code == 400 and "Location" not in again.headers
