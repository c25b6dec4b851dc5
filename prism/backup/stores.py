"""Where a backup repository's blobs live: a local folder, an S3 prefix, or the relay.

A store is a flat namespace of blobs named like ``data/ab/ab12...``. A put is atomic (a
reader sees the whole blob or none): in a folder the bytes go to a temporary name beside
the target, are flushed, renamed into place, and the folder is flushed too; an S3 PUT is
atomic by itself. OS and boto3 errors become :class:`RepositoryError` here, at the
boundary; a blob that is not there is :class:`NotFoundError`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from prism.backup.processes import process_running
from prism.config import BackupSettings
from prism.errors import NotFoundError, RepositoryError, ValidationError
from prism.storage.files import split_s3_url, write_atomically

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from prism.backup.relay_store import RelayBackupTarget

__all__ = ["BlobStore", "FolderStore", "S3Store", "check_name", "open_store"]

_NAME = re.compile(r"[a-z0-9/._-]{1,200}")
_TEMPORARY = ".tmp-"


class BlobStore(Protocol):
    """A flat namespace of immutable-ish blobs named like 'data/ab/ab12...' ([a-z0-9/._-], <= 200 chars)."""

    def put(self, name: str, data: bytes) -> None:
        """Store ``data`` as ``name`` atomically, replacing what was there."""

    def get(self, name: str) -> bytes:
        """The blob's bytes; :class:`NotFoundError` when absent."""

    def list(self, prefix: str) -> list[str]:
        """Names starting with ``prefix``, sorted."""

    def delete(self, name: str) -> None:
        """Remove the blob (absent is fine)."""

    def size(self, name: str) -> int:
        """The blob's length in bytes; :class:`NotFoundError` when absent."""


def check_name(name: str) -> str:
    """``name`` if it is a valid blob name, else :class:`ValidationError`."""
    if not _NAME.fullmatch(name) or name.startswith("/") or any(p in {"", ".", ".."} for p in name.split("/")):
        raise ValidationError(f"{name!r} is not a backup blob name", field="name")
    return name


