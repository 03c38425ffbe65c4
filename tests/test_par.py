"""Pushed authorization requests (RFC 9126): POST /oauth/par, and /authorize with client_id + request_uri."""

import json

import jwt
import pytest

from app.housekeeping import prune
from tests.client_keys import assertion_claims, assertion_form, jwks, new_key
from tests.dpop_proofs import ProofKey, code_form, dpop_token_request, refused
from tests.conftest import DISCOVERY_PATH
from tests.helpers import (AUTHORIZE_PATH, CONTENT_SECURITY_POLICY, ISSUER, REDIRECT_URI, USER_SCOPES, basic,
                           exchange_code, is_login_redirect, pkce_pair, redirect_query, set_application, sign_in,
                           web_client)

PAR_PATH = "/api/v1/platform/oauth/par"
PAR_URL = ISSUER + "/par"
URN_PREFIX = "urn:ietf:params:oauth:request_uri:"


@pytest.fixture
def confidential(make_client):
    return web_client(make_client, public=False, name="Confidential App")


@pytest.fixture(scope="module")
def es_key():
    return new_key("ES256", "par-es")


@pytest.fixture
def key_app(make_client, es_key):
    """A web app authenticating with private_key_jwt."""
    return web_client(make_client, public=False, name="Key App", auth_method="private_key_jwt", jwks=jwks(es_key))


@pytest.fixture
def par_only(make_client):
    """A public client created with --require-par."""
    return web_client(make_client, name="PAR-only App", require_par=True)


def request_params(client, **overrides):
    """A complete authorization request (PKCE S256); an override of None drops the parameter."""
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": client["redirect_uris"][0],
              "scope": "openid", "state": "pushed-state", "nonce": "pushed-nonce", "code_challenge": challenge,
              "code_challenge_method": "S256"}
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}, verifier


def push(http, client, status=201, headers=None, **overrides):
    """POST the request to the PAR endpoint as the client (Basic with its secret, or client_id alone)."""
    params, verifier = request_params(client, **overrides)
    if headers is None and client.get("client_secret"):
        headers = {"Authorization": basic(client["client_id"], client["client_secret"])}
        params.pop("client_id")
    response = http.post(PAR_PATH, params, headers=headers or {}, status=status)
    response.verifier = verifier
    return response


def authorize_with(http, client_id, request_uri, status=303, method="get", **extra):
    params = {"client_id": client_id, "request_uri": request_uri, **extra}
    return getattr(http, method)(AUTHORIZE_PATH, params, status=status)


def signed_in_code(http, response):
    """Follow a login redirect through the login pages; the client's redirect query."""
    assert is_login_redirect(response), response.headers.get("Location")
    response = sign_in(http, page=response.follow())
    return redirect_query(response.follow(status=303))


def assert_error_page(response):
    assert response.status_int == 400
    assert response.content_type == "text/html"
    assert "Location" not in response.headers
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def json_error(response, error, status=400):
    assert response.status_int == status, response.text
    assert response.content_type == "application/json"
    assert response.json["error"] == error, response.json
    return response.json["error_description"]


# --- Pushing -------------------------------------------------------------------------------------

def test_a_confidential_client_pushes_and_the_request_uri_runs_the_code_flow(http, confidential, user):
    pushed = push(http, confidential)
    assert pushed.json["request_uri"].startswith(URN_PREFIX) and pushed.json["expires_in"] == 60
    assert set(pushed.json) == {"request_uri", "expires_in"}
    assert pushed.headers["Cache-Control"] == "no-store"
    query = signed_in_code(http, authorize_with(http, confidential["client_id"], pushed.json["request_uri"]))
    assert query["state"] == "pushed-state" and query["iss"] == ISSUER
    tokens = exchange_code(http, confidential, _authorization(query, pushed.verifier)).json
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["nonce"] == "pushed-nonce" and claims["aud"] == confidential["client_id"]


def _authorization(query, verifier):
    from tests.helpers import Authorization
    return Authorization(query["code"], query.get("state"), query["iss"], REDIRECT_URI, verifier, True)


def test_a_public_client_pushes_with_its_client_id(http, client, user):
    pushed = push(http, client)
    query = signed_in_code(http, authorize_with(http, client["client_id"], pushed.json["request_uri"]))
    assert exchange_code(http, client, _authorization(query, pushed.verifier)).json["access_token"]


