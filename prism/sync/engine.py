"""The device engine: push local changes, pull and apply remote ones, and keep doing
so (``prism sync --watch``, ``prism serve --relay``). Setting a device up is
:mod:`prism.sync.enrol`'s.

All state that must survive a crash lives in the device database (:mod:`prism.sync.link`),
so the engine can be killed at any point and started again: it re-sends what the relay
did not acknowledge (filed once, by set id) and re-pulls what it did not apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from prism.client.errors import RelayUnavailableError, RequestRejectedError
from prism.client.relay import RelayClient, RelayIdentity, StoredSet
from prism.errors import ChangeSetRejectedError, ConflictError
from prism.storage.engine import Database
from prism.storage.projection import rebuild_stale
from prism.sync.codec import ChangeSetHeader, read_header
from prism.sync.held_changes import release_held_changes
from prism.sync.key_file import KeyFile
from prism.sync.keyring import learn_keys
from prism.sync.keys import (
    DeviceKeys,
    open_card,
)
from prism.sync.link import (
    PageReport,
    apply_page,
    drop_sent,
    held_devices,
    outbox,
    peer_ids,
    read_link,
    remember_peers,
    seal_outbox,
)
from prism.sync.snapshot import RestoreReport, peer_verify_keys, restore_snapshot, take_snapshot

__all__ = ["Backoff", "SnapshotReport", "SyncEngine", "SyncReport", "schema_version"]

log = logging.getLogger(__name__)


@cache
def schema_version() -> str:
    """The schema revision this build writes change sets for."""
    from prism.migrations import head_revision  # noqa: PLC0415 - alembic's script scan only when syncing

    return head_revision()


@dataclass(slots=True)
class SyncReport:
    """What a sync did."""

    pushed_sets: int = 0
    pushed_changes: int = 0
    pulled_sets: int = 0
    applied_changes: int = 0
    conflicts: int = 0
    held_sets: int = 0
    held_changes: int = 0
    restored_changes: int = 0  # from a snapshot (bootstrap)
    rejected: list[str] = field(default_factory=list)

    def add_page(self, page: PageReport) -> None:
        """Count one pulled page in."""
        self.pulled_sets += page.sets
        self.applied_changes += page.changes
        self.conflicts += page.conflicts
        self.held_sets += page.held
        self.held_changes += page.held_changes
        self.rejected.extend(page.rejected)


@dataclass(frozen=True, slots=True)
class SnapshotReport:
    """What uploading a snapshot did."""

    snapshot_id: uuid.UUID
    covers_seq: int
    chunks: int
    changes: int
    sealed_bytes: int
    dropped_sets: int


class Backoff:
    """Exponential back-off with full jitter: ``base``, doubling, at most ``ceiling`` seconds."""

    def __init__(self, base: float = 0.5, ceiling: float = 60.0) -> None:
        self.base, self.ceiling, self.failures = base, ceiling, 0

    def next_delay(self) -> float:
        """The pause before the next attempt after one more failure."""
        self.failures += 1
        return random.uniform(0, min(self.ceiling, self.base * 2 ** (self.failures - 1)))

    def reset(self) -> None:
        """A success: the next failure starts from ``base`` again."""
        self.failures = 0


class SyncEngine:
    """Push and pull for one linked device."""

    def __init__(
        self,
        database: Database,
        keys: DeviceKeys,
        relay: RelayClient,
        *,
        wait_seconds: float = 25.0,
        keys_path: Path | KeyFile | None = None,
    ) -> None:
        self.database, self.keys, self.relay = database, keys, relay
        self.wait_seconds = wait_seconds
        self.keys_path = keys_path  # where keys learnt from other devices are kept
        relay.identity = RelayIdentity(keys.account_id, keys.device_id, keys.signing_key)

    async def learn_keys(self) -> None:
        """Take up data keys other devices made (after a revocation): read and seal with the newest."""
        self.keys = await learn_keys(self.relay, self.keys, self.keys_path)

    async def push(self, report: SyncReport | None = None) -> SyncReport:
        """Seal every unsent local change and hand the sets to the relay, oldest first."""
        report = report or SyncReport()
        # A device revoked elsewhere rotated the key: never seal with one it could read.
        await self.learn_keys()
        owner, keys = self.keys.owner_id, self.keys
        while True:
            for seq, count, body in await self.database.read(outbox, owner):
                await self.relay.push(body)
                await self.database.write(drop_sent, owner, seq)
                report.pushed_sets += 1
                report.pushed_changes += count
            sealed = await self.database.write(seal_outbox, owner, keys, schema_version())
            if not sealed and not await self.database.read(outbox, owner, 1):
                return report

    async def refresh_peers(self) -> None:
        """Learn the account's devices from the relay, trusting only cards sealed under our key."""
        verified = []
        for device in await self.relay.devices():
            if device.device_id == self.keys.device_id or device.card is None or device.revoked:
                continue
            try:
                device_id, verify_key = open_card(device.card, self.keys)
            except ChangeSetRejectedError:
                log.warning("ignoring device %s: its card does not open under the data key", device.device_id)
                continue
            if (device_id, verify_key) == (device.device_id, device.verify_key):
                verified.append((device_id, verify_key))
        await self.database.write(remember_peers, self.keys.owner_id, verified)

    async def pull(
        self,
        wait: float = 0.0,
        report: SyncReport | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> SyncReport:
        """Fetch and apply every set after the cursor; with ``wait``, long-poll for the first.

        ``progress(cursor, head)`` is called after each page.
        """
        report = report or SyncReport()
        owner = self.keys.owner_id
        if await self.database.read(held_devices, owner) - await self.database.read(peer_ids, owner):
            await self.refresh_peers()
        # Changes from a newer schema kept earlier apply once this build understands them.
        await self.database.write(release_held_changes, owner)
        if (await self.database.read(read_link, owner)).relay_cursor == 0:
            await self.bootstrap(report)  # a fresh device starts from the latest snapshot, if any
        while True:
            link = await self.database.read(read_link, owner)
            try:
                page = await self.relay.pull(link.relay_cursor, wait=wait)
            except RequestRejectedError as error:
                if error.status != 410:
                    raise
                await self._bootstrap_past(link.relay_cursor, report)  # the sets we need were compacted
                continue
            wait = 0.0
            if page.items and page.items[0].seq > link.relay_cursor + 1:
                # Compacted between the relay's check and its read: the same remedy.
                await self._bootstrap_past(link.relay_cursor, report)
                continue
            if not page.items:
                # Pages only mark the projection stale: one rebuild per catch-up, not per page.
                await self.database.write(rebuild_stale, owner)
                return report
            headers = _headers(page.items)
            known = await self.database.read(peer_ids, owner) | {self.keys.device_id}
            if any(h.device_id not in known for h in headers):
                await self.refresh_peers()
            if any(h.key_id not in self.keys.data_keys for h in headers):
                await self.learn_keys()
            items = [(item.seq, item.body) for item in page.items]
            report.add_page(await self.database.write(apply_page, owner, self.keys, items, rebuild=False))
            if progress is not None:
                progress(items[-1][0], max(page.head, items[-1][0]))

    async def bootstrap(self, report: SyncReport | None = None) -> RestoreReport | None:
        """Restore the relay's latest snapshot (None when it has none), verified before anything applies."""
        latest = await self.relay.latest_snapshot()
        if latest is None:
            return None
        await self.refresh_peers()
        bodies = await self._fetch_chunks(latest.snapshot_id, latest.chunks)
        owner = self.keys.owner_id
        verify_keys = await self.database.read(peer_verify_keys, owner)
        verify_keys[self.keys.device_id] = self.keys.signing_key.verify_key
        restored = await self.database.write(
            restore_snapshot, owner, self.keys, latest.snapshot_id, latest.covers_seq, bodies, verify_keys
        )
        if report is not None:
            report.restored_changes += restored.changes
        return restored

    async def _fetch_chunks(self, snapshot_id: uuid.UUID, count: int) -> list[bytes]:
        """Every chunk of a snapshot, a few requests in flight at once (round trips, not bytes, dominate)."""
        gate = asyncio.Semaphore(4)

        async def fetch(n: int) -> bytes:
            async with gate:
                return await self.relay.snapshot_chunk(snapshot_id, n)

        return list(await asyncio.gather(*(fetch(n) for n in range(count))))

    async def _bootstrap_past(self, cursor: int, report: SyncReport) -> None:
        restored = await self.bootstrap(report)
        if restored is None or restored.covers_seq <= cursor:
            raise ConflictError(f"the relay dropped the sets after {cursor} and has no snapshot past them")

    async def upload_snapshot(self) -> SnapshotReport:
        """Catch up, then upload a sealed snapshot of everything up to the cursor; the relay compacts."""
        await self.sync_once()
        snapshot_id = uuid.uuid4()
        owner, keys = self.keys.owner_id, self.keys
        covers, count, sealed = await self.database.read(take_snapshot, owner, keys, schema_version(), snapshot_id)
        for n, body in enumerate(sealed):
            await self.relay.put_snapshot_chunk(snapshot_id, n, body)
        done = await self.relay.complete_snapshot(snapshot_id, covers_seq=covers, chunks=len(sealed))
        return SnapshotReport(snapshot_id, covers, len(sealed), count, sum(map(len, sealed)), done.dropped_sets)

    async def sync_once(self, progress: Callable[[int, int], None] | None = None) -> SyncReport:
        """Push, then pull: one full exchange with the relay."""
        report = await self.push()
        return await self.pull(report=report, progress=progress)

    async def watch(self, stop: asyncio.Event, on_report: Callable[[SyncReport], None] | None = None) -> None:
        """Push local writes as they happen and apply remote sets as they arrive, until ``stop``."""
        tasks = [
            asyncio.create_task(self._keep_pushing(stop, on_report)),
            asyncio.create_task(self._keep_pulling(stop, on_report)),
        ]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep_pushing(self, stop: asyncio.Event, on_report: Callable[[SyncReport], None] | None) -> None:
        backoff, seen = Backoff(), None
        while not stop.is_set():
            stamp = self.database.change_stamp()
            if stamp is None or stamp != seen:
                try:
                    report = await self.push()
                    seen = stamp
                    backoff.reset()
                    if on_report and report.pushed_sets:
                        on_report(report)
                except RelayUnavailableError as error:
                    log.warning("push failed, retrying: %s", error)
                    await _sleep_or_stop(stop, backoff.next_delay())
                    continue
                except Exception:
                    # A long-running loop must outlive one bad exchange (a refused request,
                    # a storage error): say so, back off, try again.
                    log.exception("push failed, retrying")
                    await _sleep_or_stop(stop, backoff.next_delay())
                    continue
            # SQLite's data_version makes polling cheap; other stores are polled less often.
            await _sleep_or_stop(stop, 0.05 if stamp is not None else 1.0)

    async def _keep_pulling(self, stop: asyncio.Event, on_report: Callable[[SyncReport], None] | None) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                report = await self.pull(wait=self.wait_seconds)
                backoff.reset()
                if on_report and report.pulled_sets:
                    on_report(report)
            except RelayUnavailableError as error:
                log.warning("pull failed, retrying: %s", error)
                await _sleep_or_stop(stop, backoff.next_delay())
            except Exception:
                log.exception("pull failed, retrying")
                await _sleep_or_stop(stop, backoff.next_delay())


def _headers(items: Sequence[StoredSet]) -> list[ChangeSetHeader]:
    """The readable headers of a page (unreadable sets are rejected when applied)."""
    found = []
    for item in items:
        with contextlib.suppress(ChangeSetRejectedError):
            found.append(read_header(item.body))
    return found


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
