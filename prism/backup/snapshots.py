"""Snapshot manifests: the commit of one backup (docs/backup-format.md, "Snapshot manifests").

A manifest lists every file of the snapshot with its size, whole-file SHA-256 and chunk
ids. It is sealed, named by the SHA-256 of its bytes, and written last: a snapshot exists
exactly when its manifest does.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

import msgspec

from prism.backup.keys import KeySource, Repository, open_repository
from prism.backup.sealing import SNAPSHOT_MAGIC, open_file, seal_file
from prism.backup.stores import BlobStore
from prism.backup.trees import read_tree, tree_ids, write_trees
from prism.errors import NotFoundError, RepositoryDamagedError, ValidationError

__all__ = [
    "FileEntry",
    "Manifest",
    "SnapshotInfo",
    "list_snapshots",
    "load_manifest",
    "resolve_snapshot",
    "snapshot_ids",
    "write_manifest",
]


class FileEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One file of a snapshot: the database or a lake file."""

    path: str  # relative to the restore target: "prism.db", "lake/prices/_manifest.json"
    kind: Literal["database", "lake"]
    size: int
    sha256: str
    chunk_size: int
    chunks: list[bytes] = []  # every chunk id (a loaded manifest always has them)
    trees: list[bytes] = []  # as stored, for a file of more than the config's tree_span chunks


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot's manifest."""

    format: int = 1
    time: datetime
    host: str
    files: list[FileEntry]
    new_bytes: int = 0
    new_chunks: int = 0


class SnapshotInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What ``list`` shows of one snapshot."""

    id: str
    short_id: str
    time: datetime
    host: str
    files: int
    database_bytes: int
    total_bytes: int
    new_bytes: int


def snapshot_ids(store: BlobStore) -> list[str]:
    """The ids of every snapshot in the repository."""
    return [name.rsplit("/", 1)[1] for name in store.list("snapshots/")]


def resolve_snapshot(store: BlobStore, prefix: str) -> str:
    """The full id of the one snapshot whose id starts with ``prefix``."""
    wanted = prefix.strip().lower()
    if len(wanted) < 4 or any(c not in "0123456789abcdef" for c in wanted):
        raise ValidationError("give at least 4 hex digits of a snapshot id", field="snapshot")
    matches = [found for found in snapshot_ids(store) if found.startswith(wanted)]
    if not matches:
        raise NotFoundError(f"no snapshot {prefix!r} in the repository")
    if len(matches) > 1:
        raise ValidationError(f"{prefix!r} names {len(matches)} snapshots: give more digits", field="snapshot")
    return matches[0]


def write_manifest(repository: Repository, manifest: Manifest) -> str:
    """Write the trees of long files, then seal and write ``manifest`` (the commit); the snapshot's id."""
    existing = tree_ids(repository)
    files = [
        msgspec.structs.replace(entry, chunks=[], trees=write_trees(repository, entry.chunks, existing))
        if len(entry.chunks) > repository.config.tree_span
        else entry
        for entry in manifest.files
    ]
    stored = msgspec.structs.replace(manifest, files=files)
    data = seal_file(repository.keyring, SNAPSHOT_MAGIC, msgspec.msgpack.encode(stored))
    snapshot_id = hashlib.sha256(data).hexdigest()
    repository.store.put(f"snapshots/{snapshot_id}", data)
    return snapshot_id


def load_manifest(repository: Repository, snapshot_id: str, *, expand: bool = True) -> Manifest:
    """The manifest of ``snapshot_id``, checked; :class:`RepositoryDamagedError` names it.

    With ``expand`` every file's ``chunks`` are filled in from its trees; without, only
    what the manifest itself holds is read (enough for times and sizes).
    """
    where = f"snapshot {snapshot_id[:8]}"
    data = repository.store.get(f"snapshots/{snapshot_id}")
    if hashlib.sha256(data).hexdigest() != snapshot_id:
        raise RepositoryDamagedError(f"{where} does not match its name: altered or truncated")
    plain = open_file(repository.keyring, SNAPSHOT_MAGIC, data, where)
    try:
        manifest = msgspec.msgpack.decode(plain, type=Manifest)
    except msgspec.DecodeError:
        raise RepositoryDamagedError(f"{where} does not decode") from None
    if not expand or not any(entry.trees for entry in manifest.files):
        return manifest
    files = []
    for entry in manifest.files:
        if not entry.trees:
            files.append(entry)
            continue
        try:
            chunks = [chunk for tree in entry.trees for chunk in read_tree(repository, tree)]
        except RepositoryDamagedError as error:
            raise RepositoryDamagedError(f"{where}: {error.message}") from None
        files.append(msgspec.structs.replace(entry, chunks=chunks))
    return msgspec.structs.replace(manifest, files=files)


def list_snapshots(store: BlobStore, key_source: KeySource) -> list[SnapshotInfo]:
    """Every snapshot, oldest first."""
    repository = open_repository(store, key_source)
    found = []
    for snapshot_id in snapshot_ids(store):
        try:
            manifest = load_manifest(repository, snapshot_id, expand=False)
        except NotFoundError:
            continue  # forgotten by a prune since the listing
        found.append(
            SnapshotInfo(
                id=snapshot_id,
                short_id=snapshot_id[:8],
                time=manifest.time,
                host=manifest.host,
                files=len(manifest.files),
                database_bytes=sum(f.size for f in manifest.files if f.kind == "database"),
                total_bytes=sum(f.size for f in manifest.files),
                new_bytes=manifest.new_bytes,
            )
        )
    return sorted(found, key=lambda info: (info.time, info.id))
