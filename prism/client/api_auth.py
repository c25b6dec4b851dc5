"""``/api/v1/auth``: hosted accounts sign up and sign in for a bearer token (hosted servers only)."""

from __future__ import annotations

from prism.api.routes.identity import Credentials, SignedIn
from prism.client._operations import Area, Call, M, operation

__all__ = ["Auth"]


class Auth(Area[M]):
    """Accounts of a hosted server; a device server has none (its token is in a file)."""

    @operation("POST", "/api/v1/auth/signup")
    def signup(self, body: Credentials) -> Call[SignedIn]:
        """Create an account; its first token."""
        return Call(SignedIn, body=body)

    @operation("POST", "/api/v1/auth/signin")
    def signin(self, body: Credentials) -> Call[SignedIn]:
        """A new token for an account."""
        return Call(SignedIn, body=body)
