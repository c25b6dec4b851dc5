"""The key commands end to end: init prints a recovery key, `prism devices add` a one-time
code that `prism sync join --code` uses, `prism sync recover` uses the recovery key,
`prism sync passphrase` changes the passphrase, `prism devices list|revoke` manage
devices, and `prism sync delete-account` empties the relay."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.integration.sync.conftest import PASSPHRASE, PRISM, Relay, _env


def _prism(data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [PRISM, *args],
        check=False,
        env={**_env(data_dir), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_recover_revoke_and_change_the_passphrase_from_the_command_line(relay: Relay, tmp_path: Path) -> None:
    laptop, phone, replacement = tmp_path / "laptop", tmp_path / "phone", tmp_path / "replacement"
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE)
    printed = _prism(laptop, "sync", "init", "--relay", relay.url, "--passphrase-file", str(secret))
    account = re.search(r"--account ([0-9a-f-]{36})", printed)
    recovery = re.search(r"^\s+([A-Z2-7]{4}(?:-[A-Z2-7]{4}){13})$", printed, re.MULTILINE)
    assert account is not None, printed
    assert recovery is not None, printed
    invited = _prism(laptop, "devices", "add")
    code = re.search(r"--code ([A-Z2-7-]+)$", invited, re.MULTILINE)
    assert code is not None, invited
    _prism(phone, "sync", "join", "--relay", relay.url, "--code", code[1])

    listed = _prism(laptop, "devices", "list")
    assert listed.count("valid") == 2
    assert "this device" in listed
    phone_id = next(line.split()[1] for line in listed.splitlines() if "this device" not in line and "valid" in line)
    revoked = _prism(laptop, "devices", "revoke", phone_id, "--yes")
    assert "revoked" in revoked

    new_secret = tmp_path / "new-passphrase"
    new_secret.write_text("quartz lantern meadow 2049 violet")
    _prism(laptop, "sync", "passphrase", "--passphrase-file", str(new_secret))

    key_file = tmp_path / "recovery"
    key_file.write_text(recovery[1])
    recovered = _prism(
        replacement,
        "sync",
        "recover",
        "--relay",
        relay.url,
        "--account",
        account[1],
        "--recovery-key-file",
        str(key_file),
    )
    assert "recovered" in recovered
    _prism(laptop, "sync", "delete-account", "--yes")
    refused = subprocess.run([PRISM, "sync"], check=False, env=_env(laptop), capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "does not know this device" in refused.stdout + refused.stderr
