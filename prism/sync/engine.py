"""The device engine: set up a sync account, push local changes, pull and apply
remote ones, and keep doing so (``prism sync --watch``, ``prism serve --relay``).

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

import msgspec
import nacl.signing
from sqlalchemy import Connection, delete, func, select

from prism.client.errors import RelayUnavailableError
from prism.client.relay import RelayClient, RelayIdentity, StoredSet
from prism.config import SyncSettings
from prism.errors import ChangeSetRejectedError, ConflictError, ValidationError
from prism.storage.catalog import create_account, device_account, ensure_device_account
from prism.storage.changes import new_device_id
from prism.storage.engine import Database
from prism.storage.projection import rebuild_stale
from prism.storage.tables import accounts, changes, clock_states, sync_links
from prism.sync.codec import read_header
from prism.sync.held_changes import release_held_changes
from prism.sync.keys import (
    MIN_PASSPHRASE,
    DeviceKeys,
    KdfParams,
    derive_passphrase_keys,
    join_verifier,
    new_account_key,
    new_kdf_params,
    open_card,
    save_device_keys,
    seal_card,
    unwrap_account_key,
    wrap_account_key,
)
from prism.sync.link import (
    PageReport,
    apply_page,
    create_link,
    device_id_of,
    drop_sent,
    held_devices,
    outbox,
    peer_ids,
    read_link,
    remember_peers,
    seal_outbox,
)

__all__ = ["Backoff", "SyncEngine", "SyncReport", "create_sync_account", "join_sync_account", "schema_version"]

log = logging.getLogger(__name__)


@cache
def schema_version() -> str:
    """The schema revision this build writes change sets for."""
    from prism.migrations import head_revision  # noqa: PLC0415 - alembic's script scan only when syncing

    return head_revision()


def _check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise ValidationError(f"must be at least {MIN_PASSPHRASE} characters", field="passphrase")


async def create_sync_account(
    database: Database, relay: RelayClient, *, relay_url: str, passphrase: str, settings: SyncSettings, keys_path: Path
) -> DeviceKeys:
    """Make this device the first of a new sync account: keys, relay account, wrapped key.

    Everything the device logged so far is pushed by the next sync.
    """
    _check_passphrase(passphrase)
    owner = await database.write(ensure_device_account)
    if await database.read(_linked, owner):
        raise ConflictError("this device is already linked to a relay")
    device_id = await database.write(device_id_of, owner)
    signing = nacl.signing.SigningKey.generate()
    account_id = await relay.create_account(device_id, signing.verify_key)
    account_key = new_account_key(owner)
    keys = DeviceKeys(
        owner_id=owner,
        account_id=account_id,
        device_id=device_id,
        signing_seed=bytes(signing),
        key_id=account_key.key_id,
        data_keys={account_key.key_id: account_key.data_key},
    )
    save_device_keys(keys_path, keys)
    relay.identity = RelayIdentity(account_id, device_id, signing)
    params = new_kdf_params(settings.kdf_ops, settings.kdf_mem_kib)
    wrap_key, token = await asyncio.to_thread(derive_passphrase_keys, passphrase, params)
    await relay.put_keyring(
        key_id=account_key.key_id,
        kdf=msgspec.to_builtins(params),
        wrapped=wrap_account_key(account_key, wrap_key, account_id),
        join_verifier=join_verifier(token),
    )
    await relay.put_card(seal_card(keys))
    await database.write(create_link, owner, relay_url, account_id)
    return keys


async def join_sync_account(
    database: Database, relay: RelayClient, *, relay_url: str, account_id: uuid.UUID, passphrase: str, keys_path: Path
) -> DeviceKeys:
    """Enrol this device, which must hold no portfolio data yet, in an existing account."""
    await database.read(_check_joinable)
    try:
        params = msgspec.convert(await relay.kdf(account_id), KdfParams)
    except msgspec.ValidationError:
        raise ChangeSetRejectedError("the relay answered malformed key-derivation parameters") from None
    wrap_key, token = await asyncio.to_thread(derive_passphrase_keys, passphrase, params)
    device_id = new_device_id()
    signing = nacl.signing.SigningKey.generate()
    entry = await relay.join(account_id, device_id, signing.verify_key, token)
    account_key = unwrap_account_key(entry.wrapped, wrap_key, account_id)
    keys = DeviceKeys(
        owner_id=account_key.owner_id,
        account_id=account_id,
        device_id=device_id,
        signing_seed=bytes(signing),
        key_id=account_key.key_id,
        data_keys={account_key.key_id: account_key.data_key},
    )
    save_device_keys(keys_path, keys)
    relay.identity = RelayIdentity(account_id, device_id, signing)
    await relay.put_card(seal_card(keys))
    await database.write(_adopt, keys, relay_url)
    return keys


def _linked(connection: Connection, owner_id: uuid.UUID) -> bool:
    return connection.scalar(select(sync_links.c.owner_id).where(sync_links.c.owner_id == owner_id)) is not None


def _check_joinable(connection: Connection) -> None:
    owner = device_account(connection)
    if owner is None:
        return
    if _linked(connection, owner):
        raise ConflictError("this device is already linked to a relay")
    logged = connection.scalar(select(func.count()).select_from(changes).where(changes.c.owner_id == owner))
    if logged:
        raise ConflictError("this device already holds portfolio data; join with an empty device database")


def _adopt(connection: Connection, keys: DeviceKeys, relay_url: str) -> None:
    """Make the device serve the joined account (replacing its empty local one)."""
    _check_joinable(connection)
    local = device_account(connection)
    if local is not None and local != keys.owner_id:
        connection.execute(delete(clock_states).where(clock_states.c.owner_id == local))
        connection.execute(delete(accounts).where(accounts.c.id == local))
    if local != keys.owner_id:
        create_account(connection, "Device owner", account_id=keys.owner_id)
    connection.execute(delete(clock_states).where(clock_states.c.owner_id == keys.owner_id))
    connection.execute(clock_states.insert().values(owner_id=keys.owner_id, device_id=keys.device_id, last_hlc=0))
    create_link(connection, keys.owner_id, relay_url, keys.account_id)


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
    rejected: list[str] = field(default_factory=list)

    def add_page(self, page: PageReport) -> None:
        """Count one pulled page in."""
        self.pulled_sets += page.sets
        self.applied_changes += page.changes
        self.conflicts += page.conflicts
        self.held_sets += page.held
        self.held_changes += page.held_changes
        self.rejected.extend(page.rejected)


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

    def __init__(self, database: Database, keys: DeviceKeys, relay: RelayClient, *, wait_seconds: float = 25.0) -> None:
        self.database, self.keys, self.relay = database, keys, relay
        self.wait_seconds = wait_seconds
        relay.identity = RelayIdentity(keys.account_id, keys.device_id, keys.signing_key)

    async def push(self, report: SyncReport | None = None) -> SyncReport:
        """Seal every unsent local change and hand the sets to the relay, oldest first."""
        report = report or SyncReport()
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
        while True:
            link = await self.database.read(read_link, owner)
            page = await self.relay.pull(link.relay_cursor, wait=wait)
            wait = 0.0
            if not page.items:
                # Pages only mark the projection stale: one rebuild per catch-up, not per page.
                await self.database.write(rebuild_stale, owner)
                return report
            known = await self.database.read(peer_ids, owner)
            if _unknown_senders(page.items, known, self.keys.device_id):
                await self.refresh_peers()
            items = [(item.seq, item.body) for item in page.items]
            report.add_page(await self.database.write(apply_page, owner, self.keys, items, rebuild=False))
            if progress is not None:
                progress(items[-1][0], max(page.head, items[-1][0]))

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


def _unknown_senders(items: Sequence[StoredSet], known: set[str], own: str) -> bool:
    for item in items:
        try:
            device = read_header(item.body).device_id
        except ChangeSetRejectedError:
            continue
        if device != own and device not in known:
            return True
    return False


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
