"""Discovery (OIDC Discovery 1.0 / RFC 8414): every advertised value is true."""

from tests.conftest import DISCOVERY_PATH, ISSUER_BASE
from tests.helpers import ISSUER, client_credentials


def test_discovery_names_the_issuer_and_the_endpoints(http):
    document = http.get(DISCOVERY_PATH).json
    assert document["issuer"] == ISSUER
    assert document["jwks_uri"] == ISSUER_BASE + "/api/v1/platform/.well-known/jwks.json"
    assert document["token_endpoint"] == ISSUER + "/token"
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
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


def test_every_advertised_grant_works(http, make_client):
    for grant in http.get(DISCOVERY_PATH).json["grant_types_supported"]:
        assert grant == "client_credentials", f"{grant} is advertised but has no test here"
        client = make_client(grants=[grant])
        assert client_credentials(http, client).json["access_token"]


def test_every_advertised_client_authentication_method_works(http, service_client):
    from tests.conftest import TOKEN_PATH
    from tests.helpers import basic
    methods = http.get(DISCOVERY_PATH).json["token_endpoint_auth_methods_supported"]
    assert set(methods) == {"client_secret_basic", "client_secret_post"}
    http.post(TOKEN_PATH, {"grant_type": "client_credentials"},
              headers={"Authorization": basic(service_client["client_id"], service_client["client_secret"])})
    http.post(TOKEN_PATH, {"grant_type": "client_credentials", "client_id": service_client["client_id"],
                           "client_secret": service_client["client_secret"]})
