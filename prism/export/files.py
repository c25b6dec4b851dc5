"""Table files in the three formats: writing rows in their exported form, reading them back.

Every writer takes rows as tuples of exported values (text, integers, booleans, None)
in the table's column order; every reader gives them back the same way, so the
formats differ only in bytes (``docs/export-format.md``).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from prism.errors import ValidationError
from prism.export.layout import TableSpec

__all__ = ["TableWriter", "file_sha256", "open_writer", "read_table_file"]

_encode = msgspec.json.Encoder().encode
_BATCH = 50_000  # rows per Parquet row group: fixed, so equal data gives equal bytes


class TableWriter(Protocol):
    """Writes one table's rows to its file."""

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Append rows."""

    def close(self) -> None:
        """Finish the file."""


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _JsonWriter:
    """A JSON array of row objects, one per line."""

    def __init__(self, spec: TableSpec, out: IO[bytes]) -> None:
        self._out = out
        self._names = spec.names
        self._raw = {c.name for c in spec.columns if c.kind == "json"}
        # Integers as text too: a JSON number above 2**53 is not exact in every reader.
        self._integers = {c.name for c in spec.columns if c.kind == "integer"}
        self._first = True
        out.write(b"[")

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        names, raw = self._names, self._raw
        parts = []
        for row in rows:
            record = dict(zip(names, row, strict=True))
            for name in raw:
                if record[name] is not None:
                    record[name] = msgspec.Raw(record[name].encode())
            for name in self._integers:
                if record[name] is not None:
                    record[name] = str(record[name])
            parts.append(b"\n" if self._first else b",\n")
            parts.append(_encode(record))
            self._first = False
        self._out.write(b"".join(parts))

    def close(self) -> None:
        self._out.write(b"\n]\n")


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    text: str = value
    return '"' + text.replace('"', '""') + '"'


class _CsvWriter:
    """RFC 4180 CSV: text always quoted, an empty unquoted field is null."""

    def __init__(self, spec: TableSpec, out: IO[bytes]) -> None:
        self._out = out
        out.write((",".join(spec.names) + "\n").encode())

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        lines = [",".join([_csv_field(v) for v in row]) + "\n" for row in rows]
        self._out.write("".join(lines).encode())

    def close(self) -> None:
        pass


def _arrow_schema(spec: TableSpec) -> pa.Schema:
    kinds = {"integer": pa.int64(), "boolean": pa.bool_()}
    return pa.schema([pa.field(c.name, kinds.get(c.kind, pa.string()), nullable=c.nullable) for c in spec.columns])


class _ParquetWriter:
    """Parquet: text columns as strings, integers as int64, booleans as bool."""

    def __init__(self, spec: TableSpec, out: IO[bytes]) -> None:
        self._schema = _arrow_schema(spec)
        self._writer = pq.ParquetWriter(out, self._schema, compression="zstd", write_statistics=False)
        self._pending: list[tuple[Any, ...]] = []

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._pending.extend(rows)
        while len(self._pending) >= _BATCH:
            self._flush(self._pending[:_BATCH])
            del self._pending[:_BATCH]

    def _flush(self, rows: Sequence[tuple[Any, ...]]) -> None:
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in self._schema]
        arrays = [pa.array(list(values), type=field.type) for values, field in zip(columns, self._schema, strict=True)]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema), row_group_size=_BATCH)

    def close(self) -> None:
        if self._pending:
            self._flush(self._pending)
            self._pending = []
        self._writer.close()


def open_writer(spec: TableSpec, file_format: str, out: IO[bytes]) -> TableWriter:
    """A writer of ``spec``'s rows in ``file_format`` onto ``out``."""
    if file_format == "json":
        return _JsonWriter(spec, out)
    if file_format == "csv":
        return _CsvWriter(spec, out)
    return _ParquetWriter(spec, out)


# --- reading ------------------------------------------------------------------


def _check_names(spec: TableSpec, found: Sequence[str], where: str) -> None:
    if tuple(found) != spec.names:
        raise ValidationError(
            f"{where}: columns {', '.join(found)} are not the layout's {', '.join(spec.names)}", field="columns"
        )


