"""Key material: new RSA and EC signing keys, their RFC 7638 thumbprints, and private keys at rest."""

import hashlib
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from app.base64url import b64url
from app.jws import ALGORITHM

_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}


class KeyConfigurationError(Exception):
    """A stored key cannot be used with the configured key-encryption key."""


def thumbprint(public_jwk):
    """RFC 7638 JWK thumbprint (SHA-256): the key type's required members, sorted, no spaces."""
    members = _THUMBPRINT_MEMBERS[public_jwk["kty"]]
    canonical = json.dumps({k: public_jwk[k] for k in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def new_rsa_key(key_encryption_key):
    """A fresh RSA-2048 key: (kid, private PEM, public JWK)."""
    return new_key(ALGORITHM, key_encryption_key)


def new_key(alg, key_encryption_key):
    """A fresh key for RS256 (RSA-2048) or ES256 (P-256): (kid, private PEM, public JWK per RFC 7517 §4)."""
    if alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
        public_jwk = {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
        public_jwk = {"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]}
    else:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    kid = thumbprint(public_jwk)
    public_jwk.update({"kid": kid, "use": "sig", "alg": alg})
    encryption = (serialization.BestAvailableEncryption(key_encryption_key.encode("utf-8"))
                  if key_encryption_key else serialization.NoEncryption())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    return kid, pem.decode("ascii"), public_jwk


def load_public_key(alg, public_jwk):
    """The cryptography key object of a public JWK we published."""
    return (RSAAlgorithm if alg == "RS256" else ECAlgorithm).from_jwk(public_jwk)


def load_private_key(pem, key_encryption_key):
    """The private key object of a stored PEM, decrypted with OAUTH_KEY_ENCRYPTION_KEY when it is encrypted."""
    encrypted = "ENCRYPTED" in pem.split("\n", 1)[0]
    if encrypted and not key_encryption_key:
        raise KeyConfigurationError(
            "a signing key is encrypted at rest but OAUTH_KEY_ENCRYPTION_KEY is not set")
    password = key_encryption_key.encode("utf-8") if encrypted else None
    try:
        return serialization.load_pem_private_key(pem.encode("ascii"), password=password)
    except ValueError:
        raise KeyConfigurationError(
            "a signing key cannot be decrypted with the configured OAUTH_KEY_ENCRYPTION_KEY") from None
