"""The OpenAPI document, a schemathesis fuzz run against it, and explicit garbage-input tests.

The fuzz run loads the document the app serves (so it tests the document and the server together):
no 5xx, and every status, media type, body and required header of every answer is one the document
lists. Values the fuzzer cannot guess (a real client_id, secret, user code, access token, ...) are
mixed into the generated requests, so some of them get past client authentication.
"""

from dataclasses import dataclass

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from app.grants import GRANT_TYPES
from tests.conftest import DISCOVERY_PATH, JWKS_PATH, TOKEN_PATH
from tests.helpers import (AUTHORIZE_PATH, CSRF_COOKIE, LOGOUT_PATH, POST_LOGOUT_REDIRECT_URI, REDIRECT_URI,
                           SESSION_COOKIE, USERINFO_PATH, USER_SCOPES, basic, bearer, pkce_pair, sign_in_tokens,
                           web_client)

OPENAPI_PATH = "/api/v1/platform/openapi.json"
DEVICE_AUTHORIZE_PATH = "/api/v1/platform/oauth/device/authorize"
DEVICE_VERIFY_PATH = "/api/v1/platform/oauth/device/verify"
REVOKE_PATH = "/api/v1/platform/oauth/revoke"
INTROSPECT_PATH = "/api/v1/platform/oauth/introspect"
PAR_PATH = "/api/v1/platform/oauth/par"
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 64 * 1024
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"

OPERATIONS = {
    ("GET", JWKS_PATH), ("GET", DISCOVERY_PATH), ("GET", AUTHORIZE_PATH), ("POST", DEVICE_AUTHORIZE_PATH),
    ("GET", DEVICE_VERIFY_PATH), ("POST", DEVICE_VERIFY_PATH), ("GET", LOGOUT_PATH), ("POST", TOKEN_PATH),
    ("GET", USERINFO_PATH), ("POST", USERINFO_PATH), ("POST", REVOKE_PATH), ("POST", INTROSPECT_PATH),
    ("POST", PAR_PATH),
}


# --- Seed data -----------------------------------------------------------------------------------

DROP = object()  # a known "value" that removes the parameter


