"""Webhooks: registration, the queue of deliveries, claiming them, recording attempts.

All delivery state is here, in the database, so any replica may deliver:

1. :func:`enqueue_changes` turns each live hook's unseen changes (those its scopes
   may read) into one pending delivery and moves the hook's feed position, in one
   transaction (on PostgreSQL the hook row is locked ``FOR UPDATE SKIP LOCKED``, so
   two replicas never queue the same changes twice);
2. :func:`claim_due` leases due deliveries (``lease_until``) to the caller;
3. :func:`record_attempt` records one HTTP attempt and schedules the next per
   :class:`RetryPolicy`, or marks the delivery failed; a hook whose run of failed
   attempts reaches the policy's limit is disabled.
"""

from __future__ import annotations

import datetime as dt
import secrets
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Connection, Row, select, update

from prism.domain.ids import new_id
from prism.domain.scopes import checked_scopes
from prism.errors import NotFoundError, ValidationError
from prism.storage.change_feed import FeedChange, decode_cursor, latest_position, read_feed
from prism.storage.integration_tables import webhook_attempts, webhook_deliveries, webhooks

__all__ = [
    "HOOK_SCOPES",
    "Attempt",
    "Claimed",
    "Delivery",
    "RetryPolicy",
    "Webhook",
    "claim_due",
    "create_webhook",
    "delete_webhook",
    "enqueue_changes",
    "get_webhook",
    "has_live_hooks",
    "list_deliveries",
    "list_webhooks",
    "record_attempt",
]

#: The scopes a hook may receive: the kinds of changes the feed has.
HOOK_SCOPES = frozenset({"read:portfolio", "read:transactions"})
_BATCH = 100


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed delivery is tried again, and when a hook gives up.

    Attempt ``n`` (1-based) that fails is retried after ``base * 2**(n-1)``, capped.
    """

    base: dt.timedelta = dt.timedelta(seconds=30)
    cap: dt.timedelta = dt.timedelta(hours=1)
    max_attempts: int = 8
    disable_after: int = 20  # consecutive failed attempts of one hook
    lease: dt.timedelta = dt.timedelta(seconds=60)

    def delay(self, attempt: int) -> dt.timedelta:
        """How long after failed attempt ``attempt`` the next one is due."""
        later: dt.timedelta = self.base * (2 ** max(0, attempt - 1))
        return min(self.cap, later)


@dataclass(frozen=True, slots=True)
class Webhook:
    """A registered hook (never its secret)."""

    id: uuid.UUID
    url: str
    scopes: list[str]
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    failures: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt of a delivery."""

    attempt: int
    at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One batch of changes for a hook, and every attempt to send it."""

    id: uuid.UUID
    status: str
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    attempts: list[Attempt]


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery leased to one deliverer: what to send, where, signed with what."""

    delivery_id: uuid.UUID
    webhook_id: uuid.UUID
    url: str
    secret: str
    payload: bytes
    attempt: int  # the number of the attempt about to be made


def _checked_url(url: str) -> str:
    url = url.strip()
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise ValidationError("must not contain spaces or control characters", field="url")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        raise ValidationError("is not a URL", field="url") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname or len(url) > 2000:
        raise ValidationError("must be an http:// or https:// URL of at most 2000 characters", field="url")
    return url


def create_webhook(
    connection: Connection, owner_id: uuid.UUID, url: str, scopes: list[str], held: frozenset[str]
) -> tuple[Webhook, str]:
    """A new hook for the owner's changes from now on, and its signing secret (shown once).

    ``held`` are the scopes of the token registering it: a hook never receives more.
    """
    chosen = checked_scopes(scopes)
    foreign = [scope for scope in chosen if scope not in HOOK_SCOPES]
    if foreign:
        raise ValidationError(f"a webhook receives only {', '.join(sorted(HOOK_SCOPES))}", field="scopes")
    if not held.issuperset(chosen):
        raise ValidationError("a webhook may not receive what this token may not read", field="scopes")
    hlc, device = latest_position(connection, owner_id)
    hook = Webhook(new_id(), _checked_url(url), chosen, dt.datetime.now(dt.UTC), None, 0)
    secret = "whsec_" + secrets.token_urlsafe(32)
    connection.execute(
        webhooks.insert().values(
            id=hook.id,
            owner_id=owner_id,
            url=hook.url,
            scopes=chosen,
            secret=secret,
            created_at=hook.created_at,
            failures=0,
            after_hlc=hlc,
            after_device=device,
        )
    )
    return hook, secret


