"""Market data import on a folder lake and on S3: merged, replaced, or refused whole."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from prism.analytics.market import ImportReport, MarketDataError, MarketKind, import_market_file, read_prices
from prism.storage.engine import Database
from prism.storage.lake import ETF_HOLDINGS, FX, PRICES, Lake

ROOT = Path(__file__).resolve().parents[3]
APPLE, MICROSOFT, WORLD = "US0378331005", "US5949181045", "IE00B4L5Y983"
CLOSES = f"\ufeffisin;date;close;currency\r\n{APPLE};2024-01-02;185,64;USD\r\n\r\n{APPLE};2024-01-03;184,25;USD\r\n"


async def _import(
    db: Database, lake: Lake, tmp_path: Path, kind: MarketKind, text: str, **options: Any
) -> ImportReport:
    path = tmp_path / f"{kind.value}.csv"
    path.write_text(text, encoding="utf-8")
    return await import_market_file(db, lake, tmp_path / "lake.lock", kind, path, **options)


def _closes(lake: Lake) -> list[tuple[str, dt.date, Decimal]]:
    return [(p.isin, p.date, p.close) for p in read_prices(lake)]


async def test_prices_are_written_and_read_back_exactly(db: Database, lake: Lake, tmp_path: Path) -> None:
    report = await _import(db, lake, tmp_path, MarketKind.PRICES, CLOSES, known_isins={APPLE})
    assert (report.dataset, report.rows, report.version) == ("prices", 2, 1)
    assert report.earliest == dt.date(2024, 1, 2)
    assert report.isins == (APPLE,)
    assert report.warnings == ()
    assert _closes(lake) == [
        (APPLE, dt.date(2024, 1, 2), Decimal("185.64")),
        (APPLE, dt.date(2024, 1, 3), Decimal("184.25")),
    ]
    assert lake.manifest(PRICES).version == 1


async def test_importing_again_replaces_rows_and_never_duplicates_them(
    db: Database, lake: Lake, tmp_path: Path
) -> None:
    await _import(db, lake, tmp_path, MarketKind.PRICES, CLOSES)
    again = await _import(db, lake, tmp_path, MarketKind.PRICES, CLOSES)
    assert again.version == 2
    assert len(_closes(lake)) == 2
    corrected = f"isin,date,close,currency\n{APPLE},2024-01-03,190,USD\n{APPLE},2025-01-02,250,USD\n"
    await _import(db, lake, tmp_path, MarketKind.PRICES, corrected)
    assert _closes(lake) == [
        (APPLE, dt.date(2024, 1, 2), Decimal("185.64")),
        (APPLE, dt.date(2024, 1, 3), Decimal(190)),
        (APPLE, dt.date(2025, 1, 2), Decimal(250)),
    ]
    assert [p.close for p in read_prices(lake, isin=APPLE, start=dt.date(2024, 1, 3), end=dt.date(2024, 12, 31))] == [
        Decimal(190)
    ]
    assert [p.date for p in read_prices(lake, after=(APPLE, dt.date(2024, 1, 2)), limit=1)] == [dt.date(2024, 1, 3)]


async def test_a_rejected_import_writes_nothing(db: Database, lake: Lake, tmp_path: Path) -> None:
    await _import(db, lake, tmp_path, MarketKind.PRICES, CLOSES)
    files_before = lake.objects.list("prices")
    bad = f"isin,date,close,currency\n{APPLE},2024-01-02,999,USD\n{APPLE},2024-01-05,-1,USD\n"
    with pytest.raises(MarketDataError) as caught:
        await _import(db, lake, tmp_path, MarketKind.PRICES, bad)
    assert caught.value.field == "line 3: close"
    assert lake.manifest(PRICES).version == 1
    assert lake.objects.list("prices") == files_before
    assert _closes(lake)[0][2] == Decimal("185.64")


async def test_a_composition_is_replaced_whole(db: Database, lake: Lake, tmp_path: Path) -> None:
    three = (
        "fund_isin,as_of,constituent_isin,constituent_name,weight\n"
        f"{WORLD},2024-06-28,{APPLE},Apple,0.5\n"
        f"{WORLD},2024-06-28,{MICROSOFT},Microsoft,0.3\n"
        f"{WORLD},2024-06-28,,Cash,0.2\n"
    )
    first = await _import(db, lake, tmp_path, MarketKind.ETF_HOLDINGS, three, known_isins=set())
    assert first.isins == (WORLD,)
    assert [w.message for w in first.warnings] == [f"no asset in the catalog has ISIN {WORLD}; imported anyway"]
    two = f"fund;date;isin;name;weight_pct\n{WORLD};2024-06-28;{APPLE};Apple;60\n{WORLD};2024-06-28;;Cash;40\n"
    await _import(db, lake, tmp_path, MarketKind.ETF_HOLDINGS, two)
    stored = lake.query(f"SELECT constituent_name, weight FROM {lake.scan(ETF_HOLDINGS)} ORDER BY 1").to_pylist()
    assert stored == [
        {"constituent_name": "Apple", "weight": Decimal("0.6")},
        {"constituent_name": "Cash", "weight": Decimal("0.4")},
    ]


async def test_fx_rates_are_written_by_pair(db: Database, lake: Lake, tmp_path: Path) -> None:
    report = await _import(db, lake, tmp_path, MarketKind.FX, "base,quote,date,rate\nEUR,USD,2024-01-02,1.0956\n")
    assert (report.pairs, report.isins) == (("EURUSD",), ())
    stored = lake.query(f"SELECT pair, rate FROM {lake.scan(FX)}").to_pylist()
    assert stored == [{"pair": "EURUSD", "rate": Decimal("1.0956")}]


def _documented_examples() -> list[tuple[MarketKind, str]]:
    """The ```csv blocks of docs/market-data.md, with the kind their section is about."""
    kinds = {"Prices": MarketKind.PRICES, "FX rates": MarketKind.FX, "ETF holdings": MarketKind.ETF_HOLDINGS}
    text = (ROOT / "docs" / "market-data.md").read_text()
    found = []
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        title = section.splitlines()[0].strip()
        found += [(kinds[title], block) for block in re.findall(r"```csv\n(.*?)```", section, re.S)]
    return found


async def test_the_documented_examples_import_cleanly(db: Database, lake: Lake, tmp_path: Path) -> None:
    examples = _documented_examples()
    assert sorted(kind.value for kind, _ in examples) == ["etf-holdings", "fx", "prices"]
    for kind, block in examples:
        report = await _import(db, lake, tmp_path, kind, block)
        assert report.rows == len(block.strip().splitlines()) - 1
        assert report.warnings == ()
