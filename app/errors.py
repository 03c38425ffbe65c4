"""Errors, one class per protocol error code; app.errorhandling turns them into responses."""


class ServiceError(Exception):
    """Base of every error the service answers on purpose."""

    status = 400


class ValidationFailed(ServiceError):
    """A parameter the spec marks required is missing or ill-typed: 422 HTTPValidationError."""

    status = 422

    def __init__(self, detail):
        super().__init__("validation failed")
        self.detail = detail

    @classmethod
    def missing(cls, location, *names):
        return cls([{"loc": [location, name], "msg": "Field required", "type": "missing"} for name in names])


class NotFound(ServiceError):
    status = 404

    def __init__(self, description="Not found"):
        super().__init__(description)
        self.description = description


class OAuthError(ServiceError):
    """RFC 6749 §5.2 error: {"error", "error_description"}."""

    error = "invalid_request"
    status = 400

    def __init__(self, description=None, *, headers=None, status=None):
        super().__init__(description or self.error)
        self.description = description
        self.headers = headers or {}
        if status is not None:
            self.status = status

    def body(self):
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class InvalidRequest(OAuthError):
    error = "invalid_request"


class PayloadTooLarge(InvalidRequest):
    status = 413


class InvalidClient(OAuthError):
    """Client authentication failed: 401, with a Basic challenge only when Basic was tried (RFC 6749 §5.2)."""

    error = "invalid_client"
    status = 401

    def __init__(self, description="Client authentication failed", *, basic_challenge=False, realm="platform-oauth"):
        super().__init__(description, headers={"WWW-Authenticate": f'Basic realm="{realm}"'} if basic_challenge else {})

    def with_basic_challenge(self):
        return InvalidClient(self.description, basic_challenge=True)


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class InvalidTarget(OAuthError):
    """RFC 8693 §2.2.2: the audience is unknown or unusable."""

    error = "invalid_target"


class AccessDenied(OAuthError):
    error = "access_denied"


class LoginRequired(OAuthError):
    """OIDC Core §3.1.2.6: no usable sign-in; sent to the client's redirect_uri by /authorize."""

    error = "login_required"

    @classmethod
    def challenge(cls, description):
        """The API form: 401 with a challenge naming the sign-in page (a 401 always carries one)."""
        return cls(description, status=401,
                   headers={"WWW-Authenticate": 'Cookie realm="platform-oauth", login="/login"'})


class ConsentRequired(OAuthError):
    """OIDC Core §3.1.2.6: prompt=none, but the user has not allowed this application these scopes."""

    error = "consent_required"


class RequestNotSupported(OAuthError):
    """OIDC Core §3.1.2.6: request objects are not supported."""

    error = "request_not_supported"


class ForbiddenOrigin(OAuthError):
    """A browser request from another origin or site where only our own pages may send it."""

    error = "invalid_request"
    status = 403


class AuthorizationPending(OAuthError):
    error = "authorization_pending"


class SlowDown(OAuthError):
    error = "slow_down"


class ExpiredToken(OAuthError):
    error = "expired_token"


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: a bad bearer token is 401 with a Bearer challenge (a DPoP one for DPoP, RFC 9449 §7.1)."""

    error = "invalid_token"
    status = 401

    def __init__(self, description="The access token is invalid or expired", *, scheme="Bearer"):
        safe = description.replace('"', "'")
        super().__init__(description, headers={
            "WWW-Authenticate": f'{scheme} error="invalid_token", error_description="{safe}"'})


class InvalidDPoPProof(OAuthError):
    """RFC 9449 §5, §7.1: the DPoP proof is missing, malformed, or not by the key the token or code is bound to."""

    error = "invalid_dpop_proof"

    @classmethod
    def challenge(cls, description, algorithms):
        """At a protected resource: 401 with a DPoP challenge naming the error (RFC 9449 §7.1)."""
        safe = description.replace('"', "'")
        return cls(description, status=401, headers={
            "WWW-Authenticate": f'DPoP error="invalid_dpop_proof", error_description="{safe}", '
                                f'algs="{" ".join(algorithms)}"'})


class InsufficientScope(OAuthError):
    """RFC 6750 §3.1: the token is valid but lacks the scope the resource needs."""

    error = "insufficient_scope"
    status = 403

    def __init__(self, description, scope="openid"):
        super().__init__(description, headers={
            "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})


class TooManyRequests(OAuthError):
    error = "too_many_requests"
    status = 429

    def __init__(self, retry_after, description="Too many attempts; try again later"):
        super().__init__(description, headers={"Retry-After": str(int(retry_after))})
        self.retry_after = int(retry_after)


class PageError(ServiceError):
    """An error shown to a person as an HTML page (never a redirect)."""

    def __init__(self, title, message, status=400, *, headers=None):
        super().__init__(message)
        self.title = title
        self.message = message
        self.status = status
        self.headers = headers or {}


class AuthorizationRedirect(ServiceError):
    """An OAuth error sent back to the client's redirect_uri (RFC 6749 §4.1.2.1, RFC 9207 iss).

    Only raised after the client and its redirect_uri have been validated.
    """

    status = 303

    def __init__(self, error, redirect_uri, state, issuer):
        super().__init__(error.error)
        self.error = error
        self.redirect_uri = redirect_uri
        self.state = state
        self.issuer = issuer
