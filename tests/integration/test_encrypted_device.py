"""A device running with ``PRISM_DATABASE_ENCRYPT``: nothing of the portfolio is readable
on disk, and converting the file survives being killed at any moment.

The server runs as a real process with its own temporary folder; while it runs and
after it stops, every byte of the data folder (database, its WAL and shared-memory
files, the lake), of the temporary folder and of the server's log is searched for the
portfolio's names, note, amounts and ids.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest

from prism.config import DatabaseSettings, load_settings
from prism.storage.sqlite_keys import connect_sqlite, database_key, file_state
from prism.sync.key_file import device_key_file
from prism.sync.keys import DeviceKeys, load_device_keys, save_device_keys
from tests.serving import free_port, wait_until_healthy

PASSPHRASE = "violet staple orbit 4 lantern"
NEW_PASSPHRASE = "marble quiet hinge 9 cascade"
PRISM = [sys.executable, "-c", "import sys; from prism.cli import main; main(sys.argv[1:])"]
NEEDLES = ["Zanzibar Pension Pot", "Quuxcorp Holdings", "xyzzy plover secret", "frobnitz", "98765.4321", "123.4567"]


def _env(data_dir: Path, temp: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("PRISM_")}
    return {
        **keep,
        "PRISM_DATA_DIR": str(data_dir),
        "PRISM_DATABASE_ENCRYPT": "1",
        "PRISM_DATABASE_PASSPHRASE": PASSPHRASE,
        "PRISM_LOG_FORMAT": "json",
        "TMPDIR": str(temp),
        **extra,
    }


def _prism(env: dict[str, str], *args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PRISM, *args],
        env=env,
        capture_output=True,
        text=True,
        input=input_text,
        check=False,
    )


@contextmanager
def _server(env: dict[str, str], log: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    with log.open("w") as output:
        server = subprocess.Popen([*PRISM, "serve", "--port", str(port)], env=env, stdout=output, stderr=output)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_healthy(url, server, lambda: log.read_text()[-2000:])
            token = (Path(env["PRISM_DATA_DIR"]) / "api-token").read_text().strip()
            yield url, {"Authorization": f"Bearer {token}"}
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


def _fill(url: str, headers: dict[str, str]) -> str:
    """Write a portfolio with distinctive strings and amounts; its id."""

    def post(path: str, body: dict[str, object]) -> dict[str, object]:
        answer = httpx.post(f"{url}/api/v1{path}", json=body, headers=headers, timeout=30)
        assert answer.status_code == 201, answer.text
        found: dict[str, object] = answer.json()
        return found

    portfolio = post("/portfolios", {"name": NEEDLES[0], "base_currency": "EUR"})
    asset = post("/assets", {"name": NEEDLES[1], "kind": "stock", "currency": "EUR"})
    common = {"portfolio_id": portfolio["id"], "currency": "EUR"}
    post("/transactions", {**common, "type": "deposit", "date": "2024-01-02", "amount": NEEDLES[4]})
    buy = {"type": "buy", "date": "2024-01-03", "asset_id": asset["id"], "quantity": NEEDLES[5], "price": "12.5"}
    post("/transactions", {**common, **buy})
    post("/notes", {"body": NEEDLES[2], "entity_type": "portfolio", "entity_id": portfolio["id"]})
    post("/tags", {"name": NEEDLES[3]})
    # Daily values and results: the per-owner lake files.
    history = httpx.get(f"{url}/api/v1/value-history", headers=headers, timeout=60)
    assert history.status_code == 200, history.text
    return str(portfolio["id"])


def _leaks(folders: list[Path], needles: list[str]) -> list[tuple[str, str]]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                found += [(str(path), needle) for needle in needles if needle.encode() in data]
    return found


def test_nothing_of_the_portfolio_is_readable_on_disk_or_in_logs(tmp_path: Path) -> None:
    data_dir, temp = tmp_path / "data", tmp_path / "tmp"
    temp.mkdir()
    env = _env(data_dir, temp)
    log = tmp_path / "server.log"
    with _server(env, log) as (url, headers):
        portfolio_id = _fill(url, headers)
        needles = [*NEEDLES, portfolio_id]
        # While it runs: the write-ahead log and shared memory hold the latest pages.
        assert list(data_dir.glob("prism.db-wal")), "the server should be in WAL mode"
        assert _leaks([data_dir, temp], needles) == []
    assert _leaks([data_dir, temp, log.parent], needles) == []
    assert file_state(data_dir / "prism.db") == "encrypted"
    # The control: the same bytes, decrypted, do hold every string, so the search above
    # would have found them.
    decrypted = _prism(env, "db", "decrypt")
    assert decrypted.returncode == 0, decrypted.stderr
    stored = (data_dir / "prism.db").read_bytes()
    assert all(needle.encode() in stored for needle in NEEDLES[:4])


def test_a_wrong_passphrase_is_a_clear_error_and_changes_nothing(tmp_path: Path) -> None:
    data_dir, temp = tmp_path / "data", tmp_path / "tmp"
    temp.mkdir()
    env = _env(data_dir, temp)
    assert _prism(env, "db", "upgrade").returncode == 0
    before = (data_dir / "prism.db").read_bytes()
    for command in (("holdings",), ("db", "upgrade"), ("db", "decrypt"), ("serve", "--port", str(free_port()))):
        done = _prism({**env, "PRISM_DATABASE_PASSPHRASE": "not the passphrase at all"}, *command)
        assert done.returncode != 0, command
        assert "wrong passphrase" in done.stdout + done.stderr, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
    missing = _prism({**env, "PRISM_DATABASE_PASSPHRASE": ""}, "holdings")
    assert missing.returncode != 0
    assert "is encrypted: give its passphrase" in missing.stdout + missing.stderr
    assert (data_dir / "prism.db").read_bytes() == before


# --- conversion killed at random moments ------------------------------------------------


def _plain_database(path: Path, rows: int) -> dict[str, int]:
    """A plaintext database of a few tables and ``rows`` rows; its row counts."""
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, memo TEXT, amount TEXT)")
        connection.execute("CREATE INDEX ledger_memo ON ledger (memo)")
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        connection.executemany(
            "INSERT INTO ledger (memo, amount) VALUES (?, ?)",
            ((f"memo {n} {'x' * 40}", f"{n}.25") for n in range(rows)),
        )
        connection.executemany("INSERT INTO notes (body) VALUES (?)", ((f"note {n}",) for n in range(rows // 10)))
        connection.execute("PRAGMA user_version = 7")
        connection.commit()
    return {"ledger": rows, "notes": rows // 10}


def _usable_counts(path: Path, passphrases: list[str]) -> dict[str, int]:
    """Row counts of the file at ``path`` opened as whatever it now is; it must pass a check."""
    settings = [DatabaseSettings(url=f"sqlite:///{path}", passphrase=p) for p in passphrases] or [
        DatabaseSettings(url=f"sqlite:///{path}")
    ]
    errors = []
    for setting in settings:
        try:
            with closing(connect_sqlite(path, database_key(setting))) as connection:
                assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                assert connection.execute("PRAGMA user_version").fetchone()[0] == 7
                return {
                    table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                    for table in ("ledger", "notes")
                }
        except Exception as error:  # the other passphrase may be the right one
            errors.append(error)
    raise AssertionError(f"no key opens {path}: {errors}")


def _kill_during(env: dict[str, str], args: list[str], delay: float, input_text: str | None = None) -> int | None:
    process = subprocess.Popen(
        [*PRISM, *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    if input_text is not None:
        assert process.stdin is not None
        process.stdin.write(input_text)
        process.stdin.close()
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return None
    return process.returncode


@pytest.mark.parametrize("conversion", ["encrypt", "rekey", "decrypt"])
def test_a_conversion_killed_at_any_moment_leaves_a_usable_database(tmp_path: Path, conversion: str) -> None:
    path = tmp_path / "data" / "prism.db"
    path.parent.mkdir()
    expected = _plain_database(path, 150_000)
    base = {k: v for k, v in os.environ.items() if not k.startswith("PRISM_")}
    env = {**base, "PRISM_DATA_DIR": str(path.parent)}
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_text(PASSPHRASE + "\n")
    second.write_text(NEW_PASSPHRASE + "\n")
    if conversion != "encrypt":
        assert _prism(env, "db", "encrypt", "--passphrase-file", str(first)).returncode == 0
    original = tmp_path / "original.db"
    shutil.copyfile(path, original)
    args = {
        "encrypt": ["db", "encrypt", "--passphrase-file", str(first)],
        "rekey": ["db", "rekey", "--passphrase-file", str(second)],
        "decrypt": ["db", "decrypt"],
    }[conversion]
    run_env = env if conversion == "encrypt" else {**env, "PRISM_DATABASE_PASSPHRASE": PASSPHRASE}
    # How long the command takes to start, and to finish: kills land in between.
    started = time.monotonic()
    _prism(run_env, "db", "--help")
    startup = time.monotonic() - started
    started = time.monotonic()
    assert _kill_during(run_env, args, delay=120) == 0
    whole = time.monotonic() - started
    rng = random.Random(conversion)
    passphrases = [PASSPHRASE, NEW_PASSPHRASE]
    part_way = 0
    for _ in range(5):
        for leftover in path.parent.iterdir():
            leftover.unlink()
        shutil.copyfile(original, path)
        _kill_during(run_env, args, delay=rng.uniform(startup * 0.8, whole))
        part_way += bool(list(path.parent.glob(".prism.db.converting")))
        assert _usable_counts(path, passphrases if file_state(path) == "encrypted" else []) == expected
    print(f"{conversion}: {part_way} of 5 kills landed while the new file was being written")
    # A part-written file a crash left behind does not stop the next conversion.
    shutil.copyfile(original, path)
    (path.parent / ".prism.db.converting").write_bytes(os.urandom(10_000))
    finished = _prism(run_env, *args)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert not list(path.parent.glob(".prism.db.converting*"))
    assert _usable_counts(path, passphrases if file_state(path) == "encrypted" else []) == expected


def test_conversions_carry_the_sync_key_file_along(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    base = {k: v for k, v in os.environ.items() if not k.startswith("PRISM_")}
    env = {**base, "PRISM_DATA_DIR": str(data_dir)}
    assert _prism(env, "db", "upgrade").returncode == 0
    keys = DeviceKeys(
        owner_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        device_id="laptop",
        signing_seed=os.urandom(32),
        key_id="k1",
        data_keys={"k1": os.urandom(32)},
    )
    save_device_keys(data_dir / "sync-keys", keys)
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_text(PASSPHRASE + "\n")
    second.write_text(NEW_PASSPHRASE + "\n")

    def loaded(passphrase: str | None) -> DeviceKeys | None:
        environ = {"PRISM_DATA_DIR": str(data_dir), **({"PRISM_DATABASE_PASSPHRASE": passphrase} if passphrase else {})}
        return load_device_keys(device_key_file(load_settings(environ)))

    assert _prism(env, "db", "encrypt", "--passphrase-file", str(first)).returncode == 0
    assert keys.signing_seed not in (data_dir / "sync-keys").read_bytes()
    assert loaded(PASSPHRASE) == keys
    rekeyed = _prism({**env, "PRISM_DATABASE_PASSPHRASE": PASSPHRASE}, "db", "rekey", "--passphrase-file", str(second))
    assert rekeyed.returncode == 0, rekeyed.stdout + rekeyed.stderr
    assert loaded(NEW_PASSPHRASE) == keys
    assert _prism({**env, "PRISM_DATABASE_PASSPHRASE": NEW_PASSPHRASE}, "db", "decrypt").returncode == 0
    assert keys.signing_seed in (data_dir / "sync-keys").read_bytes()
    assert loaded(None) == keys
