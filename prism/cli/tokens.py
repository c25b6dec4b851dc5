"""``prism token create|list|revoke``: scoped API tokens of the device account.

prism token create --scope read:portfolio --scope write:transactions --portfolio Main --expires 30d
prism token list
prism token revoke 6f1c...

Tokens act on the device's API beside its own token (``prism token show``); see
docs/tokens-and-webhooks.md for the scopes.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import click

from prism.cli.terminal import console, run_async, upgraded_store
from prism.config import Settings
from prism.domain.scopes import ALL_SCOPES, SCOPES, Grant
from prism.errors import NotFoundError, ValidationError
from prism.storage.catalog import ensure_device_account, list_portfolios
from prism.storage.engine import Database
from prism.storage.tokens import StoredToken, create_token, list_tokens, revoke_token

__all__ = ["TOKEN_COMMANDS", "parse_lifetime"]

_LIFETIME = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_lifetime(text: str) -> dt.timedelta:
    """``90s``, ``15m``, ``12h``, ``30d`` or ``8w`` as a duration."""
    found = _LIFETIME.match(text.strip().lower())
    if found is None:
        raise ValidationError("must be a number and a unit: s, m, h, d or w (30d)", field="expires")
    return dt.timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)])


async def _portfolio_id(database: Database, owner: uuid.UUID, named: str) -> uuid.UUID:
    for portfolio in await database.read(list_portfolios, owner):
        if portfolio.name == named or str(portfolio.id) == named:
            return portfolio.id
    raise NotFoundError(f"no portfolio named {named!r}")


async def _create(
    settings: Settings, scopes: tuple[str, ...], portfolio: str | None, expires: str | None, name: str
) -> tuple[StoredToken, str]:
    lifetime = None if expires is None else parse_lifetime(expires)
    async with upgraded_store(settings) as database:
        owner = await database.write(ensure_device_account)
        portfolio_id = None if portfolio is None else await _portfolio_id(database, owner, portfolio)
        grant = Grant(owner, None, ALL_SCOPES)
        return await database.write(
            create_token, grant, name, list(scopes), portfolio_id=portfolio_id, expires_in=lifetime
        )


@click.command("create")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(sorted(SCOPES)),
    help="A scope the token holds (repeat for more).",
)
@click.option("--portfolio", help="Limit the token to this portfolio (name or id).")
@click.option("--expires", help="Lifetime: 90s, 15m, 12h, 30d, 8w (default: until revoked).")
@click.option("--name", default="integration", show_default=True, help="What the token is for.")
@click.pass_obj
def token_create(
    settings: Settings, scopes: tuple[str, ...], portfolio: str | None, expires: str | None, name: str
) -> None:
    """Create a scoped token; its value is printed once, only its hash is kept."""
    stored, value = run_async(_create(settings, scopes, portfolio, expires, name))
    click.echo(f"id:      {stored.id}")
    click.echo(f"scopes:  {' '.join(stored.scopes)}")
    if stored.expires_at is not None:
        click.echo(f"expires: {stored.expires_at.isoformat()}")
    # Plain echo, not rich: a token must never be wrapped across lines.
    click.echo(f"token:   {value}")


async def _list(settings: Settings) -> list[StoredToken]:
    async with upgraded_store(settings) as database:
        owner = await database.write(ensure_device_account)
        return await database.read(list_tokens, owner)


def _when(moment: dt.datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


@click.command("list")
@click.pass_obj
def token_list(settings: Settings) -> None:
    """The live scoped tokens: id, name, scopes, portfolio, created, last used, expires."""
    found = run_async(_list(settings))
    if not found:
        console.print("no scoped tokens (the device token: prism token show)")
        return
    for t in found:
        limit = f" portfolio={t.portfolio_id}" if t.portfolio_id else ""
        click.echo(
            f"{t.id}  {t.name}  [{' '.join(t.scopes)}]{limit}  created {_when(t.created_at)}"
            f"  used {_when(t.last_used_at)}  expires {_when(t.expires_at)}"
        )


async def _revoke(settings: Settings, token_id: uuid.UUID) -> None:
    async with upgraded_store(settings) as database:
        owner = await database.write(ensure_device_account)
        await database.write(revoke_token, owner, token_id)


@click.command("revoke")
@click.argument("token_id", type=click.UUID)
@click.pass_obj
def token_revoke(settings: Settings, token_id: uuid.UUID) -> None:
    """Revoke a token: it stops working at once."""
    run_async(_revoke(settings, token_id))
    click.echo(f"revoked {token_id}")


#: Added to the ``prism token`` group by :mod:`prism.cli`.
TOKEN_COMMANDS = [token_create, token_list, token_revoke]
