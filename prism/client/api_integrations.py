"""Scoped tokens, the change feed and webhooks (``/api/v1/tokens``, ``/changes``, ``/webhooks``)."""

from __future__ import annotations

import uuid
from types import NoneType

from prism.api.routes.changes import ChangePage
from prism.api.routes.tokens import TokenCreated, TokenIn, TokenPage
from prism.api.routes.webhooks import DeliveryPage, WebhookCreated, WebhookIn, WebhookPage
from prism.client._operations import Area, Call, M, followed, operation, paged

__all__ = ["Changes", "Tokens", "Webhooks"]


class Tokens(Area[M]):
    """Scoped tokens; a token can create tokens only inside its own grant."""

    @operation("POST", "/api/v1/tokens")
    def create(self, body: TokenIn) -> Call[TokenCreated]:
        """Create a token; its value is in the answer, and only there."""
        return Call(TokenCreated, body=body)

    @operation("GET", "/api/v1/tokens")
    def list(self, *, cursor: str | None = None, limit: int = 100) -> Call[TokenPage]:
        """One page of live tokens, newest first (never their values)."""
        return Call(TokenPage, query={"cursor": cursor, "limit": limit})

    iter = paged(list)

    @operation("DELETE", "/api/v1/tokens/{token_id}")
    def revoke(self, token_id: uuid.UUID) -> Call[None]:
        """Revoke a token: it stops working at once."""
        return Call(NoneType, path={"token_id": token_id})


class Changes(Area[M]):
    """The change feed: every change the token may read, in order, resumable by cursor."""

    @operation("GET", "/api/v1/changes")
    def list(self, *, after: str | None = None, wait: float = 0.0, limit: int = 100) -> Call[ChangePage]:
        """Changes after the cursor ``after`` (``"latest"``: from now on); waits up to ``wait``
        seconds for one when there are none yet. ``next_cursor`` is where to resume."""
        query = {"after": after, "wait": wait, "limit": limit}
        return Call(ChangePage, query=query, extra_timeout=wait)

    #: Every change after ``after``; with ``wait`` > 0 it follows the feed for ever,
    #: long-polling; with ``wait=0`` it stops once caught up.
    follow = followed(list)


class Webhooks(Area[M]):
    """Webhooks: URLs that receive the account's changes, signed with the hook's secret."""

    @operation("POST", "/api/v1/webhooks")
    def create(self, body: WebhookIn) -> Call[WebhookCreated]:
        """Register a webhook; its signing secret is in the answer, and only there."""
        return Call(WebhookCreated, body=body)

    @operation("GET", "/api/v1/webhooks")
    def list(self, *, cursor: str | None = None, limit: int = 100) -> Call[WebhookPage]:
        """One page of webhooks, disabled ones included."""
        return Call(WebhookPage, query={"cursor": cursor, "limit": limit})

    iter = paged(list)

    @operation("DELETE", "/api/v1/webhooks/{webhook_id}")
    def delete(self, webhook_id: uuid.UUID) -> Call[None]:
        """Delete a webhook; its pending deliveries are cancelled."""
        return Call(NoneType, path={"webhook_id": webhook_id})

    @operation("GET", "/api/v1/webhooks/{webhook_id}/deliveries")
    def deliveries(self, webhook_id: uuid.UUID, *, limit: int = 50) -> Call[DeliveryPage]:
        """A webhook's newest deliveries, each with every attempt."""
        return Call(DeliveryPage, path={"webhook_id": webhook_id}, query={"limit": limit})
