"""Prism's settings: one typed struct per concern, read from ``PRISM_*`` variables.

This is the only module that reads the environment. Command-line flags override
variables by passing keyword overrides to :func:`load_settings`.

=============================  =====================================================
variable                        meaning (default)
=============================  =====================================================
``PRISM_DATA_DIR``              folder for the device database and lake
                                (``$XDG_DATA_HOME/prism`` or ``~/.local/share/prism``)
``PRISM_DATABASE_URL``          SQLAlchemy URL (``sqlite:///<data dir>/prism.db``);
                                ``postgresql://`` is read as ``postgresql+asyncpg://``
``PRISM_DATABASE_POOL_SIZE``    readers (SQLite) or connections (PostgreSQL) (``5``)
``PRISM_SQLITE_BUSY_TIMEOUT_MS`` how long a SQLite writer waits for the lock (``5000``)
``PRISM_SQLITE_SYNCHRONOUS``    ``FULL`` (default: an acknowledged commit survives
                                power loss) or ``NORMAL`` (survives a crash of Prism)
``PRISM_DATABASE_ECHO``         log SQL (``false``)
``PRISM_DATABASE_ENCRYPT``      keep the device database encrypted at rest (SQLCipher)
                                and the lake's per-owner files with it (``false``)
``PRISM_DATABASE_PASSPHRASE``   the passphrase an encrypted device database opens with
``PRISM_DATABASE_KEY_SOURCE``   ``passphrase`` or ``keyring`` (a random key the OS
                                keyring holds) (``passphrase``)
``PRISM_MODE``                  ``device`` (one local account, a bearer token in
                                ``<data dir>/api-token``) or ``hosted`` (``device``)
``PRISM_HOST``, ``PRISM_PORT``  where ``prism serve`` listens (``127.0.0.1``, ``8731``)
``PRISM_MAX_BODY_BYTES``        largest request body accepted (``1048576``)
``PRISM_CORS_ORIGINS``          comma-separated origins browsers may call the API from (none)
``PRISM_RATE_LIMIT_PER_MINUTE`` requests a minute per stored API token, ``0`` for none (``600``)
``PRISM_RELAY_ACCOUNTS_PER_HOUR`` new relay accounts an address may create an hour (``60``)
``PRISM_METRICS``               serve Prometheus metrics at ``/metrics`` (``true``)
``PRISM_LOG_FORMAT``            ``text`` or ``json`` (one object a line, with request ids) (``text``)
``PRISM_SYNC_RELAY``            relay URL for ``prism sync`` / ``prism serve`` (none)
``PRISM_SYNC_KDF_OPS``          Argon2id passes for a new passphrase (``3``)
``PRISM_SYNC_KDF_MEM_KIB``      Argon2id memory for a new passphrase (``262144`` = 256 MiB)
``PRISM_SYNC_WAIT``             long-poll seconds of ``prism sync --watch`` (``25``)
``PRISM_LAKE_URL``              the analytics lake: a folder or ``s3://bucket/prefix``
                                (``<data dir>/lake``)
``PRISM_LAKE_S3_ENDPOINT``      an S3-compatible endpoint URL (AWS when unset)
``PRISM_LAKE_S3_REGION``        the bucket's region (``us-east-1``)
``PRISM_LAKE_S3_ACCESS_KEY_ID``, ``PRISM_LAKE_S3_SECRET_ACCESS_KEY``
                                credentials for the lake's bucket (none: boto3's chain)
``PRISM_LAKE_MEMORY_MB``        DuckDB's memory limit (``400``)
``PRISM_BACKUP_REPOSITORY``     where backups go: a folder, ``s3://bucket/prefix``, or
                                ``relay`` (the sync relay's backup routes) (none)
``PRISM_BACKUP_S3_ENDPOINT``, ``PRISM_BACKUP_S3_REGION``,
``PRISM_BACKUP_S3_ACCESS_KEY_ID``, ``PRISM_BACKUP_S3_SECRET_ACCESS_KEY``
                                the backup bucket's endpoint and credentials
``PRISM_BACKUP_PASSPHRASE``     a stand-alone repository's passphrase (none: the
                                repository key is wrapped by the account data key)
``PRISM_BACKUP_INTERVAL``       seconds between scheduled backups after changes,
                                ``0`` for none (``3600``)
``PRISM_HIVE_URL``              the hive a device resolves ISINs against (none)
``PRISM_TELEMETRY``             send anonymous counts and timings (``false``: opt-in)
``PRISM_TELEMETRY_URL``         where telemetry goes (none: nothing is sent even when on)
``PRISM_HIVE_CONTRIBUTE``       send contributions to the hive (``false``: opt-in)
``PRISM_HIVE_TOKEN``            the bearer token a device presents to that hive (none)
=============================  =====================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from prism.errors import ValidationError

__all__ = [
    "BackupSettings",
    "DatabaseSettings",
    "HiveSettings",
    "LakeSettings",
    "ServerSettings",
    "Settings",
    "SyncSettings",
    "TelemetrySettings",
    "load_settings",
    "normalize_database_url",
]

Synchronous = Literal["NORMAL", "FULL", "EXTRA"]


class DatabaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where the transactional store lives and how it is tuned."""

    url: str
    pool_size: int = 5
    busy_timeout_ms: int = 5000
    synchronous: Synchronous = "FULL"
    echo: bool = False
    #: Keep a SQLite file encrypted at rest (see :mod:`prism.storage.sqlite_keys`).
    encrypt: bool = False
    passphrase: str | None = None
    key_source: Literal["passphrase", "keyring"] = "passphrase"

    @property
    def is_sqlite(self) -> bool:
        """True for a SQLite file (the device shape)."""
        return self.url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The file behind a SQLite URL, or None for PostgreSQL and in-memory SQLite."""
        if not self.is_sqlite:
            return None
        path = self.url.split(":///", 1)[1].split("?", 1)[0] if ":///" in self.url else ""
        return Path(path) if path and path != ":memory:" else None

    def __repr__(self) -> str:  # never print the passphrase (nor a password in the URL)
        return f"DatabaseSettings(sqlite={self.is_sqlite}, encrypt={self.encrypt}, key_source={self.key_source!r})"


class ServerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How the HTTP API is served."""

    mode: Literal["device", "hosted"] = "device"
    host: str = "127.0.0.1"
    port: int = 8731
    max_body_bytes: int = 1 << 20
    cors_origins: tuple[str, ...] = ()
    rate_limit_per_minute: int = 600
    metrics: bool = True
    log_format: Literal["text", "json"] = "text"
    relay_accounts_per_hour: int = 60


class SyncSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How this device syncs through a relay.

    The Argon2id cost applies to passphrases set from now on; each wrapped key keeps
    the parameters it was made with beside it.
    """

    relay_url: str | None = None
    kdf_ops: int = 3
    kdf_mem_kib: int = 256 * 1024
    wait_seconds: float = 25.0


class LakeSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where the analytics lake lives: a local folder, or an S3 bucket and prefix."""

    url: str
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    memory_mb: int = 400

    @property
    def is_s3(self) -> bool:
        """True when the lake is an ``s3://`` bucket and prefix."""
        return self.url.startswith("s3://")

    def __repr__(self) -> str:  # never print the secret key
        return f"LakeSettings(url={self.url!r}, s3_endpoint={self.s3_endpoint!r})"


class BackupSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where encrypted backups go and how often ``prism serve`` takes one."""

    repository: str | None = None
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    passphrase: str | None = None
    interval_seconds: int = 3600

    def __repr__(self) -> str:  # never print the passphrase or the secret key
        return f"BackupSettings(repository={self.repository!r}, interval_seconds={self.interval_seconds})"


class TelemetrySettings(msgspec.Struct, frozen=True, kw_only=True):
    """Opt-in telemetry: counts and timings only, to a configured endpoint, once a day."""

    enabled: bool = False
    endpoint: str | None = None
    interval_seconds: int = 86_400


class HiveSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Which hive a device resolves ISINs against, and whether it contributes (opt-in)."""

    url: str | None = None
    contribute: bool = False
    token: str | None = None

    def __repr__(self) -> str:  # never print the token
        return f"HiveSettings(url={self.url!r}, contribute={self.contribute})"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting of one Prism process."""

    data_dir: Path
    database: DatabaseSettings
    server: ServerSettings = ServerSettings()
    sync: SyncSettings = SyncSettings()
    lake: LakeSettings | None = None
    backup: BackupSettings = BackupSettings()
    hive: HiveSettings = HiveSettings()
    telemetry: TelemetrySettings = TelemetrySettings()

    @property
    def lake_settings(self) -> LakeSettings:
        """The lake's settings (a ``lake`` folder in the data directory unless configured)."""
        return self.lake or LakeSettings(url=str(self.data_dir / "lake"))

    @property
    def lake_lock_path(self) -> Path:
        """The lock file the one lake writer of a device holds (its lease)."""
        return self.data_dir / "lake.lock"

    @property
    def sync_keys_path(self) -> Path:
        """Where a device keeps its sync keys: signing key and data keys (mode 0600)."""
        return self.data_dir / "sync-keys"

    @property
    def token_path(self) -> Path:
        """Where a device keeps its API bearer token (mode 0600)."""
        return self.data_dir / "api-token"