@dataclass
class Seed:
    confidential: dict       # a GLOBAL client holding every grant (as printed by `client create`)
    public: dict             # a public GLOBAL client (PKCE, device flow)
    tokens: dict             # a user's token response: access, ID and refresh token
    user_code: str
    device_code: str
    verifier: str
    challenge: str
    cookies: dict            # the signed-in browser's session and CSRF cookies
    csrf_token: str          # what the browser's forms carry (an HMAC of the CSRF cookie's pre-session)

    def known_values(self):
        """Realistic values per parameter name, offered to the fuzzer next to what it generates."""
        return {
            "client_id": [self.confidential["client_id"], self.public["client_id"]],
            "redirect_uri": [REDIRECT_URI],
            "post_logout_redirect_uri": [POST_LOGOUT_REDIRECT_URI],
            "response_type": ["code"],
            "scope": ["openid", " ".join(USER_SCOPES), "api.read"],
            "code_challenge": [self.challenge],
            "code_challenge_method": ["S256"],
            "code_verifier": [self.verifier],
            "prompt": ["none", "login"],
            "grant_type": list(GRANT_TYPES),
            "refresh_token": [self.tokens["refresh_token"]],
            "device_code": [self.device_code],
            "user_code": [self.user_code, self.user_code.lower().replace("-", " ")],
            "subject_token": [self.tokens["access_token"]],
            "token": [self.tokens["access_token"], self.tokens["refresh_token"], self.tokens["id_token"]],
            "token_type_hint": ["access_token", "refresh_token"],
            "subject_token_type": [ACCESS_TOKEN_TYPE],
            "audience": [self.public["client_id"]],
            "id_token_hint": [self.tokens["id_token"]],
            "action": ["approve", "deny"],
            "csrf_token": [self.csrf_token],
            "authorization": [bearer(self.tokens["access_token"])["Authorization"],
                              basic(self.confidential["client_id"], self.confidential["client_secret"]), DROP],
            "client_secret": [self.confidential["client_secret"], DROP],
        }

    def well_formed(self):
        """Per operation path: whole requests that are valid, so generated noise lands next to real success."""
        confidential = {"client_id": self.confidential["client_id"],
                        "client_secret": self.confidential["client_secret"]}
        return {
            TOKEN_PATH: [
                {"grant_type": "client_credentials", **confidential},
                {"grant_type": "refresh_token", "refresh_token": self.tokens["refresh_token"], **confidential},
                {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": self.device_code,
                 "client_id": self.public["client_id"]},
                {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", **confidential,
                 "subject_token": self.tokens["access_token"], "subject_token_type": ACCESS_TOKEN_TYPE,
                 "audience": self.public["client_id"]},
            ],
            DEVICE_AUTHORIZE_PATH: [{"client_id": self.public["client_id"], "scope": "openid profile"}],
            INTROSPECT_PATH: [{"token": self.tokens["access_token"], **confidential},
                              {"token": self.tokens["refresh_token"], "token_type_hint": "refresh_token",
                               **confidential}],
            REVOKE_PATH: [{"token": self.tokens["access_token"], **confidential},
                          {"token": self.tokens["refresh_token"], "client_id": self.public["client_id"]}],
            PAR_PATH: [
                {"response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid", **confidential},
                {"response_type": "code", "client_id": self.public["client_id"], "redirect_uri": REDIRECT_URI,
                 "scope": "openid email", "code_challenge": self.challenge, "code_challenge_method": "S256"},
            ],
            AUTHORIZE_PATH: [
                {"response_type": "code", "client_id": self.confidential["client_id"], "redirect_uri": REDIRECT_URI,
                 "scope": "openid"},
                {"response_type": "code", "client_id": self.public["client_id"], "redirect_uri": REDIRECT_URI,
                 "scope": "openid email", "code_challenge": self.challenge, "code_challenge_method": "S256"},
            ],
            DEVICE_VERIFY_PATH: [{"user_code": self.user_code, "action": "approve",
                                  "csrf_token": self.csrf_token}],
            LOGOUT_PATH: [{"id_token_hint": self.tokens["id_token"], "state": "fuzz",
                           "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI}],
        }


@pytest.fixture
def seed(http, make_tenant, make_user, make_client):
    """A tenant, a user, two GLOBAL clients, a signed-in browser with the user's tokens, a pending device code."""
    make_tenant()
    make_user()
    confidential = web_client(make_client, public=False, name="Fuzz Web", grants=GRANT_TYPES,
                              scopes=USER_SCOPES + ["api.read"])
    public = web_client(make_client, name="Fuzz CLI",
                        grants=("authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"))
    tokens = sign_in_tokens(http, confidential, scope=" ".join(USER_SCOPES))
    device = http.post(DEVICE_AUTHORIZE_PATH, {"client_id": public["client_id"], "scope": "openid profile"}).json
    verifier, challenge = pkce_pair()
    cookies = {name: http.cookies[name] for name in (SESSION_COOKIE, CSRF_COOKIE)}
    csrf_token = http.get(LOGOUT_PATH).forms[0]["csrf_token"].value
    return Seed(confidential, public, tokens, device["user_code"], device["device_code"], verifier, challenge,
                cookies, csrf_token)


def _mix_in(known, well_formed=None):
    """A flatmap hook: the generated parameters as they are; or each one kept, swapped for a known value or
    dropped; or (given well_formed) a well-formed request of the operation plus the generated extras."""
    def flatmap(context, values):
        if not isinstance(values, dict):
            return st.just(values)
        options = [st.just(values)]
        choices = {name: st.sampled_from([value, *known[name.lower()]])
                   for name, value in values.items() if name.lower() in known}
        if choices:
            options.append(st.fixed_dictionaries(choices).map(lambda picked: {
                name: value for name, value in {**values, **picked}.items() if value is not DROP}))
        requests = (well_formed or {}).get(context.operation.path if context.operation else None)
        if requests:
            names = {name for request in requests for name in request}
            extras = {name: value for name, value in values.items() if name not in names}
            options.append(st.sampled_from(requests).map(lambda request: {**extras, **request}))
        return st.one_of(options)
    return flatmap


@pytest.fixture
def api_schema(request, app, seed):
    """The document the app serves, loaded by schemathesis and bound to the same in-process app."""
    if not hasattr(request.node, "_nodeid"):
        # schemathesis 4.32.5 reads and renames the running item through Node._nodeid, which pytest 9.2
        # replaced by Node._id; give this one item the attribute it expects (the renames then do nothing).
        request.node._nodeid = request.node.nodeid
    schema = schemathesis.openapi.from_wsgi(OPENAPI_PATH, app)
    known = seed.known_values()
    schema.hook("flatmap_query")(_mix_in(known, seed.well_formed()))
    schema.hook("flatmap_body")(_mix_in(known, seed.well_formed()))
    schema.hook("flatmap_headers")(_mix_in(known))
    return schema


# --- (a) The document --------------------------------------------------------------------------

def _json_schemas(document):
    yield from document["components"]["schemas"].values()
    for item in document["paths"].values():
        for operation in item.values():
            yield from (parameter["schema"] for parameter in operation.get("parameters", []))
            for content in [operation.get("requestBody", {}).get("content", {}),
                            *(response.get("content", {}) for response in operation["responses"].values())]:
                yield from (media["schema"] for media in content.values())


def test_the_document_is_valid_openapi_31_with_exactly_the_listed_operations(app, http):
    response = http.get(OPENAPI_PATH)
    assert response.content_type == "application/json"
    document = response.json
    assert document["openapi"].startswith("3.1.")
    assert document["servers"] == [{"url": "http://localhost"}]
    for schema in _json_schemas(document):
        jsonschema_rs.meta.validate(schema)  # each one a valid JSON Schema (2020-12, as OpenAPI 3.1 says)

    schema = schemathesis.openapi.from_wsgi(OPENAPI_PATH, app)
    schema.validate()  # against the OpenAPI 3.1 meta-schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} == OPERATIONS
    assert len(operations) == len(OPERATIONS)
    ids = [document["paths"][op.path][op.method.lower()]["operationId"] for op in operations]
    assert len(set(ids)) == len(OPERATIONS)


def test_the_document_keeps_the_references_parameters_and_schemas(http):
    document = http.get(OPENAPI_PATH).json
    paths = document["paths"]

    def params(method, path):
        return {(p["name"], p["in"], p["required"]) for p in paths[path][method].get("parameters", [])}

    assert params("get", AUTHORIZE_PATH) == {
        ("response_type", "query", True), ("client_id", "query", True), ("redirect_uri", "query", True),
        ("scope", "query", True), ("state", "query", False), ("nonce", "query", False),
        ("code_challenge", "query", False), ("code_challenge_method", "query", False), ("prompt", "query", False),
        ("login_hint", "query", False), ("dpop_jkt", "query", False), ("request_uri", "query", False)}
    assert params("get", LOGOUT_PATH) == {(name, "query", False) for name in
                                          ("id_token_hint", "post_logout_redirect_uri", "state", "client_id")}
    assert params("get", DEVICE_VERIFY_PATH) == {("user_code", "query", True)}
    assert params("post", DEVICE_AUTHORIZE_PATH) == {("authorization", "header", False)}
    assert params("post", TOKEN_PATH) == params("post", PAR_PATH) == {("authorization", "header", False),
                                                                      ("dpop", "header", False)}
    userinfo_params = {("authorization", "header", True), ("dpop", "header", False)}
    assert params("get", USERINFO_PATH) == params("post", USERINFO_PATH) == userinfo_params
    assert params("get", JWKS_PATH) == params("get", DISCOVERY_PATH) == params("post", DEVICE_VERIFY_PATH) == set()

    schemas = document["components"]["schemas"]
    token_body = paths[TOKEN_PATH]["post"]["requestBody"]
    assert token_body["required"] and list(token_body["content"]) == [FORM]
    token_schema = schemas["Body_platform_token_api_v1_platform_oauth_token_post"]
    assert token_schema["required"] == ["grant_type"]
    assert set(token_schema["properties"]) == {
        "grant_type", "client_id", "client_secret", "code", "device_code", "refresh_token", "redirect_uri",
        "code_verifier", "scope", "subject_token", "subject_token_type", "audience", "requested_token_type",
        "client_assertion", "client_assertion_type"}
    device_schema = schemas["Body_device_authorize_api_v1_platform_oauth_device_authorize_post"]
    assert set(device_schema["properties"]) == {"client_id", "scope", "client_assertion", "client_assertion_type"}
    assert device_schema["required"] == ["client_id"] and device_schema["properties"]["scope"]["default"] == "openid"
    assert set(paths[DEVICE_VERIFY_PATH]["post"]["requestBody"]["content"]) == {"application/json", FORM}
    assert schemas["HTTPValidationError"] == {
        "title": "HTTPValidationError", "type": "object",
        "properties": {"detail": {"title": "Detail", "type": "array",
                                  "items": {"$ref": "#/components/schemas/ValidationError"}}}}
    assert schemas["ValidationError"]["required"] == ["loc", "msg", "type"]
    assert schemas["ValidationError"]["properties"]["loc"]["items"] == {
        "anyOf": [{"type": "string"}, {"type": "integer"}]}
    for path, item in paths.items():
        for method, operation in item.items():
            if any(p["required"] for p in operation.get("parameters", [])) or "requestBody" in operation:
                assert operation["responses"]["422"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/HTTPValidationError"}, (method, path)


# --- (b) Property-based fuzzing ------------------------------------------------------------------

CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.status_code_conformance,
          schemathesis.checks.content_type_conformance, schemathesis.checks.response_schema_conformance,
          schemathesis.checks.response_headers_conformance]
FUZZ_SETTINGS = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                HealthCheck.function_scoped_fixture])