def test_a_private_key_jwt_client_pushes_with_an_assertion_for_the_par_endpoint(http, key_app, es_key, clock):
    params, _ = request_params(key_app)
    for audience in (PAR_URL, ISSUER):
        assertion = es_key.sign(assertion_claims(key_app["client_id"], clock.now(), audience=audience))
        assert http.post(PAR_PATH, {**params, **assertion_form(assertion)}, status=201).json["request_uri"]
    assertion = es_key.sign(assertion_claims(key_app["client_id"], clock.now(), audience=ISSUER + "/token"))
    json_error(http.post(PAR_PATH, {**params, **assertion_form(assertion)}, status=401), "invalid_client", 401)


def test_client_authentication_is_not_stored_with_the_request(http, confidential, services):
    http.post(PAR_PATH, {**request_params(confidential)[0], "client_secret": confidential["client_secret"]},
              status=201)
    (stored,) = services.database.execute_sql("SELECT parameters FROM pushed_authorization_request").fetchone()
    stored = json.loads(stored)
    assert "client_secret" not in stored and stored["client_id"] == confidential["client_id"]


def test_the_request_uri_is_stored_only_as_a_digest(http, confidential, services):
    request_uri = push(http, confidential).json["request_uri"]
    (stored,) = services.database.execute_sql("SELECT request_uri_hash FROM pushed_authorization_request").fetchone()
    assert request_uri[len(URN_PREFIX):] not in stored and len(stored) == 64


@pytest.mark.parametrize("headers", [None, {"Authorization": "Basic !!!"}, {"Authorization": "Bearer x"}])
def test_a_confidential_client_must_authenticate_to_push(http, confidential, headers):
    params, _ = request_params(confidential)
    json_error(http.post(PAR_PATH, params, headers=headers or {}, status=401), "invalid_client", 401)


def test_a_wrong_secret_is_refused(http, confidential):
    json_error(push(http, confidential, headers={"Authorization": basic(confidential["client_id"], "wrong")},
                    status=401), "invalid_client", 401)


def test_a_client_id_differing_from_the_authenticated_one_is_refused(http, confidential, client):
    params, _ = request_params(client)
    response = http.post(PAR_PATH, params, status=400,
                         headers={"Authorization": basic(confidential["client_id"], confidential["client_secret"])})
    json_error(response, "invalid_request")


def test_an_unregistered_redirect_uri_is_400_invalid_request(http, confidential):
    description = json_error(push(http, confidential, status=400, redirect_uri=REDIRECT_URI + "/x"),
                             "invalid_request")
    assert "redirect_uri" in description


@pytest.mark.parametrize("overrides, error", [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "admin"}, "invalid_scope"),
    ({"scope": " "}, "invalid_scope"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": "short"}, "invalid_request"),
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),  # public: PKCE required
    ({"prompt": "sometimes"}, "invalid_request"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"max_age": "soon"}, "invalid_request"),
    ({"response_mode": "fragment"}, "invalid_request"),
    ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
    ({"request_uri": URN_PREFIX + "abc"}, "invalid_request"),
])
def test_the_authorize_checks_answer_as_json(http, client, overrides, error):
    response = push(http, client, status=400, **overrides)
    json_error(response, error)
    assert "Location" not in response.headers


def test_a_client_without_the_authorization_code_grant_cannot_push(http, make_client):
    service = make_client(name="Service", redirect_uris=[REDIRECT_URI])
    json_error(push(http, service, status=400), "unauthorized_client")


def test_a_tenant_client_cannot_push(http, make_tenant, make_client):
    make_tenant(slug="other")
    tenant_app = web_client(make_client, public=False, audience="tenant", tenant="other")
    json_error(push(http, tenant_app, status=400), "unauthorized_client")


@pytest.mark.parametrize("name", ["response_type", "redirect_uri", "scope"])
def test_a_push_missing_a_required_parameter_is_422(http, client, name):
    response = push(http, client, status=422, **{name: None})
    assert response.json == {"detail": [{"loc": ["body", name], "msg": "Field required", "type": "missing"}]}


def test_a_push_with_a_repeated_parameter_or_a_non_form_body_is_400(http, client):
    body = f"response_type=code&client_id={client['client_id']}&scope=openid&scope=email&redirect_uri=x"
    response = http.post(PAR_PATH, body.encode(), content_type="application/x-www-form-urlencoded", status=400)
    json_error(response, "invalid_request")
    json_error(http.post(PAR_PATH, b"{}", content_type="application/json", status=400), "invalid_request")


