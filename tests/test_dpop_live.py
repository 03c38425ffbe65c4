"""DPoP end to end against a real gunicorn: proofs built with PyJWT, as a client that is not ours would."""

import concurrent.futures
import http.client
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.dpop_proofs import ProofKey
from tests.helpers import pkce_pair
from tests.live import live_server
from tests.test_oidc_client_library import follow_until, submit_first_form

REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: the test reads the Location header
PASSWORD = "analytical engine"


@pytest.fixture
def server(database_url, clean_database, tmp_path):
    with live_server(database_url, tmp_path) as running:
        running.cli("tenant", "create", "--slug", "acme", "--name", "Acme Inc.")
        running.cli("user", "create", "--tenant", "acme", "--email", "ada@example.com", "--name", "Ada Lovelace",
                    "--password-stdin", stdin=PASSWORD + "\n")
        yield running


def discover(server):
    return requests.get(server.url + "/api/v1/platform/oauth/.well-known/openid-configuration").json()


def test_a_dpop_bound_service_gets_no_bearer_token_and_a_bound_one_with_a_proof(server):
    metadata = discover(server)
    assert metadata["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "EdDSA"]
    service = server.cli("client", "create", "--name", "Billing", "--audience", "global", "--grant",
                         "client_credentials", "--scope", "billing.read", "--require-dpop")
    assert service["require_dpop"] is True
    token_url, auth = metadata["token_endpoint"], (service["client_id"], service["client_secret"])
    form = {"grant_type": "client_credentials"}

    refused = requests.post(token_url, data=form, auth=auth)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_dpop_proof"

    key = ProofKey("ES256")
    proof = key.proof(time.time(), token_url)
    issued = requests.post(token_url, data=form, auth=auth, headers={"DPoP": proof})
    assert issued.status_code == 200, issued.text
    assert issued.json()["token_type"] == "DPoP"
    # The same proof again, on whichever worker takes it: refused.
    replayed = requests.post(token_url, data=form, auth=auth, headers={"DPoP": proof})
    assert replayed.status_code == 400 and "used before" in replayed.json()["error_description"]


@pytest.fixture
def four_workers(database_url, clean_database, tmp_path):
    with live_server(database_url, tmp_path, workers=4) as running:
        yield running


def test_each_proof_is_honoured_once_when_many_connections_race_to_four_workers(four_workers):
    token_url = discover(four_workers)["token_endpoint"]
    service = four_workers.cli("client", "create", "--name", "Racer", "--audience", "global", "--grant",
                               "client_credentials", "--scope", "billing.read", "--require-dpop")
    auth = (service["client_id"], service["client_secret"])
    key = ProofKey("ES256")
    proofs = [key.proof(time.time(), token_url) for _ in range(8)]
    start = threading.Barrier(32)

    def present(proof):
        with requests.Session() as session:  # a connection of its own, so the workers share the load
            start.wait(10)
            return session.post(token_url, data={"grant_type": "client_credentials"}, auth=auth,
                                headers={"DPoP": proof}).status_code

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(present, [proof for proof in proofs for _ in range(4)]))
    per_proof = [sorted(statuses[i * 4:(i + 1) * 4]) for i in range(len(proofs))]
    assert per_proof == [[200, 400, 400, 400]] * len(proofs)


def test_two_dpop_headers_on_the_wire_are_refused(server):
    """gunicorn joins a repeated header; the proof check sees two and refuses them."""
    service = server.cli("client", "create", "--name", "Billing", "--audience", "global", "--grant",
                         "client_credentials", "--scope", "billing.read")
    token_url = discover(server)["token_endpoint"]
    key = ProofKey("ES256")
    body = urlencode({"grant_type": "client_credentials", "client_id": service["client_id"],
                      "client_secret": service["client_secret"]})
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.putrequest("POST", urlsplit(token_url).path)
        connection.putheader("Content-Type", "application/x-www-form-urlencoded")
        connection.putheader("Content-Length", str(len(body)))
        connection.putheader("DPoP", key.proof(time.time(), token_url))
        connection.putheader("DPoP", key.proof(time.time(), token_url))
        connection.endheaders(body.encode())
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    assert response.status == 400, answer
    assert b"invalid_dpop_proof" in answer and b"exactly one" in answer


def test_a_cli_signs_in_with_dpop_refreshes_with_its_key_and_reads_userinfo(server):
    metadata = discover(server)
    cli = server.cli("client", "create", "--name", "Acme CLI", "--audience", "global", "--public",
                     "--grant", "authorization_code", "--grant", "refresh_token", "--redirect-uri", REDIRECT_URI,
                     "--scope", "openid email offline_access")
    key, thief = ProofKey("ES256"), ProofKey("ES256")
    verifier, challenge = pkce_pair()
    query = urlencode({"response_type": "code", "client_id": cli["client_id"], "redirect_uri": REDIRECT_URI,
                       "scope": "openid email offline_access", "state": "s1", "code_challenge": challenge,
                       "code_challenge_method": "S256", "dpop_jkt": key.jkt})
    browser = requests.Session()
    login_page = follow_until(browser, server.url,
                              browser.get(metadata["authorization_endpoint"] + "?" + query, allow_redirects=False),
                              REDIRECT_URI)
    password_page = submit_first_form(browser, server.url, login_page, email="ada@example.com")
    signed_in = submit_first_form(browser, server.url, password_page, password=PASSWORD)
    code = parse_qs(urlsplit(follow_until(browser, server.url, signed_in, REDIRECT_URI)).query)["code"][0]

    token_url = metadata["token_endpoint"]
    redeem = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
              "code_verifier": verifier, "client_id": cli["client_id"]}
    stolen = requests.post(token_url, data=redeem, headers={"DPoP": thief.proof(time.time(), token_url)})
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_dpop_proof"
    tokens = requests.post(token_url, data=redeem, headers={"DPoP": key.proof(time.time(), token_url)}).json()
    assert tokens["token_type"] == "DPoP"

    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": cli["client_id"]}
    assert requests.post(token_url, data=refresh).status_code == 400
    assert requests.post(token_url, data=refresh, headers={"DPoP": thief.proof(time.time(), token_url)}).json()[
        "error"] == "invalid_dpop_proof"
    refreshed = requests.post(token_url, data=refresh, headers={"DPoP": key.proof(time.time(), token_url)}).json()
    assert refreshed["token_type"] == "DPoP" and refreshed["refresh_token"] != tokens["refresh_token"]

    userinfo_url, access_token = metadata["userinfo_endpoint"], refreshed["access_token"]
    as_bearer = requests.get(userinfo_url, headers={"Authorization": "Bearer " + access_token})
    assert as_bearer.status_code == 401
    proof = key.proof(time.time(), userinfo_url, "GET", access_token=access_token)
    claims = requests.get(userinfo_url, headers={"Authorization": "DPoP " + access_token, "DPoP": proof})
    assert claims.status_code == 200, claims.text
    assert claims.json()["email"] == "ada@example.com"
    again = requests.get(userinfo_url, headers={"Authorization": "DPoP " + access_token, "DPoP": proof})
    assert again.status_code == 401 and again.headers["WWW-Authenticate"].startswith('DPoP error="invalid_dpop_proof"')
