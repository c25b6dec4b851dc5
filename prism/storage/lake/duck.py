"""DuckDB, set up to read the lake with the same SQL from a folder or from S3.

Nothing is downloaded at run time: extension auto-install and auto-load are off,
and for S3 the ``httpfs`` extension is loaded by path from the
``duckdb-extension-httpfs`` wheel, whose version matches the pinned ``duckdb``.

A *private* DuckDB (a lake holding encrypted per-owner files) never spills
intermediate results to disk: an empty ``temp_directory`` turns offloading off, so
decrypted rows stay in memory, and a query that does not fit ``memory_mb`` fails
instead of writing them out. DuckDB's ``temp_file_encryption`` only applies to an
encrypted database file, which this in-memory one is not. It also loads ``httpfs``
for its OpenSSL: without it DuckDB refuses to write encrypted Parquet.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import duckdb_extension_httpfs

from prism.config import LakeSettings
from prism.errors import StorageError

__all__ = ["connect_duckdb", "httpfs_extension_path"]


def httpfs_extension_path() -> Path:
    """The ``httpfs`` extension file shipped in the wheel for this DuckDB version."""
    folder = Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    path = folder / "httpfs.duckdb_extension"
    if not path.exists():
        raise StorageError(f"duckdb-extension-httpfs does not match duckdb {duckdb.__version__} (no {path})")
    return path


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def connect_duckdb(settings: LakeSettings, *, threads: int = 2, private: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that reads the lake ``settings`` names (``private``: see above)."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "memory_limit": f"{settings.memory_mb}MB",
        "threads": threads,
        # An ASOF join whose left side DuckDB believes tiny is run as a loop over every
        # pair; with a misestimate that loop was measured at minutes for what a sort
        # merge does in a tenth of a second, so never choose it.
        "asof_loop_join_threshold": 0,
    }
    if private:
        config["temp_directory"] = ""
    connection = duckdb.connect(config=config)
    if settings.is_s3 or private:
        connection.execute(f"LOAD {_quote(str(httpfs_extension_path()))}")
    if settings.is_s3:
        options = ["TYPE s3", "URL_STYLE 'path'", f"REGION {_quote(settings.s3_region)}"]
        if settings.s3_access_key_id and settings.s3_secret_access_key:
            options.append(f"KEY_ID {_quote(settings.s3_access_key_id)}")
            options.append(f"SECRET {_quote(settings.s3_secret_access_key)}")
        if settings.s3_endpoint:
            scheme, _, host = settings.s3_endpoint.partition("://")
            options += [f"ENDPOINT {_quote(host.rstrip('/'))}", f"USE_SSL {'true' if scheme == 'https' else 'false'}"]
        connection.execute(f"CREATE SECRET lake ({', '.join(options)})")
    return connection
