"""What a grant hands back to the token endpoint."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Issued:
    """The token response, and the user and tenant it was issued for (None for a client acting for itself)."""

    body: dict
    user_id: object = None
    tenant_id: object = None
