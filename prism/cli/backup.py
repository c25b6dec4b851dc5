"""``prism backup``: encrypted, deduplicated snapshots of the device (docs/backup-format.md).

prism backup init                       # a new repository at PRISM_BACKUP_REPOSITORY
prism backup create                     # snapshot the database and the lake folder
prism backup list
prism backup verify --sample 10         # read back 10% of the packs (all by default)
prism backup restore 1a2b3c4d --to DIR  # byte-identical files, or none
prism backup prune --keep-daily 7 --keep-weekly 4 --keep-monthly 12
prism backup rekey                      # after a device was revoked: a new key generation
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from prism.backup.create import create_backup
from prism.backup.device import device_database_path, device_key_source, device_lake_root
from prism.backup.keys import init_repository, rekey_repository
from prism.backup.prune import prune_repository
from prism.backup.restore import restore_snapshot
from prism.backup.snapshots import list_snapshots
from prism.backup.stores import BlobStore, open_store
from prism.backup.verify import verify_repository
from prism.cli.terminal import console, progress_bar
from prism.config import Settings
from prism.errors import PrismError
from prism.storage.sqlite_keys import database_key

__all__ = ["backup"]


def _store(settings: Settings) -> BlobStore:
    if (settings.backup.repository or "").strip() == "relay":
        from prism.backup.relay_store import relay_target  # noqa: PLC0415 - heavy; only relay repositories

        return open_store(settings.backup, relay=relay_target(settings))
    return open_store(settings.backup)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{count} B"


@contextmanager
def _byte_bar(description: str) -> Iterator[Callable[[str, int, int], None]]:
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=None)

        def advance(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        yield advance


@contextmanager
def _cli_errors() -> Iterator[None]:
    try:
        yield
    except PrismError as error:
        raise click.ClickException(str(error)) from error


@click.group()
def backup() -> None:
    """Encrypted backups of the device database and lake (PRISM_BACKUP_REPOSITORY)."""


@backup.command("init")
@click.pass_obj
def backup_init(settings: Settings) -> None:
    """Create an empty repository, its key wrapped by the passphrase or the account key."""
    with _cli_errors():
        store = _store(settings)
        config = init_repository(store, device_key_source(settings))
    how = "the backup passphrase" if settings.backup.passphrase else "the sync account's data key"
    console.print(f"[green]created backup repository {config.id[:8]} at {settings.backup.repository}[/green]")
    console.print(f"its key is wrapped by {how}")


@backup.command("create")
@click.pass_obj
def backup_create(settings: Settings) -> None:
    """Snapshot the database (while the app may run) and the lake folder; upload only new chunks."""
    with _cli_errors():
        store = _store(settings)
        key = device_key_source(settings)
        with _byte_bar("backing up") as advance:
            done = create_backup(
                store,
                key,
                device_database_path(settings),
                device_lake_root(settings),
                advance,
                database_key=database_key(settings.database),
            )
    table = Table(title=f"snapshot {done.short_id}", title_justify="left", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("files", f"{done.files:,}")
    table.add_row("size", _size(done.total_bytes))
    table.add_row("new data", f"{_size(done.new_bytes)} ({done.new_chunks:,} of {done.chunks:,} chunks)")
    table.add_row("uploaded", _size(done.uploaded_bytes))
    if done.reused_packs:
        table.add_row("re-used packs of an interrupted run", f"{done.reused_packs:,}")
    table.add_row("time", f"{done.seconds:.2f} s")
    console.print(table)
    if settings.lake_settings.is_s3:
        console.print(f"the lake on {settings.lake_settings.url} is not copied (it already lives in S3)")


@backup.command("list")
@click.pass_obj
def backup_list(settings: Settings) -> None:
    """Show every snapshot, oldest first."""
    with _cli_errors():
        found = list_snapshots(_store(settings), device_key_source(settings))
    if not found:
        console.print("no snapshots yet: run `prism backup create`")
        return
    table = Table(title=f"{len(found)} snapshot(s) in {settings.backup.repository}", title_justify="left")
    for column, justify in (("id", "left"), ("time (UTC)", "left"), ("host", "left"), ("files", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    table.add_column("database", justify="right")
    table.add_column("total", justify="right")
    table.add_column("new", justify="right")
    for info in found:
        table.add_row(
            info.short_id,
            info.time.strftime("%Y-%m-%d %H:%M:%S"),
            info.host,
            f"{info.files:,}",
            _size(info.database_bytes),
            _size(info.total_bytes),
            _size(info.new_bytes),
        )
    console.print(table)


@backup.command("verify")
@click.option("--sample", type=click.IntRange(0, 100), default=100, show_default=True, help="Percent of packs to read.")
@click.pass_obj
def backup_verify(settings: Settings, sample: int) -> None:
    """Read packs back and check every chunk, the index and the snapshots; name any damage."""
    with _cli_errors(), progress_bar() as bar:
        task = bar.add_task("verifying", total=None)

        def advance(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        report = verify_repository(_store(settings), device_key_source(settings), sample, advance)
    console.print(
        f"{report.snapshots} snapshot(s), {report.index_files} index file(s), {report.packs} pack(s); "
        f"read {report.packs_checked} pack(s) ({report.sample_percent}%), {report.chunks_checked:,} chunks, "
        f"{_size(report.bytes_checked)} in {report.seconds:.2f} s"
    )
    if report.unreferenced_packs:
        console.print(f"{report.unreferenced_packs} unreferenced pack(s) (an interrupted run's; not damage)")
    if report.ok:
        console.print("[green]no damage found[/green]")
        return
    table = Table(title="damage", title_justify="left")
    table.add_column("kind")
    table.add_column("name")
    table.add_column("what")
    table.add_column("snapshots hurt")
    for damage in report.damage:
        table.add_row(damage.kind, damage.name[:16], damage.detail, ", ".join(damage.snapshots) or "-")
    console.print(table)
    if all(d.kind == "index" or "no index lists" in d.detail for d in report.damage):
        console.print("only the index is damaged: `prism backup prune` rebuilds it from the packs' own headers")
    raise click.ClickException(f"the repository is damaged: {len(report.damage)} problem(s)")


@backup.command("restore")
@click.argument("snapshot")
@click.option("--to", "target", type=click.Path(file_okay=False, path_type=Path), help="Folder to restore into.")
@click.pass_obj
def backup_restore(settings: Settings, snapshot: str, target: Path | None) -> None:
    """Restore SNAPSHOT (an id prefix) into a folder (default: <data dir>/restores/SNAPSHOT)."""
    folder = target or settings.data_dir / "restores" / snapshot
    with _cli_errors(), _byte_bar("restoring") as advance:
        done = restore_snapshot(_store(settings), device_key_source(settings), snapshot, folder, advance)
    console.print(
        f"[green]restored snapshot {done.short_id}: {done.files:,} file(s), {_size(done.total_bytes)}[/green]"
    )
    console.print(f"into {done.target_dir} in {done.seconds:.2f} s (every file checked against its hash)")
    if done.database_path:
        console.print(f"database: {done.database_path}  (use it with --database-url sqlite:///{done.database_path})")


@backup.command("prune")
@click.option("--keep-daily", type=click.IntRange(min=0), default=7, show_default=True)
@click.option("--keep-weekly", type=click.IntRange(min=0), default=4, show_default=True)
@click.option("--keep-monthly", type=click.IntRange(min=0), default=12, show_default=True)
@click.pass_obj
def backup_prune(settings: Settings, keep_daily: int, keep_weekly: int, keep_monthly: int) -> None:
    """Forget snapshots outside the policy and delete the data no kept snapshot needs."""
    with _cli_errors(), console.status("pruning"):
        done = prune_repository(_store(settings), device_key_source(settings), keep_daily, keep_weekly, keep_monthly)
    table = Table(title="prune", title_justify="left", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("snapshots kept", f"{len(done.kept)}")
    table.add_row("snapshots forgotten", ", ".join(done.forgotten) or "none")
    table.add_row("packs deleted", f"{done.packs_deleted} ({done.packs_rewritten} rewritten into {done.packs_written})")
    table.add_row("freed", _size(max(done.bytes_freed, 0)))
    console.print(table)


@backup.command("rekey")
@click.pass_obj
def backup_rekey(settings: Settings) -> None:
    """Start a new key generation wrapped by the current account data key (run after revoking a device).

    Later backups are sealed with the new generation, which a revoked device cannot open;
    every older snapshot stays restorable with the current key.
    """
    with _cli_errors():
        key = device_key_source(settings)
        if isinstance(key, str):
            raise click.ClickException("rekey follows the sync account's data key; unset PRISM_BACKUP_PASSPHRASE")
        generation = rekey_repository(_store(settings), key, key)
    console.print(f"[green]key generation {generation} wrapped by data key {key.key_id}[/green]")
