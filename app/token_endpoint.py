"""The token endpoint's work: authenticate the client, then run its grant (RFC 6749 §3.2)."""

from app.clients import authenticate_client
from app.errors import UnauthorizedClient, UnsupportedGrantType


class TokenEndpoint:
    def __init__(self, database, grants, audit, assertions=None, url=None):
        self._database = database
        self._grants = grants
        self._audit = audit
        self._assertions = assertions
        self._url = url

    def exchange(self, params, authorization_header, ip=None):
        client = authenticate_client(self._database, params, authorization_header, assertions=self._assertions,
                                     endpoint=self._url)
        if not client.is_global:
            raise UnauthorizedClient("This endpoint serves GLOBAL applications; use the tenant's own endpoint")
        grant = self._grants.get(params["grant_type"])
        if grant is None:
            raise UnsupportedGrantType(f"grant_type '{params['grant_type']}' is not supported")
        if grant.grant_type not in client.grant_types:
            raise UnauthorizedClient(f"This client may not use the {grant.grant_type} grant")
        issued = grant.issue(client, params)
        body = issued.body
        self._audit.record("token.issued", client_id=client.client_id, user_id=issued.user_id,
                           tenant_id=issued.tenant_id, ip=ip, grant=grant.grant_type, scope=body.get("scope"),
                           refresh_token_issued="refresh_token" in body, id_token_issued="id_token" in body)
        return body
