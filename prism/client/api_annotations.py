"""Notes, tags, alert rules and triggered alerts (``/api/v1/notes``, ``/tags``, ``/alert-rules``, ``/alerts``)."""

from __future__ import annotations

import uuid
from types import NoneType

from prism.api.routes.exposure import AlertEventPage
from prism.api.schemas import (
    AlertRuleIn,
    AlertRuleOut,
    AlertRulePage,
    NoteIn,
    NoteOut,
    NotePage,
    TaggingIn,
    TaggingOut,
    TaggingPage,
    TagIn,
    TagOut,
    TagPage,
)
from prism.client._operations import Area, Call, M, operation, paged

__all__ = ["AlertRules", "Alerts", "Notes", "Tags"]


class Notes(Area[M]):
    """Notes, alone or about a portfolio, asset or transaction; newest first."""

    @operation("POST", "/api/v1/notes")
    def create(self, body: NoteIn) -> Call[NoteOut]:
        """Create a note."""
        return Call(NoteOut, body=body)

    @operation("GET", "/api/v1/notes")
    def list(
        self, *, entity_id: uuid.UUID | None = None, cursor: str | None = None, limit: int = 100
    ) -> Call[NotePage]:
        """One page of notes (about ``entity_id`` only, if given), newest first."""
        return Call(NotePage, query={"entity_id": entity_id, "cursor": cursor, "limit": limit})

    iter = paged(list)

    @operation("GET", "/api/v1/notes/{note_id}")
    def get(self, note_id: uuid.UUID) -> Call[NoteOut]:
        """Read a note."""
        return Call(NoteOut, path={"note_id": note_id})

    @operation("PUT", "/api/v1/notes/{note_id}")
    def replace(self, note_id: uuid.UUID, body: NoteIn) -> Call[NoteOut]:
        """Replace a note."""
        return Call(NoteOut, path={"note_id": note_id}, body=body)

    @operation("DELETE", "/api/v1/notes/{note_id}")
    def delete(self, note_id: uuid.UUID) -> Call[None]:
        """Delete a note."""
        return Call(NoneType, path={"note_id": note_id})


class Tags(Area[M]):
    """Tags (a tag's name decides its id) and what they are attached to."""

    @operation("POST", "/api/v1/tags")
    def create(self, body: TagIn) -> Call[TagOut]:
        """Create a tag."""
        return Call(TagOut, body=body)

    @operation("GET", "/api/v1/tags")
    def list(self, *, cursor: str | None = None, limit: int = 100) -> Call[TagPage]:
        """One page of tags, by name."""
        return Call(TagPage, query={"cursor": cursor, "limit": limit})

    iter = paged(list)

    @operation("GET", "/api/v1/tags/{tag_id}")
    def get(self, tag_id: uuid.UUID) -> Call[TagOut]:
        """Read a tag."""
        return Call(TagOut, path={"tag_id": tag_id})

    @operation("PUT", "/api/v1/tags/{tag_id}")
    def replace(self, tag_id: uuid.UUID, body: TagIn) -> Call[TagOut]:
        """Change a tag's colour."""
        return Call(TagOut, path={"tag_id": tag_id}, body=body)

    @operation("DELETE", "/api/v1/tags/{tag_id}")
    def delete(self, tag_id: uuid.UUID) -> Call[None]:
        """Delete a tag and its taggings."""
        return Call(NoneType, path={"tag_id": tag_id})

    @operation("POST", "/api/v1/tags/{tag_id}/taggings")
    def attach(self, tag_id: uuid.UUID, body: TaggingIn) -> Call[TaggingOut]:
        """Attach a tag to a portfolio, asset or transaction."""
        return Call(TaggingOut, path={"tag_id": tag_id}, body=body)

    @operation("GET", "/api/v1/tags/{tag_id}/taggings")
    def taggings(self, tag_id: uuid.UUID, *, cursor: str | None = None, limit: int = 100) -> Call[TaggingPage]:
        """One page of what a tag is attached to."""
        return Call(TaggingPage, path={"tag_id": tag_id}, query={"cursor": cursor, "limit": limit})

    iter_taggings = paged(taggings)

    @operation("DELETE", "/api/v1/tags/{tag_id}/taggings/{tagging_id}")
    def detach(self, tag_id: uuid.UUID, tagging_id: uuid.UUID) -> Call[None]:
        """Detach a tag."""
        return Call(NoneType, path={"tag_id": tag_id, "tagging_id": tagging_id})


class AlertRules(Area[M]):
    """Alert rules about one asset or one portfolio."""

    @operation("POST", "/api/v1/alert-rules")
    def create(self, body: AlertRuleIn) -> Call[AlertRuleOut]:
        """Create an alert rule."""
        return Call(AlertRuleOut, body=body)

    @operation("GET", "/api/v1/alert-rules")
    def list(self, *, cursor: str | None = None, limit: int = 100) -> Call[AlertRulePage]:
        """One page of alert rules."""
        return Call(AlertRulePage, query={"cursor": cursor, "limit": limit})

    iter = paged(list)

    @operation("GET", "/api/v1/alert-rules/{rule_id}")
    def get(self, rule_id: uuid.UUID) -> Call[AlertRuleOut]:
        """Read an alert rule."""
        return Call(AlertRuleOut, path={"rule_id": rule_id})

    @operation("PUT", "/api/v1/alert-rules/{rule_id}")
    def replace(self, rule_id: uuid.UUID, body: AlertRuleIn) -> Call[AlertRuleOut]:
        """Replace an alert rule."""
        return Call(AlertRuleOut, path={"rule_id": rule_id}, body=body)

    @operation("DELETE", "/api/v1/alert-rules/{rule_id}")
    def delete(self, rule_id: uuid.UUID) -> Call[None]:
        """Delete an alert rule."""
        return Call(NoneType, path={"rule_id": rule_id})


class Alerts(Area[M]):
    """Alerts that rules set off."""

    @operation("GET", "/api/v1/alerts")
    def list(self, *, cursor: str | None = None, limit: int = 100) -> Call[AlertEventPage]:
        """One page of triggered alerts, newest first."""
        return Call(AlertEventPage, query={"cursor": cursor, "limit": limit})

    iter = paged(list)
