"""Deterministic external ids: the file's own, or a content hash with an occurrence counter."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from prism.domain.ledger import TransactionType
from prism.imports.formats import ImportRow, RowProblem
from prism.imports.row_ids import row_external_ids

P = uuid.UUID(int=1)


def buy(where: str, quantity: str = "1", external_id: str | None = None) -> ImportRow:
    return ImportRow(
        where,
        TransactionType.BUY,
        dt.date(2024, 1, 2),
        "EUR",
        "IE00B4L5Y983",
        quantity=Decimal(quantity),
        price=Decimal(10),
        external_id=external_id,
    )


def test_identical_rows_get_distinct_ids_that_are_stable_across_runs() -> None:
    rows = [buy("line 2"), buy("line 3"), buy("line 4", "2")]
    first, problems = row_external_ids(rows, P)
    again, _ = row_external_ids(rows, P)
    assert problems == []
    assert first == again
    assert len(set(first)) == 3
    assert first[0].endswith(":1")
    assert first[1].endswith(":2")


def test_the_same_content_written_differently_hashes_the_same() -> None:
    (a,), _ = row_external_ids([buy("line 2", "1.50")], P)
    (b,), _ = row_external_ids([buy("line 9", "1.5")], P)
    assert a == b


def test_the_hash_depends_on_the_target_portfolio() -> None:
    (a,), _ = row_external_ids([buy("line 2")], P)
    (b,), _ = row_external_ids([buy("line 2")], uuid.UUID(int=2))
    assert a != b


def test_the_files_own_id_is_kept_and_a_repeated_one_is_a_problem() -> None:
    ids, problems = row_external_ids([buy("line 2", external_id="7"), buy("line 3", external_id=" 7")], P)
    assert ids == ["7", "7"]
    assert problems == [RowProblem("line 3", "external_id", "id '7' appears twice (first at line 2)")]
