"""``prism serve``: the HTTP API (the device database upgraded first), optionally syncing beside it."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click
import msgspec

from prism.api.auth import ensure_device_token
from prism.cli.sync import watch_beside
from prism.cli.terminal import run_async
from prism.config import Settings, normalize_database_url
from prism.errors import PrismError
from prism.storage.sqlite_keys import check_key, file_state
from prism.sync.key_file import device_key_file
from prism.sync.keys import load_device_keys

__all__ = ["serve", "serve_settings", "with_server"]


@click.command()
@click.option("--host", help="Address to listen on (PRISM_HOST; device default 127.0.0.1).")
@click.option("--port", type=int, help="Port (PRISM_PORT; default 8731).")
@click.option("--database", "database_url", help="Database URL for this run (PRISM_DATABASE_URL).")
@click.option("--mode", type=click.Choice(["device", "hosted"]), help="Serving mode (PRISM_MODE).")
@click.option("--relay", "relay_url", help="Also sync with this relay while serving (needs `prism sync init|join`).")
@click.option(
    "--encrypt",
    is_flag=True,
    default=None,
    help="Keep the device database encrypted at rest (PRISM_DATABASE_ENCRYPT; a plaintext file is converted).",
)
@click.option(
    "--ready-json",
    is_flag=True,
    help="Print only one JSON line (port, pid, version, token file) once serving; stop when the parent dies.",
)
@click.pass_obj
def serve(  # noqa: PLR0917 - click passes each option positionally
    settings: Settings,
    host: str | None,
    port: int | None,
    database_url: str | None,
    mode: str | None,
    relay_url: str | None,
    encrypt: bool | None,
    ready_json: bool,
) -> None:
    """Serve the HTTP API (the device database is upgraded first, safely)."""
    if encrypt:
        settings = msgspec.structs.replace(settings, database=msgspec.structs.replace(settings.database, encrypt=True))
    serve_settings(
        with_server(settings, host=host, port=port, database_url=database_url, mode=mode),
        relay_url,
        ready_json=ready_json,
    )


def with_server(settings: Settings, **changes: Any) -> Settings:
    server = msgspec.structs.replace(
        settings.server, **{k: v for k, v in changes.items() if v is not None and k != "database_url"}
    )
    database = settings.database
    if changes.get("database_url"):
        database = msgspec.structs.replace(database, url=normalize_database_url(changes["database_url"]))
    return msgspec.structs.replace(settings, server=server, database=database)


def _with_asked_passphrase(settings: Settings) -> Settings:
    """Ask for the database passphrase at a terminal when it is needed and not configured."""
    database = settings.database
    path = database.sqlite_path
    needs = database.encrypt or (path is not None and file_state(path) == "encrypted")
    if not needs or database.passphrase or database.key_source != "passphrase" or not sys.stdin.isatty():
        return settings
    passphrase = str(click.prompt("Database passphrase", hide_input=True))
    return msgspec.structs.replace(settings, database=msgspec.structs.replace(database, passphrase=passphrase))


def serve_settings(settings: Settings, relay_url: str | None = None, *, ready_json: bool = False) -> None:
    settings = _with_asked_passphrase(settings)
    try:
        check_key(settings.database)
        linked = relay_url is None or load_device_keys(device_key_file(settings)) is not None
    except PrismError as error:
        raise click.ClickException(str(error)) from error
    if not linked:
        raise click.ClickException("this device is not linked to a relay: run `prism sync init` or `prism sync join`")
    import uvicorn  # noqa: PLC0415 - only `serve` needs the server

    from prism.api import begin_shutdown, create_app  # noqa: PLC0415 - keep other commands' start-up light
    from prism.api.observability import configure_logging  # noqa: PLC0415

    configure_logging(settings.server.log_format)
    try:
        app = create_app(settings)
    except PrismError as error:
        raise click.ClickException(str(error)) from error
    url = f"http://{settings.server.host}:{settings.server.port}"
    token = ensure_device_token(settings.token_path)
    if ready_json:
        if relay_url is not None:
            raise click.ClickException("--ready-json does not combine with --relay yet")
        from prism.sidecar.ready import run_ready_json  # noqa: PLC0415 - the desktop shells' start-up

        run_ready_json(app, settings)
        return
    # Plain echo, not rich: a token must never be wrapped across lines.
    click.echo(f"serving {url}/api/v1  (OpenAPI: {url}/schema/openapi.json)")
    if settings.server.mode == "device":  # hosted accounts sign in for their tokens
        click.echo(f"token:  {token}")
        click.echo(f"try:    curl -H 'Authorization: Bearer {token}' {url}/api/v1/holdings", nl=True)

    class GracefulServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            begin_shutdown(app)  # held long-polls answer now instead of being cut off
            super().handle_exit(sig, frame)

    server = GracefulServer(
        uvicorn.Config(
            app,
            host=settings.server.host,
            port=settings.server.port,
            log_level="warning",
            access_log=False,  # it would name client addresses
            # In-flight requests get this long to finish; held long-polls were answered
            # at once (begin_shutdown), so only a slow request is ever cut.
            timeout_graceful_shutdown=10,
        )
    )
    if relay_url is None:
        server.run()
        return
    click.echo(f"sync:   with {relay_url}")
    run_async(_serve_and_sync(server, settings, relay_url))


async def _serve_and_sync(server: Any, settings: Settings, relay_url: str) -> None:
    stop = asyncio.Event()
    syncing = asyncio.create_task(watch_beside(settings, relay_url, stop))
    try:
        await server.serve()
    finally:
        stop.set()
        await syncing
