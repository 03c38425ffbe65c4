"""base64url without padding (RFC 7515 §2, RFC 7636 appendix A): the one encoder every module uses."""

import base64


def b64url(data):
    """bytes -> the unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
