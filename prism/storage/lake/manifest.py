"""A dataset's manifest: the list of its live files, replaced atomically as the commit.

Writers add files first and put the manifest last, so a reader that fetched a
manifest sees one consistent version of the dataset: never a half-written file,
never a row twice. Files a new version replaced are *retired* and deleted only after
a grace period, so a query planned against the previous manifest still finds them.
"""

from __future__ import annotations

import datetime as dt

import msgspec

__all__ = ["MANIFEST_NAME", "DataFile", "Manifest", "RetiredFile", "decode_manifest", "encode_manifest"]

MANIFEST_NAME = "_manifest.json"
FORMAT = 1


class DataFile(msgspec.Struct, frozen=True):
    """One live Parquet file of a dataset."""

    key: str
    partition: str  # "year=2024", or "" for an unpartitioned dataset
    rows: int


class RetiredFile(msgspec.Struct, frozen=True):
    """A file a newer version replaced, kept until ``at`` + the grace period."""

    key: str
    at: float  # seconds since the epoch


class Change(msgspec.Struct, frozen=True):
    """What one version changed: the earliest date it touched."""

    version: int
    earliest: dt.date


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """The committed state of one dataset (or of one owner's part of it)."""

    format: int = FORMAT
    version: int = 0
    files: tuple[DataFile, ...] = ()
    retired: tuple[RetiredFile, ...] = ()
    changes: tuple[Change, ...] = ()  # the latest versions' earliest dates (bounded)

    def earliest_change_since(self, version: int) -> dt.date | None:
        """The earliest date touched by any version after ``version`` (None: nothing newer).

        When the bounded history no longer reaches back to ``version``, the answer is
        :data:`datetime.date.min`: everything may have changed.
        """
        if version >= self.version:
            return None
        newer = [change.earliest for change in self.changes if change.version > version]
        known = {change.version for change in self.changes}
        if any(v not in known for v in range(version + 1, self.version + 1)):
            return dt.date.min
        return min(newer) if newer else None


def encode_manifest(manifest: Manifest) -> bytes:
    """The manifest as JSON."""
    return msgspec.json.encode(manifest)


def decode_manifest(data: bytes | None) -> Manifest:
    """The manifest stored as ``data`` (an empty dataset when there is none)."""
    if data is None:
        return Manifest()
    return msgspec.json.decode(data, type=Manifest)