lazy_schema = schemathesis.pytest.from_fixture("api_schema")


@lazy_schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_anonymous(case):
    """Every operation, as a client without cookies would call it."""
    case.call_and_validate(checks=CHECKS)


@lazy_schema.include(path_regex="/oauth/(authorize|device/verify|logout)$").parametrize()
@FUZZ_SETTINGS
def test_fuzz_signed_in(case, seed):
    """The operations that read the SSO session, from the signed-in browser."""
    case.call_and_validate(checks=CHECKS, cookies=seed.cookies)


# --- (c) Garbage input -------------------------------------------------------------------------------

def assert_json_error(response, status, error=None):
    assert response.status_int == status, response.text
    assert response.content_type == "application/json"
    assert isinstance(response.json["error"], str) and response.json["error_description"]
    if error is not None:
        assert response.json["error"] == error


def post_raw(http, path, body, content_type, headers=None):
    return http.post(path, body, content_type=content_type, headers=headers or {}, expect_errors=True)


BODY_ENDPOINTS = [TOKEN_PATH, DEVICE_AUTHORIZE_PATH, REVOKE_PATH, INTROSPECT_PATH]


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
@pytest.mark.parametrize("body", [b"grant_type=client_credentials&client_id=\xff\xfe", b"\xc3\x28=\xa0\xa1"])
def test_a_form_body_that_is_not_utf8_is_400(http, path, body):
    assert_json_error(post_raw(http, path, body, FORM), 400, "invalid_request")


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "multipart/form-data; boundary=x",
                                          "application/octet-stream"])
