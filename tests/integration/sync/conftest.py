"""A relay app on the current backend, and device databases that sync through it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from prism.api import create_app
from prism.client.relay import RelayClient
from prism.config import DatabaseSettings, SyncSettings, load_settings
from prism.storage.engine import Database, open_database
from tests.serving import served_app

#: Argon2id at libsodium's minimum: for tests only; real passphrases use the defaults.
FAST_KDF = SyncSettings(kdf_ops=1, kdf_mem_kib=8)
PASSPHRASE = "correct horse battery staple"
PRISM = str(Path(sys.executable).with_name("prism"))


def _env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PRISM_DATA_DIR": str(data_dir),
        "PRISM_SYNC_KDF_OPS": "1",
        "PRISM_SYNC_KDF_MEM_KIB": "8",
        "PRISM_SQLITE_SYNCHRONOUS": "NORMAL",
    }


def _run(data_dir: Path, *args: str) -> None:
    done = subprocess.run([PRISM, *args], check=False, env=_env(data_dir), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


DemoDevice = Callable[[float, Path], None]


@pytest.fixture(scope="session")
def demo_device(tmp_path_factory: pytest.TempPathFactory) -> DemoDevice:
    """Puts a copy of a device folder that ``prism demo --scale SCALE`` filled at a path.

    The demo is made once per scale and session (at the larger scales it takes longer than
    the sync under test), so the SQLite and PostgreSQL runs of a test start from equal copies.
    """
    made: dict[float, Path] = {}

    def copy(scale: float, target: Path) -> None:
        if scale not in made:
            folder = tmp_path_factory.mktemp("demo") / "device"
            _run(folder, "demo", "--scale", str(scale), "--no-serve", "--no-market")
            made[scale] = folder
        shutil.copytree(made[scale], target)

    return copy


@dataclass
class Relay:
    """A relay served over loopback HTTP, on its own thread and event loop."""

    url: str
    database_url: str

    def client(self) -> RelayClient:
        return RelayClient(self.url)


@pytest.fixture
def relay(database_url: str, tmp_path: Path) -> Iterator[Relay]:
    """The relay (hosted shape) on the current backend: SQLite file or PostgreSQL."""
    settings = load_settings({"PRISM_MODE": "hosted"}, data_dir=tmp_path / "relay", database_url=database_url)
    with served_app(create_app(settings)) as url:
        yield Relay(url, database_url)


@dataclass
class Device:
    """One device: its database file and where its key file goes."""

    database: Database
    keys_path: Path
    path: Path


DeviceFactory = Callable[[str], Awaitable[Device]]


@pytest.fixture
async def make_device(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[DeviceFactory]:
    """Device databases (SQLite, migrated) named by the test."""
    made: list[Device] = []

    async def make(name: str) -> Device:
        path = tmp_path / f"{name}.db"
        shutil.copyfile(sqlite_template, path)
        device = Device(open_database(DatabaseSettings(url=f"sqlite:///{path}")), tmp_path / f"{name}.keys", path)
        made.append(device)
        return device

    yield make
    for device in made:
        await device.database.dispose()