def test_par_answers_only_post(http):
    assert http.get(PAR_PATH, status=405).json["error"] == "method_not_allowed"


# --- Using the request_uri at /authorize ------------------------------------------------------------

def test_parameters_sent_next_to_the_request_uri_are_ignored(http, client, user):
    pushed = push(http, client)
    response = authorize_with(http, client["client_id"], pushed.json["request_uri"], state="other",
                              redirect_uri="https://evil.example/cb", scope="openid email", prompt="none")
    query = signed_in_code(http, response)
    assert query["state"] == "pushed-state"


def test_only_client_id_and_request_uri_are_needed(http, client, user):
    """A required parameter is missing only if it is in neither the request nor the push."""
    assert is_login_redirect(authorize_with(http, client["client_id"], push(http, client).json["request_uri"]))


def test_a_request_uri_without_client_id_is_422(http, client):
    pushed = push(http, client)
    response = http.get(AUTHORIZE_PATH, {"request_uri": pushed.json["request_uri"]}, status=422)
    assert response.json["detail"] == [{"loc": ["query", "client_id"], "msg": "Field required", "type": "missing"}]


def test_post_authorize_takes_a_request_uri_too(http, client, user):
    pushed = push(http, client)
    response = authorize_with(http, client["client_id"], pushed.json["request_uri"], method="post")
    assert is_login_redirect(response)


def test_a_request_uri_works_once(http, client, user):
    request_uri = push(http, client).json["request_uri"]
    authorize_with(http, client["client_id"], request_uri)
    assert_error_page(authorize_with(http, client["client_id"], request_uri, status=400))


def test_a_request_uri_expires_after_60_seconds(http, client, clock):
    request_uri = push(http, client).json["request_uri"]
    clock.advance(60)
    assert_error_page(authorize_with(http, client["client_id"], request_uri, status=400))


def test_a_request_uri_works_until_its_expiry(http, client, clock):
    request_uri = push(http, client).json["request_uri"]
    clock.advance(59)
    assert is_login_redirect(authorize_with(http, client["client_id"], request_uri))


def test_only_the_client_that_pushed_may_use_the_request_uri(http, client, confidential, user):
    request_uri = push(http, client).json["request_uri"]
    assert_error_page(authorize_with(http, confidential["client_id"], request_uri, status=400))
    assert is_login_redirect(authorize_with(http, client["client_id"], request_uri))  # not used up


@pytest.mark.parametrize("request_uri", [URN_PREFIX + "unknown", "https://app.example/request.jwt", URN_PREFIX,
                                         "x" * 10_000])
def test_an_unknown_request_uri_is_an_error_page(http, client, request_uri):
    assert_error_page(authorize_with(http, client["client_id"], request_uri, status=400))


def test_a_client_disabled_after_pushing_gets_an_error_page(http, client, services):
    request_uri = push(http, client).json["request_uri"]
    set_application(services, client, "status", "disabled")
    assert_error_page(authorize_with(http, client["client_id"], request_uri, status=400))


def test_a_pushed_prompt_none_without_a_session_redirects_login_required(http, client, user):
    request_uri = push(http, client, prompt="none").json["request_uri"]
    query = redirect_query(authorize_with(http, client["client_id"], request_uri))
    assert query["error"] == "login_required" and query["state"] == "pushed-state"


def test_a_pushed_request_with_a_live_session_gets_the_code_at_once(http, client, signed_in):
    pushed = push(http, client, scope=" ".join(USER_SCOPES))
    query = redirect_query(authorize_with(http, client["client_id"], pushed.json["request_uri"]))
    tokens = exchange_code(http, client, _authorization(query, pushed.verifier)).json
    assert tokens["scope"] == " ".join(USER_SCOPES)


# --- --require-par ------------------------------------------------------------------------------------

def test_a_require_par_client_is_refused_without_a_request_uri_by_redirect(http, par_only):
    params, _ = request_params(par_only)
    query = redirect_query(http.get(AUTHORIZE_PATH, params, status=303))
    assert query["error"] == "invalid_request" and "PAR" in query["error_description"]
    assert query["state"] == "pushed-state" and query["iss"] == ISSUER


def test_a_require_par_client_with_an_unregistered_redirect_uri_gets_a_page(http, par_only):
    params, _ = request_params(par_only, redirect_uri="https://evil.example/cb")
    assert_error_page(http.get(AUTHORIZE_PATH, params, status=400))


