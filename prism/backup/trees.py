"""Trees: a long file's chunk ids, stored apart from its manifest (docs/backup-format.md, "Trees").

A manifest listing every chunk of a 1 GiB database would carry 4 MB of ids, uploaded
again with every snapshot and downloaded by every ``list``. Instead a file with more than
``tree_span`` chunks (the repository's config) names trees: blobs of up to that many ids
each, named by their keyed hash like chunks, so an unchanged run of the file's chunks is
one tree written once.
"""

from __future__ import annotations

import struct

from prism.backup.keys import Repository
from prism.backup.sealing import open_chunk, seal_chunk
from prism.errors import NotFoundError, RepositoryDamagedError

__all__ = ["TREE_MAGIC", "read_tree", "tree_ids", "write_trees"]

TREE_MAGIC = b"PRISMTR1"
_ID = 32


def tree_ids(repository: Repository) -> set[str]:
    """The hex ids of the trees in the repository."""
    return {name.rsplit("/", 1)[1] for name in repository.store.list("trees/")}


def write_trees(repository: Repository, chunks: list[bytes], existing: set[str]) -> list[bytes]:
    """Store ``chunks`` as trees (only those not in ``existing``, which is updated); their ids."""
    keyring = repository.keyring
    span = repository.config.tree_span
    trees = []
    for start in range(0, len(chunks), span):
        plain = b"".join(chunks[start : start + span])
        tree_id = keyring.chunk_id(plain)
        trees.append(tree_id)
        if tree_id.hex() in existing:
            continue
        sealed = seal_chunk(keyring, tree_id, plain, keyring.current)
        repository.store.put(f"trees/{tree_id.hex()}", TREE_MAGIC + struct.pack("<I", keyring.current) + sealed)
        existing.add(tree_id.hex())
    return trees


def read_tree(repository: Repository, tree_id: bytes) -> list[bytes]:
    """The chunk ids of one tree, checked; :class:`RepositoryDamagedError` names a bad or lost tree."""
    where = f"tree {tree_id.hex()}"
    try:
        data = repository.store.get(f"trees/{tree_id.hex()}")
    except NotFoundError:
        raise RepositoryDamagedError(f"{where} is missing") from None
    if len(data) < len(TREE_MAGIC) + 4 or not data.startswith(TREE_MAGIC):
        raise RepositoryDamagedError(f"{where} is truncated or not a Prism tree")
    (generation,) = struct.unpack_from("<I", data, len(TREE_MAGIC))
    plain = open_chunk(repository.keyring, tree_id, data[len(TREE_MAGIC) + 4 :], generation, where)
    if len(plain) % _ID:
        raise RepositoryDamagedError(f"{where} does not hold whole chunk ids")
    return [plain[start : start + _ID] for start in range(0, len(plain), _ID)]