def _default_data_dir(environ: Mapping[str, str]) -> Path:
    if environ.get("PRISM_DATA_DIR"):
        return Path(environ["PRISM_DATA_DIR"]).expanduser()
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "prism"


def normalize_database_url(url: str) -> str:
    """The URL with Prism's drivers: ``sqlite://`` (stdlib sqlite3) and ``postgresql+asyncpg://``."""
    for plain, driver in (
        ("sqlite+aiosqlite://", "sqlite://"),
        ("sqlite+pysqlite://", "sqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def _integer(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(f"{raw!r} is not an integer", field=name) from None


def _boolean(environ: Mapping[str, str], name: str, *, default: bool = False) -> bool:
    value = environ.get(name, "").strip().lower()
    return default if not value else value in {"1", "true", "yes", "on"}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from ``environ`` (default: the process environment).

    ``overrides`` take precedence: ``data_dir`` and any :class:`DatabaseSettings`
    field (``database_url`` for its ``url``).
    """
    env = os.environ if environ is None else environ
    data_dir = Path(overrides.pop("data_dir", None) or _default_data_dir(env))
    url = overrides.pop("database_url", None) or env.get("PRISM_DATABASE_URL") or (f"sqlite:///{data_dir / 'prism.db'}")
    synchronous = env.get("PRISM_SQLITE_SYNCHRONOUS", "FULL").upper()
    fields: dict[str, Any] = {
        "url": normalize_database_url(url),
        "pool_size": _integer(env, "PRISM_DATABASE_POOL_SIZE", 5),
        "busy_timeout_ms": _integer(env, "PRISM_SQLITE_BUSY_TIMEOUT_MS", 5000),
        "synchronous": synchronous,
        "echo": _boolean(env, "PRISM_DATABASE_ECHO"),
        "encrypt": _boolean(env, "PRISM_DATABASE_ENCRYPT"),
        "passphrase": env.get("PRISM_DATABASE_PASSPHRASE") or None,
        "key_source": env.get("PRISM_DATABASE_KEY_SOURCE", "passphrase").strip().lower(),
    }
    server_fields: dict[str, Any] = {
        "mode": env.get("PRISM_MODE", "device"),
        "host": env.get("PRISM_HOST", "127.0.0.1"),
        "port": _integer(env, "PRISM_PORT", 8731),
        "max_body_bytes": _integer(env, "PRISM_MAX_BODY_BYTES", 1 << 20),
        "cors_origins": [o.strip() for o in env.get("PRISM_CORS_ORIGINS", "").split(",") if o.strip()],
        "rate_limit_per_minute": _integer(env, "PRISM_RATE_LIMIT_PER_MINUTE", 600),
        "metrics": _boolean(env, "PRISM_METRICS", default=True),
        "log_format": env.get("PRISM_LOG_FORMAT", "text").strip().lower(),
        "relay_accounts_per_hour": _integer(env, "PRISM_RELAY_ACCOUNTS_PER_HOUR", 60),
    }
    sync_fields: dict[str, Any] = {
        "relay_url": overrides.pop("relay_url", None) or env.get("PRISM_SYNC_RELAY") or None,
        "kdf_ops": _integer(env, "PRISM_SYNC_KDF_OPS", 3),
        "kdf_mem_kib": _integer(env, "PRISM_SYNC_KDF_MEM_KIB", 256 * 1024),
        "wait_seconds": float(_integer(env, "PRISM_SYNC_WAIT", 25)),
    }
    lake_fields: dict[str, Any] = {
        "url": overrides.pop("lake_url", None) or env.get("PRISM_LAKE_URL") or str(data_dir / "lake"),
        "s3_endpoint": env.get("PRISM_LAKE_S3_ENDPOINT") or None,
        "s3_region": env.get("PRISM_LAKE_S3_REGION") or "us-east-1",
        "s3_access_key_id": env.get("PRISM_LAKE_S3_ACCESS_KEY_ID") or None,
        "s3_secret_access_key": env.get("PRISM_LAKE_S3_SECRET_ACCESS_KEY") or None,
        "memory_mb": _integer(env, "PRISM_LAKE_MEMORY_MB", 400),
    }
    backup_fields: dict[str, Any] = {
        "repository": overrides.pop("backup_repository", None) or env.get("PRISM_BACKUP_REPOSITORY") or None,
        "s3_endpoint": env.get("PRISM_BACKUP_S3_ENDPOINT") or None,
        "s3_region": env.get("PRISM_BACKUP_S3_REGION") or "us-east-1",
        "s3_access_key_id": env.get("PRISM_BACKUP_S3_ACCESS_KEY_ID") or None,
        "s3_secret_access_key": env.get("PRISM_BACKUP_S3_SECRET_ACCESS_KEY") or None,
        "passphrase": env.get("PRISM_BACKUP_PASSPHRASE") or None,
        "interval_seconds": _integer(env, "PRISM_BACKUP_INTERVAL", 3600),
    }
    hive_fields: dict[str, Any] = {
        "url": env.get("PRISM_HIVE_URL") or None,
        "contribute": _boolean(env, "PRISM_HIVE_CONTRIBUTE"),
        "token": env.get("PRISM_HIVE_TOKEN") or None,
    }
    telemetry_fields: dict[str, Any] = {
        "enabled": _boolean(env, "PRISM_TELEMETRY"),
        "endpoint": env.get("PRISM_TELEMETRY_URL") or None,
    }
    for name in ("mode", "host", "port"):
        if overrides.get(name) is not None:
            server_fields[name] = overrides.pop(name)
    fields.update({key: value for key, value in overrides.items() if value is not None})
    try:
        database = msgspec.convert(fields, DatabaseSettings)
        server = msgspec.convert(server_fields, ServerSettings)
        sync = msgspec.convert(sync_fields, SyncSettings)
        lake = msgspec.convert(lake_fields, LakeSettings)
        backup = msgspec.convert(backup_fields, BackupSettings)
        hive = msgspec.convert(hive_fields, HiveSettings)
        telemetry = msgspec.convert(telemetry_fields, TelemetrySettings)
    except msgspec.ValidationError as error:
        raise ValidationError(str(error), field=_setting_of(str(error))) from None
    return Settings(
        data_dir=data_dir,
        database=database,
        server=server,
        sync=sync,
        lake=lake,
        backup=backup,
        hive=hive,
        telemetry=telemetry,
    )


def _setting_of(message: str) -> str:
    """The PRISM_* variable a msgspec error message points at (``... at `$.port` ``)."""
    if "`$." in message:
        return "PRISM_" + message.split("`$.", 1)[1].split("`", 1)[0].upper()
    return "settings"
