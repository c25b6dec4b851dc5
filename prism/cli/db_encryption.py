"""``prism db encrypt|decrypt|rekey``: move the device database to or from encryption at rest.

Each command rewrites the file beside itself, verifies it and swaps it in
(:mod:`prism.storage.sqlite_conversion`), so a crash at any point leaves a database
that opens. Prism must not be running against the file meanwhile (it is refused).
The lake's per-owner files follow the database key (:mod:`prism.storage.device_lake`):
sealed after ``encrypt`` and ``rekey`` swap the file in, opened before ``decrypt``
does; running a command again finishes what a crash cut short, and per-owner files
left under a lost key are dropped and computed again from the ledger.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import click
import msgspec
from rich.table import Table

from prism.cli.terminal import console, run_async
from prism.config import Settings
from prism.errors import PrismError, ValidationError
from prism.storage.device_lake import reseal_device_lake
from prism.storage.lake.lease import folder_lease
from prism.storage.sqlite_conversion import Conversion, convert_database
from prism.storage.sqlite_keys import SQLiteKey, database_key, file_state, fresh_key, key_from_passphrase
from prism.sync.key_file import KeyFile, read_key_file, seal_for, staged, write_key_file
from prism.sync.keyring import check_passphrase

__all__ = ["db_decrypt", "db_encrypt", "db_rekey"]

_PASSPHRASE_FILE = click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the new passphrase from the first line of this file instead of asking.",
)


def _device_file(settings: Settings) -> Path:
    path = settings.database.sqlite_path
    if path is None:
        raise click.ClickException("at-rest encryption is for the device's SQLite file, not PostgreSQL")
    if file_state(path) == "missing":
        raise click.ClickException(f"there is no database at {path} yet (run `prism db upgrade` first)")
    return path


def _new_passphrase(passphrase_file: str | None) -> str:
    if passphrase_file is not None:
        lines = Path(passphrase_file).read_text().splitlines()
        passphrase = lines[0] if lines else ""
    else:
        passphrase = str(click.prompt("New database passphrase", hide_input=True, confirmation_prompt=True))
    check_passphrase(passphrase)
    return passphrase


def _current_key(settings: Settings, path: Path) -> SQLiteKey:
    """The key that opens the encrypted file now: the configured source, else asked for."""
    if settings.database.passphrase or settings.database.key_source == "keyring":
        key = database_key(settings.database, create=False)
        if key is not None:
            return key
    passphrase = str(click.prompt("Current database passphrase", hide_input=True))
    return key_from_passphrase(passphrase, path)


def _convert(path: Path, old: SQLiteKey | None, new: SQLiteKey | None, doing: str) -> Conversion:
    try:
        with console.status(f"{doing} {path} (writing a new file, verifying, swapping)"):
            return convert_database(path, old, new)
    except PrismError as error:
        raise click.ClickException(str(error)) from None


def _stage_keys(settings: Settings, old: SQLiteKey | None, new: SQLiteKey | None) -> None:
    """Write the sync key file in its form under ``new`` beside it (before the swap)."""
    plain = read_key_file(KeyFile(settings.sync_keys_path, seal_for(old)))
    if plain is not None:
        write_key_file(staged(settings.sync_keys_path), plain, seal_for(new))


def _finish_keys(settings: Settings) -> None:
    """Put the staged key file in place (after the swap)."""
    if staged(settings.sync_keys_path).exists():
        os.replace(staged(settings.sync_keys_path), settings.sync_keys_path)


def _convert_device(
    settings: Settings, path: Path, old: SQLiteKey | None, new: SQLiteKey | None, doing: tuple[str, str]
) -> None:
    try:
        _stage_keys(settings, old, new)
    except PrismError as error:
        raise click.ClickException(str(error)) from None
    done = _convert(path, old, new, doing[0])
    _finish_keys(settings)
    _report(done, f"{doing[1]} {path}")


def _reseal_lake(settings: Settings, old: SQLiteKey | None, new: SQLiteKey | None) -> int:
    async def run() -> int:
        async with folder_lease(settings.lake_lock_path):
            return await asyncio.to_thread(reseal_device_lake, settings, old, new)

    if settings.lake_settings.is_s3:
        return 0  # a device's lake is its folder; a shared bucket is not the device's to re-seal
    try:
        with console.status("re-sealing the lake's per-owner files"):
            return run_async(run())
    except PrismError as error:
        raise click.ClickException(str(error)) from None


def _report(done: Conversion, title: str) -> None:
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("tables", f"{done.tables:,}")
    table.add_row("rows", f"{done.rows:,}")
    table.add_row("file size", f"{done.bytes_written:,} bytes")
    console.print(table)


@click.command("encrypt")
@_PASSPHRASE_FILE
@click.option("--keyring", "use_keyring", is_flag=True, help="Keep a random key in the OS keyring instead.")
@click.pass_obj
def db_encrypt(settings: Settings, passphrase_file: str | None, use_keyring: bool) -> None:
    """Encrypt the device database at rest (SQLCipher), keyed by a passphrase or the OS keyring."""
    path = _device_file(settings)
    if file_state(path) == "encrypted":
        # A run cut short after the swap: finish the lake.
        try:
            current = _current_key(settings, path)
        except ValidationError as error:
            raise click.ClickException(error.message) from None
        read_key_file(KeyFile(settings.sync_keys_path, seal_for(current)))  # seals a plain one
        moved = _reseal_lake(settings, None, current)
        console.print(f"{path} is encrypted already" + (f"; sealed {moved} lake file(s)" if moved else ""))
        return
    try:
        if use_keyring:
            asked = msgspec.structs.replace(settings.database, encrypt=True, key_source="keyring")
            key = database_key(asked, create=True)
        else:
            key = fresh_key(settings.database.passphrase or _new_passphrase(passphrase_file))
    except ValidationError as error:
        raise click.ClickException(error.message) from None
    assert key is not None
    _convert_device(settings, path, None, key, ("encrypting", "encrypted"))
    _reseal_lake(settings, None, key)
    hint = "PRISM_DATABASE_KEY_SOURCE=keyring" if use_keyring else "its passphrase (PRISM_DATABASE_PASSPHRASE)"
    console.print(f"From now on Prism opens it with {hint}; set PRISM_DATABASE_ENCRYPT=1 to keep new files encrypted.")


@click.command("decrypt")
@click.pass_obj
def db_decrypt(settings: Settings) -> None:
    """Store the device database as plain SQLite again."""
    path = _device_file(settings)
    if file_state(path) == "plaintext":
        console.print(f"{path} is not encrypted")
        return
    try:
        key = _current_key(settings, path)
    except ValidationError as error:
        raise click.ClickException(error.message) from None
    _reseal_lake(settings, key, None)
    _convert_device(settings, path, key, None, ("decrypting", "decrypted"))


@click.command("rekey")
@_PASSPHRASE_FILE
@click.pass_obj
def db_rekey(settings: Settings, passphrase_file: str | None) -> None:
    """Give the encrypted device database a new passphrase (the file is rewritten)."""
    path = _device_file(settings)
    if file_state(path) != "encrypted":
        raise click.ClickException(f"{path} is not encrypted: use `prism db encrypt`")
    try:
        old = _current_key(settings, path)
        new = fresh_key(_new_passphrase(passphrase_file))
    except ValidationError as error:
        raise click.ClickException(error.message) from None
    _convert_device(settings, path, old, new, ("re-keying", "re-keyed"))
    _reseal_lake(settings, old, new)
