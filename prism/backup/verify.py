"""``backup verify``: read the repository back and name every damage.

Checks index files and manifests against their names and keys, that every chunk a
snapshot needs is indexed in a pack that exists, and (for all packs or a random sample)
that each pack matches its name, its header agrees with the index, and each chunk opens
with its id and hashes back to it. A wrong key is an error, not damage.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable

import msgspec

from prism.backup.index import load_index, pack_ids
from prism.backup.keys import KeySource, Repository, open_repository
from prism.backup.locks import lock_repository
from prism.backup.packs import PackRecord, pack_name, read_header
from prism.backup.sealing import open_chunk
from prism.backup.snapshots import load_manifest, snapshot_ids
from prism.backup.stores import BlobStore
from prism.errors import NotFoundError, RepositoryDamagedError, ValidationError

__all__ = ["Damage", "VerifyReport", "verify_repository"]


class Damage(msgspec.Struct, frozen=True, kw_only=True):
    """One thing found wrong: what kind of blob, which one, what, and which snapshots it hurts."""

    kind: str  # "index", "snapshot", "pack", "chunk"
    name: str
    detail: str
    snapshots: list[str] = []  # short ids of the snapshots that cannot be restored because of it


class VerifyReport(msgspec.Struct, frozen=True, kw_only=True):
    """What ``verify`` read and found."""

    ok: bool
    sample_percent: int
    snapshots: int
    index_files: int
    packs: int
    packs_checked: int
    chunks_checked: int
    bytes_checked: int
    unreferenced_packs: int
    damage: list[Damage]
    seconds: float


class _Check:
    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self.damage: list[Damage] = []
        # chunk -> a bit per snapshot needing it (a set per chunk would cost far more memory)
        self.users: dict[bytes, int] = defaultdict(int)
        self.names: list[str] = []  # short ids by bit

    def note(self, kind: str, name: str, detail: str, chunks: list[bytes] | None = None) -> None:
        mask = 0
        for chunk in chunks or []:
            mask |= self.users.get(chunk, 0)
        hurt = self.who(mask)
        self.damage.append(Damage(kind=kind, name=name, detail=detail, snapshots=hurt))

    def who(self, mask: int) -> list[str]:
        return sorted(name for number, name in enumerate(self.names) if mask >> number & 1)

    def snapshots(self) -> int:
        count = 0
        for snapshot_id in snapshot_ids(self.repository.store):
            try:
                manifest = load_manifest(self.repository, snapshot_id)
            except NotFoundError:
                continue
            except RepositoryDamagedError as error:
                self.damage.append(Damage(kind="snapshot", name=snapshot_id, detail=error.message))
                continue
            bit = 1 << len(self.names)
            self.names.append(snapshot_id[:8])
            count += 1
            for entry in manifest.files:
                for chunk in entry.chunks:
                    self.users[chunk] |= bit
        return count

    def pack(self, record: PackRecord) -> tuple[int, int]:
        where = f"pack {record.id}"
        everything = [entry.chunk_id for entry in record.chunks]
        try:
            data = self.repository.store.get(pack_name(record.id))
        except NotFoundError:
            self.note("pack", record.id, "is missing", everything)
            return 0, 0
        if hashlib.sha256(data).hexdigest() != record.id:
            self.note("pack", record.id, "does not match its name: altered or truncated", everything)
        try:
            found = read_header(self.repository, record.id, data)
        except RepositoryDamagedError as error:
            self.note("pack", record.id, error.message, everything)
        else:
            if {(e.chunk_id, e.offset, e.length) for e in found.chunks} != {
                (e.chunk_id, e.offset, e.length) for e in record.chunks
            }:
                self.note("pack", record.id, "its header disagrees with the index", everything)
        checked = 0
        for entry in record.chunks:  # where the index says each chunk is
            blob = data[entry.offset : entry.offset + entry.length]
            try:
                plain = open_chunk(self.repository.keyring, entry.chunk_id, blob, record.generation, where)
                if len(plain) != entry.plain_length:
                    raise RepositoryDamagedError(f"chunk {entry.chunk_id.hex()} in {where} has the wrong length")
            except RepositoryDamagedError as error:
                self.note("chunk", entry.chunk_id.hex(), error.message, [entry.chunk_id])
            checked += 1
        return checked, len(data)


def verify_repository(
    store: BlobStore,
    key_source: KeySource,
    sample_percent: int = 100,
    progress: Callable[[str, int, int], None] | None = None,
) -> VerifyReport:
    """Check the repository; every damage found is named in the report's ``damage``."""
    if not 0 <= sample_percent <= 100:
        raise ValidationError("must be from 0 to 100", field="sample")
    started = time.monotonic()
    repository = open_repository(store, key_source)
    # A shared lock: a prune cannot delete a pack this run is about to read.
    with lock_repository(store, exclusive=False) as lock:
        check = _Check(repository)
        present = pack_ids(repository)
        index = load_index(repository, present=present)
        for name, detail in index.damaged.items():
            check.damage.append(Damage(kind="index", name=name, detail=detail))
        snapshots = check.snapshots()
        unindexed: dict[str, list[bytes]] = defaultdict(list)
        for chunk, mask in check.users.items():
            if chunk not in index.chunks:
                for user in check.who(mask):
                    unindexed[user].append(chunk)
        for user, chunks in sorted(unindexed.items()):
            check.damage.append(
                Damage(
                    kind="snapshot",
                    name=user,
                    detail=f"needs {len(chunks)} chunk(s) no index lists (first {chunks[0].hex()})",
                    snapshots=[user],
                )
            )
        indexed = sorted(index.packs)
        for pack_id in indexed:
            if pack_id not in present:
                # Hurt are the snapshots needing a chunk no other pack holds.
                lost = [e.chunk_id for e in index.packs[pack_id].chunks if index.chunks[e.chunk_id].pack_id == pack_id]
                check.note("pack", pack_id, "is missing", lost)
        candidates = [pack_id for pack_id in indexed if pack_id in present]
        count = math.ceil(len(candidates) * sample_percent / 100)
        sample = sorted(random.sample(candidates, count))
        chunks_checked = bytes_checked = 0
        for number, pack_id in enumerate(sample, start=1):
            opened, size = check.pack(index.packs[pack_id])
            chunks_checked += opened
            bytes_checked += size
            lock.refresh()
            if progress is not None:
                progress("verifying packs", number, len(sample))
        return VerifyReport(
            ok=not check.damage,
            sample_percent=sample_percent,
            snapshots=snapshots,
            index_files=len(index.files) + len(index.damaged),
            packs=len(present),
            packs_checked=len(sample),
            chunks_checked=chunks_checked,
            bytes_checked=bytes_checked,
            unreferenced_packs=len(present - set(index.packs)),
            damage=check.damage,
            seconds=round(time.monotonic() - started, 3),
        )
