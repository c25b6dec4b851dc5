"""Revoking a device starts a new backup key generation: backups taken afterwards are
sealed under a key the revoked device never saw."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from prism.backup import FolderStore, list_snapshots, restore_snapshot
from prism.errors import WrongKeyError
from prism.sync.keys import load_device_keys
from tests.integration.sync.conftest import PASSPHRASE, PRISM, Relay, _env


def _prism(data_dir: Path, repository: Path, *args: str) -> str:
    env = {**_env(data_dir), "COLUMNS": "200", "PRISM_BACKUP_REPOSITORY": str(repository)}
    done = subprocess.run([PRISM, *args], check=False, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_backups_after_a_revocation_are_closed_to_the_revoked_device(relay: Relay, tmp_path: Path) -> None:
    laptop, phone, repository = tmp_path / "laptop", tmp_path / "phone", tmp_path / "repository"
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE)
    _prism(laptop, repository, "sync", "init", "--relay", relay.url, "--passphrase-file", str(secret))
    invited = _prism(laptop, repository, "devices", "add")
    code = re.search(r"--code ([A-Z2-7-]+)$", invited, re.MULTILINE)
    assert code is not None, invited
    # A token made on the phone before it joins goes with its empty local account.
    _prism(phone, repository, "token", "create", "--scope", "read:portfolio")
    _prism(phone, repository, "sync", "join", "--relay", relay.url, "--code", code[1])
    _prism(laptop, repository, "backup", "init")
    _prism(laptop, repository, "backup", "create")
    phone_keys = load_device_keys(phone / "sync-keys")
    assert phone_keys is not None
    (before,) = list_snapshots(FolderStore(repository), phone_keys)  # the phone could read backups so far

    listed = _prism(laptop, repository, "devices", "list")
    phone_id = next(line.split()[1] for line in listed.splitlines() if "this device" not in line and "valid" in line)
    revoked = _prism(laptop, repository, "devices", "revoke", phone_id, "--yes")
    assert "key generation" in revoked, revoked
    _prism(laptop, repository, "backup", "create")

    laptop_keys = load_device_keys(laptop / "sync-keys")
    assert laptop_keys is not None
    after = [s for s in list_snapshots(FolderStore(repository), laptop_keys) if s.id != before.id]
    assert len(after) == 1
    with pytest.raises(WrongKeyError):
        restore_snapshot(FolderStore(repository), phone_keys, after[0].id, tmp_path / "stolen")