class FolderStore:
    """A repository in a local folder."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().absolute()

    def __repr__(self) -> str:
        return f"FolderStore({str(self.root)!r})"

    def put(self, name: str, data: bytes) -> None:
        target = self.root / check_name(name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, data, prefix=f"{_TEMPORARY}{os.getpid()}-")
        except OSError as error:
            raise RepositoryError(f"cannot write {name} in {self.root}: {error.strerror or error}") from None

    def get(self, name: str) -> bytes:
        try:
            return (self.root / check_name(name)).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"{name} is not in the repository {self.root}") from None
        except OSError as error:
            raise RepositoryError(f"cannot read {name} in {self.root}: {error.strerror or error}") from None

    def list(self, prefix: str) -> list[str]:
        # Walk only the folder the prefix names (data/ has 256 sub-folders of packs).
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = self.root / folder if folder else self.root
        try:
            if not base.is_dir():
                return []
            names = (path.relative_to(self.root).as_posix() for path in base.rglob("*") if path.is_file())
            return sorted(n for n in names if n.startswith(prefix) and _TEMPORARY not in n)
        except OSError as error:
            raise RepositoryError(f"cannot list {prefix or '/'} in {self.root}: {error.strerror or error}") from None

    def sweep_temporaries(self) -> int:
        """Delete the temporary files of writers killed mid-put (their pid is gone); how many."""
        swept = 0
        for leftover in self.root.rglob(f"{_TEMPORARY}*"):
            pid = leftover.name.removeprefix(_TEMPORARY).split("-", 1)[0]
            if pid.isdigit() and not process_running(int(pid)):
                leftover.unlink(missing_ok=True)
                swept += 1
        return swept

    def delete(self, name: str) -> None:
        try:
            (self.root / check_name(name)).unlink(missing_ok=True)
        except OSError as error:
            raise RepositoryError(f"cannot delete {name} in {self.root}: {error.strerror or error}") from None

    def size(self, name: str) -> int:
        try:
            return (self.root / check_name(name)).stat().st_size
        except FileNotFoundError:
            raise NotFoundError(f"{name} is not in the repository {self.root}") from None
        except OSError as error:
            raise RepositoryError(f"cannot read {name} in {self.root}: {error.strerror or error}") from None


class S3Store:
    """A repository under an S3 bucket and prefix."""

    def __init__(self, settings: BackupSettings) -> None:
        self.bucket, self.prefix = split_s3_url(settings.repository or "", field="PRISM_BACKUP_REPOSITORY")
        self.client: S3Client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"}),
        )

    def __repr__(self) -> str:
        return f"S3Store('s3://{self.bucket}/{self.prefix}')"

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{check_name(name)}" if self.prefix else check_name(name)

    def _call(self, action: str, name: str, call: Any, **kwargs: Any) -> Any:
        try:
            return call(**kwargs)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in {"NoSuchKey", "404", "NotFound"}:
                raise NotFoundError(f"{name} is not in the repository {self!r}") from None
            raise RepositoryError(f"the backup bucket refused to {action} {name}: {code or error}") from None
        except BotoCoreError as error:
            raise RepositoryError(f"the backup bucket could not {action} {name}: {error}") from None

    def put(self, name: str, data: bytes) -> None:
        self._call("store", name, self.client.put_object, Bucket=self.bucket, Key=self._key(name), Body=data)

    def get(self, name: str) -> bytes:
        answer = self._call("read", name, self.client.get_object, Bucket=self.bucket, Key=self._key(name))
        try:
            body: bytes = answer["Body"].read()
        except (BotoCoreError, OSError) as error:
            raise RepositoryError(f"the backup bucket could not read {name}: {error}") from None
        return body

    def list(self, prefix: str) -> list[str]:
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        start = len(self.prefix) + 1 if self.prefix else 0
        names: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
                names.extend(item["Key"][start:] for item in page.get("Contents", []))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            raise RepositoryError(f"the backup bucket refused to list {prefix or '/'}: {code or error}") from None
        except BotoCoreError as error:
            raise RepositoryError(f"the backup bucket could not list {prefix or '/'}: {error}") from None
        return sorted(names)

    def delete(self, name: str) -> None:
        self._call("delete", name, self.client.delete_object, Bucket=self.bucket, Key=self._key(name))

    def size(self, name: str) -> int:
        answer = self._call("read", name, self.client.head_object, Bucket=self.bucket, Key=self._key(name))
        return int(answer["ContentLength"])


def open_store(settings: BackupSettings, *, relay: RelayBackupTarget | None = None) -> BlobStore:
    """The store ``settings.repository`` names: a folder, ``s3://bucket/prefix``, or ``relay``.

    ``relay`` is the server and token a ``relay`` repository uses
    (:func:`prism.backup.relay_store.relay_target`).
    """
    url = (settings.repository or "").strip()
    if not url:
        raise ValidationError(
            "no backup repository: set it to a folder, s3://bucket/prefix or relay", field="PRISM_BACKUP_REPOSITORY"
        )
    if url.startswith("s3://"):
        return S3Store(settings)
    if url == "relay":
        return _relay_store(relay)
    if "://" in url and not url.startswith("file://"):
        raise ValidationError(
            f"{url!r} is neither a folder, s3://bucket/prefix nor relay", field="PRISM_BACKUP_REPOSITORY"
        )
    return FolderStore(Path(url.removeprefix("file://")))


def _relay_store(relay: RelayBackupTarget | None) -> BlobStore:
    if relay is None:
        raise ValidationError(
            "a relay repository needs this device linked to a relay (`prism sync init` or `prism sync join`)",
            field="PRISM_BACKUP_REPOSITORY",
        )
    # Imported here: the relay store pulls in the server's storage modules (DuckDB, Arrow),
    # which a backup to a folder or S3 has no use for (about 100 MB of memory).
    from prism.backup.relay_store import RelayStore  # noqa: PLC0415

    return RelayStore(relay)
