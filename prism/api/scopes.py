"""Token scopes: the one list of scopes, and which scope every ``/api/v1`` route needs.

A route's scope comes from the first rule whose path prefix matches the route's path
template (segment by segment); reads (GET, HEAD) need the rule's read scopes, every
other method its write scopes. A route that no rule covers has no declared scope:
scoped tokens are refused there (fail closed), and ``tests/integration/api/test_scopes.py``
fails for any operation of the OpenAPI document without one.

A rule also says how a token limited to one portfolio is treated on it:

* ``path``: the route is about the portfolio named by ``{portfolio_id}`` in its path;
  another portfolio answers 404, a route of the prefix without one (the list, create)
  is refused with 403;
* ``transactions``: the ledger; a list must be filtered by ``portfolio_id``, one entry
  is looked up, a written body must name the token's portfolio (else 404);
* ``shared``: data that belongs to no portfolio (market prices, the hive): allowed;
* ``account``: account-wide data (assets, settings, the change feed, tokens,
  webhooks...): refused with 403.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from prism.domain.scopes import ALL_SCOPES, SCOPES

__all__ = [
    "ALL_SCOPES",
    "API_PREFIX",
    "RULES",
    "SCOPES",
    "Access",
    "Rule",
    "needed_scopes",
    "rule_for",
    "template_of",
]

API_PREFIX = "/api/v1"

Access = Literal["path", "transactions", "shared", "account"]


@dataclass(frozen=True, slots=True)
class Rule:
    """The scopes a family of routes needs, and how portfolio-limited tokens fare there."""

    prefix: str  # below /api/v1, with path parameters as ``{name}``
    read: tuple[str, ...]
    write: tuple[str, ...]
    access: Access


def _tuple(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else value


def _rule(prefix: str, read: str | tuple[str, ...], write: str | tuple[str, ...], access: Access) -> Rule:
    return Rule(prefix, _tuple(read), _tuple(write), access)


_BOTH_READ = ("read:portfolio", "read:transactions")
_BOTH_WRITE = ("write:portfolio", "write:transactions")

#: First match wins: more specific prefixes come first.
RULES: tuple[Rule, ...] = (
    _rule("/portfolios/{portfolio_id}/holdings", "read:portfolio", "write:portfolio", "path"),
    _rule("/portfolios/{portfolio_id}/value-history", "read:analytics", "read:analytics", "path"),
    _rule("/portfolios/{portfolio_id}/performance", "read:analytics", "read:analytics", "path"),
    _rule("/portfolios/{portfolio_id}/exposure", "read:analytics", "read:analytics", "path"),
    _rule("/portfolios", "read:portfolio", "write:portfolio", "path"),
    _rule("/holdings", "read:portfolio", "write:portfolio", "account"),
    _rule("/value-history", "read:analytics", "read:analytics", "account"),
    _rule("/performance", "read:analytics", "read:analytics", "account"),
    _rule("/exposure", "read:analytics", "read:analytics", "account"),
    _rule("/alerts", "read:analytics", "read:analytics", "account"),
    _rule("/transactions", "read:transactions", "write:transactions", "transactions"),
    _rule("/assets", "read:portfolio", "write:portfolio", "account"),
    _rule("/settings", "read:portfolio", "write:portfolio", "account"),
    _rule("/notes", "read:portfolio", "write:portfolio", "account"),
    _rule("/tags", "read:portfolio", "write:portfolio", "account"),
    _rule("/alert-rules", "read:portfolio", "write:portfolio", "account"),
    _rule("/sync/conflicts", _BOTH_READ, _BOTH_WRITE, "account"),
    _rule("/market", "read:market", "write:market", "shared"),
    # Resolving ISINs is a question, even though it is a POST.
    _rule("/hive/resolutions", "read:market", "read:market", "shared"),
    _rule("/hive", "read:market", "write:market", "shared"),
    _rule("/imports", _BOTH_READ, _BOTH_WRITE, "account"),
    _rule("/export", _BOTH_READ, _BOTH_READ, "account"),
    _rule("/backup", "admin:backup", "admin:backup", "account"),
    _rule("/tokens", "admin:tokens", "admin:tokens", "account"),
    _rule("/changes", "read:changes", "read:changes", "account"),
    _rule("/webhooks", "admin:webhooks", "admin:webhooks", "account"),
)

_TYPED_PARAMETER = re.compile(r"\{(\w+):[^}]*\}")


def template_of(path_template: str) -> str:
    """A Litestar path template in OpenAPI form: ``{portfolio_id:uuid}`` -> ``{portfolio_id}``."""
    return _TYPED_PARAMETER.sub(r"{\1}", path_template).rstrip("/") or "/"


def rule_for(path: str) -> Rule | None:
    """The rule of a route, from its path template (with or without ``/api/v1``); None when none applies."""
    path = template_of(path)
    if path.startswith(API_PREFIX + "/"):
        path = path[len(API_PREFIX) :]
    for rule in RULES:
        if path == rule.prefix or path.startswith(rule.prefix + "/"):
            return rule
    return None


def needed_scopes(method: str, rule: Rule) -> tuple[str, ...]:
    """The scopes ``method`` needs on a route of ``rule`` (all of them)."""
    return rule.read if method.upper() in {"GET", "HEAD"} else rule.write