def _hook(r: Row[Any, Any, Any, Any, Any, Any]) -> Webhook:
    return Webhook(r.id, r.url, list(r.scopes), r.created_at, r.disabled_at, r.failures)


_HOOK_COLUMNS = (
    webhooks.c.id,
    webhooks.c.url,
    webhooks.c.scopes,
    webhooks.c.created_at,
    webhooks.c.disabled_at,
    webhooks.c.failures,
)


def list_webhooks(connection: Connection, owner_id: uuid.UUID) -> list[Webhook]:
    """The owner's hooks, oldest first."""
    w = webhooks.c
    rows = connection.execute(
        select(*_HOOK_COLUMNS).where(w.owner_id == owner_id, w.deleted_at.is_(None)).order_by(w.created_at, w.id)
    )
    return [_hook(r) for r in rows]


def get_webhook(connection: Connection, owner_id: uuid.UUID, webhook_id: uuid.UUID) -> Webhook:
    """One of the owner's hooks; NotFoundError otherwise."""
    w = webhooks.c
    row = connection.execute(
        select(*_HOOK_COLUMNS).where(w.owner_id == owner_id, w.id == webhook_id, w.deleted_at.is_(None))
    ).first()
    if row is None:
        raise NotFoundError(f"no webhook {webhook_id}")
    return _hook(row)


def delete_webhook(connection: Connection, owner_id: uuid.UUID, webhook_id: uuid.UUID) -> None:
    """Stop a hook: nothing more is queued or sent; its delivery record stays until the account goes."""
    get_webhook(connection, owner_id, webhook_id)
    now = dt.datetime.now(dt.UTC)
    connection.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(deleted_at=now))
    d = webhook_deliveries.c
    connection.execute(
        update(webhook_deliveries)
        .where(d.webhook_id == webhook_id, d.status == "pending")
        .values(status="cancelled", lease_until=None)
    )


def list_deliveries(
    connection: Connection, owner_id: uuid.UUID, webhook_id: uuid.UUID, limit: int = 50
) -> list[Delivery]:
    """The hook's newest deliveries first, each with its attempts in order."""
    get_webhook(connection, owner_id, webhook_id)
    d = webhook_deliveries.c
    rows = connection.execute(
        select(d.id, d.status, d.created_at, d.next_attempt_at, d.delivered_at)
        .where(d.webhook_id == webhook_id, d.owner_id == owner_id)
        .order_by(d.created_at.desc(), d.id)
        .limit(limit)
    ).all()
    a = webhook_attempts.c
    tried: dict[uuid.UUID, list[Attempt]] = {r.id: [] for r in rows}
    if tried:
        for t in connection.execute(
            select(a.delivery_id, a.attempt, a.at, a.status_code, a.error, a.duration_ms)
            .where(a.delivery_id.in_(list(tried)))
            .order_by(a.delivery_id, a.attempt)
        ):
            tried[t.delivery_id].append(Attempt(t.attempt, t.at, t.status_code, t.error, t.duration_ms))
    return [
        Delivery(
            r.id,
            r.status,
            r.created_at,
            r.next_attempt_at if r.status == "pending" else None,
            r.delivered_at,
            tried[r.id],
        )
        for r in rows
    ]


