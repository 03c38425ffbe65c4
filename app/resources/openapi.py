"""GET /api/v1/platform/openapi.json: the OpenAPI 3.1 description of the endpoints.

Paths, parameters, request bodies and the HTTPValidationError/ValidationError schemas are those of
the published reference (spec/platform-oauth-api.md); the responses are the ones the service
really sends, so a client (or a fuzzer) can rely on every status and media type listed here.
"""

from app.config import API_PREFIX, ISSUER_PATH

TAG = "Platform OAuth"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
HTML = "text/html"


def _ref(name):
    return {"$ref": "#/components/schemas/" + name}


def _nullable_string(title):
    return {"anyOf": [{"type": "string"}, {"type": "null"}], "title": title}


def _title(name):
    return name.replace("_", " ").title()


def _param(name, location, required=False, description=None):
    schema = {"type": "string", "title": _title(name)} if required else _nullable_string(_title(name))
    param = {"name": name, "in": location, "required": required, "schema": schema}
    if description:
        param["description"] = description
    return param


def _json(description, schema, headers=None):
    response = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _error(description, headers=None):
    return _json(description, _ref("OAuthError"), headers)


def _html(description):
    return {"description": description, "content": {HTML: {"schema": {"type": "string"}}}}


def _html_or_error(description):
    """A person sees a page, also for a malformed query (a repeated or non-UTF-8 parameter)."""
    return _html(description + " A malformed query (a repeated or non-UTF-8 parameter) gets the same kind of page.")


def _header(description, required=True):
    return {"description": description, "required": required, "schema": {"type": "string"}}


LOCATION = {"Location": _header("Where the browser goes next.")}
RETRY_AFTER = {"Retry-After": _header("Seconds to wait before trying again.")}
BASIC_CHALLENGE = {"WWW-Authenticate": _header(
    "The Basic challenge of RFC 6749 §5.2, e.g. `Basic realm=\"...\"`, sent only when the client tried HTTP Basic.",
    required=False)}
BEARER_CHALLENGE = {"WWW-Authenticate": _header("The Bearer challenge of RFC 6750 §3, naming the error (a DPoP "
                                                "challenge, RFC 9449 §7.1, for the DPoP scheme).")}

VALIDATION_ERROR = _json("A parameter the reference marks required is missing, or ill-typed.",
                         _ref("HTTPValidationError"))
UNAVAILABLE = _error("The database cannot be reached; try again after Retry-After seconds.", RETRY_AFTER)
TOO_LARGE = _error("The request body is larger than 64 KiB.")
MALFORMED_QUERY = "The query string repeats a parameter or is not valid UTF-8 (`invalid_request`)."

AUTHORIZE_PARAMS = [
    _param("response_type", "query", True, "Only `code` is supported."),
    _param("client_id", "query", True, "An active GLOBAL application."),
    _param("redirect_uri", "query", True, "Exactly one of the client's registered redirect URIs."),
    _param("scope", "query", True),
    _param("state", "query"),
    _param("nonce", "query"),
    _param("code_challenge", "query"),
    _param("code_challenge_method", "query", description="`S256`; `plain` is refused."),
    _param("prompt", "query"),
    _param("login_hint", "query"),
    _param("request_uri", "query", description="From the PAR endpoint (RFC 9126): stands for the pushed "
                                               "parameters; parameters sent next to it are ignored."),
    _param("dpop_jkt", "query", description="RFC 9449 §10: the JWK thumbprint of the DPoP key that must redeem the "
                                            "code."),
]
DPOP_HEADER = _param("dpop", "header", description="A DPoP proof JWT (RFC 9449 §4): typ `dpop+jwt`, alg ES256, "
                                                   "RS256 or EdDSA, the public `jwk` in its header; htm and htu of "
                                                   "this request, a fresh iat and a new jti.")
LOGOUT_PARAMS = [_param(name, "query") for name in
                 ("id_token_hint", "post_logout_redirect_uri", "state", "client_id")]


PAR_BODY = "Body_pushed_authorization_request_api_v1_platform_oauth_par_post"
CLIENT_ASSERTION_FIELDS = {
    "client_assertion": {**_nullable_string("Client Assertion"), "description": (
        "private_key_jwt (RFC 7523 §2.2): a JWT signed RS256 or ES256 by a key the client registered; iss and "
        "sub the client_id, aud the issuer or this endpoint's URL, exp at most 5 minutes ahead, a jti used once.")},
    "client_assertion_type": {**_nullable_string("Client Assertion Type"), "description": (
        "`urn:ietf:params:oauth:client-assertion-type:jwt-bearer` with client_assertion.")},
}


