"""Platform OAuth 2.0 / OpenID Connect authorization server."""

from app.application import create_app

__all__ = ["create_app"]
