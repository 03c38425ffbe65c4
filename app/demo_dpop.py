"""The demo's DPoP-bound CLI (RFC 9449): a client that gets no bearer token, and how to make its proofs by hand."""

import shlex

from app import admin
from app.urls import add_query

PROOF_SCRIPT_NAME = "dpop_proof.py"
# A client keeps one key pair and signs a fresh proof for every request (RFC 9449 §4.2). curl cannot sign,
# so the walkthrough writes this short script; it uses PyJWT and cryptography, which the service installs.
PROOF_SCRIPT = '''\
import base64, hashlib, json, pathlib, secrets, sys, time
import jwt
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ec
pem = pathlib.Path("dpop-key.pem")  # the CLI's key: made once, never sent
if not pem.exists():
    pem.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
key = s.load_pem_private_key(pem.read_bytes(), None)
jwk = {k: v for k, v in json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())).items()
       if k in ("kty", "crv", "x", "y")}
b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
if sys.argv[1] == "jkt":  # the key's RFC 7638 thumbprint, for dpop_jkt at /authorize
    print(b64(hashlib.sha256(json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode()).digest()))
    sys.exit()
claims = {"jti": secrets.token_urlsafe(16), "htm": sys.argv[1], "htu": sys.argv[2], "iat": int(time.time())}
if len(sys.argv) > 3:  # at a resource: ath, the hash of the access token the proof goes with
    claims["ath"] = b64(hashlib.sha256(sys.argv[3].encode()).digest())
print(jwt.encode(claims, key, "ES256", headers={"typ": "dpop+jwt", "jwk": jwk}))
'''


def create_dpop_cli(database, clock, redirect_uri):
    """A public CLI created as `client create --require-dpop` would: every token it gets is DPoP-bound."""
    return admin.create_client(database, clock, name="Demo DPoP-bound CLI", audience="global", public=True,
                               grants=["authorization_code", "refresh_token"], redirect_uris=[redirect_uri],
                               scopes=["openid", "profile", "email", "offline_access"], require_dpop=True)


def dpop_walkthrough(config, cli, redirect_uri, email, challenge, verifier):
    """The lines to paste: make the key, bind the code to it, redeem, refresh and call userinfo with proofs."""
    api, q = config.issuer, shlex.quote
    token_url, userinfo_url = api + "/token", api + "/userinfo"
    authorize = add_query(api + "/authorize", {
        "response_type": "code", "client_id": cli["client_id"], "redirect_uri": redirect_uri,
        "scope": "openid profile email offline_access", "state": "demo-dpop", "code_challenge": challenge,
        "code_challenge_method": "S256", "login_hint": email})
    return [
        f"# 1. the CLI's proof maker (a client library does this for you): python3 {PROOF_SCRIPT_NAME} METHOD URL "
        "[ACCESS_TOKEN]",
        f"cat > {PROOF_SCRIPT_NAME} <<'EOF'\n{PROOF_SCRIPT}EOF",
        "# 2. open this URL in a browser and sign in; dpop_jkt binds the code to the CLI's key:",
        f'echo {q(authorize)}"&dpop_jkt=$(python3 {PROOF_SCRIPT_NAME} jkt)"',
        "# 3. redeem the code from the address bar with a fresh proof (without one this client gets a 400):",
        f'curl -s -H "DPoP: $(python3 {PROOF_SCRIPT_NAME} POST {token_url})" -d grant_type=authorization_code '
        f"-d client_id={q(cli['client_id'])} -d {q('redirect_uri=' + redirect_uri)} -d code_verifier={q(verifier)} "
        f"-d code=CODE {q(token_url)}   # token_type is DPoP",
        "# 4. the refresh token only works with a proof by the same key:",
        f'curl -s -H "DPoP: $(python3 {PROOF_SCRIPT_NAME} POST {token_url})" -d grant_type=refresh_token '
        f"-d client_id={q(cli['client_id'])} -d refresh_token=REFRESH_TOKEN {q(token_url)}",
        "# 5. userinfo takes the token as 'DPoP', with a proof carrying the token's hash (as Bearer it is a 401):",
        f'curl -s -H "Authorization: DPoP ACCESS_TOKEN" '
        f'-H "DPoP: $(python3 {PROOF_SCRIPT_NAME} GET {userinfo_url} ACCESS_TOKEN)" {q(userinfo_url)}',
    ]