def _schemas():
    token_fields = ("client_id", "client_secret", "code", "device_code", "refresh_token", "redirect_uri",
                    "code_verifier", "scope", "subject_token", "subject_token_type", "audience",
                    "requested_token_type")
    token_body = "Body_platform_token_api_v1_platform_oauth_token_post"
    device_body = "Body_device_authorize_api_v1_platform_oauth_device_authorize_post"
    application = {"type": "object", "required": ["name", "client_id"],
                   "properties": {"name": {"type": "string"}, "client_id": {"type": "string"}}}
    return {
        device_body: {
            "title": device_body, "type": "object", "required": ["client_id"],
            "properties": {"client_id": {"type": "string", "title": "Client Id"},
                           "scope": {"type": "string", "title": "Scope", "default": "openid"},
                           **CLIENT_ASSERTION_FIELDS},
        },
        token_body: {
            "title": token_body, "type": "object", "required": ["grant_type"],
            "properties": {"grant_type": {"type": "string", "title": "Grant Type"},
                           **{name: _nullable_string(_title(name)) for name in token_fields},
                           **CLIENT_ASSERTION_FIELDS},
        },
        PAR_BODY: {
            "title": PAR_BODY, "type": "object", "required": ["response_type", "redirect_uri", "scope"],
            "description": "The parameters of an authorization request (as at /authorize, without request_uri), "
                           "with the client's authentication.",
            "properties": {**{name: {"type": "string", "title": _title(name)}
                              for name in ("response_type", "redirect_uri", "scope")},
                           **{name: _nullable_string(_title(name)) for name in (
                               "client_id", "client_secret", "state", "nonce", "code_challenge",
                               "code_challenge_method", "prompt", "login_hint", "max_age")},
                           **CLIENT_ASSERTION_FIELDS},
        },
        "PushedAuthorizationResponse": {
            "title": "PushedAuthorizationResponse", "type": "object", "required": ["request_uri", "expires_in"],
            "properties": {"request_uri": {"type": "string", "pattern": "^urn:ietf:params:oauth:request_uri:"},
                           "expires_in": {"type": "integer"}},
        },
        "HTTPValidationError": {
            "title": "HTTPValidationError", "type": "object",
            "properties": {"detail": {"title": "Detail", "type": "array", "items": _ref("ValidationError")}},
        },
        "ValidationError": {
            "title": "ValidationError", "type": "object", "required": ["loc", "msg", "type"],
            "properties": {
                "loc": {"title": "Location", "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                "msg": {"title": "Message", "type": "string"},
                "type": {"title": "Error Type", "type": "string"},
            },
        },
        "OAuthError": {
            "title": "OAuthError", "type": "object", "required": ["error"],
            "description": "An OAuth error (RFC 6749 §5.2, RFC 6750 §3.1, RFC 8628 §3.5).",
            "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
        },
        "JsonWebKeySet": {
            "title": "JsonWebKeySet", "type": "object", "required": ["keys"],
            "properties": {"keys": {"type": "array", "items": {
                "type": "object", "required": ["kty", "kid", "use", "alg"],
                "properties": {"kty": {"type": "string"}, "kid": {"type": "string"}, "use": {"const": "sig"},
                               "alg": {"type": "string"}, "n": {"type": "string"}, "e": {"type": "string"}}}}},
        },
        "OpenIdConfiguration": {
            "title": "OpenIdConfiguration", "type": "object",
            "required": ["issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
                         "response_types_supported", "subject_types_supported",
                         "id_token_signing_alg_values_supported"],
            "properties": {
                **{name: {"type": "string"} for name in (
                    "issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint",
                    "end_session_endpoint", "device_authorization_endpoint", "jwks_uri",
                    "pushed_authorization_request_endpoint")},
                **{name: {"type": "array", "items": {"type": "string"}} for name in (
                    "scopes_supported", "response_types_supported", "grant_types_supported",
                    "token_endpoint_auth_methods_supported", "code_challenge_methods_supported",
                    "subject_types_supported", "id_token_signing_alg_values_supported", "claims_supported",
                    "token_endpoint_auth_signing_alg_values_supported", "dpop_signing_alg_values_supported")},
            },
        },
        "DeviceAuthorizationResponse": {
            "title": "DeviceAuthorizationResponse", "type": "object",
            "required": ["device_code", "user_code", "verification_uri", "verification_uri_complete",
                         "expires_in", "interval"],
            "properties": {"device_code": {"type": "string"},
                           "user_code": {"type": "string", "pattern": "^[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}$"},
                           "verification_uri": {"type": "string"}, "verification_uri_complete": {"type": "string"},
                           "expires_in": {"type": "integer"}, "interval": {"type": "integer"}},
        },
        "DeviceVerifyInfo": {
            "title": "DeviceVerifyInfo", "type": "object",
            "required": ["user_code", "application", "scopes", "expires_at", "expires_in", "status"],
            "properties": {
                "user_code": {"type": "string"}, "application": application,
                "scopes": {"type": "array", "items": {
                    "type": "object", "required": ["scope", "description"],
                    "properties": {"scope": {"type": "string"}, "description": {"type": "string"}}}},
                "expires_at": {"type": "integer"}, "expires_in": {"type": "integer"},
                "status": {"const": "pending"},
            },
        },
        "DeviceVerifyRequest": {
            "title": "DeviceVerifyRequest", "type": "object", "required": ["user_code", "action"],
            "properties": {"user_code": {"type": "string"}, "action": {"enum": ["approve", "deny"]}},
        },
        "DeviceVerifyForm": {
            "title": "DeviceVerifyForm", "type": "object", "required": ["user_code", "action", "csrf_token"],
            "properties": {"user_code": {"type": "string"}, "action": {"enum": ["approve", "deny"]},
                           "csrf_token": {"type": "string",
                                          "description": "The page's form token, bound to the CSRF cookie."}},
        },
        "DeviceVerifyResult": {
            "title": "DeviceVerifyResult", "type": "object", "required": ["status", "user_code", "application"],
            "properties": {"status": {"enum": ["approved", "denied"]}, "user_code": {"type": "string"},
                           "application": application},
        },
        "TokenResponse": {
            "title": "TokenResponse", "type": "object", "required": ["access_token", "token_type", "expires_in"],
            "properties": {"access_token": {"type": "string"}, "token_type": {"enum": ["Bearer", "DPoP"]},
                           "expires_in": {"type": "integer"}, "scope": {"type": "string"},
                           "refresh_token": {"type": "string"}, "id_token": {"type": "string"},
                           "issued_token_type": {"type": "string"}},
        },
        REVOKE_BODY: _token_form(REVOKE_BODY, "RFC 7009 §2.1: `access_token` or `refresh_token`; a hint only."),
        INTROSPECT_BODY: _token_form(INTROSPECT_BODY, "RFC 7662 §2.1: `access_token` or `refresh_token`; a hint only."),
        "IntrospectionResponse": {
            "title": "IntrospectionResponse", "type": "object", "required": ["active"],
            "description": "RFC 7662 §2.2. An inactive, unknown or foreign token is exactly `{\"active\": false}`.",
            "properties": {
                "active": {"type": "boolean"},
                **{name: {"type": "string"} for name in ("iss", "sub", "client_id", "scope", "tenant_id")},
                "aud": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                "exp": {"type": "integer"}, "iat": {"type": "integer"},
                "token_type": {"enum": ["Bearer", "DPoP"]},
                "act": {"type": "object", "description": "RFC 8693 §4.1: the actor of a token exchange."},
                "cnf": {"type": "object", "description": "RFC 9449 §6.2: the DPoP key the token is bound to."},
            },
        },
        "UserInfo": {
            "title": "UserInfo", "type": "object", "required": ["sub", "tenant_id", "tenant"],
            "properties": {"sub": {"type": "string"}, "tenant_id": {"type": "string"}, "tenant": {"type": "string"},
                           "name": {"type": "string"}, "given_name": {"type": "string"},
                           "family_name": {"type": "string"}, "updated_at": {"type": "integer"},
                           "email": {"type": "string"}, "email_verified": {"type": "boolean"}},
        },
    }


REVOKE_BODY = "Body_platform_revoke_api_v1_platform_oauth_revoke_post"
INTROSPECT_BODY = "Body_platform_introspect_api_v1_platform_oauth_introspect_post"


def _token_form(title, hint):
    """The form of revocation and introspection: the token, a hint, and client credentials in the body."""
    return {"title": title, "type": "object", "required": ["token"],
            "properties": {"token": {"type": "string", "title": "Token"},
                           "token_type_hint": {**_nullable_string("Token Type Hint"), "description": hint},
                           "client_id": _nullable_string("Client Id"),
                           "client_secret": _nullable_string("Client Secret")}}


def _operation(operation_id, summary, description, responses, parameters=None, request_body=None):
    operation = {"tags": [TAG], "summary": summary, "description": description, "operationId": operation_id}
    if parameters:
        operation["parameters"] = parameters
    if request_body:
        operation["requestBody"] = request_body
    operation["responses"] = responses
    return operation


def _userinfo(method):
    return _operation(
        f"platform_userinfo_api_v1_platform_oauth_userinfo_{method}", "Platform Userinfo",
        "Platform-level OIDC UserInfo endpoint.\n\nReturns claims about the authenticated user: `sub`, "
        "`tenant_id` and `tenant` always; `profile` adds name, given_name, family_name, updated_at; `email` "
        "adds email and email_verified.",
        {
            "200": _json("Claims about the token's user.", _ref("UserInfo")),
            "401": _error("The header is not `Bearer <token>` or `DPoP <token>`, or the token is invalid, expired, "
                          "not a user's, or its user is no longer active (`invalid_token`); a DPoP-bound token "
                          "sent as Bearer (`invalid_token`); with the DPoP scheme a missing or bad proof, or one "
                          "by another key (`invalid_dpop_proof`).", BEARER_CHALLENGE),
            "403": _error("The access token lacks the `openid` scope (`insufficient_scope`).", BEARER_CHALLENGE),
            "422": VALIDATION_ERROR,
            "503": UNAVAILABLE,
        },
        [_param("authorization", "header", True, "`Bearer <access token>` (RFC 6750 §2.1), or `DPoP <access "
                "token>` for a DPoP-bound token (RFC 9449 §7.1)."),
         {**DPOP_HEADER, "description": "With the DPoP scheme: a proof (RFC 9449 §4) whose `ath` is the "
                                        "base64url SHA-256 of the access token."}])


def _paths():
    form_body = "The body is not a well-formed form (wrong content type, repeated parameter, not UTF-8) " \
        "or breaks the grant's rules (`invalid_request`, `invalid_grant`, `invalid_scope`, ...)."
    token_errors = form_body + " A missing or bad DPoP proof is `invalid_dpop_proof` (RFC 9449 §5)."
    # The answers the form endpoints with client authentication share (token, device/authorize, revoke,
    # introspect).
    client_authenticated = {
        "400": _error(form_body),
        "401": _error("Client authentication failed (`invalid_client`).", BASIC_CHALLENGE),
        "413": TOO_LARGE,
        "422": VALIDATION_ERROR,
        "503": UNAVAILABLE,
    }
    return {
        API_PREFIX + "/.well-known/jwks.json": {"get": _operation(
            "platform_jwks_api_v1_platform__well_known_jwks_json_get", "Platform Jwks",
            "Platform-level JSON Web Key Set endpoint.\n\nReturns the public keys used to verify platform token "
            "signatures. These are the same keys used for tenant-level tokens.",
            {"200": _json("The public signing keys (RFC 7517).", _ref("JsonWebKeySet")), "503": UNAVAILABLE})},
        ISSUER_PATH + "/.well-known/openid-configuration": {"get": _operation(
            "platform_openid_configuration_api_v1_platform_oauth__well_known_openid_configuration_get",
            "Platform Openid Configuration",
            "Platform-level OpenID Configuration (OIDC Discovery 1.0, RFC 8414).",
            {"200": _json("The provider metadata.", _ref("OpenIdConfiguration"))})},
        ISSUER_PATH + "/authorize": {"get": _operation(
            "platform_authorize_api_v1_platform_oauth_authorize_get", "Platform Authorize",
            "Platform-level OAuth 2.0 Authorization endpoint, for GLOBAL-scoped applications.\n\n"
            "The client and its redirect_uri are checked first; if either is wrong the person sees an error "
            "page, never a redirect. Every later error is redirected back to the client with `error`, "
            "`error_description`, `state` and `iss` (RFC 9207). A valid request goes to the tenant-agnostic "
            "login page, or straight back to the client with a code when an SSO session is live. A client "
            "created with --require-consent (for scopes the user has not allowed it yet), and any request with "
            "prompt=consent, shows the consent page first (Deny: `access_denied`; prompt=none: "
            "`consent_required`). A public client's http://127.0.0.1 or http://[::1] redirect_uri matches on "
            "any port (RFC 8252 §7.3).",
            {
                "303": {"description": "To the login page, the consent page, or back to the client's "
                                       "redirect_uri with a `code` or an `error`.", "headers": LOCATION},
                "400": _html_or_error("Unknown or inactive client, a redirect_uri that is not registered, or a "
                                      "request_uri that is unknown, expired, used or another client's: an HTML "
                                      "error page. " + MALFORMED_QUERY),
                "422": VALIDATION_ERROR,
                "503": UNAVAILABLE,
            },
            AUTHORIZE_PARAMS)},
        ISSUER_PATH + "/device/authorize": {"post": _operation(
            "device_authorize_api_v1_platform_oauth_device_authorize_post", "Device Authorize",
            "Device Authorization Request (RFC 8628 Section 3.1).\n\nThe device calls this to get a device_code "
            "and user_code. Confidential clients authenticate with HTTP Basic, client_secret in the body, or a "
            "private_key_jwt client assertion.",
            {
                "200": _json("The device and user codes (RFC 8628 §3.2).", _ref("DeviceAuthorizationResponse")),
                **client_authenticated,
            },
            [_param("authorization", "header", description="HTTP Basic client credentials.")],
            {"required": True, "content": {FORM: {"schema": _ref(
                "Body_device_authorize_api_v1_platform_oauth_device_authorize_post")}}})},
        ISSUER_PATH + "/device/verify": {
            "get": _operation(
                "device_verify_info_api_v1_platform_oauth_device_verify_get", "Device Verify Info",
                "Get info about a device code for the verification page. Returns the application name and "
                "requested scopes. Case, dashes and spaces in the code do not matter.",
                {
                    "200": _json("The pending request.", _ref("DeviceVerifyInfo")),
                    "400": _error(MALFORMED_QUERY),
                    "404": _error("Unknown, expired or already used code (`not_found`)."),
                    "422": VALIDATION_ERROR,
                    "429": _error("Too many unknown codes from this address (`too_many_requests`).", RETRY_AFTER),
                    "503": UNAVAILABLE,
                },
                [_param("user_code", "query", True)]),
            "post": _operation(
                "device_verify_complete_api_v1_platform_oauth_device_verify_post", "Device Verify Complete",
                "User approves or denies the device authorization request. Requires the user to be "
                "authenticated (via SSO cookie or session); that is checked first. JSON bodies are accepted "
                "from this service's own origin only; the /device page's form carries a CSRF token.",
                {
                    "200": _json("The decision was recorded.", _ref("DeviceVerifyResult")),
                    "400": _error("The body is not valid JSON or not a JSON object, or the form is malformed "
                                  "(`invalid_request`)."),
                    "401": _error("No signed-in user (`login_required`)."),
                    "403": {"description": "A cross-origin JSON request (JSON `invalid_request`), or a form "
                                           "without a valid CSRF token (an HTML page).",
                            "content": {JSON: {"schema": _ref("OAuthError")}, HTML: {"schema": {"type": "string"}}}},
                    "404": _error("Unknown, expired or already used code (`not_found`)."),
                    "413": TOO_LARGE,
                    "422": VALIDATION_ERROR,
                    "429": _error("Too many unknown codes from this address (`too_many_requests`).", RETRY_AFTER),
                    "503": UNAVAILABLE,
                },
                request_body={"required": True, "content": {JSON: {"schema": _ref("DeviceVerifyRequest")},
                                                            FORM: {"schema": _ref("DeviceVerifyForm")}}})},
        ISSUER_PATH + "/logout": {"get": _operation(
            "platform_logout_api_v1_platform_oauth_logout_get", "Platform Logout",
            "Platform-level OIDC End Session endpoint (RP-initiated logout).\n\nResolves the SSO session by "
            "cookie and terminates it. Without an id_token_hint naming the current session the person is asked "
            "to confirm first. post_logout_redirect_uri is followed only when registered for the client.",
            {
                "200": _html("The sign-out confirmation page, or the signed-out page."),
                "303": {"description": "Signed out; back to the registered post_logout_redirect_uri with `state`.",
                        "headers": LOCATION},
                "400": _html_or_error("An id_token_hint that is not ours, a client_id that does not match it, "
                                      "or an unregistered post_logout_redirect_uri: an HTML error page. "
                                      + MALFORMED_QUERY),
                "503": UNAVAILABLE,
            },
            LOGOUT_PARAMS)},
        ISSUER_PATH + "/token": {"post": _operation(
            "platform_token_api_v1_platform_oauth_token_post", "Platform Token",
            "Platform-level OAuth 2.0 Token endpoint for GLOBAL-scoped applications: authorization_code, "
            "client_credentials, refresh_token, urn:ietf:params:oauth:grant-type:device_code and "
            "urn:ietf:params:oauth:grant-type:token-exchange. Clients authenticate with HTTP Basic "
            "(`authorization` header), client_secret in the body, a private_key_jwt client assertion "
            "(client_assertion_type and client_assertion), or client_id alone when public. With a "
            "`DPoP` proof the access token is DPoP-bound (`token_type: DPoP`, RFC 9449 §5).",
            {
                "200": _json("The tokens (RFC 6749 §5.1).", _ref("TokenResponse")),
                **client_authenticated,
                "400": _error(token_errors),
            },
            [_param("authorization", "header", description="HTTP Basic client credentials."), DPOP_HEADER],
            {"required": True, "content": {FORM: {"schema": _ref(
                "Body_platform_token_api_v1_platform_oauth_token_post")}}})},
        ISSUER_PATH + "/userinfo": {"get": _userinfo("get"), "post": _userinfo("post")},
        ISSUER_PATH + "/revoke": {"post": _operation(
            "platform_revoke_api_v1_platform_oauth_revoke_post", "Platform Revoke",
            "Token revocation (RFC 7009). The client authenticates as at the token endpoint (a public client "
            "sends its client_id). A refresh token revokes its whole family and every access token issued from "
            "it; an access token is refused from then on by userinfo, introspection and token exchange. Only the "
            "client a token was issued to can revoke it; an unknown, foreign, expired or already revoked token "
            "gets the same 200 with nothing changed.",
            {
                "200": {"description": "Done, or nothing to do (RFC 7009 §2.2); the body is empty."},
                **client_authenticated,
            },
            [_param("authorization", "header", description="HTTP Basic client credentials.")],
            {"required": True, "content": {FORM: {"schema": _ref(REVOKE_BODY)}}})},
        ISSUER_PATH + "/introspect": {"post": _operation(
            "platform_introspect_api_v1_platform_oauth_introspect_post", "Platform Introspect",
            "Token introspection (RFC 7662), for resource servers: confidential clients only. A caller sees "
            "`active: true` only for a live token issued to it or whose `aud` names it (refresh tokens: only "
            "the client holding them); anything else is exactly `{\"active\": false}`.",
            {
                "200": _json("What the token is (RFC 7662 §2.2).", _ref("IntrospectionResponse")),
                **client_authenticated,
                "401": _error("Client authentication failed, or the caller is a public client "
                              "(`invalid_client`).", BASIC_CHALLENGE),
            },
            [_param("authorization", "header", description="HTTP Basic client credentials.")],
            {"required": True, "content": {FORM: {"schema": _ref(INTROSPECT_BODY)}}})},
        ISSUER_PATH + "/par": {"post": _operation(
            "pushed_authorization_request_api_v1_platform_oauth_par_post", "Pushed Authorization Request",
            "Pushed Authorization Request endpoint (RFC 9126).\n\nThe client pushes the parameters of an "
            "authorization request, authenticating as at the token endpoint (a public client sends its "
            "client_id). They get the same checks as at /authorize, answered here as JSON errors (a redirect_uri "
            "that is not registered is `invalid_request`). The answer's request_uri, sent to /authorize with "
            "client_id, stands for the pushed parameters: once, within expires_in seconds, for this client only. "
            "A DPoP proof sent with the push binds the authorization code to its key, like dpop_jkt (RFC 9449 "
            "§10.1); a proof by another key than dpop_jkt, or a bad proof, is `invalid_dpop_proof`.",
            {
                "201": _json("The request was stored.", _ref("PushedAuthorizationResponse")),
                **client_authenticated,
            },
            [_param("authorization", "header", description="HTTP Basic client credentials."),
             {**DPOP_HEADER, "description": "Optional: a DPoP proof (RFC 9449 §4) for POST on this endpoint; the "
                                            "code will be redeemable only with a proof by the same key."}],
            {"required": True, "content": {FORM: {"schema": _ref(PAR_BODY)}}})},
    }


def openapi_document(config):
    return {
        "openapi": "3.1.0",
        "info": {"title": "Platform OAuth API", "version": "1.0.0",
                 "description": "The Platform OAuth endpoint group: OAuth 2.0 / OpenID Connect for GLOBAL "
                                "applications. OAuth errors are `{\"error\", \"error_description\"}` JSON; a "
                                "missing required parameter is a 422 HTTPValidationError."},
        "servers": [{"url": config.issuer_base}],
        "tags": [{"name": TAG}],
        "paths": _paths(),
        "components": {"schemas": _schemas()},
    }