def test_a_body_that_is_not_a_form_is_400(http, path, content_type):
    body = b'{"grant_type": "client_credentials", "client_id": "x"}'
    assert_json_error(post_raw(http, path, body, content_type), 400, "invalid_request")


@pytest.mark.parametrize("path", BODY_ENDPOINTS + [DEVICE_VERIFY_PATH])
@pytest.mark.parametrize("content_type", [FORM, "application/json", "text/plain"])
def test_a_body_over_64_kib_is_413(request, http, path, content_type):
    if path == DEVICE_VERIFY_PATH:
        request.getfixturevalue("seed")  # signed in: without a session the answer is 401 before the body is read
    body = b"grant_type=client_credentials&client_id=" + b"a" * MAX_BODY
    assert_json_error(post_raw(http, path, body, content_type), 413, "invalid_request")


@pytest.mark.parametrize("path, form", [
    (TOKEN_PATH, "grant_type=client_credentials&grant_type=refresh_token"),
    (TOKEN_PATH, "grant_type=client_credentials&client_id=a&client_id=b"),
    (DEVICE_AUTHORIZE_PATH, "client_id=a&client_id=b"),
    (DEVICE_AUTHORIZE_PATH, "client_id=a&scope=openid&scope=email"),
])
def test_a_repeated_form_parameter_is_400(http, path, form):
    assert_json_error(post_raw(http, path, form.encode(), FORM), 400, "invalid_request")


