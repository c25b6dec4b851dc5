"""``/webhooks``: register a URL for the account's changes, list, delete, read deliveries.

Deliveries are signed (``Prism-Signature: t=...,v1=...``), retried with backoff and
recorded; see docs/tokens-and-webhooks.md and :mod:`prism.integrations.deliver`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Request, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from prism.api.access import grant_of
from prism.api.pagination import page_of
from prism.api.state import owner_of, state_of
from prism.errors import ValidationError
from prism.storage.webhooks import (
    Delivery,
    Webhook,
    create_webhook,
    delete_webhook,
    list_deliveries,
    list_webhooks,
)

__all__ = [
    "WEBHOOK_ROUTES",
    "AttemptOut",
    "DeliveryOut",
    "DeliveryPage",
    "WebhookCreated",
    "WebhookIn",
    "WebhookOut",
    "WebhookPage",
]


class WebhookIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A URL to send changes to, and which changes (``read:portfolio``, ``read:transactions``)."""

    url: str
    scopes: list[str]


class WebhookOut(msgspec.Struct, kw_only=True):
    """A registered hook (never its secret)."""

    id: uuid.UUID
    url: str
    scopes: list[str]
    created_at: dt.datetime
    disabled_at: dt.datetime | None  # set after too many failed attempts in a row
    failures: int  # failed attempts in a row


class WebhookCreated(WebhookOut, kw_only=True):
    """A new hook and, this once only, its signing secret."""

    secret: str


class WebhookPage(msgspec.Struct, kw_only=True):
    """A page of hooks, oldest first."""

    items: list[WebhookOut]
    next_cursor: str | None = None


class AttemptOut(msgspec.Struct, kw_only=True):
    """One HTTP attempt: the answer's status (None when none came), the error, how long."""

    attempt: int
    at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(msgspec.Struct, kw_only=True):
    """A batch of changes sent (or to send) to the hook."""

    id: uuid.UUID
    status: str  # pending | delivered | failed | cancelled
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    attempts: list[AttemptOut]


class DeliveryPage(msgspec.Struct, kw_only=True):
    """The hook's newest deliveries first."""

    items: list[DeliveryOut]


def _fields(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.id,
        "url": hook.url,
        "scopes": hook.scopes,
        "created_at": hook.created_at,
        "disabled_at": hook.disabled_at,
        "failures": hook.failures,
    }


def _delivery(found: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=found.id,
        status=found.status,
        created_at=found.created_at,
        next_attempt_at=found.next_attempt_at,
        delivered_at=found.delivered_at,
        attempts=[
            AttemptOut(attempt=a.attempt, at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)
            for a in found.attempts
        ],
    )


@post("/webhooks", tags=["webhooks"], summary="Register a webhook (its secret is answered once)")
async def create_hook(request: Request[Any, Any, Any], data: JSONBody[WebhookIn]) -> WebhookCreated:
    """A hook for the account's changes from now on."""
    hook, secret = await state_of(request).database.write(
        create_webhook, owner_of(request), data.url, data.scopes, grant_of(request).scopes
    )
    return WebhookCreated(**_fields(hook), secret=secret)


@get("/webhooks", tags=["webhooks"], summary="List webhooks")
async def list_hooks(
    request: Request[Any, Any, Any], cursor: FromQuery[str | None] = None, limit: FromQuery[int] = 100
) -> WebhookPage:
    """The account's hooks, disabled ones included."""
    found = await state_of(request).database.read(list_webhooks, owner_of(request))
    items, next_cursor = page_of(found, cursor, limit)
    return WebhookPage(items=[WebhookOut(**_fields(h)) for h in items], next_cursor=next_cursor)


@delete("/webhooks/{webhook_id:uuid}", tags=["webhooks"], summary="Delete a webhook")
async def delete_hook(request: Request[Any, Any, Any], webhook_id: FromPath[uuid.UUID]) -> None:
    """Nothing more is sent to it; pending deliveries are cancelled."""
    await state_of(request).database.write(delete_webhook, owner_of(request), webhook_id)


@get("/webhooks/{webhook_id:uuid}/deliveries", tags=["webhooks"], summary="A webhook's deliveries and attempts")
async def hook_deliveries(
    request: Request[Any, Any, Any], webhook_id: FromPath[uuid.UUID], limit: FromQuery[int] = 50
) -> DeliveryPage:
    """The newest deliveries first, each with every attempt."""
    if not 1 <= limit <= 500:
        raise ValidationError("must be between 1 and 500", field="limit")
    found = await state_of(request).database.read(list_deliveries, owner_of(request), webhook_id, limit)
    return DeliveryPage(items=[_delivery(d) for d in found])


WEBHOOK_ROUTES = [create_hook, list_hooks, delete_hook, hook_deliveries]
