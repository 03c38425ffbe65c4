"""Pushed authorization requests (RFC 9126): the PAR endpoint's work, and what /authorize's request_uri stands for.

A push is checked as /authorize would check it (the same functions of app/authorization.py) and
stored; /authorize then takes client_id + request_uri instead of the parameters, once, within
pushed_request_ttl, and only from the client that pushed it. Parameters sent to /authorize next to
a request_uri are ignored (RFC 9126 §4, RFC 9101 §5): the pushed ones are the request.
"""

from app.authorization import check_client_and_redirect_uri, check_pushed_request
from app.clients import authenticate_client
from app.errors import InvalidDPoPProof, InvalidRequest, PageError, UnauthorizedClient
from app.store import pushed_requests

# Client authentication belongs to the push, never to the stored request.
CLIENT_AUTHENTICATION = ("client_secret", "client_assertion", "client_assertion_type")
PAR_PATH = "/par"


def _unusable():
    return PageError("This sign-in link has expired",
                     "The application's sign-in request has expired or was already used. Return to the application "
                     "and start signing in again.", status=400)


class PushedAuthorizations:
    def __init__(self, database, config, clock, assertions, dpop):
        self._database = database
        self._config = config
        self._clock = clock
        self._assertions = assertions
        self._dpop = dpop
        self.url = config.issuer + PAR_PATH

    def push(self, params, authorization_header, dpop_proof=None):
        """RFC 9126 §2: authenticate the client, check the request, store it; returns (request_uri, expires_in).

        A DPoP proof sent with the push binds the code to its key, as dpop_jkt would (RFC 9449 §10.1).
        """
        client = authenticate_client(self._database, params, authorization_header, assertions=self._assertions,
                                     endpoint=self.url)
        if not client.is_global:
            raise UnauthorizedClient("This endpoint serves GLOBAL applications; use the tenant's own endpoint")
        request = {name: value for name, value in params.items() if name not in CLIENT_AUTHENTICATION}
        request["client_id"] = client.client_id
        if dpop_proof is not None:
            jkt = self._dpop.verify(dpop_proof, method="POST", url=self.url)
            if request.setdefault("dpop_jkt", jkt) != jkt:
                raise InvalidDPoPProof("dpop_jkt is not the thumbprint of the key that signed the DPoP proof; "
                                       "send one key or the other, or the same key in both")
        try:
            check_client_and_redirect_uri(self._database, request)
        except PageError:
            # That page is for a person in a browser; the client calling PAR gets RFC 9126 §2.3's JSON error.
            raise InvalidRequest("redirect_uri is not one of this client's registered redirect URIs") from None
        check_pushed_request(client, request)
        ttl = self._config.pushed_request_ttl
        request_uri = pushed_requests.insert(self._database, application_id=client.id, parameters=request,
                                             now=self._clock.now(), ttl=ttl)
        return request_uri, ttl

    def redeem(self, params):
        """RFC 9126 §4: the parameters request_uri stands for, once, for the client that pushed them."""
        pushed = pushed_requests.find(self._database, params["request_uri"])
        now = self._clock.now()
        if pushed is None or not pushed.is_open(now):
            raise _unusable()
        if pushed.client_id != params["client_id"]:
            # Not used up: the client that pushed it may still use it.
            raise PageError("This sign-in request belongs to another application",
                            "The application that sent you here did not make this sign-in request. Return to it and "
                            "start signing in again.", status=400)
        if not pushed_requests.use(self._database, pushed.id, now):
            raise _unusable()
        return pushed.parameters
