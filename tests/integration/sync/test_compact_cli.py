"""``prism sync compact``: a device uploads a snapshot, the relay drops what it covers,
and a device joining afterwards by the CLI holds the same state."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from prism.sync.keys import load_device_keys
from tests.integration.sync.conftest import PASSPHRASE, PRISM, DemoDevice, Relay, _env, _run
from tests.integration.sync.test_kills import _state


def test_compact_reports_relay_storage_and_a_later_device_bootstraps(
    relay: Relay, demo_device: DemoDevice, tmp_path: Path
) -> None:
    laptop, phone = tmp_path / "laptop", tmp_path / "phone"
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE)
    demo_device(0.2, laptop)
    _run(laptop, "sync", "init", "--relay", relay.url, "--passphrase-file", str(passphrase))
    _run(laptop, "sync")
    done = subprocess.run(
        [PRISM, "sync", "compact"], check=False, env=_env(laptop), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "relay storage" in done.stdout
    assert "snapshot chunks" in done.stdout
    keys = load_device_keys(laptop / "sync-keys")
    assert keys is not None
    join = ["sync", "join", "--relay", relay.url, "--account", str(keys.account_id)]
    joined = subprocess.run(
        [PRISM, *join, "--passphrase-file", str(passphrase)],
        check=False,
        env=_env(phone),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert joined.returncode == 0, joined.stdout + joined.stderr
    assert "from a snapshot" in joined.stdout
    assert asyncio.run(_state(phone)) == asyncio.run(_state(laptop))
