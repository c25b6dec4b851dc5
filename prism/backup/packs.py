"""Packs: many sealed chunks in one blob, with a sealed header that describes them.

``"PRISMPK1" || u32le generation || blobs || sealed header || u32le header length``,
named ``data/<2 hex>/<SHA-256 of the pack>`` (docs/backup-format.md, "Packs"). The header
travels with the pack, so a pack no index lists yet (an interrupted backup's) can be
understood and re-used.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from concurrent.futures import Executor, Future

import msgspec

from prism.backup.keys import Repository
from prism.backup.sealing import PACK_MAGIC, open_header, seal_header
from prism.errors import RepositoryDamagedError

__all__ = ["PackEntry", "PackRecord", "PackWriter", "pack_name", "parse_pack", "read_header"]

_PREFIX = len(PACK_MAGIC) + 4


class PackEntry(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """Where one sealed chunk sits in its pack."""

    chunk_id: bytes
    offset: int
    length: int
    plain_length: int


class PackRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One pack: its id, key generation, and every chunk it holds."""

    id: str
    generation: int
    chunks: list[PackEntry]

    @property
    def name(self) -> str:
        """The pack's blob name."""
        return pack_name(self.id)


def pack_name(pack_id: str) -> str:
    """``data/<first two hex>/<id>``."""
    return f"data/{pack_id[:2]}/{pack_id}"


class PackWriter:
    """Fills packs of one key generation and uploads each as soon as it is full."""

    def __init__(
        self,
        repository: Repository,
        generation: int,
        uploaded: Callable[[PackRecord, int], None] | None = None,
        *,
        uploader: Executor | None = None,
    ) -> None:
        self.repository = repository
        self.generation = generation
        self.uploaded = uploaded
        self.records: list[PackRecord] = []
        self.bytes_uploaded = 0
        self._uploader = uploader
        self._buffer = bytearray()
        self._entries: list[PackEntry] = []
        self._pending: set[bytes] = set()
        self._in_flight: tuple[Future[None], PackRecord, int] | None = None
        self._flying: set[bytes] = set()

    def holds(self, chunk_id: bytes) -> bool:
        """True if ``chunk_id`` waits in the pack being filled or being uploaded."""
        return chunk_id in self._pending or chunk_id in self._flying

    def add(self, chunk_id: bytes, blob: bytes, plain_length: int) -> None:
        """Append a sealed chunk; uploads the pack once it reaches the repository's pack size."""
        if not self._buffer:
            self._buffer += PACK_MAGIC + struct.pack("<I", self.generation)
        self._entries.append(PackEntry(chunk_id, len(self._buffer), len(blob), plain_length))
        self._buffer += blob
        self._pending.add(chunk_id)
        if len(self._buffer) >= self.repository.config.pack_size:
            self.flush()

    def flush(self) -> None:
        """Close the pack being filled, if any, and upload it.

        With an uploader the upload runs in the background while the next pack fills; at
        most one is in flight, so memory holds two packs at most.
        """
        if not self._entries:
            return
        header = seal_header(self.repository.keyring, msgspec.msgpack.encode(self._entries), self.generation)
        self._buffer += header + struct.pack("<I", len(header))
        data = bytes(self._buffer)
        record = PackRecord(id=hashlib.sha256(data).hexdigest(), generation=self.generation, chunks=self._entries)
        self._collect()
        if self._uploader is None:
            self.repository.store.put(record.name, data)
            self._stored(record, len(data))
        else:
            self._in_flight = (self._uploader.submit(self.repository.store.put, record.name, data), record, len(data))
            self._flying = self._pending
        self._buffer = bytearray()
        self._entries = []
        self._pending = set()

    def finish(self) -> None:
        """Upload the pack being filled and wait until every pack is stored."""
        self.flush()
        self._collect()

    def _collect(self) -> None:
        if self._in_flight is None:
            return
        future, record, size = self._in_flight
        self._in_flight = None
        future.result()  # an upload's error surfaces here, in the caller's thread
        self._flying = set()
        self._stored(record, size)

    def _stored(self, record: PackRecord, size: int) -> None:
        self.records.append(record)
        self.bytes_uploaded += size
        if self.uploaded is not None:
            self.uploaded(record, size)


def parse_pack(repository: Repository, pack_id: str, data: bytes) -> PackRecord:
    """The record of a downloaded pack, after checking its bytes against its name and header."""
    if hashlib.sha256(data).hexdigest() != pack_id:
        raise RepositoryDamagedError(f"pack {pack_id} does not match its name: altered or truncated")
    return read_header(repository, pack_id, data)


def read_header(repository: Repository, pack_id: str, data: bytes) -> PackRecord:
    """The record a pack's own header gives (its bytes are not checked against its name)."""
    where = f"pack {pack_id}"
    if len(data) < _PREFIX + 4 or not data.startswith(PACK_MAGIC):
        raise RepositoryDamagedError(f"{where} is not a Prism pack")
    (generation,) = struct.unpack_from("<I", data, len(PACK_MAGIC))
    (length,) = struct.unpack_from("<I", data, len(data) - 4)
    start = len(data) - 4 - length
    if start < _PREFIX:
        raise RepositoryDamagedError(f"the header of {where} is truncated")
    plain = open_header(repository.keyring, data[start : len(data) - 4], generation, where)
    try:
        entries = msgspec.msgpack.decode(plain, type=list[PackEntry])
    except msgspec.DecodeError:
        raise RepositoryDamagedError(f"the header of {where} does not decode") from None
    for entry in entries:
        if entry.offset < _PREFIX or entry.offset + entry.length > start or len(entry.chunk_id) != 32:
            raise RepositoryDamagedError(f"the header of {where} points outside the pack")
    return PackRecord(id=pack_id, generation=generation, chunks=entries)