def test_an_empty_form_is_422_naming_the_missing_field(http):
    response = post_raw(http, TOKEN_PATH, b"", FORM)
    assert response.status_int == 422
    assert response.json == {"detail": [{"loc": ["body", "grant_type"], "msg": "Field required", "type": "missing"}]}
    response = post_raw(http, DEVICE_AUTHORIZE_PATH, b"", FORM)
    assert response.status_int == 422 and response.json["detail"][0]["loc"] == ["body", "client_id"]
    for path in (REVOKE_PATH, INTROSPECT_PATH):
        response = post_raw(http, path, b"", FORM)
        assert response.json == {"detail": [{"loc": ["body", "token"], "msg": "Field required", "type": "missing"}]}


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
def test_an_overlong_client_id_is_401(http, path):
    # token: revocation and introspection check that the request has one (422) before authenticating.
    form = {"grant_type": "client_credentials", "token": "t", "client_id": "c" * 60_000, "client_secret": "s"}
    response = http.post(path, form, expect_errors=True)
    assert_json_error(response, 401, "invalid_client")
    assert "WWW-Authenticate" not in response.headers  # the body was tried, not Basic


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
def test_an_overlong_basic_header_is_401(http, path):
    client_id = "c" * 10_000
    response = http.post(path, {"grant_type": "client_credentials", "token": "t", "client_id": client_id},
                         expect_errors=True, headers={"Authorization": basic(client_id, "s" * 10_000)})
    assert_json_error(response, 401, "invalid_client")


@pytest.mark.parametrize("header", ["Basic !!!not-base64!!!", "Basic " + "//79", "Basic", "Bearer abc", "Basic Og=="])
def test_a_malformed_basic_header_is_401(http, header):
    response = http.post(TOKEN_PATH, {"grant_type": "client_credentials"}, headers={"Authorization": header},
                         expect_errors=True)
    assert_json_error(response, 401, "invalid_client")


def test_an_overlong_scope_is_400_invalid_scope(http, seed):
    client = seed.confidential
    headers = {"Authorization": basic(client["client_id"], client["client_secret"])}
    for scope in ("a" * 10_000, " ".join(f"api.{n}" for n in range(1_000)), "openid \"quoted\" " * 1_000):
        response = http.post(TOKEN_PATH, {"grant_type": "client_credentials", "scope": scope}, headers=headers,
                             expect_errors=True)
        assert_json_error(response, 400, "invalid_scope")
        response = http.post(DEVICE_AUTHORIZE_PATH, {"client_id": seed.public["client_id"], "scope": scope},
                             expect_errors=True)
        assert_json_error(response, 400, "invalid_scope")


# The grants that read each parameter (client_credentials reads none of these, so it would succeed).
GRANT_PARAMETERS = {
    "code": "authorization_code", "redirect_uri": "authorization_code", "code_verifier": "authorization_code",
    "device_code": "urn:ietf:params:oauth:grant-type:device_code", "refresh_token": "refresh_token",
    "subject_token": "urn:ietf:params:oauth:grant-type:token-exchange",
    "audience": "urn:ietf:params:oauth:grant-type:token-exchange",
    "subject_token_type": "urn:ietf:params:oauth:grant-type:token-exchange",
    "requested_token_type": "urn:ietf:params:oauth:grant-type:token-exchange",
}


def grant_form(seed, grant_type, **overrides):
    """A complete, valid-looking form for the grant, with some values replaced."""
    form = {"grant_type": grant_type, "code": "c" * 43, "redirect_uri": REDIRECT_URI, "code_verifier": "v" * 43,
            "device_code": seed.device_code, "refresh_token": seed.tokens["refresh_token"],
            "subject_token": seed.tokens["access_token"], "subject_token_type": ACCESS_TOKEN_TYPE,
            "audience": seed.public["client_id"]}
    form.update(overrides)
    return form


@pytest.mark.parametrize("field", sorted(GRANT_PARAMETERS))
def test_overlong_grant_values_are_4xx(http, seed, field):
    client = seed.confidential
    headers = {"Authorization": basic(client["client_id"], client["client_secret"])}
    for value in ("\u00e9" * 9_000, "x" * 60_000, "\U0001f600" * 5_000):
        response = http.post(TOKEN_PATH, grant_form(seed, GRANT_PARAMETERS[field], **{field: value}), headers=headers,
                             expect_errors=True)
        assert 400 <= response.status_int < 500 and response.status_int != 413, (field, response.status, response.text)
        assert_json_error(response, response.status_int)


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
@pytest.mark.parametrize("client_id", ["\x00", "abc\x00def", "\ud7ff\x00\U0010ffff"])
def test_nul_in_client_id_is_refused_before_any_lookup(http, path, client_id):
    """A NUL is malformed input (invalid_request) in a form field, and failed authentication in Basic."""
    response = http.post(path, {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "s"},
                         expect_errors=True)
    assert_json_error(response, 400, "invalid_request")
    response = http.post(path, {"grant_type": "client_credentials", "token": "t", "client_id": "x"},
                         expect_errors=True, headers={"Authorization": basic(client_id, "s")})
    assert_json_error(response, 401, "invalid_client")


