"""``backup prune``: forget snapshots outside the keep policy, then drop what none needs.

Order (docs/backup-format.md, "Prune"): forgotten manifests first; then packs rewritten
into new packs; then one index of everything kept; then the old index files; packs last.
Killed at any point, every kept snapshot still finds each of its chunks in an existing
pack that some index file lists.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime

import msgspec

from prism.backup.index import ChunkPlace, load_index, pack_ids, write_index
from prism.backup.keys import KeySource, Repository, open_repository
from prism.backup.locks import RepositoryLock, lock_repository
from prism.backup.packs import PackRecord, PackWriter, pack_name, parse_pack
from prism.backup.sealing import open_chunk
from prism.backup.snapshots import load_manifest, snapshot_ids
from prism.backup.stores import BlobStore, FolderStore
from prism.backup.trees import tree_ids
from prism.errors import NotFoundError, RepositoryDamagedError, ValidationError

__all__ = ["REWRITE_UNUSED_SHARE", "PruneSummary", "keep_snapshots", "prune_repository"]

#: A pack with at least this share of bytes no kept snapshot needs is rewritten.
REWRITE_UNUSED_SHARE = 0.2


class PruneSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What a prune kept and removed."""

    kept: list[str]  # short ids
    forgotten: list[str]
    packs_deleted: int
    packs_rewritten: int
    packs_written: int
    bytes_freed: int
    seconds: float


def keep_snapshots(times: dict[str, datetime], keep_daily: int, keep_weekly: int, keep_monthly: int) -> set[str]:
    """The ids to keep, as restic's ``forget``: the newest snapshot of each of the last N days,
    ISO weeks and months that have snapshots (UTC)."""
    newest_first = sorted(times, key=lambda found: (times[found], found), reverse=True)
    rules: list[tuple[int, Callable[[datetime], tuple[int, ...]]]] = [
        (keep_daily, lambda t: (t.year, t.month, t.day)),
        (keep_weekly, lambda t: t.isocalendar()[:2]),
        (keep_monthly, lambda t: (t.year, t.month)),
    ]
    kept: set[str] = set()
    for count, bucket_of in rules:
        last: tuple[int, ...] | None = None
        taken = 0
        for snapshot_id in newest_first:
            if taken >= count:
                break
            bucket = bucket_of(times[snapshot_id])
            if bucket != last:
                kept.add(snapshot_id)
                last = bucket
                taken += 1
    return kept


def _step(checkpoint: Callable[[str], None] | None, name: str) -> None:
    if checkpoint is not None:
        checkpoint(name)


