"""``backup create``: one snapshot of the database and the lake, uploading only new chunks.

Two passes: the first hashes every chunk (so the index is read only for this snapshot's
chunk ids: memory follows the snapshot, not the repository); the second reads back just
the chunks the repository lacks, seals them and packs them. Write order
(docs/backup-format.md, "Writing a backup"): packs, then one index file, then the
manifest, which is the commit. A run killed anywhere before the manifest leaves
unreferenced packs that the next run finds (by their headers) and re-uses.
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import msgspec

from prism.backup.index import RepositoryIndex, load_index, pack_ids, write_index
from prism.backup.keys import KeySource, Repository, open_repository
from prism.backup.locks import RepositoryLock, lock_repository
from prism.backup.packs import PackRecord, PackWriter
from prism.backup.parallel import WORKERS, map_in_slices
from prism.backup.sealing import seal_chunk
from prism.backup.snapshots import FileEntry, Manifest, write_manifest
from prism.backup.sources import database_image, lake_files, page_size, read_pieces
from prism.backup.stores import BlobStore
from prism.errors import StorageError
from prism.storage.sqlite_keys import SQLiteKey

__all__ = ["Checkpoint", "Progress", "SnapshotSummary", "create_backup"]

#: ``progress(description, done, total)``: bytes read so far of the bytes to read.
Progress = Callable[[str, int, int], None]
#: ``checkpoint(step)`` is called at each step boundary ("pack-uploaded", "packs-uploaded",
#: "index-written", "before-manifest", "manifest-written"); crash tests kill the process there.
Checkpoint = Callable[[str], None]


class SnapshotSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What one backup did."""

    snapshot_id: str
    short_id: str
    time: datetime
    files: int
    total_bytes: int
    chunks: int
    new_chunks: int
    new_bytes: int  # plaintext bytes of the chunks the repository lacked
    uploaded_bytes: int  # sealed, compressed pack bytes written
    reused_packs: int  # packs of an interrupted run found and re-used
    seconds: float


class _Source(msgspec.Struct, frozen=True):
    path: str  # in the manifest
    kind: Literal["database", "lake"]
    file: Path
    chunk_size: int


class _Hashed(msgspec.Struct, frozen=True):
    source: _Source
    size: int
    sha256: str
    chunks: list[bytes]


class _Run:
    """One backup's pool, pack writer and counters.

    Chunks are hashed and sealed in batches on a thread pool (hashlib, zstd and libsodium
    release the GIL); packs upload in the background while the next one fills.
    """

    def __init__(self, repository: Repository, lock: RepositoryLock, checkpoint: Checkpoint | None) -> None:
        self.repository = repository
        self.lock = lock
        self.checkpoint = checkpoint
        self.index = RepositoryIndex()
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="prism-backup")
        self.uploader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prism-backup-upload")
        self.writer = PackWriter(repository, repository.keyring.current, self._uploaded, uploader=self.uploader)
        self.new_chunks = 0
        self.new_bytes = 0

    def close(self) -> None:
        self.uploader.shutdown(wait=True)
        self.pool.shutdown(wait=True)

    def _uploaded(self, record: PackRecord, _size: int) -> None:
        self.index.add(record)
        self.lock.refresh()
        if self.checkpoint is not None:
            self.checkpoint("pack-uploaded")

    def hash_file(self, source: _Source, advance: Callable[[int], None]) -> _Hashed | None:
        """Pass one: the file's chunk ids and whole-file hash (None if a lake file vanished)."""
        whole = hashlib.sha256()
        ids: list[bytes] = []
        size = 0
        try:
            for batch in _batches(read_pieces(source.file, source.chunk_size)):
                for piece in batch:
                    whole.update(piece)
                    size += len(piece)
                ids += map_in_slices(self.pool, self.repository.keyring.chunk_id, batch)
                self.lock.refresh()  # only writes when due
                advance(sum(len(piece) for piece in batch))
        except FileNotFoundError:
            return None  # a lake file retired while we walked: no manifest we captured lists it
        return _Hashed(source, size, whole.hexdigest(), ids)

    def store_new(self, hashed: _Hashed, advance: Callable[[int], None]) -> None:
        """Pass two: read back the chunks the repository lacks, seal them, pack them."""
        wanted: dict[bytes, int] = {}  # new chunk -> its first position
        for position, chunk_id in enumerate(hashed.chunks):
            if chunk_id not in self.index.chunks and not self.writer.holds(chunk_id) and chunk_id not in wanted:
                wanted[chunk_id] = position
        if not wanted:
            return
        size = hashed.source.chunk_size
        # The database image is this run's private copy; a lake file is re-checked against
        # its first-pass hash, so a file replaced in between can never be stored under a wrong id.
        recheck = hashed.source.kind == "lake"
        try:
            with hashed.source.file.open("rb") as file:
                for group in _groups(list(wanted.items()), size):
                    pieces = []
                    for _, position in group:
                        file.seek(position * size)
                        pieces.append(file.read(size))
                    work = [(chunk_id, piece) for (chunk_id, _), piece in zip(group, pieces, strict=True)]
                    blobs = map_in_slices(self.pool, self._sealer(recheck), work)
                    for (chunk_id, piece), blob in zip(work, blobs, strict=True):
                        self.new_chunks += 1
                        self.new_bytes += len(piece)
                        self.writer.add(chunk_id, blob, len(piece))
                    self.lock.refresh()
                    advance(sum(len(piece) for piece in pieces))
        except FileNotFoundError:
            raise StorageError(f"{hashed.source.file} vanished during the backup; run it again") from None

    def _sealer(self, recheck: bool) -> Callable[[tuple[bytes, bytes]], bytes]:
        keyring = self.repository.keyring

        def seal(pair: tuple[bytes, bytes]) -> bytes:
            chunk_id, piece = pair
            if recheck and keyring.chunk_id(piece) != chunk_id:
                raise StorageError("a lake file changed during the backup; run it again")
            return seal_chunk(keyring, chunk_id, piece, keyring.current)

        return seal


