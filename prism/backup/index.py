"""The repository's index: which pack holds each chunk (docs/backup-format.md, "Index files").

The index is the union of the ``index/`` files, less those another file supersedes.
Packs no index names (an interrupted backup's or prune's) are found by listing ``data/``
and understood from their own headers, so they are re-used instead of uploaded again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from prism.backup.keys import Repository
from prism.backup.packs import PackEntry, PackRecord, pack_name, parse_pack
from prism.backup.sealing import INDEX_MAGIC, open_file, seal_file
from prism.errors import NotFoundError, RepositoryDamagedError

__all__ = ["ChunkPlace", "IndexBody", "RepositoryIndex", "load_index", "pack_ids", "read_index_file", "write_index"]


class IndexBody(msgspec.Struct, frozen=True, kw_only=True):
    """One index file's contents."""

    packs: list[PackRecord]
    supersedes: list[str] = []


class ChunkPlace(msgspec.Struct, frozen=True, gc=False):
    """Where to read one chunk: its pack, the pack's key generation, and its entry."""

    pack_id: str
    generation: int
    entry: PackEntry


@dataclass
class RepositoryIndex:
    """Known chunks' places, known packs, and the index files read.

    ``only``, when given, limits the chunks kept to those ids and (unless ``records``)
    keeps no pack records: a backup or a restore then holds memory for one snapshot's
    chunks, not the repository's.
    """

    chunks: dict[bytes, ChunkPlace] = field(default_factory=dict)
    packs: dict[str, PackRecord] = field(default_factory=dict)  # every record, unless ``only``
    known_packs: set[str] = field(default_factory=set)
    files: list[str] = field(default_factory=list)
    damaged: dict[str, str] = field(default_factory=dict)  # index file -> what is wrong
    only: set[bytes] | None = None
    records: bool = False
    present: set[str] | None = None  # packs in data/: a chunk is read from one of these if it can be

    def add(self, record: PackRecord) -> None:
        """Know the chunks of ``record`` (a chunk already known keeps its first place)."""
        self.known_packs.add(record.id)
        if self.only is None or self.records:
            self.packs[record.id] = record
        here = self.present is None or record.id in self.present
        for entry in record.chunks:
            if self.only is not None and entry.chunk_id not in self.only:
                continue
            known = self.chunks.get(entry.chunk_id)
            if known is None or (here and self.present is not None and known.pack_id not in self.present):
                self.chunks[entry.chunk_id] = ChunkPlace(record.id, record.generation, entry)

    def forget_absent(self, present: set[str]) -> int:
        """Forget chunks whose pack is gone (a backup then stores them again); how many."""
        gone = [chunk for chunk, place in self.chunks.items() if place.pack_id not in present]
        for chunk in gone:
            del self.chunks[chunk]
        return len(gone)

    def rediscover(self, repository: Repository, present: Iterable[str]) -> list[PackRecord]:
        """Read the headers of present packs no index lists; the records of those that check out."""
        found = []
        for pack_id in sorted(set(present) - self.known_packs):
            try:
                record = parse_pack(repository, pack_id, repository.store.get(pack_name(pack_id)))
            except (RepositoryDamagedError, NotFoundError):
                continue  # not usable: never counted as holding anything
            self.add(record)
            found.append(record)
        return found


def pack_ids(repository: Repository) -> set[str]:
    """The ids of the packs in ``data/``."""
    return {name.rsplit("/", 1)[1] for name in repository.store.list("data/")}


def read_index_file(repository: Repository, name: str) -> IndexBody:
    """One index file, checked against its name; :class:`RepositoryDamagedError` names it."""
    data = repository.store.get(name)
    if hashlib.sha256(data).hexdigest() != name.rsplit("/", 1)[1]:
        raise RepositoryDamagedError(f"index file {name} does not match its name: altered or truncated")
    plain = open_file(repository.keyring, INDEX_MAGIC, data, f"index file {name}")
    try:
        return msgspec.msgpack.decode(plain, type=IndexBody)
    except msgspec.DecodeError:
        raise RepositoryDamagedError(f"index file {name} does not decode") from None


def load_index(
    repository: Repository,
    *,
    strict: bool = False,
    only: set[bytes] | None = None,
    records: bool = False,
    present: set[str] | None = None,
) -> RepositoryIndex:
    """The union of the index files; a damaged one raises when ``strict``, else is noted in ``damaged``.

    Superseded files are read too: prune deletes them before it deletes any pack, so while
    one exists every pack it names exists as well. Files are read one at a time. Given
    ``present`` (the packs in ``data/``), a chunk held by several packs is placed in one
    that exists.
    """
    index = RepositoryIndex(only=only, records=records, present=present)
    for name in repository.store.list("index/"):
        try:
            body = read_index_file(repository, name)
        except NotFoundError:
            continue  # superseded and deleted by a prune since the listing
        except RepositoryDamagedError as error:
            if strict:
                raise
            index.damaged[name] = error.message
            continue
        index.files.append(name)
        for record in body.packs:
            index.add(record)
    return index


def write_index(repository: Repository, packs: list[PackRecord], supersedes: Iterable[str] = ()) -> str:
    """Write one index file naming ``packs``; its blob name."""
    body = IndexBody(packs=packs, supersedes=sorted(name.rsplit("/", 1)[1] for name in supersedes))
    data = seal_file(repository.keyring, INDEX_MAGIC, msgspec.msgpack.encode(body))
    name = f"index/{hashlib.sha256(data).hexdigest()}"
    repository.store.put(name, data)
    return name
