"""The lake as one object: its files, its manifests, and a DuckDB reading them.

Reads go through :meth:`Lake.scan`, which turns a dataset's committed manifest
into a ``read_parquet([...])`` over exactly its live files, so the same SQL runs
on a folder and on S3. Owner datasets are only reachable through a scan that names
the owner, and the owner's id is checked to be a UUID before it becomes a path.
A lake opened with an ``owner_key`` writes and reads the per-owner files encrypted
(:mod:`prism.storage.lake.encryption`); shared market data stays plain either way.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from prism.config import LakeSettings
from prism.errors import StorageError, UnreadableDataError, ValidationError
from prism.storage.lake.datasets import Dataset
from prism.storage.lake.duck import connect_duckdb
from prism.storage.lake.encryption import (
    add_duckdb_key,
    check_owner_key,
    duckdb_key_name,
    is_sealed_object,
    open_object,
    owner_file_key,
    owner_object_key,
    parquet_source,
    plain_parquet,
    read_error,
    seal_object,
    sealed_parquet,
)
from prism.storage.lake.manifest import MANIFEST_NAME, Manifest, decode_manifest
from prism.storage.lake.objects import ObjectStore, open_objects

__all__ = ["Lake", "dataset_root", "open_lake", "owner_object_path", "version_of"]

T = TypeVar("T")
_REMEMBERED = 64


def dataset_root(dataset: Dataset, owner: uuid.UUID | None) -> str:
    """The key prefix of ``dataset`` (of ``owner``'s part, for a per-owner dataset)."""
    if dataset.per_owner:
        if not isinstance(owner, uuid.UUID):
            raise ValidationError(f"{dataset.name} is read and written per owner", field="owner")
        return f"{dataset.name}/owner={owner}"
    if owner is not None:
        raise ValidationError(f"{dataset.name} is shared market data, not per owner", field="owner")
    return dataset.name


class Lake:
    """The analytics lake of one process."""

    def __init__(
        self, settings: LakeSettings, objects: ObjectStore | None = None, *, owner_key: bytes | None = None
    ) -> None:
        self.settings = settings
        self.objects = objects or open_objects(settings)
        self._owner_key = check_owner_key(owner_key)
        self._duck: duckdb.DuckDBPyConnection | None = None
        self._keyed: set[uuid.UUID] = set()  # owners whose file key DuckDB knows
        self._lock = threading.Lock()
        self._remembered: OrderedDict[Hashable, Any] = OrderedDict()

    @property
    def encrypted(self) -> bool:
        """Whether per-owner files are written and read encrypted."""
        return self._owner_key is not None

    @property
    def duck(self) -> duckdb.DuckDBPyConnection:
        """The process's DuckDB database (opened on first use)."""
        with self._lock:
            if self._duck is None:
                self._duck = connect_duckdb(self.settings, private=self.encrypted)
            return self._duck

    def file_key(self, dataset: Dataset, owner: uuid.UUID | None) -> str | None:
        """The DuckDB key name ``dataset``'s files (of ``owner``) are encrypted with, or None."""
        dataset_root(dataset, owner)  # the owner is checked before it names anything
        if self._owner_key is None or not isinstance(owner, uuid.UUID):
            return None  # no key, or shared market data
        with self._lock:
            known = owner in self._keyed
        if not known:
            self._learn_key(owner, self._owner_key)
        return duckdb_key_name(owner)

    def _learn_key(self, owner: uuid.UUID, owner_key: bytes) -> None:
        cursor = self.cursor()  # keys belong to the database: every cursor sees them
        try:
            with self._lock:
                if owner not in self._keyed:
                    add_duckdb_key(cursor, duckdb_key_name(owner), owner_file_key(owner_key, owner))
                    self._keyed.add(owner)
        finally:
            cursor.close()

    def source(self, dataset: Dataset, owner: uuid.UUID | None, keys: Sequence[str]) -> str:
        """A ``read_parquet`` over the files ``keys`` of ``dataset`` (of ``owner``)."""
        return parquet_source([self.objects.uri(key) for key in keys], self.file_key(dataset, owner))

    def encode(self, dataset: Dataset, owner: uuid.UUID | None, rows: pa.Table) -> bytes:
        """``rows`` as one Parquet file of ``dataset`` (encrypted when it is private)."""
        name = self.file_key(dataset, owner)
        if name is None:
            return plain_parquet(rows)
        cursor = self.cursor()
        try:
            return sealed_parquet(cursor, rows, name)
        except duckdb.Error as error:
            raise StorageError(f"encrypting a {dataset.name} file failed: {error}") from None
        finally:
            cursor.close()

    def put_owner_object(self, dataset: Dataset, owner: uuid.UUID, name: str, data: bytes) -> None:
        """Store a small non-Parquet object (a job's state) beside ``owner``'s ``dataset``.

        In a lake with an owner key it is sealed; :func:`reseal_owner_datasets` moves it too.
        """
        key = owner_object_path(dataset, owner, name)
        if self._owner_key is not None:
            data = seal_object(owner_object_key(self._owner_key, owner), data, key)
        self.objects.put(key, data)

    def owner_object(self, dataset: Dataset, owner: uuid.UUID, name: str) -> bytes | None:
        """What :meth:`put_owner_object` stored (None: nothing).

        A plain object is returned as it is even in a lake with an owner key: its bytes
        are readable on disk anyway, and the next put (or a reseal) seals them.
        """
        key = owner_object_path(dataset, owner, name)
        data = self.objects.get(key)
        if data is None or not is_sealed_object(data):
            return data
        if self._owner_key is None:
            raise UnreadableDataError(f"the lake object {key} is sealed, and this lake was given no key")
        return open_object(owner_object_key(self._owner_key, owner), data, key)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection for one thread's queries (cheap; shares the database)."""
        return self.duck.cursor()

    def manifest(self, dataset: Dataset, owner: uuid.UUID | None = None) -> Manifest:
        """The committed manifest of ``dataset`` (of ``owner``'s part)."""
        try:
            return decode_manifest(self.objects.get(f"{dataset_root(dataset, owner)}/{MANIFEST_NAME}"))
        except ValueError as error:  # msgspec's DecodeError derives from it
            raise StorageError(f"the {dataset.name} manifest is damaged: {error}") from None

    def files(self, manifest: Manifest) -> list[str]:
        """The locations DuckDB reads the live files of ``manifest`` from."""
        return [self.objects.uri(file.key) for file in manifest.files]

    def scan(self, dataset: Dataset, owner: uuid.UUID | None = None, *, manifest: Manifest | None = None) -> str:
        """A SQL table expression over the committed rows of ``dataset``.

        An empty dataset scans as zero rows with the dataset's columns, so queries
        never need a special case for a new lake.
        """
        found = manifest if manifest is not None else self.manifest(dataset, owner)
        if not found.files:
            return f"(SELECT * FROM {empty_relation(dataset)})"
        columns = ", ".join(f'"{name}"' for name in dataset.schema.names)
        return f"(SELECT {columns} FROM {self.source(dataset, owner, [file.key for file in found.files])})"

    def query(self, sql: str, parameters: Any = None) -> pa.Table:
        """Run ``sql`` on a fresh cursor and return its rows as Arrow."""
        cursor = self.cursor()
        try:
            return cursor.execute(sql, parameters).to_arrow_table()
        except duckdb.Error as error:
            raise read_error(error, "the lake query") from None
        finally:
            cursor.close()

    def remember(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, or what it gave for ``key`` before (the last few answers are kept).

        Keys must name what the answer depends on, a dataset's :func:`version_of`
        included, so that a commit makes earlier answers unreachable.
        """
        with self._lock:
            if key in self._remembered:
                self._remembered.move_to_end(key)
                found: T = self._remembered[key]
                return found
        value = compute()
        with self._lock:
            self._remembered[key] = value
            while len(self._remembered) > _REMEMBERED:
                self._remembered.popitem(last=False)
        return value

    def close(self) -> None:
        """Close DuckDB."""
        with self._lock:
            if self._duck is not None:
                self._duck.close()
                self._duck = None
                self._keyed.clear()


def owner_object_path(dataset: Dataset, owner: uuid.UUID, name: str) -> str:
    """Where the owner object ``name`` of ``owner``'s ``dataset`` is kept."""
    if not name or "/" in name or name.startswith(".") or name.endswith(".parquet") or name == MANIFEST_NAME:
        raise ValidationError(f"{name!r} cannot name an owner object", field="name")
    return f"{dataset_root(dataset, owner)}/{name}"


def version_of(manifest: Manifest) -> tuple[int, tuple[str, ...]]:
    """What identifies a committed version: its number and its files (a lake made anew
    at the same place starts counting again, but never reuses a file name)."""
    return manifest.version, tuple(file.key for file in manifest.files)


def empty_relation(dataset: Dataset) -> str:
    """A zero-row SQL relation with ``dataset``'s columns and types."""
    casts = ", ".join(f'CAST(NULL AS {_duck_type(field.type)}) AS "{field.name}"' for field in dataset.schema)
    return f"(SELECT {casts} WHERE false)"


def _duck_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision}, {arrow_type.scale})"
    if pa.types.is_date32(arrow_type):
        return "DATE"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ"
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    return "VARCHAR"


def open_lake(settings: LakeSettings, *, owner_key: bytes | None = None) -> Lake:
    """The lake ``settings`` names (nothing is read until first use).

    With ``owner_key`` (32 secret bytes) the per-owner datasets are kept encrypted.
    """
    return Lake(settings, owner_key=owner_key)
