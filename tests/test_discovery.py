"""Discovery (OIDC Discovery 1.0 / RFC 8414): every advertised value is true."""

from tests.conftest import DISCOVERY_PATH, ISSUER_BASE
from tests.conftest import TOKEN_PATH
from tests.helpers import AUTHORIZE_PATH, ISSUER, authorize_params, basic, pkce_pair


def test_discovery_names_the_issuer_and_the_endpoints(http):
    document = http.get(DISCOVERY_PATH).json
    assert document["issuer"] == ISSUER
    assert document["jwks_uri"] == ISSUER_BASE + "/api/v1/platform/.well-known/jwks.json"
    assert document["token_endpoint"] == ISSUER + "/token"
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["access_token_signing_alg_values_supported"] == ["RS256"]  # ES256: test_es256_access_tokens.py
    assert document["subject_types_supported"] == ["public"]


def test_the_rfc8414_location_serves_the_same_document(http):
    assert http.get("/.well-known/oauth-authorization-server/api/v1/platform/oauth").json == \
        http.get(DISCOVERY_PATH).json


def test_every_advertised_endpoint_exists(http):
    document = http.get(DISCOVERY_PATH).json
    for name, url in document.items():
        if name.endswith("_endpoint") or name == "jwks_uri":
            path = url[len(ISSUER_BASE):]
            status = http.get(path, expect_errors=True).status_int
            assert status not in (404, 500), f"{name} at {path} answered {status}"


def test_every_advertised_grant_is_implemented(http, make_client):
    """A client lacking an advertised grant is told unauthorized_client, never unsupported_grant_type."""
    client = make_client(grants=["client_credentials"])
    for grant in http.get(DISCOVERY_PATH).json["grant_types_supported"]:
        if grant == "client_credentials":
            continue
        response = http.post(TOKEN_PATH, {"grant_type": grant},
                             headers={"Authorization": basic(client["client_id"], client["client_secret"])},
                             status=400)
        assert response.json["error"] == "unauthorized_client", grant
    unknown = http.post(TOKEN_PATH, {"grant_type": "password"},
                        headers={"Authorization": basic(client["client_id"], client["client_secret"])}, status=400)
    assert unknown.json["error"] == "unsupported_grant_type"


def test_advertised_client_authentication_methods(http):
    methods = http.get(DISCOVERY_PATH).json["token_endpoint_auth_methods_supported"]
    assert set(methods) == {"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
    # client_secret_basic and _post: tests/test_token_client_credentials.py; none: tests/test_signin_flow.py;
    # private_key_jwt: tests/test_private_key_jwt.py


def test_advertised_flow_features(http):
    document = http.get(DISCOVERY_PATH).json
    assert document["response_types_supported"] == ["code"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["authorization_response_iss_parameter_supported"] is True
    assert set(document["scopes_supported"]) == {"openid", "profile", "email", "offline_access"}


def test_every_advertised_prompt_value_is_accepted(http, client, signed_in):
    """prompt=consent shows the consent page (tests/test_consent.py); none, login, select_account: test_authorize.py."""
    prompts = http.get(DISCOVERY_PATH).json["prompt_values_supported"]
    assert set(prompts) == {"none", "login", "consent", "select_account"}
    for prompt in prompts:
        _, challenge = pkce_pair()
        params = authorize_params(client, prompt=prompt, code_challenge=challenge, code_challenge_method="S256")
        location = http.get(AUTHORIZE_PATH, params, status=303).headers["Location"]
        assert "error=" not in location, (prompt, location)
        if prompt == "consent":
            assert location.startswith("/authorize/consent?request="), location
