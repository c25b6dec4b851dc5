"""Run one ``backup create`` or ``prune`` and SIGKILL the process at a named step, or just
before or after its k-th write to the store (a random point; the crash tests' subprocess).
Argument: a JSON object, see test_crash.py."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import msgspec

from prism.backup import BlobStore, create_backup, open_store, prune_repository
from prism.config import BackupSettings


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _KillingStore:
    """The real store, except the process dies at the ``kill_at_write``-th put or delete."""

    def __init__(self, store: BlobStore, kill_at_write: int, before: bool) -> None:
        self.store = store
        self.kill_at_write = kill_at_write
        self.before = before
        self.writes = 0

    def _write(self, call: object, name: str, *data: bytes) -> None:
        self.writes += 1
        if self.writes == self.kill_at_write and self.before:
            _die()
        call(name, *data)  # type: ignore[operator]
        if self.writes == self.kill_at_write:
            _die()

    def put(self, name: str, data: bytes) -> None:
        self._write(self.store.put, name, data)

    def delete(self, name: str) -> None:
        self._write(self.store.delete, name)

    def get(self, name: str) -> bytes:
        return self.store.get(name)

    def list(self, prefix: str) -> list[str]:
        return self.store.list(prefix)

    def size(self, name: str) -> int:
        return self.store.size(name)


def main() -> None:
    spec = json.loads(sys.argv[1])
    store: BlobStore = open_store(msgspec.convert(spec["settings"], BackupSettings))
    if spec["kill_at_write"] is not None:
        store = _KillingStore(store, spec["kill_at_write"], spec["before"])

    def checkpoint(step: str) -> None:
        if step == spec["kill_at"]:
            _die()

    if spec["operation"] == "create":
        create_backup(store, spec["passphrase"], Path(spec["database"]), Path(spec["lake"]), checkpoint=checkpoint)
    else:
        prune_repository(store, spec["passphrase"], 1, 0, 0, checkpoint=checkpoint)


if __name__ == "__main__":
    main()
