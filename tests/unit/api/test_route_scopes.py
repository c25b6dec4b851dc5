"""Which scopes a route needs, and how a grant covers them."""

from __future__ import annotations

import uuid

import pytest

from prism.api.scopes import RULES, needed_scopes, rule_for, template_of
from prism.domain.scopes import ALL_SCOPES, Grant, checked_scopes, scope_of_table
from prism.errors import ValidationError


def test_typed_path_parameters_are_written_as_in_the_openapi_document() -> None:
    assert (
        template_of("/api/v1/portfolios/{portfolio_id:uuid}/holdings") == "/api/v1/portfolios/{portfolio_id}/holdings"
    )
    assert template_of("/api/v1/tokens/") == "/api/v1/tokens"


def test_the_most_specific_prefix_wins_and_prefixes_match_whole_segments() -> None:
    assert rule_for("/api/v1/portfolios/{portfolio_id}/performance").read == ("read:analytics",)  # type: ignore[union-attr]
    assert rule_for("/api/v1/portfolios/{portfolio_id}").read == ("read:portfolio",)  # type: ignore[union-attr]
    assert rule_for("/api/v1/portfoliosx") is None
    assert rule_for("/api/v1/unheard-of") is None


def test_reads_need_read_scopes_and_every_other_method_write_scopes() -> None:
    rule = rule_for("/api/v1/transactions/{transaction_id}")
    assert rule is not None
    assert needed_scopes("GET", rule) == ("read:transactions",)
    assert needed_scopes("HEAD", rule) == ("read:transactions",)
    assert {needed_scopes(m, rule) for m in ("POST", "PUT", "PATCH", "DELETE")} == {("write:transactions",)}


def test_resolving_isins_is_a_read_although_it_is_a_post() -> None:
    rule = rule_for("/api/v1/hive/resolutions")
    assert rule is not None
    assert needed_scopes("POST", rule) == ("read:market",)


def test_every_rule_names_only_known_scopes() -> None:
    named = {scope for rule in RULES for scope in (*rule.read, *rule.write)}
    assert named <= ALL_SCOPES
    assert named == ALL_SCOPES  # and no scope is left without a route


def test_scopes_are_checked_sorted_and_deduplicated() -> None:
    assert checked_scopes(["write:market", "read:market", "read:market"]) == ["read:market", "write:market"]
    with pytest.raises(ValidationError) as unknown:
        checked_scopes(["read:everything"])
    assert unknown.value.field == "scopes"
    with pytest.raises(ValidationError):
        checked_scopes([])


def test_a_grant_covers_its_scopes_and_its_portfolio_only() -> None:
    owner, mine, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    full = Grant(owner, None, ALL_SCOPES)
    assert full.is_full
    limited = Grant(owner, uuid.uuid4(), frozenset({"read:portfolio"}), portfolio_id=mine)
    assert not limited.is_full
    assert limited.covers(["read:portfolio"], mine)
    assert not limited.covers(["read:portfolio"], other)
    assert not limited.covers(["write:portfolio"], mine)


def test_the_ledger_needs_its_own_scope_in_the_feed() -> None:
    assert scope_of_table("transactions") == "read:transactions"
    assert scope_of_table("portfolios") == scope_of_table("settings") == "read:portfolio"
