"""A contribution batch, checked whole: every problem names its field."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from prism.errors import ValidationError
from prism.hive.checks import SEP, check_contribution
from prism.hive.wire import ContributionIn

TODAY = dt.date(2025, 12, 1)
APPLE, WORLD = "US0378331005", "IE00B4L5Y983"


def _batch(body: dict[str, object]) -> ContributionIn:
    return msgspec.convert(body, ContributionIn)


def test_a_good_batch_becomes_claims() -> None:
    checked = check_contribution(
        _batch(
            {
                "assets": [{"isin": APPLE.lower(), "name": " Apple ", "country": "us", "base_currency": "usd"}],
                "listings": [{"ticker": "aapl", "exchange": "xnas", "isin": APPLE}],
                "aliases": [{"alias": "Apple", "isin": APPLE, "confidence": "0.9"}],
                "compositions": [
                    {"etf_isin": WORLD, "as_of": "2025-11-30", "holdings": [{"isin": APPLE, "weight": "100"}]}
                ],
            }
        ),
        today=TODAY,
    )
    values = {(c.kind, c.subject, c.field): c.value for c in checked.claims}
    assert values[("asset", APPLE, "name")] == "Apple"
    assert values[("asset", APPLE, "geography")] == "US"
    assert values[("asset", APPLE, "base_currency")] == "USD"
    assert values[("listing", f"AAPL{SEP}XNAS", "isin")] == APPLE
    assert values[("alias", f"APPLE{SEP}{APPLE}", "alias_type")] == "name"
    assert checked.funds[0].holdings == [[APPLE, None, "1", None, None, None, None]]
    assert checked.counts["compositions"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"assets": [{"isin": "US0378331006"}]}, "assets[0].isin"),
        ({"assets": [{"isin": APPLE}, {"isin": APPLE}]}, "assets[1].isin"),
        ({"assets": [{"isin": APPLE, "country": "ZZ"}]}, "assets[0].country"),
        ({"assets": [{"isin": APPLE, "name": "line\nbreak"}]}, "assets[0].name"),
        ({"listings": [{"ticker": "A", "exchange": "X", "isin": APPLE, "currency": "EUX"}]}, "listings[0].currency"),
        ({"aliases": [{"alias": "A", "isin": APPLE, "confidence": "1.5"}]}, "aliases[0].confidence"),
        (
            {
                "compositions": [
                    {"etf_isin": WORLD, "as_of": "2030-01-01", "holdings": [{"isin": APPLE, "weight": "1"}]}
                ]
            },
            "compositions[0].as_of",
        ),
        (
            {"compositions": [{"etf_isin": WORLD, "as_of": "2025-11-30", "holdings": [{"weight": "1"}]}]},
            "compositions[0].holdings[0].isin",
        ),
        (
            {
                "compositions": [
                    {
                        "etf_isin": WORLD,
                        "as_of": "2025-11-30",
                        "holdings": [{"isin": APPLE, "weight": "50"}, {"isin": APPLE, "weight": "50"}],
                    }
                ]
            },
            "compositions[0].holdings[1].isin",
        ),
    ],
)
def test_each_problem_names_its_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_contribution(_batch(body), today=TODAY)
    assert refused.value.field == field


def test_a_stub_with_the_old_placeholder_name_says_only_that_the_isin_exists() -> None:
    checked = check_contribution(
        _batch({"assets": [{"isin": APPLE, "name": "Not Found", "enrichment_status": "stub"}]}), today=TODAY
    )
    assert [(c.field, c.value, c.status) for c in checked.claims] == [("exists", "1", "stub")]


def test_text_that_grows_when_upper_cased_still_fits_its_column() -> None:
    batch = _batch(
        {
            "listings": [{"ticker": "ß" * 30, "exchange": "ß" * 10, "isin": APPLE}],
            "aliases": [{"alias": "ß" * 100, "isin": APPLE}],
        }
    )
    subjects = {c.kind: c.subject for c in check_contribution(batch, today=TODAY).claims}
    assert subjects["listing"] == f"{'S' * 30}{SEP}{'S' * 10}"
    assert subjects["alias"] == f"{'S' * 100}{SEP}{APPLE}"
