"""Files and object URLs, shared by the lake's and the backups' stores (no heavy imports:
a backup process must not load the analytics stack to write a file)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from prism.errors import ValidationError

__all__ = ["split_s3_url", "sync_folder", "sync_path", "write_atomically"]


def write_atomically(target: Path, data: bytes, *, prefix: str, suffix: str = "") -> None:
    """Write ``data`` to ``target`` so a reader sees all of it or the old file: a temporary
    file in the same folder (named ``prefix...``), flushed to disk, renamed over ``target``,
    and the folder's entry flushed too (the rename is durable only then)."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    sync_folder(target.parent)


def sync_folder(folder: Path) -> None:
    """Flush ``folder``'s entries to disk: a rename in it is durable only then."""
    sync_path(folder)


def sync_path(path: Path) -> None:
    """Flush what is written to the file (or folder) at ``path`` to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def split_s3_url(url: str, *, field: str = "PRISM_LAKE_URL") -> tuple[str, str]:
    """``s3://bucket/some/prefix`` as ``("bucket", "some/prefix")`` (``field``: the setting, for errors)."""
    rest = url.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ValidationError(f"{url!r} names no bucket", field=field)
    return bucket, prefix.strip("/")
