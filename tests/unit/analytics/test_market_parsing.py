"""Reading and checking market data: file quirks, every rejection rule, every warning."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prism.analytics.market_files import MarketDataError, MarketKind, raw_from_records, read_market_file
from prism.analytics.market_rules import Prepared, prepare
from prism.domain.isin import is_valid_isin
from prism.errors import ValidationError

APPLE, MICROSOFT, WORLD = "US0378331005", "US5949181045", "IE00B4L5Y983"
BAD_CHECK_DIGIT = "US0378331006"


def _file(tmp_path: Path, text: str, *, bom: bool = False, name: str = "rows.csv") -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def _prepare(tmp_path: Path, kind: MarketKind, text: str, **options: object) -> Prepared:
    return prepare(read_market_file(_file(tmp_path, text), kind), **options)  # type: ignore[arg-type]


def _problems(tmp_path: Path, kind: MarketKind, text: str, **options: object) -> list[tuple[str, str]]:
    with pytest.raises(MarketDataError) as caught:
        _prepare(tmp_path, kind, text, **options)
    return [(problem.field, problem.message) for problem in caught.value.problems]


def test_a_spreadsheet_export_with_bom_semicolons_decimal_commas_and_blank_lines_is_read(tmp_path: Path) -> None:
    text = (
        "ISIN;Date;Close;CCY;Volume\r\n"
        f"{APPLE};2024-01-02;185,64;usd;100\r\n"
        "\r\n"
        f"{APPLE};2024-01-03;1.184,25;USD;200\r\n"
        ";;;;\r\n"
        f"{WORLD};2024-01-03;80.5;EUR;300\r\n"
    )
    prepared = prepare(read_market_file(_file(tmp_path, text, bom=True), MarketKind.PRICES))
    assert prepared.table.to_pylist() == [
        {"isin": APPLE, "date": dt.date(2024, 1, 2), "close": Decimal("185.64"), "currency": "USD"},
        {"isin": APPLE, "date": dt.date(2024, 1, 3), "close": Decimal("1184.25"), "currency": "USD"},
        {"isin": WORLD, "date": dt.date(2024, 1, 3), "close": Decimal("80.5"), "currency": "EUR"},
    ]
    assert prepared.earliest == dt.date(2024, 1, 2)
    assert prepared.isins == (WORLD, APPLE)
    assert [w.message for w in prepared.warnings] == ["ignored column(s) 'Volume'"]


def test_problems_name_the_files_own_line_numbers_past_blank_lines(tmp_path: Path) -> None:
    text = f"isin;date;close;currency\n\n{APPLE};2024-01-02;1;USD\n\n\n{APPLE};2024-01-03;-2;USD\n"
    assert _problems(tmp_path, MarketKind.PRICES, text) == [("line 6: close", "must be positive, not -2")]


def test_tab_separated_files_and_header_aliases_are_read(tmp_path: Path) -> None:
    text = f"Day\tPrice\tISIN\n2024-01-02\t10.5\t{APPLE}\n"
    prepared = _prepare(tmp_path, MarketKind.PRICES, text, default_currency="USD")
    assert prepared.table.to_pylist() == [
        {"isin": APPLE, "date": dt.date(2024, 1, 2), "close": Decimal("10.5"), "currency": "USD"}
    ]


def test_every_problem_is_collected_and_the_first_is_the_message(tmp_path: Path) -> None:
    text = (
        "isin,date,close,currency\n"
        f"{BAD_CHECK_DIGIT},2024-01-02,1,USD\n"
        f"{APPLE},2024-13-02,1,USD\n"
        f"{APPLE},,1,USD\n"
        f"{APPLE},2024-01-04,0,USD\n"
        f"{APPLE},2024-01-05,1.2.3,USD\n"
        f"{APPLE},2024-01-06,1.12345678901,USD\n"
        f"{APPLE},2024-01-07,5,XYZ\n"
        f"{APPLE},2024-01-08,,USD\n"
        f"NOTANISIN,2024-01-09,1,USD\n"
    )
    with pytest.raises(MarketDataError) as caught:
        _prepare(tmp_path, MarketKind.PRICES, text)
    error = caught.value
    assert [(p.field, p.message) for p in error.problems] == [
        ("line 2: isin", f"{BAD_CHECK_DIGIT!r} has a wrong check digit"),
        ("line 3: date", "'2024-13-02' is not a date (YYYY-MM-DD)"),
        ("line 4: date", "is missing"),
        ("line 5: close", "must be positive, not 0"),
        ("line 6: close", "'1.2.3' is not a decimal number"),
        ("line 7: close", "1.12345678901 has more than 10 decimal places"),
        ("line 8: currency", "unknown currency 'XYZ'"),
        ("line 9: close", "is missing"),
        ("line 10: isin", "'NOTANISIN' is not shaped like an ISIN"),
    ]
    assert error.total == 9
    assert error.field == "line 2: isin"
    assert str(error) == f"line 2: isin: {BAD_CHECK_DIGIT!r} has a wrong check digit"
    assert isinstance(error, ValidationError)


def test_duplicate_isin_and_date_rows_are_rejected_naming_the_first(tmp_path: Path) -> None:
    row = f"{APPLE},2024-01-02,185.64,USD\n"
    text = "isin,date,close,currency\n" + row + f"{APPLE},2024-01-03,1,USD\n" + row
    assert _problems(tmp_path, MarketKind.PRICES, text) == [("line 4: date", "repeats the ISIN and date of line 2")]


def test_isins_no_asset_of_the_catalog_has_are_imported_with_a_warning(tmp_path: Path) -> None:
    text = f"isin,date,close,currency\n{APPLE},2024-01-02,1,USD\n{WORLD},2024-01-02,2,EUR\n{WORLD},2024-01-03,2,EUR\n"
    prepared = _prepare(tmp_path, MarketKind.PRICES, text, known_isins={APPLE})
    assert prepared.table.num_rows == 3
    assert [(w.field, w.message) for w in prepared.warnings] == [
        ("line 3: isin", f"no asset in the catalog has ISIN {WORLD}; imported anyway")
    ]
    assert _prepare(tmp_path, MarketKind.PRICES, text).warnings == ()


def test_decimals_are_exact_never_floats(tmp_path: Path) -> None:
    text = f"isin,date,close,currency\n{APPLE},2024-01-02,0.1000000001,USD\n{WORLD},2024-01-02,123456789012345.5,EUR\n"
    closes = _prepare(tmp_path, MarketKind.PRICES, text).table.column("close").to_pylist()
    assert closes == [Decimal("0.1000000001"), Decimal("123456789012345.5")]


def test_a_line_with_the_wrong_number_of_fields_is_rejected_by_line(tmp_path: Path) -> None:
    text = f"isin,date,close,currency\n{APPLE},2024-01-02,1,USD\n\n{APPLE},2024-01-03\n"
    assert _problems(tmp_path, MarketKind.PRICES, text) == [("line 4", "has 2 fields, the header 4")]


def test_a_missing_column_is_named_with_what_it_may_be_called(tmp_path: Path) -> None:
    problems = _problems(tmp_path, MarketKind.PRICES, f"isin,date,currency\n{APPLE},2024-01-02,USD\n")
    assert problems == [("close", "the file has no close column (read from: close, price, closing_price, last)")]


def test_a_file_with_only_a_header_is_rejected(tmp_path: Path) -> None:
    assert _problems(tmp_path, MarketKind.PRICES, "isin,date,close,currency\n\n") == [
        ("rows", "there are no rows to import")
    ]
    with pytest.raises(ValidationError, match="no header"):
        _prepare(tmp_path, MarketKind.PRICES, "\n\n")


def test_fx_pairs_come_as_pairs_or_as_base_and_quote(tmp_path: Path) -> None:
    pairs = _prepare(tmp_path, MarketKind.FX, "pair,date,rate\nEUR/USD,2024-01-02,1.0956\neurgbp,2024-01-02,0.86\n")
    assert pairs.table.to_pylist() == [
        {"pair": "EURUSD", "date": dt.date(2024, 1, 2), "rate": Decimal("1.0956")},
        {"pair": "EURGBP", "date": dt.date(2024, 1, 2), "rate": Decimal("0.86")},
    ]
    assert pairs.pairs == ("EURGBP", "EURUSD")
    split = _prepare(tmp_path, MarketKind.FX, "base;quote;date;rate\nEUR;USD;2024-01-02;1,0956\n")
    assert split.table.column("pair").to_pylist() == ["EURUSD"]


def test_fx_rules_reject_bad_pairs_rates_and_duplicates(tmp_path: Path) -> None:
    text = (
        "pair,date,rate\n"
        "EUREUR,2024-01-02,1\n"
        "EURXYZ,2024-01-02,1\n"
        "EURUSD,2024-01-02,0\n"
        "GBPUSD,2024-01-02,-1.2\n"
        "EURUSD,2024-01-03,1.1\n"
        "EURUSD,2024-01-03,1.2\n"
        "EURUSDX,2024-01-03,1.2\n"
    )
    assert _problems(tmp_path, MarketKind.FX, text) == [
        ("line 2: pair", "'EUREUR' converts EUR into itself"),
        ("line 3: pair", "unknown currency 'XYZ'"),
        ("line 4: rate", "must be positive, not 0"),
        ("line 5: rate", "must be positive, not -1.2"),
        ("line 7: date", "repeats the pair and date of line 6"),
        ("line 8: pair", "'EURUSDX' is not a currency pair like EURUSD"),
    ]


ETF_HEADER = "fund_isin;as_of;isin;name;weight;country;sector;currency\n"


def test_weights_that_sum_to_about_100_are_read_as_percent_and_reported(tmp_path: Path) -> None:
    text = (
        ETF_HEADER + f"{WORLD};2024-06-28;{APPLE};Apple;4,5;us;Tech;USD\n"
        f"{WORLD};2024-06-28;{MICROSOFT};Microsoft;4,1;US;Tech;USD\n"
        f"{WORLD};2024-06-28;-;Cash;91,4;;;EUR\n"
    )
    prepared = _prepare(tmp_path, MarketKind.ETF_HOLDINGS, text)
    rows = prepared.table.to_pylist()
    assert [row["weight"] for row in rows] == [Decimal("0.045"), Decimal("0.041"), Decimal("0.914")]
    assert rows[0]["country"] == "US"
    assert rows[2]["constituent_isin"] is None
    assert [(w.field, w.message) for w in prepared.warnings] == [
        ("line 2: weight", f"weights of {WORLD} on 2024-06-28 sum to 100: read as percent")
    ]
    assert prepared.isins == (WORLD,)


def test_a_composition_far_from_100_percent_is_imported_with_how_far(tmp_path: Path) -> None:
    text = (
        "fund,date,constituent_isin,weight\n"
        f"{WORLD},2024-06-28,{APPLE},0.5\n"
        f"{WORLD},2024-06-28,{MICROSOFT},0.412\n"
        f"{WORLD},2024-06-27,{APPLE},1\n"
    )
    prepared = _prepare(tmp_path, MarketKind.ETF_HOLDINGS, text)
    assert prepared.table.num_rows == 3
    assert [(w.field, w.message) for w in prepared.warnings] == [
        ("line 2: weight", f"weights of {WORLD} on 2024-06-28 sum to 91.2%, 8.8 points short of 100%")
    ]


def test_a_weight_percent_column_is_divided_by_100(tmp_path: Path) -> None:
    text = f"fund_isin,as_of,constituent_name,Weight (%)\n{WORLD},2024-06-28,Everything,100.0\n"
    prepared = _prepare(tmp_path, MarketKind.ETF_HOLDINGS, text)
    assert prepared.table.column("weight").to_pylist() == [Decimal(1)]
    assert prepared.warnings == ()


def test_etf_rows_need_a_constituent_and_a_sane_weight(tmp_path: Path) -> None:
    text = (
        "fund_isin,as_of,constituent_isin,constituent_name,weight,currency\n"
        f"{WORLD},2024-06-28,,,0.5,USD\n"
        f"{WORLD},2024-06-28,{BAD_CHECK_DIGIT},Apple,0.2,USD\n"
        f"{WORLD},2024-06-28,{MICROSOFT},Microsoft,0.3,XYZ\n"
        f"{BAD_CHECK_DIGIT},2024-06-28,{MICROSOFT},Microsoft,0.3,USD\n"
        f"{MICROSOFT},2024-06-28,{APPLE},Apple,-2,USD\n"
    )
    assert _problems(tmp_path, MarketKind.ETF_HOLDINGS, text) == [
        ("line 2: constituent_name", "needs a constituent ISIN or name"),
        ("line 3: constituent_isin", f"{BAD_CHECK_DIGIT!r} has a wrong check digit"),
        ("line 4: currency", "unknown currency 'XYZ'"),
        ("line 5: fund_isin", f"{BAD_CHECK_DIGIT!r} has a wrong check digit"),
    ]
    fine_but_for_the_weight = (
        f"fund_isin,as_of,constituent_name,weight\n{WORLD},2024-06-28,A,0.5\n{WORLD},2024-06-28,B,-1.5\n"
    )
    assert _problems(tmp_path, MarketKind.ETF_HOLDINGS, fine_but_for_the_weight) == [
        ("line 3: weight", "weight -1.5 is outside -100%..100% of the fund")
    ]


def test_each_row_gives_weight_or_weight_pct_not_both(tmp_path: Path) -> None:
    text = f"fund_isin,as_of,constituent_name,weight,weight_pct\n{WORLD},2024-06-28,A,0.5,50\n{WORLD},2024-06-28,B,,\n"
    assert _problems(tmp_path, MarketKind.ETF_HOLDINGS, text) == [
        ("line 2: weight", "give weight (a fraction) or weight_pct, not both"),
        ("line 3: weight", "is missing"),
    ]
    mixed = f"fund_isin,as_of,constituent_name,weight,weight_pct\n{WORLD},2024-06-28,A,0.5,\n{WORLD},2024-06-28,B,,50\n"
    weights = _prepare(tmp_path, MarketKind.ETF_HOLDINGS, mixed).table.column("weight").to_pylist()
    assert weights == [Decimal("0.5"), Decimal("0.5")]


def test_request_rows_are_named_by_index_and_exponents_are_read_exactly() -> None:
    rows = [
        {"isin": APPLE, "date": "2024-01-02", "close": "1.5e2", "currency": "USD"},
        {"isin": APPLE, "date": "2024-01-03", "close": "-1", "currency": "USD"},
        {"isin": APPLE, "date": "2024-01-04", "close": "1e999999", "currency": "USD"},
    ]
    with pytest.raises(MarketDataError) as caught:
        prepare(raw_from_records(MarketKind.PRICES, rows))
    assert [(p.field, p.message) for p in caught.value.problems] == [
        ("rows[1].close", "must be positive, not -1"),
        ("rows[2].close", "'1e999999' is not a decimal number"),
    ]
    prepared = prepare(raw_from_records(MarketKind.PRICES, rows[:1]))
    assert prepared.table.column("close").to_pylist() == [Decimal(150)]


def test_parquet_files_are_read_by_row_and_float_columns_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "closes.parquet"
    table = pa.table(
        {
            "ISIN": [APPLE, APPLE],
            "Date": pa.array([dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 3)], pa.timestamp("us")),
            "Close": pa.array([185.64, 0.1], pa.float64()),
            "Currency": ["USD", "USD"],
        }
    )
    pq.write_table(table, path)
    prepared = prepare(read_market_file(path, MarketKind.PRICES))
    assert prepared.table.column("close").to_pylist() == [Decimal("185.64"), Decimal("0.1")]
    assert prepared.table.column("date").to_pylist() == [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
    assert [w.field for w in prepared.warnings] == ["Close"]
    exact = table.set_column(2, "Close", pa.array([Decimal("185.64"), Decimal("-1")], pa.decimal128(10, 2)))
    pq.write_table(exact, path)
    with pytest.raises(MarketDataError) as caught:
        prepare(read_market_file(path, MarketKind.PRICES))
    assert [(p.field, p.message) for p in caught.value.problems] == [("row 2: Close", "must be positive, not -1.00")]


def test_problems_with_a_percent_column_name_it_as_the_file_does(tmp_path: Path) -> None:
    text = f"fund_isin,as_of,constituent_name,Weight (%)\n{WORLD},2024-06-28,A,lots\n"
    assert _problems(tmp_path, MarketKind.ETF_HOLDINGS, text) == [
        ("line 2: Weight (%)", "'lots' is not a decimal number")
    ]


def test_unknown_isin_warnings_stop_at_fifty_and_count_the_rest(tmp_path: Path) -> None:
    rows = [{"isin": _valid(f"XS{n:09d}"), "date": "2024-01-02", "close": "1", "currency": "EUR"} for n in range(200)]
    prepared = prepare(raw_from_records(MarketKind.PRICES, rows), known_isins=set())
    assert len(prepared.isins) == 200
    assert len(prepared.warnings) == 51
    assert prepared.warnings[-1].message == "150 more ISINs no asset has; imported anyway"


def _valid(stem: str) -> str:
    """``stem`` (eleven characters) with its correct check digit."""
    return next(stem + str(digit) for digit in range(10) if is_valid_isin(stem + str(digit)))
