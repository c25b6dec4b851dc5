"""Writing the lake: merge new rows into a dataset and commit a new manifest.

A write rewrites only the partitions it touches: for each, the stored rows that
the new rows replace (same values in the dataset's ``replaces`` columns) are
dropped, the rest merged with the new rows, sorted, and written as one new Parquet
file under a fresh name (encrypted, for a per-owner dataset of a lake with an owner
key). The manifest is put last; it is the commit. Callers hold
the writer lease (:mod:`prism.storage.lake.lease`) around every write, so versions
never race.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa
import uuid_utils

from prism.errors import ValidationError
from prism.storage.lake.datasets import Dataset
from prism.storage.lake.encryption import read_error
from prism.storage.lake.lake import Lake, dataset_root
from prism.storage.lake.manifest import MANIFEST_NAME, Change, DataFile, Manifest, RetiredFile, encode_manifest

__all__ = ["RETIRED_GRACE_SECONDS", "WriteResult", "conform", "new_file_key", "write_rows"]

#: How long a replaced file stays readable for queries planned before the commit.
RETIRED_GRACE_SECONDS = 600.0
_KEPT_CHANGES = 256


class WriteResult(NamedTuple):
    """What one write committed."""

    dataset: str
    version: int
    rows: int  # new rows written
    earliest: dt.date | None  # the earliest date the write touched


def conform(dataset: Dataset, rows: pa.Table) -> pa.Table:
    """``rows`` with exactly the dataset's columns, in order, cast to its types."""
    missing = [name for name in dataset.schema.names if name not in rows.column_names]
    if missing:
        raise ValidationError(f"missing column {missing[0]!r}", field=missing[0])
    try:
        return rows.select(dataset.schema.names).cast(dataset.schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
        raise ValidationError(f"does not fit the {dataset.name} dataset: {error}", field=dataset.name) from None


def new_file_key(root: str, partition: str) -> str:
    """A fresh, never reused name for a data file of ``partition`` under ``root``."""
    folder = f"{root}/{partition}" if partition else root
    return f"{folder}/part-{uuid_utils.uuid7().hex}.parquet"


def _partition_filter(dataset: Dataset, partition: str) -> str:
    if not partition:
        return "true"
    return f'year("{dataset.date_column}") = {int(partition.removeprefix("year="))}'


def _merged(
    cursor: duckdb.DuckDBPyConnection,
    *,
    lake: Lake,
    dataset: Dataset,
    owner: uuid.UUID | None,
    partition: str,
    old: Sequence[DataFile],
    drop_where: str | None,
    parameters: Sequence[Any],
) -> pa.Table:
    columns = ", ".join(f'"{name}"' for name in dataset.schema.names)
    order = ", ".join(f'"{name}"' for name in dataset.order)
    fresh = f"SELECT {columns} FROM incoming WHERE {_partition_filter(dataset, partition)}"
    if not old:
        return cursor.execute(f"{fresh} ORDER BY {order}").to_arrow_table()
    source = lake.source(dataset, owner, [file.key for file in old])
    match = " AND ".join(f'o."{name}" IS NOT DISTINCT FROM i."{name}"' for name in dataset.replaces)
    dropped = f"AND NOT ({drop_where})" if drop_where else ""
    kept = (
        f"SELECT {', '.join(f'o.{c}' for c in columns.split(', '))} "
        f"FROM {source} o "
        f"WHERE NOT EXISTS (SELECT 1 FROM incoming i WHERE {match}) {dropped}"
    )
    return cursor.execute(f"{fresh} UNION ALL {kept} ORDER BY {order}", list(parameters)).to_arrow_table()


def write_rows(
    lake: Lake,
    dataset: Dataset,
    rows: pa.Table,
    *,
    owner: uuid.UUID | None = None,
    drop_where: str | None = None,
    parameters: Sequence[Any] = (),
) -> WriteResult:
    """Merge ``rows`` into ``dataset`` and commit; the caller holds the writer lease.

    ``drop_where`` (a SQL predicate over stored rows, with ``parameters``) also drops
    stored rows the new ones do not replace; it makes the write rewrite every
    partition, so it is meant for the small per-owner datasets.
    """
    root = dataset_root(dataset, owner)
    incoming = conform(dataset, rows)
    manifest = lake.manifest(dataset, owner)
    cursor = lake.cursor()
    try:
        cursor.register("incoming", incoming)
        if dataset.partitioning == "year":
            years = cursor.execute(f'SELECT DISTINCT year("{dataset.date_column}") FROM incoming').fetchall()
            touched = {f"year={year}" for (year,) in years}
        else:
            touched = {""}
        if drop_where:
            touched |= {file.partition for file in manifest.files}
        earliest = cursor.execute(f'SELECT min("{dataset.date_column}") FROM incoming').fetchone()
        written: list[DataFile] = []
        for partition in sorted(touched):
            old = [file for file in manifest.files if file.partition == partition]
            merged = _merged(
                cursor,
                lake=lake,
                dataset=dataset,
                owner=owner,
                partition=partition,
                old=old,
                drop_where=drop_where,
                parameters=parameters,
            )
            if merged.num_rows == 0:
                continue
            key = new_file_key(root, partition)
            lake.objects.put(key, lake.encode(dataset, owner, merged))
            written.append(DataFile(key, partition, merged.num_rows))
    except duckdb.Error as error:
        raise read_error(error, f"merging into {dataset.name}") from None
    finally:
        cursor.close()
    day = earliest[0] if earliest is not None else None
    return _commit(
        lake,
        dataset=dataset,
        owner=owner,
        manifest=manifest,
        touched=touched,
        written=written,
        rows=incoming.num_rows,
        earliest=day,
    )


def _commit(
    lake: Lake,
    *,
    dataset: Dataset,
    owner: uuid.UUID | None,
    manifest: Manifest,
    touched: set[str],
    written: list[DataFile],
    rows: int,
    earliest: dt.date | None,
) -> WriteResult:
    now = time.time()
    replaced = [file for file in manifest.files if file.partition in touched]
    kept = [file for file in manifest.files if file.partition not in touched]
    retired = [*manifest.retired, *(RetiredFile(file.key, now) for file in replaced)]
    expired = [file.key for file in retired if now - file.at > RETIRED_GRACE_SECONDS]
    version = manifest.version + 1
    changes = manifest.changes
    if earliest is not None:
        changes = (*changes, Change(version, earliest))[-_KEPT_CHANGES:]
    committed = Manifest(
        version=version,
        files=tuple(sorted([*kept, *written], key=lambda file: (file.partition, file.key))),
        retired=tuple(file for file in retired if file.key not in set(expired)),
        changes=changes,
    )
    lake.objects.put(f"{dataset_root(dataset, owner)}/{MANIFEST_NAME}", encode_manifest(committed))
    lake.objects.delete(expired)
    return WriteResult(dataset.name, version, rows, earliest)
