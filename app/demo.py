"""`python -m app demo`: a demo tenant, user and clients, with a walkthrough to paste."""

import secrets
import shlex

from app import admin
from app.grants.authorization_code import s256
from app.demo_dpop import create_dpop_cli, dpop_walkthrough
from app.demo_key_service import create_key_service, key_service_walkthrough
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
    dpop_cli = create_dpop_cli(database, clock, DEMO_REDIRECT_URI)
    key_service, private_key_pem = create_key_service(database, clock)
    verifier = secrets.token_urlsafe(48)
    return {"tenant": tenant, "user": {**user, "password": password},
            "clients": {"service": service, "device": tv, "browser": cli, "dpop_cli": dpop_cli,
                        "key_service": {**key_service, "private_key_pem": private_key_pem}},
            "walkthrough": {**walkthrough(config, service, tv, cli, email),
                            "dpop_cli": dpop_walkthrough(config, dpop_cli, DEMO_REDIRECT_URI, email, s256(verifier),
                                                         verifier),
                            "private_key_jwt": key_service_walkthrough(config, key_service, private_key_pem)}}


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
              "dpop_cli": "A DPoP-bound CLI: every token is bound to its key (RFC 9449)",
              "private_key_jwt": "A service authenticates with its own key instead of a secret (private_key_jwt)"}
    for key, title in titles.items():
        lines += [f"== {title}", *result["walkthrough"][key], ""]
    return "\n".join(lines)
