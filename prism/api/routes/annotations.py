"""``/notes``, ``/tags`` (with ``/tags/{id}/taggings``) and ``/alert-rules``."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from prism.api.pagination import page_of
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
from prism.api.state import owner_of, state_of
from prism.domain.ids import new_id
from prism.domain.money import canonical, parse_decimal
from prism.storage.annotations import (
    AlertCondition,
    AlertRule,
    EntityType,
    Note,
    Tag,
    Tagging,
    delete_row,
    get_alert_rule,
    get_note,
    get_tag,
    list_alert_rules,
    list_notes,
    list_taggings,
    list_tags,
    new_tag,
    save_alert_rule,
    save_note,
    save_tag,
    save_tagging,
    update_tag,
)
from prism.storage.tables import alert_rules, notes, taggings
from prism.storage.tables import tags as tag_rows

__all__ = ["AlertRuleController", "NoteController", "TagController"]

Req = Request[Any, Any, Any]


def _note_out(note: Note) -> NoteOut:
    kind = note.entity_type.value if note.entity_type else None
    return NoteOut(id=note.id, body=note.body, title=note.title, entity_type=kind, entity_id=note.entity_id)


def _note(note_id: uuid.UUID, data: NoteIn) -> Note:
    kind = EntityType(data.entity_type) if data.entity_type else None
    return Note(note_id, data.body, data.title, kind, data.entity_id)


class NoteController(Controller):
    """Notes of the account."""

    path = "/notes"
    tags = ["notes"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("/", summary="Create a note")
    async def create(self, request: Req, data: JSONBody[NoteIn]) -> NoteOut:
        state = state_of(request)
        return _note_out(await state.database.write(save_note, owner_of(request), _note(new_id(), data)))

    @get("/", summary="List notes, newest first")
    async def list(
        self,
        request: Req,
        *,
        entity_id: FromQuery[uuid.UUID | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 100,
    ) -> NotePage:
        state = state_of(request)
        found = await state.database.read(list_notes, owner_of(request), entity_id=entity_id)
        items, next_cursor = page_of(found, cursor, limit)
        return NotePage(items=[_note_out(n) for n in items], next_cursor=next_cursor)

    @get("/{note_id:uuid}", summary="Read a note")
    async def read(self, request: Req, note_id: FromPath[uuid.UUID]) -> NoteOut:
        state = state_of(request)
        return _note_out(await state.database.read(get_note, owner_of(request), note_id))

    @put("/{note_id:uuid}", summary="Replace a note")
    async def replace(self, request: Req, note_id: FromPath[uuid.UUID], data: JSONBody[NoteIn]) -> NoteOut:
        state = state_of(request)
        note = _note(note_id, data)
        return _note_out(await state.database.write(save_note, owner_of(request), note, replace=True))

    @delete("/{note_id:uuid}", summary="Delete a note")
    async def remove(self, request: Req, note_id: FromPath[uuid.UUID]) -> None:
        state = state_of(request)
        await state.database.write(delete_row, notes, owner_of(request), note_id)


def _tag_out(tag: Tag) -> TagOut:
    return TagOut(id=tag.id, name=tag.name, color=tag.color)


def _tagging_out(tagging: Tagging) -> TaggingOut:
    return TaggingOut(
        id=tagging.id, tag_id=tagging.tag_id, entity_type=tagging.entity_type.value, entity_id=tagging.entity_id
    )


class TagController(Controller):
    """Tags of the account and what they are attached to."""

    path = "/tags"
    tags = ["tags"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("/", summary="Create a tag")
    async def create(self, request: Req, data: JSONBody[TagIn]) -> TagOut:
        state = state_of(request)
        tag = new_tag(owner_of(request), data.name, data.color)
        return _tag_out(await state.database.write(save_tag, owner_of(request), tag))

    @get("/", summary="List tags, by name")
    async def list(self, request: Req, cursor: FromQuery[str | None] = None, limit: FromQuery[int] = 100) -> TagPage:
        state = state_of(request)
        items, next_cursor = page_of(await state.database.read(list_tags, owner_of(request)), cursor, limit)
        return TagPage(items=[_tag_out(t) for t in items], next_cursor=next_cursor)

    @get("/{tag_id:uuid}", summary="Read a tag")
    async def read(self, request: Req, tag_id: FromPath[uuid.UUID]) -> TagOut:
        state = state_of(request)
        return _tag_out(await state.database.read(get_tag, owner_of(request), tag_id))

    @put("/{tag_id:uuid}", summary="Change a tag's colour (its name is its identity)")
    async def replace(self, request: Req, tag_id: FromPath[uuid.UUID], data: JSONBody[TagIn]) -> TagOut:
        state = state_of(request)
        changed = await state.database.write(update_tag, owner_of(request), tag_id, data.name, data.color)
        return _tag_out(changed)

    @delete("/{tag_id:uuid}", summary="Delete a tag and its taggings")
    async def remove(self, request: Req, tag_id: FromPath[uuid.UUID]) -> None:
        state = state_of(request)
        await state.database.write(delete_row, tag_rows, owner_of(request), tag_id)

    @post("/{tag_id:uuid}/taggings", summary="Attach a tag")
    async def attach(self, request: Req, tag_id: FromPath[uuid.UUID], data: JSONBody[TaggingIn]) -> TaggingOut:
        state = state_of(request)
        made = await state.database.write(save_tagging, owner_of(request), tag_id, data.entity_type, data.entity_id)
        return _tagging_out(made)

    @get("/{tag_id:uuid}/taggings", summary="What a tag is attached to")
    async def attached(
        self,
        request: Req,
        tag_id: FromPath[uuid.UUID],
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 100,
    ) -> TaggingPage:
        state = state_of(request)
        found = await state.database.read(list_taggings, owner_of(request), tag_id)
        items, next_cursor = page_of(found, cursor, limit)
        return TaggingPage(items=[_tagging_out(t) for t in items], next_cursor=next_cursor)

    @delete("/{tag_id:uuid}/taggings/{tagging_id:uuid}", summary="Detach a tag")
    async def detach(self, request: Req, tag_id: FromPath[uuid.UUID], tagging_id: FromPath[uuid.UUID]) -> None:
        state = state_of(request)
        await state.database.read(get_tag, owner_of(request), tag_id)
        await state.database.write(delete_row, taggings, owner_of(request), tagging_id)


def _rule_out(rule: AlertRule) -> AlertRuleOut:
    return AlertRuleOut(
        id=rule.id,
        condition=rule.condition.value,
        threshold=canonical(rule.threshold),
        asset_id=rule.asset_id,
        portfolio_id=rule.portfolio_id,
        currency=rule.currency,
        enabled=rule.enabled,
        note=rule.note,
    )


def _rule(rule_id: uuid.UUID, data: AlertRuleIn) -> AlertRule:
    return AlertRule(
        rule_id,
        AlertCondition(data.condition),
        parse_decimal(data.threshold, field="threshold"),
        data.asset_id,
        data.portfolio_id,
        data.currency,
        data.enabled,
        data.note,
    )


class AlertRuleController(Controller):
    """Alert rules of the account."""

    path = "/alert-rules"
    tags = ["alert-rules"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("/", summary="Create an alert rule")
    async def create(self, request: Req, data: JSONBody[AlertRuleIn]) -> AlertRuleOut:
        state = state_of(request)
        return _rule_out(await state.database.write(save_alert_rule, owner_of(request), _rule(new_id(), data)))

    @get("/", summary="List alert rules")
    async def list(
        self, request: Req, cursor: FromQuery[str | None] = None, limit: FromQuery[int] = 100
    ) -> AlertRulePage:
        state = state_of(request)
        items, next_cursor = page_of(await state.database.read(list_alert_rules, owner_of(request)), cursor, limit)
        return AlertRulePage(items=[_rule_out(r) for r in items], next_cursor=next_cursor)

    @get("/{rule_id:uuid}", summary="Read an alert rule")
    async def read(self, request: Req, rule_id: FromPath[uuid.UUID]) -> AlertRuleOut:
        state = state_of(request)
        return _rule_out(await state.database.read(get_alert_rule, owner_of(request), rule_id))

    @put("/{rule_id:uuid}", summary="Replace an alert rule")
    async def replace(self, request: Req, rule_id: FromPath[uuid.UUID], data: JSONBody[AlertRuleIn]) -> AlertRuleOut:
        state = state_of(request)
        rule = _rule(rule_id, data)
        return _rule_out(await state.database.write(save_alert_rule, owner_of(request), rule, replace=True))

    @delete("/{rule_id:uuid}", summary="Delete an alert rule")
    async def remove(self, request: Req, rule_id: FromPath[uuid.UUID]) -> None:
        state = state_of(request)
        await state.database.write(delete_row, alert_rules, owner_of(request), rule_id)
