"""``/settings``: typed key/values, with defaults for the keys Prism knows."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, put
from litestar.params import FromPath, FromQuery, JSONBody

from prism.api.pagination import page_of
from prism.api.schemas import SettingIn, SettingOut, SettingPage
from prism.api.state import owner_of, state_of
from prism.domain.settings import Setting
from prism.storage.settings import delete_setting, get_setting, list_settings, put_setting

__all__ = ["SettingController"]


def _out(setting: Setting) -> SettingOut:
    return SettingOut(key=setting.key, type=setting.type.value, value=setting.value)


class SettingController(Controller):
    """Settings of the account."""

    path = "/settings"
    tags = ["settings"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/", summary="List settings, by key")
    async def list(
        self, request: Request[Any, Any, Any], cursor: FromQuery[str | None] = None, limit: FromQuery[int] = 100
    ) -> SettingPage:
        state = state_of(request)
        items, next_cursor = page_of(await state.database.read(list_settings, owner_of(request)), cursor, limit)
        return SettingPage(items=[_out(s) for s in items], next_cursor=next_cursor)

    @get("/{key:str}", summary="Read a setting")
    async def read(self, request: Request[Any, Any, Any], key: FromPath[str]) -> SettingOut:
        state = state_of(request)
        return _out(await state.database.read(get_setting, owner_of(request), key))

    @put("/{key:str}", summary="Set a setting")
    async def write(self, request: Request[Any, Any, Any], key: FromPath[str], data: JSONBody[SettingIn]) -> SettingOut:
        state = state_of(request)
        return _out(await state.database.write(put_setting, owner_of(request), key, data.type, data.value))

    @delete("/{key:str}", summary="Remove a setting (a known one returns to its default)")
    async def remove(self, request: Request[Any, Any, Any], key: FromPath[str]) -> None:
        state = state_of(request)
        await state.database.write(delete_setting, owner_of(request), key)
