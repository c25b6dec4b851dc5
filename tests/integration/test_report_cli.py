"""``prism report`` end to end: a small ledger in the store, closes and a fund's composition in
the lake, the command's tables and chart files; on SQLite and PostgreSQL, a folder and S3.

Portfolio P0 (EUR) holds fund F (asset 0): 10,000 in on 2023-12-28, 50 units bought at 100;
F closes 100, 104, 98, 110 on the 28th, 29th, 2nd and 3rd. F's composition covers 90% of it
(60% US, 30% DE), so a tenth is unresolved. Portfolio P1 holds only cash, 500 paid in on the 2nd.

All together: 10,000 on the 28th, 10,200 on the 29th (and on to the 1st), 10,400 on the 2nd
after 500 came in at its start, 11,000 on the 3rd: TTWROR 1.02 x (10,400 / 10,700) x
(11,000 / 10,400) - 1 = 1.02 x 11,000 / 10,700 - 1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
from click.testing import CliRunner

from prism.analytics.history import performance
from prism.cli import main
from prism.config import DatabaseSettings, LakeSettings
from prism.storage.engine import open_database
from prism.storage.lake import ETF_HOLDINGS, PRICES, open_lake, write_rows
from tests.builders import ISINS, D, entry, make_book, record

FUND = ISINS[0]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHARTS = ("value-history", "drawdown", "exposure")


def _closes() -> pa.Table:
    days = {"2023-12-28": "100", "2023-12-29": "104", "2024-01-02": "98", "2024-01-03": "110"}
    return pa.table(
        {
            "isin": [FUND] * len(days),
            "date": [dt.date.fromisoformat(day) for day in days],
            "close": [D(close) for close in days.values()],
            "currency": ["EUR"] * len(days),
        }
    )


def _composition() -> pa.Table:
    parts = [("US0378331005", "Apple Inc.", "0.6", "US"), ("DE0007164600", "SAP SE", "0.3", "DE")]
    return pa.table(
        {
            "fund_isin": [FUND] * len(parts),
            "as_of": [dt.date(2023, 12, 1)] * len(parts),
            "constituent_isin": [p[0] for p in parts],
            "constituent_name": [p[1] for p in parts],
            "weight": [D(p[2]) for p in parts],
            "country": [p[3] for p in parts],
            "sector": ["Technology"] * len(parts),
            "currency": ["USD" if p[3] == "US" else "EUR" for p in parts],
            "asset_class": ["Equity"] * len(parts),
        }
    )


class Example(NamedTuple):
    p1: uuid.UUID
    ttwror: Decimal  # of all portfolios, as :func:`performance` measures it


async def _ledger(database_url: str, lake_settings: LakeSettings, lock: Path) -> Example:
    """Write the example into the store and the lake."""
    database = open_database(DatabaseSettings(url=database_url, pool_size=2))
    lake = open_lake(lake_settings)
    try:
        book = await make_book(database, portfolios=("EUR", "EUR"), assets=1)
        p0, p1 = book.portfolios
        await record(
            database,
            book.owner,
            entry(p0, "deposit", "2023-12-28", amount="10000"),
            entry(p0, "buy", "2023-12-28", asset_id=book.assets[0], quantity="50", price="100"),
            entry(p1, "deposit", "2024-01-02", amount="500"),
        )
        write_rows(lake, PRICES, _closes())
        write_rows(lake, ETF_HOLDINGS, _composition())
        found = await performance(database, lake, lock, book.owner, None)
        return Example(p1, found.ttwror)
    finally:
        lake.close()
        await database.dispose()


def _environment(lake_settings: LakeSettings) -> dict[str, str]:
    values = {
        "PRISM_LAKE_URL": lake_settings.url,
        "PRISM_LAKE_S3_ENDPOINT": lake_settings.s3_endpoint,
        "PRISM_LAKE_S3_ACCESS_KEY_ID": lake_settings.s3_access_key_id,
        "PRISM_LAKE_S3_SECRET_ACCESS_KEY": lake_settings.s3_secret_access_key,
    }
    return {"COLUMNS": "160", **{name: value for name, value in values.items() if value}}


def _prism(*args: str, database_url: str, tmp_path: Path, lake_settings: LakeSettings) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        ["--data-dir", str(tmp_path), "--database-url", database_url, "report", *args],
        env=_environment(lake_settings),
    )
    return result.exit_code, result.output


def _is_svg(path: Path) -> bool:
    return ET.parse(path).getroot().tag == "{http://www.w3.org/2000/svg}svg"


def test_report_prints_the_measured_return_and_writes_charts_in_both_formats(
    database_url: str, lake_settings: LakeSettings, tmp_path: Path
) -> None:
    ttwror = asyncio.run(_ledger(database_url, lake_settings, tmp_path / "lake.lock")).ttwror
    assert abs(Fraction(ttwror) - (Fraction(102, 100) * Fraction(11000, 10700) - 1)) < Fraction(1, 10**12)
    svg, png = tmp_path / "svg", tmp_path / "png"
    prism = partial(_prism, database_url=database_url, tmp_path=tmp_path, lake_settings=lake_settings)
    code, output = prism("--charts", str(svg), "--format", "svg")
    assert code == 0, output
    assert f"{ttwror * 100:.2f} %" in output
    assert "11,000.00 EUR" in output  # the value at the end: 50 x 110 + 5,000 + 500 of cash
    assert "2023 (12-28 to 12-31)" in output
    assert "2024 (01-01 to 01-03)" in output
    assert "unresolved" in output
    assert "Apple Inc." in output
    for name in CHARTS:
        path = svg / f"{name}.svg"
        assert f"wrote {path}" in output
        assert _is_svg(path)
    code, output = prism("--charts", str(png), "--format", "png")
    assert code == 0, output
    for name in CHARTS:
        assert (png / f"{name}.png").read_bytes().startswith(PNG_SIGNATURE)


def test_report_of_one_portfolio_by_name_or_id_over_a_period(
    database_url: str, lake_settings: LakeSettings, tmp_path: Path
) -> None:
    example = asyncio.run(_ledger(database_url, lake_settings, tmp_path / "lake.lock"))
    prism = partial(_prism, database_url=database_url, tmp_path=tmp_path, lake_settings=lake_settings)
    args = ("--start", "2024-01-01", "--end", "2024-01-02", "--by", "sector", "--cost-method", "average")
    code, output = prism("--portfolio", str(example.p1), *args)
    assert code == 0, output
    assert "P1 (EUR)" in output
    assert "2024-01-02 to 2024-01-02 (1 day)" in output  # P1 has no day before its first entry
    assert "realised gains (average)" in output
    assert "no securities held" in output
    code, output = prism("--portfolio", "P0", *args)
    assert code == 0, output
    assert "2024-01-01 to 2024-01-02 (2 days)" in output
    assert "by sector" in output
    assert "Technology" in output
    # From 5,200 (50 x 104 on the 31st) to 4,900 (50 x 98) of F and 5,000 of cash.
    assert f"{(D(9900) / D(10200) - 1) * 100:.2f} %" in output


def test_an_unknown_portfolio_is_a_clear_error(database_url: str, lake_settings: LakeSettings, tmp_path: Path) -> None:
    asyncio.run(_ledger(database_url, lake_settings, tmp_path / "lake.lock"))
    prism = partial(_prism, database_url=database_url, tmp_path=tmp_path, lake_settings=lake_settings)
    for ref in ("Nope", str(uuid.uuid4())):
        code, output = prism("--portfolio", ref)
        assert code == 1, output
        assert f"no portfolio named or with the id {ref!r}" in output
        assert "'P0', 'P1'" in output


def test_an_end_before_the_start_is_refused_before_anything_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'prism.db'}"
    lake = LakeSettings(url=str(tmp_path / "lake"))
    code, output = _prism(
        "--start", "2024-02-01", "--end", "2024-01-31", database_url=url, tmp_path=tmp_path, lake_settings=lake
    )
    assert code == 2, output
    assert "Invalid value for '--end': 2024-01-31 is before --start 2024-02-01" in output
    assert not (tmp_path / "prism.db").exists()


def test_a_date_that_is_not_iso_is_refused(tmp_path: Path) -> None:
    lake = LakeSettings(url=str(tmp_path / "lake"))
    code, output = _prism(
        "--start", "31.01.2024", database_url=f"sqlite:///{tmp_path / 'p.db'}", tmp_path=tmp_path, lake_settings=lake
    )
    assert code == 2
    assert "'--start'" in output


def test_report_without_an_account_says_what_to_do(tmp_path: Path) -> None:
    lake = LakeSettings(url=str(tmp_path / "lake"))
    code, output = _prism(database_url=f"sqlite:///{tmp_path / 'p.db'}", tmp_path=tmp_path, lake_settings=lake)
    assert code == 1
    assert "prism demo" in output