def prune_repository(
    store: BlobStore,
    key_source: KeySource,
    keep_daily: int,
    keep_weekly: int,
    keep_monthly: int,
    *,
    checkpoint: Callable[[str], None] | None = None,
) -> PruneSummary:
    """Forget snapshots outside the policy and delete or rewrite packs no kept snapshot needs.

    ``checkpoint(step)`` is called after "snapshots-forgotten", "packs-written",
    "index-written", "indexes-deleted" and "packs-deleted" (crash tests kill there).
    """
    for field, value in (("keep_daily", keep_daily), ("keep_weekly", keep_weekly), ("keep_monthly", keep_monthly)):
        if value < 0:
            raise ValidationError("must not be negative", field=field)
    if not keep_daily + keep_weekly + keep_monthly:
        raise ValidationError("keep at least one daily, weekly or monthly snapshot", field="keep_daily")
    started = time.monotonic()
    repository = open_repository(store, key_source)
    with lock_repository(store, exclusive=True) as lock:
        # Times first, chunk lists only of kept snapshots: memory follows the distinct chunks.
        times = {i: load_manifest(repository, i, expand=False).time for i in snapshot_ids(store)}
        kept = keep_snapshots(times, keep_daily, keep_weekly, keep_monthly)
        needed: set[bytes] = set()
        trees: set[str] = set()
        for snapshot_id in kept:
            for entry in load_manifest(repository, snapshot_id).files:  # damage stops the prune here
                needed.update(entry.chunks)
                trees.update(tree.hex() for tree in entry.trees)
        present = pack_ids(repository)
        index = load_index(repository, only=needed, records=True, present=present)
        rediscovered = index.rediscover(repository, present)
        for chunk in needed:
            place = index.chunks.get(chunk)
            if place is None or place.pack_id not in present:
                raise RepositoryDamagedError(
                    f"chunk {chunk.hex()} a kept snapshot needs is in no pack: run `prism backup verify`"
                )
        forgotten = sorted(set(times) - kept)
        for snapshot_id in forgotten:
            store.delete(f"snapshots/{snapshot_id}")
        _step(checkpoint, "snapshots-forgotten")
        keep, rewrite, drop = _classify(index.packs.values(), needed, index.chunks, present)
        written = _rewrite(repository, rewrite, needed, index.chunks, lock)
        _step(checkpoint, "packs-written")
        freed = sum(_pack_bytes(record) for record in [*rewrite, *drop])
        if rewrite or drop or rediscovered or index.damaged or len(index.files) > 1:
            old_files = [*index.files, *index.damaged]
            write_index(repository, [*keep, *written], supersedes=old_files)
            _step(checkpoint, "index-written")
            for name in old_files:
                store.delete(name)
            _step(checkpoint, "indexes-deleted")
            for record in [*rewrite, *drop]:
                store.delete(pack_name(record.id))
                lock.refresh()
            _step(checkpoint, "packs-deleted")
        for unused in sorted(tree_ids(repository) - trees):
            store.delete(f"trees/{unused}")
        if isinstance(store, FolderStore):  # a folder keeps the half-written files of killed writers
            store.sweep_temporaries()
    return PruneSummary(
        kept=sorted(i[:8] for i in kept),
        forgotten=[i[:8] for i in forgotten],
        packs_deleted=len(rewrite) + len(drop),
        packs_rewritten=len(rewrite),
        packs_written=len(written),
        bytes_freed=freed - sum(_pack_bytes(record) for record in written),
        seconds=round(time.monotonic() - started, 3),
    )


def _pack_bytes(record: PackRecord) -> int:
    return sum(entry.length for entry in record.chunks)


def _classify(
    packs: Iterable[PackRecord], needed: set[bytes], places: dict[bytes, ChunkPlace], present: set[str]
) -> tuple[list[PackRecord], list[PackRecord], list[PackRecord]]:
    """``(keep, rewrite, drop)``: a chunk counts as used only in the pack the index reads it from."""
    keep: list[PackRecord] = []
    rewrite: list[PackRecord] = []
    drop: list[PackRecord] = []
    for record in packs:
        if record.id not in present:
            continue  # already gone; it held nothing a kept snapshot needs (checked above)
        used = sum(
            entry.length
            for entry in record.chunks
            if entry.chunk_id in needed and places[entry.chunk_id].pack_id == record.id
        )
        total = _pack_bytes(record)
        if not used:
            drop.append(record)
        elif total - used >= REWRITE_UNUSED_SHARE * total:
            rewrite.append(record)
        else:
            keep.append(record)
    return keep, rewrite, drop


def _rewrite(
    repository: Repository,
    packs: list[PackRecord],
    needed: set[bytes],
    places: dict[bytes, ChunkPlace],
    lock: RepositoryLock,
) -> list[PackRecord]:
    """Copy the needed blobs of ``packs`` (still sealed, checked first) into new packs."""
    writers: dict[int, PackWriter] = {}
    for record in packs:
        try:
            data = repository.store.get(pack_name(record.id))
        except NotFoundError:
            raise RepositoryDamagedError(f"pack {record.id} vanished during the prune") from None
        found = parse_pack(repository, record.id, data)
        writer = writers.setdefault(found.generation, PackWriter(repository, found.generation))
        for entry in found.chunks:
            if entry.chunk_id not in needed or places[entry.chunk_id].pack_id != record.id:
                continue  # not needed, or read from another pack
            blob = data[entry.offset : entry.offset + entry.length]
            open_chunk(repository.keyring, entry.chunk_id, blob, found.generation, f"pack {record.id}")
            writer.add(entry.chunk_id, blob, entry.plain_length)
        lock.refresh()
    written: list[PackRecord] = []
    for writer in writers.values():
        writer.finish()
        written.extend(writer.records)
    return written
