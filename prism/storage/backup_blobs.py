"""Accounts' backup repositories kept by the server as opaque blobs.

A device may keep its encrypted backup repository on the server it syncs with
(``PRISM_BACKUP_REPOSITORY=relay``). The server never reads the blobs: it stores
each under ``backups/owner=<uuid>/<name>`` in the object storage the lake uses (S3
in the cloud, a folder on a device), so one account's names can never reach
another's. Puts are atomic (the lake's object store writes to a temporary name and
renames, or does one S3 PUT).

Names follow the backup repository's rules (docs/backup-format.md): lower-case
letters, digits and ``/._-``, no ``..``, at most 200 characters.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from prism.config import LakeSettings
from prism.errors import NotFoundError, StorageError, ValidationError
from prism.storage.lake.objects import FolderObjects, ObjectStore, S3Objects, open_objects

__all__ = [
    "MAX_NAME_LENGTH",
    "BackupBlobs",
    "BlobInfo",
    "check_blob_name",
    "check_blob_prefix",
    "open_backup_blobs",
]

MAX_NAME_LENGTH = 200
_NAME = re.compile(r"[a-z0-9._-]+(?:/[a-z0-9._-]+)*")
_PREFIX = re.compile(r"[a-z0-9/._-]*")
#: The folder store writes ``.tmp-*`` files beside a target and hides them from listings.
_HIDDEN = ".tmp-"


def check_blob_name(name: str, *, field: str = "name") -> str:
    """``name`` when it is a valid blob name, else a :class:`ValidationError` naming ``field``."""
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"is longer than {MAX_NAME_LENGTH} characters", field=field)
    if not _NAME.fullmatch(name):
        raise ValidationError("must be non-empty segments of [a-z0-9._-] joined by '/'", field=field)
    if ".." in name or any(part == "." or part.startswith(_HIDDEN) for part in name.split("/")):
        raise ValidationError("must not contain '..', a '.' segment or a '.tmp-' segment", field=field)
    return name


def check_blob_prefix(prefix: str, *, field: str = "prefix") -> str:
    """A listing prefix: empty, or the start of a valid name (``data/``, ``data/a``)."""
    if len(prefix) > MAX_NAME_LENGTH:
        raise ValidationError(f"is longer than {MAX_NAME_LENGTH} characters", field=field)
    if not _PREFIX.fullmatch(prefix) or prefix.startswith("/") or "//" in prefix or ".." in prefix:
        raise ValidationError("must be the start of a blob name ([a-z0-9/._-], no '..')", field=field)
    return prefix


class BlobInfo(NamedTuple):
    """One stored blob: its name and size in bytes."""

    name: str
    size: int


def _root(owner: uuid.UUID) -> str:
    return f"backups/owner={owner}"


class BackupBlobs:
    """Every account's backup blobs in one object store; each call is scoped to one owner.

    Synchronous (object storage blocks): call from async code in a worker thread.
    """

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects

    def put(self, owner: uuid.UUID, name: str, data: bytes) -> None:
        """Store ``data`` as ``name`` (replacing it); atomic."""
        self.objects.put(f"{_root(owner)}/{check_blob_name(name)}", data)

    def get(self, owner: uuid.UUID, name: str) -> bytes:
        """The blob's bytes; :class:`NotFoundError` when the owner has no such blob."""
        found = self.objects.get(f"{_root(owner)}/{check_blob_name(name)}")
        if found is None:
            raise NotFoundError(f"no backup blob {name!r}")
        return found

    def delete(self, owner: uuid.UUID, name: str) -> None:
        """Remove the blob; an absent one is fine (deletes are retried)."""
        self.objects.delete([f"{_root(owner)}/{check_blob_name(name)}"])

    def list(
        self, owner: uuid.UUID, prefix: str = "", *, after: str | None = None, limit: int = 1000
    ) -> list[BlobInfo]:
        """Up to ``limit`` blobs whose names start with ``prefix`` and sort after ``after``, by name."""
        check_blob_prefix(prefix)
        if isinstance(self.objects, S3Objects):
            return _list_s3(self.objects, _root(owner), prefix, after, limit)
        if isinstance(self.objects, FolderObjects):
            return _list_folder(self.objects.root / _root(owner), prefix, after, limit)
        raise StorageError(f"backup blobs cannot be listed in a {type(self.objects).__name__}")

    def usage(self, owner: uuid.UUID) -> int:
        """Bytes the owner keeps (for quotas)."""
        total, after = 0, None
        while page := self.list(owner, "", after=after, limit=1000):
            total += sum(item.size for item in page)
            after = page[-1].name
        return total


def _list_folder(root: Path, prefix: str, after: str | None, limit: int) -> list[BlobInfo]:
    # Start at the deepest folder the prefix names, not at the account's root.
    folder, _, _ = prefix.rpartition("/")
    base = root / folder if folder else root
    if not base.is_dir():
        return []
    found: list[BlobInfo] = []
    for path in base.rglob("*"):
        name = path.relative_to(root).as_posix()
        if path.name.startswith(_HIDDEN) or not name.startswith(prefix) or (after is not None and name <= after):
            continue
        try:
            if path.is_file():
                found.append(BlobInfo(name, path.stat().st_size))
        except FileNotFoundError:  # deleted while listing
            continue
    found.sort()
    return found[:limit]


def _list_s3(objects: S3Objects, root: str, prefix: str, after: str | None, limit: int) -> list[BlobInfo]:
    base = f"{objects.prefix}/{root}/" if objects.prefix else f"{root}/"
    arguments: dict[str, object] = {"Bucket": objects.bucket, "Prefix": base + prefix, "MaxKeys": min(limit, 1000)}
    if after is not None:
        arguments["StartAfter"] = base + after
    found: list[BlobInfo] = []
    try:
        while len(found) < limit:
            answer = objects.client.list_objects_v2(**arguments)  # type: ignore[arg-type]
            found.extend(BlobInfo(item["Key"][len(base) :], item["Size"]) for item in answer.get("Contents", []))
            if not answer.get("IsTruncated"):
                break
            arguments["ContinuationToken"] = answer["NextContinuationToken"]
    except (ClientError, BotoCoreError) as error:
        raise StorageError(f"the backup bucket could not list blobs: {error}") from None
    return found[:limit]


def open_backup_blobs(settings: LakeSettings) -> BackupBlobs:
    """The blobs kept in the object storage ``settings`` names (the lake's)."""
    return BackupBlobs(open_objects(settings))