class _Payload(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    webhook_id: uuid.UUID
    created_at: dt.datetime
    cursor: str
    changes: list[dict[str, object]]


def _wire(change: FeedChange) -> dict[str, object]:
    return {
        "cursor": change.cursor,
        "at": change.at,
        "device_id": change.device_id,
        "table": change.table,
        "row_id": change.row_id,
        "op": change.op,
        "columns": change.columns,
    }


def has_live_hooks(connection: Connection) -> bool:
    """Whether any hook could need work: lets an idle deliverer skip its write transactions."""
    w = webhooks.c
    found = connection.scalar(select(w.id).where(w.deleted_at.is_(None), w.disabled_at.is_(None)).limit(1))
    return found is not None


def enqueue_changes(connection: Connection, now: dt.datetime | None = None) -> int:
    """Queue one delivery per live hook with unseen changes; the number queued."""
    now = now or dt.datetime.now(dt.UTC)
    w = webhooks.c
    query = select(w.id, w.owner_id, w.scopes, w.after_hlc, w.after_device).where(
        w.deleted_at.is_(None), w.disabled_at.is_(None)
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    queued = 0
    for hook in connection.execute(query).all():
        found = read_feed(connection, hook.owner_id, (hook.after_hlc, hook.after_device), _BATCH, hook.scopes)
        if not found:
            continue
        delivery_id = new_id()
        body = _Payload(id=delivery_id, webhook_id=hook.id, created_at=now, cursor=found[-1].cursor, changes=[])
        body.changes = [_wire(change) for change in found]
        connection.execute(
            webhook_deliveries.insert().values(
                id=delivery_id,
                webhook_id=hook.id,
                owner_id=hook.owner_id,
                payload=msgspec.json.encode(body).decode(),
                status="pending",
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
        )
        hlc, device = decode_cursor(found[-1].cursor)
        connection.execute(update(webhooks).where(w.id == hook.id).values(after_hlc=hlc, after_device=device))
        queued += 1
    return queued


def claim_due(
    connection: Connection, policy: RetryPolicy, limit: int = 20, now: dt.datetime | None = None
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries of live hooks to the caller for ``policy.lease``."""
    now = now or dt.datetime.now(dt.UTC)
    d, w = webhook_deliveries.c, webhooks.c
    query = (
        select(d.id, d.webhook_id, d.payload, d.attempts, w.url, w.secret)
        .join(webhooks, w.id == d.webhook_id)
        .where(
            d.status == "pending",
            d.next_attempt_at <= now,
            (d.lease_until.is_(None)) | (d.lease_until < now),
            w.disabled_at.is_(None),
            w.deleted_at.is_(None),
        )
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(of=webhook_deliveries, skip_locked=True)
    rows = connection.execute(query).all()
    if rows:
        connection.execute(
            update(webhook_deliveries).where(d.id.in_([r.id for r in rows])).values(lease_until=now + policy.lease)
        )
    return [Claimed(r.id, r.webhook_id, r.url, r.secret, r.payload.encode(), r.attempts + 1) for r in rows]


def record_attempt(
    connection: Connection,
    claimed: Claimed,
    policy: RetryPolicy,
    *,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    now: dt.datetime | None = None,
) -> str:
    """Record one attempt of a claimed delivery; the delivery's status after it."""
    now = now or dt.datetime.now(dt.UTC)
    connection.execute(
        webhook_attempts.insert().values(
            delivery_id=claimed.delivery_id,
            attempt=claimed.attempt,
            at=now,
            status_code=status_code,
            error=None if error is None else error[:500],
            duration_ms=duration_ms,
        )
    )
    d, w = webhook_deliveries.c, webhooks.c
    delivered = status_code is not None and 200 <= status_code < 300
    if delivered:
        status = "delivered"
        values: dict[str, object] = {"status": status, "delivered_at": now}
        connection.execute(update(webhooks).where(w.id == claimed.webhook_id).values(failures=0))
    else:
        status = "failed" if claimed.attempt >= policy.max_attempts else "pending"
        values = {"status": status, "next_attempt_at": now + policy.delay(claimed.attempt)}
        failures = connection.scalar(
            update(webhooks).where(w.id == claimed.webhook_id).values(failures=w.failures + 1).returning(w.failures)
        )
        if failures is not None and failures >= policy.disable_after:
            connection.execute(
                update(webhooks).where(w.id == claimed.webhook_id, w.disabled_at.is_(None)).values(disabled_at=now)
            )
    connection.execute(
        update(webhook_deliveries)
        .where(d.id == claimed.delivery_id)
        .values(attempts=claimed.attempt, lease_until=None, **values)
    )
    return status
