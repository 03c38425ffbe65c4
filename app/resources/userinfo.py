"""GET and POST /api/v1/platform/oauth/userinfo (OIDC Core §5.3; Bearer per RFC 6750, DPoP per RFC 9449 §7)."""

from app.errors import ValidationFailed
from app.userinfo import userinfo_claims


class UserinfoResource:
    def __init__(self, keyring, database, dpop, url):
        self._keyring = keyring
        self._database = database
        self._dpop = dpop
        self._url = url

    def on_get(self, req, resp):
        authorization = req.get_header("Authorization")
        if authorization is None:
            raise ValidationFailed.missing("header", "authorization")
        proof = req.get_header("DPoP")

        def check_proof(token, fail):
            return self._dpop.verify(proof, method=req.method, url=self._url, access_token=token, fail=fail)

        resp.media = userinfo_claims(self._keyring, self._database, authorization, check_proof)
        resp.set_header("Cache-Control", "no-store")

    on_post = on_get
