"""``prism devices``: the sync account's devices; revoke a lost one."""

from __future__ import annotations

import click
from rich.table import Table

from prism.backup import rekey_repository
from prism.backup.schedule import backup_target, close_store
from prism.cli.sync import linked_relay
from prism.cli.terminal import console, run_async
from prism.client.relay import DeviceEntry
from prism.config import Settings
from prism.errors import ChangeSetRejectedError, PrismError
from prism.sync.key_file import device_key_file
from prism.sync.keyring import invite_device, revoke_and_rotate
from prism.sync.keys import DeviceKeys, open_card

__all__ = ["devices"]


@click.group()
def devices() -> None:
    """The devices of this device's sync account."""


@devices.command("list")
@click.pass_obj
def devices_list(settings: Settings) -> None:
    """Every enrolled device, and whether its card proves it was enrolled by a key holder."""

    async def run() -> Table:
        async with linked_relay(settings) as (keys, relay):
            table = Table(title=f"devices of {keys.account_id}")
            for column in ("device", "state", "card"):
                table.add_column(column)
            for device in await relay.devices():
                state = "revoked" if device.revoked else ("this device" if device.device_id == keys.device_id else "")
                card = "missing"
                if device.card is not None:
                    try:
                        card = (
                            "valid"
                            if open_card(device.card, keys) == (device.device_id, device.verify_key)
                            else "forged"
                        )
                    except ChangeSetRejectedError:
                        card = "forged"
                table.add_row(device.device_id, state, card)
            return table

    console.print(run_async(run()))


@devices.command("add")
@click.pass_obj
def devices_add(settings: Settings) -> None:
    """Show a one-time code (valid 15 minutes) that enrols a new device."""

    async def run() -> tuple[str, str]:
        async with linked_relay(settings) as (keys, relay):
            return await invite_device(relay, keys), relay.base_url

    code, relay_url = run_async(run())
    # Plain echo: a code must never be wrapped across lines (upper case, digits and dashes: QR-friendly).
    click.echo("On the new device, within 15 minutes:")
    click.echo(f"    prism sync join --relay {relay_url} --code {code}")


@devices.command("revoke")
@click.argument("device_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def devices_revoke(settings: Settings, device_id: str, yes: bool) -> None:
    """Revoke DEVICE_ID: the relay refuses it, and a new data key it never sees seals what follows."""
    if not yes:
        click.confirm(f"Revoke device {device_id}? It will not sync again.", abort=True)

    async def run() -> str:
        async with linked_relay(settings) as (keys, relay):
            updated = await revoke_and_rotate(relay, keys, device_key_file(settings), device_id)
            return updated.key_id

    key_id = run_async(run())
    console.print(f"[green]revoked[/green] {device_id}; new data key {key_id} sealed to the other devices")
    if settings.backup.repository and not settings.backup.passphrase:
        _rekey_backups(settings)


def _rekey_backups(settings: Settings) -> None:
    """A new backup key generation under the new data key: the revoked device cannot read
    backups taken from now on (it keeps what it could read before)."""
    try:
        target = backup_target(settings)
        try:
            generation = rekey_repository(target.store, target.key_source, target.key_source)
        finally:
            close_store(target.store)
    except PrismError as error:
        console.print(f"[yellow]backups not re-keyed[/yellow]: {error}; run `prism backup rekey` when you can")
        return
    console.print(f"backups: key generation {generation} from now on")


def _card_state(device: DeviceEntry, keys: DeviceKeys) -> str:
    if device.card is None:
        return "missing"
    try:
        vouched = open_card(device.card, keys) == (device.device_id, device.verify_key)
    except ChangeSetRejectedError:
        vouched = False
    return "valid" if vouched else "forged"