@pytest.mark.parametrize("field", sorted(GRANT_PARAMETERS))
def test_nul_in_grant_values_is_4xx(http, seed, field):
    client = seed.confidential
    headers = {"Authorization": basic(client["client_id"], client["client_secret"])}
    response = http.post(TOKEN_PATH, grant_form(seed, GRANT_PARAMETERS[field], **{field: "a\x00b"}), headers=headers,
                         expect_errors=True)
    assert 400 <= response.status_int < 500, (field, response.status, response.text)
    assert_json_error(response, response.status_int)


def test_nul_in_page_parameters_is_4xx(http, seed):
    response = http.get(AUTHORIZE_PATH, {"response_type": "code", "client_id": "a\x00", "redirect_uri": REDIRECT_URI,
                                         "scope": "openid"}, expect_errors=True)
    assert response.status_int == 400 and response.content_type == "text/html"
    response = http.get(LOGOUT_PATH, {"client_id": "a\x00", "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI},
                        expect_errors=True)
    assert response.status_int == 400 and response.content_type == "text/html"
    assert_json_error(http.get(DEVICE_VERIFY_PATH, {"user_code": "BCDF\x00GHJK"}, expect_errors=True), 400,
                      "invalid_request")
    response = post_raw(http, DEVICE_VERIFY_PATH, b'{"user_code": "BCDF\\u0000GHJK", "action": "approve"}',
                        "application/json")
    assert_json_error(response, 404)


@pytest.mark.parametrize("query", ["user_code=%FF%FE", "user_code=ABCD-EFGH&user_code=BCDF-GHJK"])
def test_device_verify_get_malformed_query_is_400(http, query):
    assert_json_error(http.get(DEVICE_VERIFY_PATH + "?" + query, expect_errors=True), 400, "invalid_request")


@pytest.mark.parametrize("user_code", ["B" * 10_000, "\u00e9\u00e9\u00e9\u00e9-\u00e9\u00e9\u00e9\u00e9",
                                       "BCDF GHJK \t-", "%%%%"])
def test_device_verify_get_odd_codes_are_404(http, user_code):
    assert_json_error(http.get(DEVICE_VERIFY_PATH, {"user_code": user_code}, expect_errors=True), 404, "not_found")


def test_device_verify_post_needs_a_session_before_reading_anything(http):
    http.reset()
    for body, content_type in [(b"\xff\xfe", "application/json"), (b"x" * 100, "text/plain"),
                               (b"user_code=x&user_code=y", FORM)]:
        assert_json_error(post_raw(http, DEVICE_VERIFY_PATH, body, content_type), 401, "login_required")


@pytest.mark.parametrize("body, content_type, status", [
    (b"\xff\xfe{}", "application/json", 400),
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b'"user_code"', "application/json", 400),
    (b'{"user_code": 12345678, "action": "approve"}', "application/json", 422),
    (b'{"user_code": "BCDF-GHJK", "action": ["approve"]}', "application/json", 422),
    (b'{"user_code": "BCDF-GHJK", "action": "maybe"}', "application/json", 422),
    (b'{"action": "approve"}', "application/json", 422),
    (b'{"user_code": "' + b"B" * 60_000 + b'", "action": "approve"}', "application/json", 404),
    (b"some text", "text/plain", 400),
    (b"user_code=\xff&action=approve", FORM, 400),
    (b"user_code=a&user_code=b&action=approve", FORM, 400),
])
def test_device_verify_post_garbage_from_a_signed_in_browser_is_4xx(http, seed, body, content_type, status):
    response = post_raw(http, DEVICE_VERIFY_PATH, body, content_type)
    if status == 422:
        assert response.status_int == 422 and response.json["detail"][0]["loc"][0] == "body", response.text
    else:
        assert_json_error(response, status)


@pytest.mark.parametrize("body", [b"[" * 30_000 + b"]" * 30_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000])
def test_device_verify_post_deeply_nested_json_is_400(http, seed, body):
    """json.loads raises RecursionError (not ValueError) on deep nesting; that must not become a 500."""
    assert_json_error(post_raw(http, DEVICE_VERIFY_PATH, body, "application/json"), 400, "invalid_request")


