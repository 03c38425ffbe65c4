"""`python -m app demo`: a demo tenant, user and clients, with a walkthrough to paste."""

import json
import secrets
import shlex

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from app import admin
from app.client_assertions import ASSERTION_TYPE
from app.grants.authorization_code import s256
from app.device import DEVICE_GRANT
from app.store import tenants
from app.urls import add_query

DEMO_REDIRECT_URI = "http://127.0.0.1:8765/callback"


def _free_slug(database):
    slug = "demo"
    while tenants.find_by_slug(database, slug) is not None:
        slug = "demo-" + secrets.token_hex(2)
    return slug


def create_demo(database, clock, config):
    slug = _free_slug(database)
    tenant = admin.create_tenant(database, clock, slug=slug, name="Demo Company")
    password = secrets.token_urlsafe(12)
    email = f"demo.user@{slug}.example.com"
    user = admin.create_user(database, clock, tenant=slug, email=email, name="Demo User", given_name="Demo",
                             family_name="User", password=password, email_verified=True)
    service = admin.create_client(database, clock, name="Demo back-office service", audience="global",
                                  grants=["client_credentials"], scopes=["reports.read"])
    tv = admin.create_client(database, clock, name="Demo TV app", audience="global", public=True,
                             grants=[DEVICE_GRANT, "refresh_token"], scopes=["openid", "profile", "email",
                                                                             "offline_access"])
    cli = admin.create_client(database, clock, name="Demo CLI", audience="global", public=True,
                              grants=["authorization_code", "refresh_token"], redirect_uris=[DEMO_REDIRECT_URI],
                              post_logout_redirect_uris=[DEMO_REDIRECT_URI], scopes=["openid", "profile", "email"])
    key_service, private_key_pem = _key_service(database, clock)
    return {"tenant": tenant, "user": {**user, "password": password},
            "clients": {"service": service, "device": tv, "browser": cli,
                        "key_service": {**key_service, "private_key_pem": private_key_pem}},
            "walkthrough": {**walkthrough(config, service, tv, cli, email),
                            "private_key_jwt": key_service_walkthrough(config, key_service, private_key_pem)}}


def _key_service(database, clock):
    """A service that authenticates with private_key_jwt: a fresh P-256 key, only its public half registered."""
    private = ec.generate_private_key(ec.SECP256R1())
    public_jwk = {**ECAlgorithm.to_jwk(private.public_key(), as_dict=True), "kid": "demo-1", "alg": "ES256"}
    service = admin.create_client(database, clock, name="Demo key-authenticated service", audience="global",
                                  grants=["client_credentials"], scopes=["reports.read"],
                                  auth_method="private_key_jwt", jwks={"keys": [public_jwk]})
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return service, pem


def key_service_walkthrough(config, service, private_key_pem):
    """RFC 7523 §2.2: the service signs a one-minute assertion (new jti) for each token request."""
    token_url = config.issuer + "/token"
    client_id = json.dumps(service["client_id"])
    # Double quotes inside, so the shell's single quotes wrap the program as it is.
    sign = ("import jwt, time, uuid; now = int(time.time()); "
            f'print(jwt.encode({{"iss": {client_id}, "sub": {client_id}, "aud": {json.dumps(token_url)}, '
            '"jti": str(uuid.uuid4()), "iat": now, "exp": now + 60}, open("demo-service-key.pem").read(), '
            'algorithm="ES256", headers={"kid": "demo-1"}))')
    q = shlex.quote
    return [
        "# 1. the service keeps its private key (only the public key is registered):",
        "cat > demo-service-key.pem <<'EOF'", *private_key_pem.strip().splitlines(), "EOF",
        "# 2. each request carries a fresh assertion signed with it (PyJWT + cryptography, e.g. the service's "
        ".venv/bin/python):",
        f"ASSERTION=$(python3 -c {q(sign)})",
        f"curl -s -d grant_type=client_credentials -d scope=reports.read -d client_assertion_type={q(ASSERTION_TYPE)} "
        f"-d \"client_assertion=$ASSERTION\" {q(token_url)}",
        "# the same assertion a second time is refused: each jti is accepted once",
    ]


def walkthrough(config, service, tv, cli, email):
    api = config.issuer
    verifier = secrets.token_urlsafe(48)
    challenge = s256(verifier)
    authorize = add_query(api + "/authorize", {
        "response_type": "code", "client_id": cli["client_id"], "redirect_uri": DEMO_REDIRECT_URI,
        "scope": "openid profile email", "state": "demo-state", "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge, "code_challenge_method": "S256", "login_hint": email})
    q = shlex.quote
    return {
        "client_credentials": [
            f"curl -s -u {q(service['client_id'] + ':' + service['client_secret'])} "
            f"-d grant_type=client_credentials -d scope=reports.read {q(api + '/token')}",
            f"curl -s {q(config.api_base + '/.well-known/jwks.json')}   # the keys that verify it",
        ],
        "device_flow": [
            f"curl -s -d client_id={q(tv['client_id'])} -d {q('scope=openid profile offline_access')} "
            f"{q(api + '/device/authorize')}   # 1. the device asks; note device_code and user_code",
            f"# 2. open {config.issuer_base}/device in a browser, sign in as {email}, enter the user_code, Approve",
            f"curl -s -d {q('grant_type=' + DEVICE_GRANT)} -d client_id={q(tv['client_id'])} "
            f"-d device_code=DEVICE_CODE {q(api + '/token')}   # 3. the device polls (every 5 s) and gets tokens",
        ],
        "browser_flow": [
            "# optional: python3 -m http.server 8765   (so the browser lands on a page after sign-in)",
            f"# 1. open this URL in a browser and sign in as {email}:",
            authorize,
            "# 2. copy the code parameter from the address bar of the page you land on, then:",
            f"curl -s -d grant_type=authorization_code -d client_id={q(cli['client_id'])} "
            f"-d {q('redirect_uri=' + DEMO_REDIRECT_URI)} -d code_verifier={q(verifier)} -d code=CODE "
            f"{q(api + '/token')}",
            f"curl -s -H 'Authorization: Bearer ACCESS_TOKEN' {q(api + '/userinfo')}",
        ],
    }


def as_text(result):
    lines = [f"Demo tenant '{result['tenant']['slug']}' with user {result['user']['email']} "
             f"(password: {result['user']['password']})", ""]
    titles = {"client_credentials": "A back-office service gets a token",
              "device_flow": "A TV app signs in with the device flow",
              "browser_flow": "A CLI signs a person in through the browser (authorization code + PKCE)",
              "private_key_jwt": "A service authenticates with its own key instead of a secret (private_key_jwt)"}
    for key, title in titles.items():
        lines += [f"== {title}", *result["walkthrough"][key], ""]
    return "\n".join(lines)
