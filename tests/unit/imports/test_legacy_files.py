"""Reading each legacy format: what is kept, what is skipped, and why."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from prism.imports.legacy.enrichment import read_enrichment
from prism.imports.legacy.etf import IsinMatcher, read_etf_cache, read_metadata
from prism.imports.legacy.folder import etf_cache_files, find_legacy_files
from prism.imports.legacy.holdings import read_holdings
from prism.imports.legacy.report import FileReport
from prism.imports.legacy.universe import read_universe
from tests.fixtures.legacy import (
    APPLE,
    ASML,
    BAD_CHECK_DIGIT,
    MSCI_WORLD,
    SAP,
    SP500,
    TESLA,
    XTRACKERS_WORLD,
    legacy_folder,
    write_enrichment,
    write_etf_caches,
    write_holdings_new,
    write_holdings_old,
    write_universe,
)


def _report() -> FileReport:
    return FileReport("file", "test")


def test_universe_drops_placeholders_and_skips_bad_check_digits_and_repeats(tmp_path: Path) -> None:
    report = _report()
    facts = {fact.isin: fact for fact in read_universe(write_universe(tmp_path / "u.csv"), report)}
    assert list(facts) == [MSCI_WORLD, APPLE, SAP, ASML, TESLA, XTRACKERS_WORLD]
    assert facts[APPLE].name == "Apple, Inc."
    assert facts[APPLE].kind == "stock"
    assert facts[APPLE].metadata["aliases"] == ["Apple", "AAPL Inc"]
    assert facts[MSCI_WORLD].kind == "etf"
    assert facts[MSCI_WORLD].ticker == "IWDA"
    assert facts[MSCI_WORLD].metadata["yahoo_ticker"] == "IWDA.AS"
    assert facts[SAP].name is None  # "Not Found"
    assert "tr_ticker" not in facts[SAP].metadata  # "-"
    assert facts[SAP].ticker == "SAP.DE"
    assert "tr_ticker" not in facts[ASML].metadata  # the ISIN itself
    assert report.skipped == 2
    assert any(BAD_CHECK_DIGIT in note and "check digit" in note for note in report.notes)
    assert any("line 8" in note and "repeats" in note for note in report.notes)


def test_second_generation_holdings_read_costs_and_round_float_artefacts(tmp_path: Path) -> None:
    report = _report()
    positions = {p.isin: p for p in read_holdings(write_holdings_new(tmp_path / "h.csv"), report)}
    assert list(positions) == [MSCI_WORLD, APPLE, ASML]
    assert positions[MSCI_WORLD].quantity == Decimal("12.345678")
    assert (positions[MSCI_WORLD].unit_cost, positions[MSCI_WORLD].cost_from) == (Decimal("81.25"), "AvgCost")
    assert positions[APPLE].quantity == Decimal("0.184071")
    assert (positions[APPLE].unit_cost, positions[APPLE].cost_from) == (Decimal("190.5"), "CurrentPrice")
    assert (positions[ASML].unit_cost, positions[ASML].cost_from) == (None, "none")
    assert report.skipped == 3  # zero quantity, bad check digit, repeat
    assert any(SAP in note and "zero" in note for note in report.notes)


def test_first_generation_holdings_have_no_cost_and_skip_zero_rows(tmp_path: Path) -> None:
    report = _report()
    positions = read_holdings(write_holdings_old(tmp_path / "h.csv"), report)
    assert [(p.isin, p.quantity, p.unit_cost) for p in positions] == [(TESLA, Decimal(2), None)]
    assert report.skipped == 1


def test_broker_export_with_semicolons_and_decimal_commas_reads_as_holdings(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(f"Name;ISIN;quantity;avgCost;netValue\nApple;{APPLE};1,5;1.234,50;2.000,00\n", encoding="utf-8")
    (position,) = read_holdings(path, _report())
    assert (position.quantity, position.unit_cost, position.name) == (Decimal("1.5"), Decimal("1234.50"), "Apple")


def test_enrichment_maps_geography_to_country_and_reports_bad_keys(tmp_path: Path) -> None:
    report = _report()
    facts = {fact.isin: fact for fact in read_enrichment(write_enrichment(tmp_path / "e.json"), report)}
    assert set(facts) == {SAP, APPLE, SP500}
    assert facts[SAP].metadata == {"sector": "Technology", "country": "Germany"}
    assert facts[SP500].metadata == {"country": "USA"}  # an empty sector is not a value
    assert report.skipped == 1


def test_ishares_cache_matches_tickers_keeps_cash_by_name_and_skips_the_footer(tmp_path: Path) -> None:
    folder = write_etf_caches(tmp_path / "cache")
    universe = read_universe(write_universe(tmp_path / "u.csv"), _report())
    report = _report()
    metadata = read_metadata(folder / "_metadata.json", report)
    composition = read_etf_cache(folder / f"{MSCI_WORLD}.csv", metadata, IsinMatcher.of(universe), report)
    assert composition is not None
    assert composition.as_of == dt.date(2025, 10, 1)
    rows = composition.raw.table.to_pylist()
    assert [(r["constituent_isin"], r["constituent_name"], r["weight_pct"]) for r in rows] == [
        (APPLE, "APPLE INC", "60.5"),
        (ASML, "ASML Holding", "30.25"),
        (None, "UNKNOWN CO", "5.25"),
        (None, "USD CASH", "4.0"),
    ]
    assert report.skipped == 1
    assert any("2 constituent(s) without an ISIN kept by name" in note for note in report.notes)


def test_xtrackers_cache_reads_german_labels_decimal_commas_and_repairs_mojibake(tmp_path: Path) -> None:
    folder = write_etf_caches(tmp_path / "cache")
    report = _report()
    metadata = read_metadata(folder / "_metadata.json", report)
    composition = read_etf_cache(folder / f"{XTRACKERS_WORLD}.csv", metadata, IsinMatcher(), report)
    assert composition is not None
    rows = composition.raw.table.to_pylist()
    assert [(r["country"], r["weight_pct"], r["currency"]) for r in rows] == [
        ("Vereinigte Staaten", "50.5", "USD"),
        ("Großbritannien", "49.5", "GBP"),
    ]


def test_folder_walk_finds_formats_anywhere_and_sets_backups_and_secrets_apart(tmp_path: Path) -> None:
    root = legacy_folder(tmp_path / "legacy")
    found = find_legacy_files(root)
    assert [p.relative_to(root).as_posix() for p in found.holdings] == [
        "archive/calculated_holdings.csv",
        "data/working/calculated_holdings.csv",
    ]
    assert [p.name for p in found.universe] == ["asset_universe.csv"]
    assert [p.name for p in found.backups] == ["asset_universe.csv.backup.20250101_120000"]
    assert [p.name for p in found.secrets] == [".env"]
    assert [p.name for p in etf_cache_files(found.etf_metadata[0])] == [f"{MSCI_WORLD}.csv", f"{XTRACKERS_WORLD}.csv"]


def test_a_manual_cache_with_fractional_weights_keeps_them_as_fractions(tmp_path: Path) -> None:
    path = tmp_path / f"{MSCI_WORLD}.csv"
    path.write_text(f"ISIN,Name,Weight,Region,Sector\n{APPLE},Apple,0.6,North America,IT\n{SAP},SAP,0.4,Europe,IT\n")
    report = _report()
    composition = read_etf_cache(path, {}, IsinMatcher(), report)
    assert composition is not None
    rows = composition.raw.table.to_pylist()
    assert [(r["constituent_isin"], r["weight"], r["weight_pct"], r["country"]) for r in rows] == [
        (APPLE, "0.6", None, "North America"),
        (SAP, "0.4", None, "Europe"),
    ]


def test_mis_decoded_names_in_the_universe_are_repaired(tmp_path: Path) -> None:
    path = tmp_path / "asset_universe.csv"
    broken = "Münchener Rück".encode().decode("latin-1")
    path.write_text(f"ISIN,TR_Ticker,Yahoo_Ticker,Name,Aliases,Provider,Asset_Class\n{SAP},MUV2,,{broken},,,Stock\n")
    (fact,) = read_universe(path, _report())
    assert fact.name == "Münchener Rück"
