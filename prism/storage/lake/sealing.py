"""Moving the per-owner lake files from one owner key to another (or to and from none).

``prism db encrypt``, ``decrypt`` and ``rekey`` change the key the device keeps its
data under; :func:`reseal_owner_datasets` brings the lake along. For every owner's
part of every per-owner dataset it rewrites each live file that is not yet in the
new form under a fresh name and commits a new manifest, as a write does. The form
of a file is read from its bytes (``PAR1``: plain; ``PARE``: encrypted, and then
whether the new key opens it), so a run that stopped half way is simply run again:
files already resealed are left alone. Afterwards no other data file is left under
the owner's folder: replaced and retired files, which hold the rows in the old
form, are deleted at once rather than after the writers' grace period. The owner
objects beside the files (:meth:`Lake.put_owner_object`) are resealed in place. The
caller holds the writer lease.
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

import msgspec

from prism.config import LakeSettings
from prism.errors import StorageError, UnreadableDataError
from prism.storage.lake.datasets import DATASETS, Dataset
from prism.storage.lake.encryption import is_sealed, is_sealed_object
from prism.storage.lake.lake import Lake, dataset_root, owner_object_path
from prism.storage.lake.manifest import MANIFEST_NAME, DataFile, encode_manifest
from prism.storage.lake.objects import ObjectStore, open_objects
from prism.storage.lake.writer import new_file_key

__all__ = ["drop_owner_datasets", "owners_of", "reseal_owner_datasets"]


class _Lakes(NamedTuple):
    """One store seen without a key, with the old key and with the new one."""

    plain: Lake
    old: Lake | None
    new: Lake


def reseal_owner_datasets(settings: LakeSettings, *, old_key: bytes | None, new_key: bytes | None) -> int:
    """Rewrite every per-owner file from ``old_key``'s form to ``new_key``'s (None: plain).

    Returns how many files and owner objects were rewritten (0: all were in the new form).
    """
    objects = open_objects(settings)
    plain = Lake(settings, objects)
    lakes = _Lakes(
        plain=plain,
        old=Lake(settings, objects, owner_key=old_key) if old_key is not None else None,
        new=Lake(settings, objects, owner_key=new_key) if new_key is not None else plain,
    )
    try:
        return sum(
            _reseal(lakes, dataset, owner)
            for dataset in DATASETS.values()
            if dataset.per_owner
            for owner in owners_of(objects, dataset)
        )
    finally:
        for lake in (lakes.plain, lakes.old, lakes.new):
            if lake is not None:
                lake.close()  # closing twice is harmless


def owners_of(objects: ObjectStore, dataset: Dataset) -> list[uuid.UUID]:
    """The owners that have a part of the per-owner ``dataset``."""
    found: set[uuid.UUID] = set()
    for key in objects.list(dataset.name):
        folder = key.removeprefix(f"{dataset.name}/").split("/", 1)[0]
        if folder.startswith("owner="):
            try:
                found.add(uuid.UUID(folder.removeprefix("owner=")))
            except ValueError:
                continue  # not a folder the lake made
    return sorted(found)


def _reseal(lakes: _Lakes, dataset: Dataset, owner: uuid.UUID) -> int:
    new = lakes.new
    manifest = new.manifest(dataset, owner)
    files = [_resealed(lakes, dataset, owner, file) for file in manifest.files]
    rewritten = sum(1 for before, after in zip(manifest.files, files, strict=True) if before != after)
    if rewritten:
        committed = msgspec.structs.replace(manifest, version=manifest.version + 1, files=tuple(files), retired=())
        new.objects.put(f"{dataset_root(dataset, owner)}/{MANIFEST_NAME}", encode_manifest(committed))
    root = dataset_root(dataset, owner)
    stored = new.objects.list(root)
    live = {file.key for file in files}
    new.objects.delete(key for key in stored if key.endswith(".parquet") and key not in live)
    names = [key.removeprefix(f"{root}/") for key in stored if not key.endswith(".parquet")]
    objects = [name for name in names if "/" not in name and name != MANIFEST_NAME and not name.startswith(".")]
    return rewritten + sum(_resealed_object(lakes, dataset, owner, name) for name in objects)


def _resealed_object(lakes: _Lakes, dataset: Dataset, owner: uuid.UUID, name: str) -> bool:
    """Whether the owner object ``name`` had to be written anew in the new form."""
    data = lakes.new.objects.get(owner_object_path(dataset, owner, name))
    if data is None:
        return False
    sealed = is_sealed_object(data)
    if sealed == lakes.new.encrypted and (not sealed or _object_opens(lakes.new, dataset, owner, name)):
        return False
    reader = lakes.plain if not sealed else lakes.old
    if reader is None:
        raise UnreadableDataError(f"the lake object {name} of {owner} is sealed with a key that was not given")
    plain = reader.owner_object(dataset, owner, name)
    if plain is None:
        return False
    lakes.new.put_owner_object(dataset, owner, name, plain)
    return True


def _object_opens(lake: Lake, dataset: Dataset, owner: uuid.UUID, name: str) -> bool:
    try:
        lake.owner_object(dataset, owner, name)
    except StorageError:
        return False
    return True


def _resealed(lakes: _Lakes, dataset: Dataset, owner: uuid.UUID, file: DataFile) -> DataFile:
    """``file`` itself when it is in the new form, else its rows written anew in that form."""
    data = lakes.new.objects.get(file.key)
    if data is None:
        raise StorageError(f"the lake file {file.key} is missing")
    try:
        sealed = is_sealed(data)
    except ValueError:
        raise StorageError(f"the lake file {file.key} is not a Parquet file") from None
    if sealed == lakes.new.encrypted and (not sealed or _opens(lakes.new, dataset, owner, file.key)):
        return file
    reader = lakes.plain if not sealed else lakes.old
    if reader is None:
        raise UnreadableDataError(f"the lake file {file.key} is encrypted with a key that was not given")
    rows = reader.query(f"SELECT * FROM {reader.source(dataset, owner, [file.key])}")
    key = new_file_key(dataset_root(dataset, owner), file.partition)
    lakes.new.objects.put(key, lakes.new.encode(dataset, owner, rows))
    return DataFile(key, file.partition, rows.num_rows)


def _opens(lake: Lake, dataset: Dataset, owner: uuid.UUID, key: str) -> bool:
    try:
        lake.query(f"SELECT count(*) FROM {lake.source(dataset, owner, [key])}")
    except StorageError:
        return False
    return True


def drop_owner_datasets(lake: Lake, owner: uuid.UUID | None = None) -> int:
    """Delete every file of the per-owner datasets, of ``owner`` (None: of every owner);
    the number of objects deleted. They are derived from the ledger: the snapshots job
    computes them again. The caller holds the writer lease."""
    owned = [dataset for dataset in DATASETS.values() if dataset.per_owner]
    prefixes = [dataset.name if owner is None else dataset_root(dataset, owner) for dataset in owned]
    keys = [key for prefix in prefixes for key in lake.objects.list(prefix)]
    lake.objects.delete(keys)
    return len(keys)
