"""The token endpoint's work: authenticate the client, check its DPoP proof, then run its grant (RFC 6749 §3.2)."""

from app.clients import authenticate_client
from app.errors import InvalidDPoPProof, UnauthorizedClient, UnsupportedGrantType


class TokenEndpoint:
    def __init__(self, database, grants, audit, dpop, url, assertions=None):
        self._database = database
        self._grants = grants
        self._audit = audit
        self._dpop = dpop
        self._url = url
        self._assertions = assertions

    def exchange(self, params, authorization_header, ip=None, dpop_proof=None):
        client = authenticate_client(self._database, params, authorization_header, assertions=self._assertions,
                                     endpoint=self._url)
        if not client.is_global:
            raise UnauthorizedClient("This endpoint serves GLOBAL applications; use the tenant's own endpoint")
        grant = self._grants.get(params["grant_type"])
        if grant is None:
            raise UnsupportedGrantType(f"grant_type '{params['grant_type']}' is not supported")
        if grant.grant_type not in client.grant_types:
            raise UnauthorizedClient(f"This client may not use the {grant.grant_type} grant")
        dpop_jkt = self._proof_key(client, dpop_proof)
        issued = grant.issue(client, params, dpop_jkt=dpop_jkt)
        body = issued.body
        self._audit.record("token.issued", client_id=client.client_id, user_id=issued.user_id,
                           tenant_id=issued.tenant_id, ip=ip, grant=grant.grant_type, scope=body.get("scope"),
                           refresh_token_issued="refresh_token" in body, id_token_issued="id_token" in body,
                           dpop_jkt=dpop_jkt)
        return body

    def _proof_key(self, client, dpop_proof):
        """RFC 9449 §5: the thumbprint of a valid proof's key; a --require-dpop client gets no bearer token."""
        if dpop_proof is None:
            if client.require_dpop:
                raise InvalidDPoPProof("This client must send a DPoP proof (RFC 9449) with every token request; "
                                       "it is not given bearer tokens")
            return None
        return self._dpop.verify(dpop_proof, method="POST", url=self._url)
