"""The demo's key-authenticated service (private_key_jwt, RFC 7523 §2.2): no secret, and how to sign its assertions."""

import json
import shlex

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from app import admin
from app.client_assertions import ASSERTION_TYPE


def create_key_service(database, clock):
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