def test_a_require_par_client_signs_in_through_par(http, par_only, user):
    pushed = push(http, par_only)
    query = signed_in_code(http, authorize_with(http, par_only["client_id"], pushed.json["request_uri"]))
    assert exchange_code(http, par_only, _authorization(query, pushed.verifier)).json["access_token"]


def test_other_clients_need_no_par(http, client, user):
    params, _ = request_params(client)
    assert is_login_redirect(http.get(AUTHORIZE_PATH, params, status=303))


# --- Discovery and housekeeping --------------------------------------------------------------------

def test_discovery_advertises_the_par_endpoint(http):
    document = http.get(DISCOVERY_PATH).json
    assert document["pushed_authorization_request_endpoint"] == PAR_URL
    assert document["require_pushed_authorization_requests"] is False


def test_prune_deletes_expired_pushed_requests(http, client, services, clock):
    push(http, client)
    clock.advance(60 + 86400 + 1)
    push(http, client)
    assert prune(services.database, clock.now())["pushed_authorization_request"] == 1


# --- DPoP with PAR (RFC 9449 §10.1) ---------------------------------------------------------------------

def _pushed_code(http, client, pushed):
    query = signed_in_code(http, authorize_with(http, client["client_id"], pushed.json["request_uri"]))
    return code_form(_authorization(query, pushed.verifier))


def test_a_dpop_proof_sent_with_the_push_binds_the_code_to_its_key(http, client, user, clock):
    key, other = ProofKey(), ProofKey()
    pushed = push(http, client, headers={"DPoP": key.proof(clock.now(), htu=PAR_URL)})
    form = _pushed_code(http, client, pushed)
    refused(dpop_token_request(http, client, form, None, status=400), "dpop_jkt")
    refused(dpop_token_request(http, client, form, other.proof(clock.now()), status=400), "dpop_jkt")
    tokens = dpop_token_request(http, client, form, key.proof(clock.now())).json
    assert tokens["token_type"] == "DPoP"
    assert jwt.decode(tokens["access_token"], options={"verify_signature": False})["cnf"] == {"jkt": key.jkt}


def test_a_proof_and_dpop_jkt_for_the_same_key_are_accepted(http, client, user, clock):
    key = ProofKey()
    pushed = push(http, client, headers={"DPoP": key.proof(clock.now(), htu=PAR_URL)}, dpop_jkt=key.jkt)
    assert dpop_token_request(http, client, _pushed_code(http, client, pushed), key.proof(clock.now())).json


def test_a_proof_by_another_key_than_dpop_jkt_is_refused(http, client, clock, services):
    key, other = ProofKey(), ProofKey()
    response = push(http, client, status=400, headers={"DPoP": key.proof(clock.now(), htu=PAR_URL)},
                    dpop_jkt=other.jkt)
    refused(response, "dpop_jkt")
    (count,) = services.database.execute_sql("SELECT COUNT(*) FROM pushed_authorization_request").fetchone()
    assert count == 0


@pytest.mark.parametrize("proof", [
    lambda key, now: key.proof(now),                           # made for the token endpoint
    lambda key, now: key.proof(now, htu=PAR_URL, htm="GET"),
    lambda key, now: key.proof(now - 3600, htu=PAR_URL),       # stale
    lambda key, now: "not-a-jwt",
])
def test_a_bad_proof_with_a_push_is_invalid_dpop_proof(http, client, clock, proof):
    refused(push(http, client, status=400, headers={"DPoP": proof(ProofKey(), clock.now())}), "DPoP")


def test_a_push_proof_is_accepted_once(http, client, clock):
    proof = ProofKey().proof(clock.now(), htu=PAR_URL)
    push(http, client, headers={"DPoP": proof})
    refused(push(http, client, status=400, headers={"DPoP": proof}), "used before")


def test_a_confidential_client_pushes_with_a_proof_and_its_secret(http, confidential, user, clock):
    key = ProofKey()
    pushed = push(http, confidential, headers={"DPoP": key.proof(clock.now(), htu=PAR_URL),
                                               "Authorization": basic(confidential["client_id"],
                                                                      confidential["client_secret"])},
                  client_id=None)
    form = _pushed_code(http, confidential, pushed)
    tokens = dpop_token_request(http, confidential, form, key.proof(clock.now())).json
    assert tokens["token_type"] == "DPoP"
