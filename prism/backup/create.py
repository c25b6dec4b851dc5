"""``backup create``: one snapshot of the database and the lake, uploading only new chunks.

Write order (docs/backup-format.md, "Writing a backup"): packs, then one index file, then
the manifest, which is the commit. A run killed anywhere before the manifest leaves
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


class _Run:
    """One backup's state: the known chunks, the pack being filled, and counters.

    Chunks are hashed and sealed in batches on a thread pool (hashlib, zstd and libsodium
    release the GIL); packs upload in the background while the next one fills.
    """

    def __init__(
        self,
        repository: Repository,
        index: RepositoryIndex,
        lock: RepositoryLock,
        checkpoint: Checkpoint | None,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.repository = repository
        self.index = index
        self.lock = lock
        self.checkpoint = checkpoint
        self.pool = pool
        self.uploader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prism-backup-upload")
        self.writer = PackWriter(repository, repository.keyring.current, self._uploaded, uploader=self.uploader)
        self.chunks = 0
        self.new_chunks = 0
        self.new_bytes = 0

    def _uploaded(self, record: PackRecord, _size: int) -> None:
        self.index.add(record)
        self.lock.refresh()
        if self.checkpoint is not None:
            self.checkpoint("pack-uploaded")

    def _seal(self, pair: tuple[bytes, bytes]) -> bytes:
        keyring = self.repository.keyring
        return seal_chunk(keyring, pair[0], pair[1], keyring.current)

    def add_file(
        self, path: str, kind: str, source: Path, chunk_size: int, advance: Callable[[int], None]
    ) -> FileEntry | None:
        whole = hashlib.sha256()
        ids: list[bytes] = []
        size = 0
        try:
            for batch in _batches(read_pieces(source, chunk_size)):
                for piece in batch:
                    whole.update(piece)
                batch_ids = map_in_slices(self.pool, self.repository.keyring.chunk_id, batch)
                fresh: dict[bytes, bytes] = {}
                for piece, chunk_id in zip(batch, batch_ids, strict=True):
                    ids.append(chunk_id)
                    size += len(piece)
                    known = chunk_id in self.index.chunks or self.writer.holds(chunk_id)
                    if not known and chunk_id not in fresh:
                        fresh[chunk_id] = piece
                blobs = map_in_slices(self.pool, self._seal, list(fresh.items()))
                for (chunk_id, piece), blob in zip(fresh.items(), blobs, strict=True):
                    self.new_chunks += 1
                    self.new_bytes += len(piece)
                    self.writer.add(chunk_id, blob, len(piece))
                self.chunks += len(batch)
                self.lock.refresh()  # only writes when due: a long run of known chunks keeps it fresh
                advance(sum(len(piece) for piece in batch))
        except FileNotFoundError:
            return None  # a lake file retired while we walked: no manifest we captured lists it
        return FileEntry(
            path=path, kind="database" if kind == "database" else "lake", size=size,
            sha256=whole.hexdigest(), chunk_size=chunk_size, chunks=ids,
        )  # fmt: skip

    def close(self) -> None:
        self.uploader.shutdown(wait=True)


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


def create_backup(
    store: BlobStore,
    key_source: KeySource,
    database_path: Path,
    lake_root: Path | None,
    progress: Progress | None = None,
    *,
    checkpoint: Checkpoint | None = None,
) -> SnapshotSummary:
    """Take a snapshot of ``database_path`` and the files under ``lake_root`` into the repository."""
    started = time.monotonic()
    repository = open_repository(store, key_source)
    with (
        lock_repository(store, exclusive=False) as lock,
        ThreadPoolExecutor(WORKERS, thread_name_prefix="prism-backup") as pool,
    ):
        index = load_index(repository)
        reused = index.rediscover(repository, pack_ids(repository))
        run = _Run(repository, index, lock, checkpoint, pool)
        try:
            with database_image(database_path) as image:
                chunk_size = max(repository.config.db_chunk_size, page_size(image))
                sources: list[tuple[str, str, Path, int]] = [(database_path.name, "database", image, chunk_size)]
                if lake_root is not None:
                    file_size = repository.config.file_chunk_size
                    sources += [(f"lake/{rel}", "lake", path, file_size) for rel, path in lake_files(lake_root)]
                total = sum(_size_of(path) for _, _, path, _ in sources)
                done = 0

                def advance(count: int) -> None:
                    nonlocal done
                    done += count
                    if progress is not None:
                        progress("backing up", done, total)

                entries = [
                    entry
                    for path, kind, source, size in sources
                    if (entry := run.add_file(path, kind, source, size, advance)) is not None
                ]
            run.writer.finish()
        finally:
            run.close()
        _step(checkpoint, "packs-uploaded")
        if run.writer.records or reused:
            write_index(repository, [*reused, *run.writer.records])
            _step(checkpoint, "index-written")
        lock.refresh()
        now = datetime.now(UTC)
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
        chunks=run.chunks,
        new_chunks=run.new_chunks,
        new_bytes=run.new_bytes,
        uploaded_bytes=run.writer.bytes_uploaded,
        reused_packs=len(reused),
        seconds=round(time.monotonic() - started, 3),
    )


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _step(checkpoint: Checkpoint | None, name: str) -> None:
    if checkpoint is not None:
        checkpoint(name)
