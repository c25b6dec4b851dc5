"""Converting the device database to or from encryption, or to a new key, crash-safely.

``prism db encrypt|decrypt|rekey`` and ``prism serve --encrypt`` on a plaintext file
all run :func:`convert_database`, which never changes the file in place:

1. **hold** the source alone: open it with its key, take it out of WAL mode (SQLite
   refuses while any other connection, in any process, has the file open, which is how
   a running server is noticed) and keep an exclusive lock until the end;
2. **write** a new file beside it (``.<name>.converting``) with SQLCipher's
   ``sqlcipher_export`` into an attached database under the new key, in one
   transaction;
3. **verify** the new file: reopened with the new key, ``PRAGMA quick_check`` is ok,
   every table holds as many rows as in the source, ``user_version`` is the same;
4. **swap**: flush the new file, rename it over the old one (atomic), flush the folder.

A crash before the rename leaves the old file as it was (its journal mode is set again
by the next open) and a leftover the next conversion removes; after the rename the new
file, complete and verified. Whether the file at ``path`` is encrypted is always read
from its bytes, so whichever file survived opens with the key that belongs to it.
"""

from __future__ import annotations

import os
from contextlib import closing
from pathlib import Path
from typing import Any, NamedTuple

from prism.config import DatabaseSettings
from prism.errors import ConflictError, PrismError, StorageError, ValidationError, WrongKeyError
from prism.storage.files import sync_folder, sync_path
from prism.storage.sqlite_keys import (
    SQLiteKey,
    apply_key,
    connect_sqlite,
    database_key,
    file_state,
    sqlcipher_module,
)

__all__ = ["Conversion", "convert_database", "encrypt_if_asked", "staging_path"]


class Conversion(NamedTuple):
    """What one conversion did."""

    tables: int
    rows: int
    bytes_written: int


def staging_path(path: Path) -> Path:
    """Where the converted file is written before it replaces ``path``."""
    return path.with_name(f".{path.name}.converting")


def _remove_staging(path: Path) -> None:
    staging = staging_path(path)
    for leftover in (staging, Path(f"{staging}-journal"), Path(f"{staging}-wal"), Path(f"{staging}-shm")):
        leftover.unlink(missing_ok=True)


def _in_use(path: Path) -> ConflictError:
    return ConflictError(f"the database {path} is in use: stop `prism serve` (and other Prism commands) first")


def _hold(path: Path, key: SQLiteKey | None) -> Any:
    """The source, keyed, out of WAL mode and locked against every other connection."""
    # SQLCipher's driver opens plaintext files too (no key, no encryption), and it is the
    # one with sqlcipher_export.
    source = sqlcipher_module().connect(str(path), isolation_level=None, timeout=1.0)
    try:
        apply_key(source, key, path)
        source.execute("PRAGMA locking_mode = EXCLUSIVE")
        mode = source.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        if str(mode).lower() != "delete":
            raise _in_use(path)
        source.execute("BEGIN EXCLUSIVE")
        source.execute("COMMIT")
    except WrongKeyError:
        raise  # apply_key closed the connection already
    except PrismError:
        source.close()
        raise
    except Exception as error:
        source.close()
        if "locked" in str(error) or "busy" in str(error):
            raise _in_use(path) from None
        raise StorageError(f"cannot open the database {path} for conversion: {error}") from None
    return source


def _counts(connection: Any, schema: str = "main") -> dict[str, int]:
    names = [
        row[0]
        for row in connection.execute(
            f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {name: int(connection.execute(f'SELECT count(*) FROM {schema}."{name}"').fetchone()[0]) for name in names}


def _write(source: Any, target: Path, new: SQLiteKey | None) -> None:
    literal = new.literal() if new is not None else "''"
    source.execute(f"ATTACH DATABASE ? AS converted KEY {literal}", (str(target),))
    try:
        if new is not None:
            source.execute("PRAGMA converted.cipher_log_level = NONE")
        source.execute("BEGIN IMMEDIATE")
        source.execute("SELECT sqlcipher_export('converted')")
        version = int(source.execute("PRAGMA main.user_version").fetchone()[0])
        source.execute(f"PRAGMA converted.user_version = {version}")
        source.execute("COMMIT")
    except Exception as error:
        if source.in_transaction:
            source.execute("ROLLBACK")
        raise StorageError(f"writing the converted database failed: {error}") from None
    finally:
        source.execute("DETACH DATABASE converted")


def _verify(source: Any, target: Path, new: SQLiteKey | None) -> dict[str, int]:
    expected = _counts(source)
    version = int(source.execute("PRAGMA user_version").fetchone()[0])
    with closing(connect_sqlite(target, new)) as check:
        verdict = check.execute("PRAGMA quick_check").fetchone()[0]
        found = _counts(check)
        found_version = int(check.execute("PRAGMA user_version").fetchone()[0])
    if verdict != "ok" or found != expected or found_version != version:
        raise StorageError(f"the converted database does not match the original ({verdict}); nothing was changed")
    return found


def convert_database(path: Path, old: SQLiteKey | None, new: SQLiteKey | None) -> Conversion:
    """Rewrite the database at ``path`` from key ``old`` to key ``new`` (None: plaintext).

    :class:`ConflictError` while another connection has the file open,
    :class:`WrongKeyError` when ``old`` does not open it; the original is untouched
    unless the whole conversion succeeded.
    """
    state = file_state(path)
    if state == "missing":
        raise ValidationError(f"there is no database at {path}", field="database")
    if (state == "encrypted") != (old is not None):
        raise ValidationError(
            f"the database {path} is {state}, so it opens {'with' if state == 'encrypted' else 'without'} a key",
            field="database",
        )
    _remove_staging(path)
    target = staging_path(path)
    source = _hold(path, old)
    try:
        _write(source, target, new)
        counts = _verify(source, target, new)
        sync_path(target)
        os.replace(target, path)
        sync_folder(path.parent)
    except BaseException:
        _remove_staging(path)
        raise
    finally:
        source.close()
    for stale in (Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        # The old file left DELETE-mode with nothing pending; these belong to no one now.
        stale.unlink(missing_ok=True)
    return Conversion(tables=len(counts), rows=sum(counts.values()), bytes_written=path.stat().st_size)


def encrypt_if_asked(settings: DatabaseSettings) -> Conversion | None:
    """Encrypt a plaintext device file when ``settings`` ask for encryption (else nothing)."""
    path = settings.sqlite_path
    if not settings.encrypt or path is None or file_state(path) != "plaintext":
        return None
    key = database_key(settings)
    assert key is not None  # encryption is asked for: a key or a ValidationError
    return convert_database(path, None, key)