def _batches(pieces: Iterator[bytes], limit: int = 4 * 1024 * 1024) -> Iterator[list[bytes]]:
    """Pieces grouped up to ``limit`` bytes (memory stays flat; the pool gets enough work)."""
    batch: list[bytes] = []
    held = 0
    for piece in pieces:
        batch.append(piece)
        held += len(piece)
        if held >= limit:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def _groups(
    items: list[tuple[bytes, int]], chunk_size: int, limit: int = 4 * 1024 * 1024
) -> Iterator[list[tuple[bytes, int]]]:
    step = max(1, limit // chunk_size)
    for start in range(0, len(items), step):
        yield items[start : start + step]


def create_backup(
    store: BlobStore,
    key_source: KeySource,
    database_path: Path,
    lake_root: Path | None,
    progress: Progress | None = None,
    *,
    checkpoint: Checkpoint | None = None,
    database_key: SQLiteKey | None = None,
) -> SnapshotSummary:
    """Take a snapshot of ``database_path`` and the files under ``lake_root`` into the repository.

    ``database_key`` opens an encrypted database; its snapshot holds the ciphertext.
    """
    started = time.monotonic()
    repository = open_repository(store, key_source)
    with lock_repository(store, exclusive=False) as lock:
        run = _Run(repository, lock, checkpoint)
        try:
            with database_image(database_path, database_key) as image:
                encrypted = database_key is not None
                chunk_size = max(repository.config.db_chunk_size, page_size(image, encrypted=encrypted))
                sources = [_Source(database_path.name, "database", image, chunk_size)]
                if lake_root is not None:
                    file_size = repository.config.file_chunk_size
                    sources += [_Source(f"lake/{rel}", "lake", path, file_size) for rel, path in lake_files(lake_root)]
                reading = _Counter("reading", sum(_size_of(s.file) for s in sources), progress)
                hashed = [found for source in sources if (found := run.hash_file(source, reading)) is not None]
                present = pack_ids(repository)
                wanted = {chunk for h in hashed for chunk in h.chunks}
                run.index = load_index(repository, only=wanted, present=present)
                reused = run.index.rediscover(repository, present)
                # A chunk whose pack went missing is stored again: the new snapshot is whole.
                run.index.forget_absent(present)
                missing = sum(
                    min(h.source.chunk_size, h.size - k * h.source.chunk_size)
                    for h in hashed
                    for k, chunk in enumerate(h.chunks)
                    if chunk not in run.index.chunks
                )
                uploading = _Counter("uploading", missing, progress)
                for found in hashed:
                    run.store_new(found, uploading)
            run.writer.finish()
        finally:
            run.close()
        _step(checkpoint, "packs-uploaded")
        if run.writer.records or reused:
            write_index(repository, [*reused, *run.writer.records])
            _step(checkpoint, "index-written")
        lock.refresh()
        now = datetime.now(UTC)
        entries = [
            FileEntry(
                path=h.source.path, kind=h.source.kind, size=h.size, sha256=h.sha256,
                chunk_size=h.source.chunk_size, chunks=h.chunks,
            )
            for h in hashed
        ]  # fmt: skip
        manifest = Manifest(
            time=now, host=socket.gethostname(), files=entries, new_bytes=run.new_bytes, new_chunks=run.new_chunks
        )
        _step(checkpoint, "before-manifest")
        snapshot_id = write_manifest(repository, manifest)
        _step(checkpoint, "manifest-written")
    return SnapshotSummary(
        snapshot_id=snapshot_id,
        short_id=snapshot_id[:8],
        time=now,
        files=len(entries),
        total_bytes=sum(entry.size for entry in entries),
        chunks=sum(len(entry.chunks) for entry in entries),
        new_chunks=run.new_chunks,
        new_bytes=run.new_bytes,
        uploaded_bytes=run.writer.bytes_uploaded,
        reused_packs=len(reused),
        seconds=round(time.monotonic() - started, 3),
    )


class _Counter:
    """Progress over one pass: ``progress(description, done, total)`` as bytes go by."""

    def __init__(self, description: str, total: int, progress: Progress | None) -> None:
        self.description = description
        self.total = total
        self.done = 0
        self.progress = progress

    def __call__(self, count: int) -> None:
        self.done += count
        if self.progress is not None:
            self.progress(self.description, self.done, self.total)


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _step(checkpoint: Checkpoint | None, name: str) -> None:
    if checkpoint is not None:
        checkpoint(name)
