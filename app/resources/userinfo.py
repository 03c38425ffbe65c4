"""GET and POST /api/v1/platform/oauth/userinfo (OIDC Core §5.3, bearer token per RFC 6750)."""

from app.errors import ValidationFailed
from app.userinfo import userinfo_claims


class UserinfoResource:
    def __init__(self, keyring, database):
        self._keyring = keyring
        self._database = database

    def on_get(self, req, resp):
        authorization = req.get_header("Authorization")
        if authorization is None:
            raise ValidationFailed.missing("header", "authorization")
        resp.media = userinfo_claims(self._keyring, self._database, authorization)
        resp.set_header("Cache-Control", "no-store")

    on_post = on_get
