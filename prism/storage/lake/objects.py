"""The lake's files: a local folder or an S3 prefix behind one small interface.

Keys are ``/``-separated paths relative to the lake's root. A put is atomic: a
reader sees the old object or the new one, never a part. In a folder the bytes go
to a temporary name beside the target, are flushed to disk, then renamed into
place; an S3 PUT is atomic by itself. boto3's errors become :class:`StorageError`
here, at the boundary.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from prism.config import LakeSettings
from prism.errors import StorageError, ValidationError
from prism.storage.files import split_s3_url, write_atomically

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["FolderObjects", "ObjectStore", "S3Objects", "open_objects", "split_s3_url", "write_atomically"]


class ObjectStore(Protocol):
    """Whole-object reads and atomic writes under one root."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` at ``key`` atomically (replacing what was there)."""

    def get(self, key: str) -> bytes | None:
        """The bytes at ``key``, or None when there is no such object."""

    def list(self, prefix: str) -> list[str]:
        """Every key under ``prefix``, sorted."""

    def delete(self, keys: Iterable[str]) -> None:
        """Remove ``keys`` (missing ones are ignored)."""

    def uri(self, key: str) -> str:
        """The location DuckDB reads ``key`` from (a path or an ``s3://`` URL)."""


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in {"", ".", ".."} for part in parts):
        raise ValidationError(f"{key!r} is not a lake path", field="path")
    return key


class FolderObjects:
    """A lake in a local folder."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def put(self, key: str, data: bytes) -> None:
        target = self.root / _check_key(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, data, prefix=".tmp-", suffix=target.suffix)

    def get(self, key: str) -> bytes | None:
        try:
            return (self.root / _check_key(key)).read_bytes()
        except FileNotFoundError:
            return None

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix if prefix else self.root
        if not base.exists():
            return []
        found = (path.relative_to(self.root).as_posix() for path in base.rglob("*") if path.is_file())
        return sorted(key for key in found if not key.rsplit("/", 1)[-1].startswith(".tmp-"))

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            (self.root / _check_key(key)).unlink(missing_ok=True)

    def uri(self, key: str) -> str:
        return str(self.root / _check_key(key))


class S3Objects:
    """A lake under an S3 bucket and prefix (boto3 writes; DuckDB reads the same keys)."""

    def __init__(self, settings: LakeSettings) -> None:
        self.bucket, self.prefix = split_s3_url(settings.url)
        self.client: S3Client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"}),
        )

    def _full(self, key: str) -> str:
        return f"{self.prefix}/{_check_key(key)}" if self.prefix else _check_key(key)

    def _call(self, action: str, call: Any, **kwargs: Any) -> Any:
        try:
            return call(**kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            raise StorageError(f"the lake's bucket refused to {action}: {code or error}") from None
        except BotoCoreError as error:
            raise StorageError(f"the lake's bucket could not {action}: {error}") from None

    def put(self, key: str, data: bytes) -> None:
        self._call("store an object", self.client.put_object, Bucket=self.bucket, Key=self._full(key), Body=data)

    def get(self, key: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise StorageError(f"the lake's bucket refused a read: {error}") from None
        body: bytes = answer["Body"].read()
        return body

    def list(self, prefix: str) -> list[str]:
        full = self._full(prefix) if prefix else self.prefix
        paginator = self.client.get_paginator("list_objects_v2")
        keys: list[str] = []
        start = len(self.prefix) + 1 if self.prefix else 0
        pages = self._call("list objects", paginator.paginate, Bucket=self.bucket, Prefix=full)
        try:
            for page in pages:
                keys.extend(item["Key"][start:] for item in page.get("Contents", []))
        except Exception as error:  # botocore raises lazily while paging
            raise StorageError(f"the lake's bucket could not list objects: {error}") from None
        return sorted(keys)

    def delete(self, keys: Iterable[str]) -> None:
        batch = [{"Key": self._full(key)} for key in keys]
        for start in range(0, len(batch), 1000):
            chunk = batch[start : start + 1000]
            self._call("delete objects", self.client.delete_objects, Bucket=self.bucket, Delete={"Objects": chunk})

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"


def open_objects(settings: LakeSettings) -> ObjectStore:
    """The store ``settings.url`` names."""
    if settings.is_s3:
        return S3Objects(settings)
    return FolderObjects(Path(settings.url))
