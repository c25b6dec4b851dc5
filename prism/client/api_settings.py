"""``/api/v1/settings`` and ``/api/v1/sync/conflicts``: settings, and edits that lost a merge."""

from __future__ import annotations

import uuid
from types import NoneType

from prism.api.schemas import ConflictOut, ConflictPage, SettingIn, SettingOut, SettingPage
from prism.client._operations import Area, Call, M, operation, paged

__all__ = ["Conflicts", "Settings"]


class Settings(Area[M]):
    """Settings, by key."""

    @operation("GET", "/api/v1/settings")
    def list(self, *, cursor: str | None = None, limit: int = 100) -> Call[SettingPage]:
        """One page of settings, by key."""
        return Call(SettingPage, query={"cursor": cursor, "limit": limit})

    iter = paged(list)

    @operation("GET", "/api/v1/settings/{key}")
    def get(self, key: str) -> Call[SettingOut]:
        """Read a setting."""
        return Call(SettingOut, path={"key": key})

    @operation("PUT", "/api/v1/settings/{key}")
    def put(self, key: str, body: SettingIn) -> Call[SettingOut]:
        """Set a setting."""
        return Call(SettingOut, path={"key": key}, body=body)

    @operation("DELETE", "/api/v1/settings/{key}")
    def delete(self, key: str) -> Call[None]:
        """Remove a setting (a known one returns to its default)."""
        return Call(NoneType, path={"key": key})


class Conflicts(Area[M]):
    """Edits that lost a merge to another device's edit of the same column."""

    @operation("GET", "/api/v1/sync/conflicts")
    def list(self, *, cursor: str | None = None, limit: int = 100) -> Call[ConflictPage]:
        """One page of unresolved conflicts, newest first."""
        return Call(ConflictPage, query={"cursor": cursor, "limit": limit})

    iter = paged(list)

    @operation("POST", "/api/v1/sync/conflicts/{conflict_id}/restore")
    def restore(self, conflict_id: uuid.UUID) -> Call[ConflictOut]:
        """Write a losing value again, as a new edit."""
        return Call(ConflictOut, path={"conflict_id": conflict_id})
