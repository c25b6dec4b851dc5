"""The old Supabase hive's dump, with its quirks, into the hive's tables on both databases."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from prism.errors import ValidationError
from prism.hive.legacy_dump import import_dump
from prism.hive.resolve import resolve_isins
from prism.storage.engine import Database
from prism.storage.hive_tables import hive_aliases, hive_provider_mappings

DUMP = Path(__file__).parents[2] / "fixtures" / "hive" / "old_dump"
TODAY = dt.date(2025, 12, 10)
APPLE, WORLD, MSFT, SAP = "US0378331005", "IE00B4L5Y983", "US5949181045", "DE0007164600"


async def test_old_dump_imports_with_its_quirks_repaired(db: Database) -> None:
    report = await import_dump(db, DUMP, today=TODAY)
    assert report.rows == {"assets": 4, "listings": 4, "aliases": 3, "provider_mappings": 3, "etf_holdings": 4}
    assert any("US0378331006" in line for line in report.skipped)  # a bad check digit is reported, not stored
    assert any(line.startswith("contributions") for line in report.skipped)

    _version, found = await db.read(resolve_isins, [APPLE, WORLD, MSFT, SAP], today=TODAY, with_holdings=True)
    assert found[APPLE].fields["name"].value == "Apple Inc."
    assert found[APPLE].fields["name"].contributors == 1  # old counts (57) are not evidence
    assert {(x.ticker, x.exchange, x.currency) for x in found[APPLE].listings} == {
        ("AAPL", "XNAS", "USD"),
        ("APC", "XETR", "EUR"),
    }
    assert found[WORLD].fields["asset_class"].value == "ETF"
    assert found[WORLD].fields["base_currency"].value == "USD"
    assert found[SAP].fields["asset_class"].value == "Equity"  # "Stock" in the old spelling
    assert found[SAP].status == "stub"  # no enrichment status: the old default
    assert found[MSFT].status == "stub"
    assert "name" not in found[MSFT].fields  # the "Not Found" placeholder is no name
    composition = found[WORLD].composition
    assert composition is not None
    assert composition.holdings is not None
    assert composition.as_of == dt.date(2025, 11, 30)
    assert [(h.isin, h.weight) for h in composition.holdings] == [
        (SAP, "0.9"),
        (APPLE, "0.0525"),  # "5,25" percent, with a decimal comma
        (MSFT, "0.0475"),
    ]

    def aliases(connection: object) -> list[tuple[str, str, str, int]]:
        rows = connection.execute(select(hive_aliases).order_by(hive_aliases.c.alias))  # type: ignore[attr-defined]
        return [(r.alias, r.isin, str(r.confidence), r.contributor_count) for r in rows]

    # "Apple" and "APPLE" are one alias; confidence takes the maximum; no contributor hash survives.
    assert await db.read(aliases) == [("APPLE", APPLE, "0.95", 1), ("ISHARES WORLD", WORLD, "0.8", 1)]
    mappings = await db.read(lambda c: c.execute(select(hive_provider_mappings.c.provider_id)).scalars().all())
    assert sorted(mappings) == ["AAPL", "IWDA.AS", "SAP"]


async def test_importing_the_same_dump_twice_changes_nothing(db: Database) -> None:
    first = await import_dump(db, DUMP, today=TODAY)
    again = await import_dump(db, DUMP, today=TODAY)
    assert again.version == first.version


async def test_a_folder_without_the_old_tables_is_refused(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as refused:
        await import_dump(db, tmp_path, today=TODAY)
    assert refused.value.field == "folder"
    shutil.copy(DUMP / "contributions.csv", tmp_path / "contributions.csv")
    with pytest.raises(ValidationError):
        await import_dump(db, tmp_path, today=TODAY)