def _json_records(path: Path) -> Iterator[Any]:
    """The row objects of a JSON table file.

    The layout's own files (``[``, one row per line, ``]``) are read a line at a time,
    so memory stays flat; any other valid JSON array is parsed whole.
    """
    with path.open("rb") as handle:
        first, second = handle.readline(), handle.readline()
        if first.strip() == b"[" and (second.strip() == b"]" or second.startswith(b"{")):
            line = second
            while line and line.strip() != b"]":
                try:
                    yield msgspec.json.decode(line.rstrip().removesuffix(b","))
                except msgspec.DecodeError as error:
                    raise ValidationError(f"{path.name} is not JSON: {error}", field="file") from None
                line = handle.readline()
            if not line or handle.read().strip():
                raise ValidationError(f"{path.name} does not end its array where the layout does", field="file")
            return
    try:
        document = msgspec.json.decode(path.read_bytes())
    except msgspec.DecodeError as error:
        raise ValidationError(f"{path.name} is not JSON: {error}", field="file") from None
    if not isinstance(document, list):
        raise ValidationError(f"{path.name} must hold a JSON array of rows", field="file")
    yield from document


def _json_rows(spec: TableSpec, path: Path) -> Iterator[tuple[Any, ...]]:
    raw = {c.name for c in spec.columns if c.kind == "json"}
    for number, record in enumerate(_json_records(path), start=1):
        if not isinstance(record, dict):
            raise ValidationError(f"{path.name} row {number} is not an object", field="file")
        _check_names(spec, list(record), f"{path.name} row {number}")
        yield tuple(_encode(v).decode() if k in raw and v is not None else v for k, v in record.items())


def _records(handle: io.TextIOBase) -> Iterator[str]:
    """Whole CSV records (quoted fields may span lines)."""
    pending = ""
    for line in handle:
        pending += line
        if pending.count('"') % 2 == 0:
            yield pending
            pending = ""
    if pending:
        raise ValidationError("the CSV file ends inside a quoted field", field="file")


def _null_fields(record: str) -> set[int]:
    """Positions of empty unquoted fields (null) in one record."""
    nulls, at, field, quoted, start = set(), 0, 0, False, True
    text = record.rstrip("\r\n")
    while at < len(text):
        char = text[at]
        if quoted:
            if char == '"':
                if at + 1 < len(text) and text[at + 1] == '"':
                    at += 1
                else:
                    quoted = False
        elif char == '"' and start:
            quoted = True
        elif char == ",":
            if start:
                nulls.add(field)
            field += 1
            start = True
            at += 1
            continue
        start = False
        at += 1
    if start:
        nulls.add(field)
    return nulls


def _csv_rows(spec: TableSpec, path: Path) -> Iterator[tuple[Any, ...]]:
    with path.open("r", encoding="utf-8", newline="") as handle:
        records = _records(handle)
        header = next(records, None)
        if header is None:
            raise ValidationError(f"{path.name} has no header", field="file")
        _check_names(spec, next(csv.reader([header])), path.name)
        width = len(spec.names)
        for number, record in enumerate(records, start=1):
            (fields,) = list(csv.reader([record]))
            if len(fields) != width:
                raise ValidationError(f"{path.name} row {number} has {len(fields)} fields", field="file")
            nulls = _null_fields(record) if "" in fields else set()
            yield tuple(None if at in nulls else value for at, value in enumerate(fields))


def _parquet_rows(spec: TableSpec, path: Path) -> Iterator[tuple[Any, ...]]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise ValidationError(f"{path.name} is not a Parquet file: {error}", field="file") from None
    _check_names(spec, parquet.schema_arrow.names, path.name)
    for batch in parquet.iter_batches(batch_size=_BATCH):
        columns = [column.to_pylist() for column in batch.columns]
        yield from zip(*columns, strict=True)


def read_table_file(spec: TableSpec, file_format: str, path: Path) -> Iterable[tuple[Any, ...]]:
    """The rows of one table file, in exported form and file order."""
    if file_format == "json":
        return _json_rows(spec, path)
    if file_format == "csv":
        return _csv_rows(spec, path)
    return _parquet_rows(spec, path)