def test_device_verify_post_form_without_csrf_is_a_403_page(http, seed):
    response = post_raw(http, DEVICE_VERIFY_PATH, b"user_code=BCDF-GHJK&action=approve", FORM)
    assert response.status_int == 403 and response.content_type == "text/html"


@pytest.mark.parametrize("query", ["client_id=%FF&response_type=code&redirect_uri=x&scope=openid",
                                   "client_id=a&client_id=b&response_type=code&redirect_uri=x&scope=openid"])
def test_authorize_malformed_query_is_an_error_page_never_a_redirect(http, query):
    response = http.get(AUTHORIZE_PATH + "?" + query, expect_errors=True)
    assert response.status_int == 400 and response.content_type == "text/html"
    assert "Location" not in response.headers


def test_authorize_overlong_client_id_is_an_error_page(http):
    params = {"response_type": "code", "client_id": "c" * 60_000, "redirect_uri": REDIRECT_URI, "scope": "openid"}
    response = http.get(AUTHORIZE_PATH, params, expect_errors=True)
    assert response.status_int == 400 and response.content_type == "text/html"
    assert "Location" not in response.headers


def test_authorize_overlong_redirect_uri_is_an_error_page(http, seed):
    params = {"response_type": "code", "client_id": seed.public["client_id"], "scope": "openid",
              "redirect_uri": REDIRECT_URI + "x" * 10_000}
    response = http.get(AUTHORIZE_PATH, params, expect_errors=True)
    assert response.status_int == 400 and response.content_type == "text/html"


@pytest.mark.parametrize("overrides, error", [
    ({"scope": "s" * 10_000}, "invalid_scope"),
    ({"scope": "openid " * 2_000 + "\u00e9"}, "invalid_scope"),
    ({"response_type": "code" * 5_000}, "unsupported_response_type"),
    ({"code_challenge": "a" * 10_000, "code_challenge_method": "S256"}, "invalid_request"),
    ({"prompt": "none " * 3_000 + "login"}, "invalid_request"),
])
def test_authorize_overlong_values_redirect_with_an_error(http, seed, overrides, error):
    http.reset()
    params = {"response_type": "code", "client_id": seed.confidential["client_id"], "redirect_uri": REDIRECT_URI,
              "scope": "openid", "state": "s" * 10_000, **overrides}
    response = http.get(AUTHORIZE_PATH, params, status=303)
    assert response.headers["Location"].startswith(REDIRECT_URI + "?error=" + error)


def test_authorize_overlong_optional_values_reach_the_login_page(http, seed):
    http.reset()
    params = {"response_type": "code", "client_id": seed.confidential["client_id"], "redirect_uri": REDIRECT_URI,
              "scope": "openid", "state": "s" * 10_000, "nonce": "n" * 10_000, "login_hint": "h" * 10_000}
    response = http.get(AUTHORIZE_PATH, params, status=303)
    assert response.headers["Location"].startswith("/login?")


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("header", ["Bearer " + "x" * 10_000, "Bearer", "Bearer    ", "Basic abc", "x" * 8_000,
                                    "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "Bearer a.b.c",
                                    "Bearer \u00e9\u00e9\u00e9"])
def test_userinfo_garbage_tokens_are_401(http, method, header):
    response = getattr(http, method)(USERINFO_PATH, headers={"Authorization": header}, expect_errors=True)
    assert_json_error(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_userinfo_post_ignores_a_garbage_body(http, seed):
    headers = bearer(seed.tokens["access_token"])
    response = post_raw(http, USERINFO_PATH, b"\xff" * 70_000, "text/plain", headers)
    assert response.status_int == 200 and response.json["tenant"] == "acme"
    response = post_raw(http, USERINFO_PATH, b"access_token=x", FORM)
    assert response.status_int == 422 and response.json["detail"][0]["loc"] == ["header", "authorization"]


@pytest.mark.parametrize("query", ["state=%FF", "client_id=a&client_id=b"])
def test_logout_malformed_query_is_an_error_page(http, query):
    response = http.get(LOGOUT_PATH + "?" + query, expect_errors=True)
    assert response.status_int == 400 and response.content_type == "text/html"
    assert "Location" not in response.headers


@pytest.mark.parametrize("hint", ["x" * 10_000, "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
                                  "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.AAAA", "W10.W10.W10"])
def test_logout_garbage_id_token_hint_is_an_error_page(http, hint):
    response = http.get(LOGOUT_PATH, {"id_token_hint": hint}, expect_errors=True)
    assert response.status_int == 400 and response.content_type == "text/html"
