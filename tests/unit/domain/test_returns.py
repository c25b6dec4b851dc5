"""Returns, worked by hand: TTWROR with flows, XIRR, volatility, drawdown."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from prism.domain.returns import DailyValue, annualize, daily_returns, max_drawdown, ttwror, volatility, xirr
from prism.errors import ValidationError

D = Decimal
DAY = dt.date(2024, 1, 1)


def _day(n: int, value: str, inflow: str = "0", outflow: str = "0") -> DailyValue:
    return DailyValue(DAY + dt.timedelta(days=n), D(value), D(inflow), D(outflow))


def test_ttwror_ignores_deposits_counted_at_the_start_of_the_day() -> None:
    # Day 1: 100 -> 110 is +10%. Day 2: 50 deposited at the start, 160 -> 176 is +10% again.
    days = [_day(0, "110"), _day(1, "176", inflow="50")]
    assert daily_returns(days, opening=D(100)) == [D("0.1"), D("0.1")]
    assert ttwror(days, opening=D(100)) == D("0.21")  # 1.1 * 1.1 - 1


def test_ttwror_counts_withdrawals_at_the_end_of_the_day() -> None:
    # 100 at the start, 30 withdrawn at the end, 80 left: the day earned (80 + 30) / 100 - 1.
    assert ttwror([_day(0, "80", outflow="30")], opening=D(100)) == D("0.1")


def test_a_first_deposit_starts_the_clock() -> None:
    # Nothing the day before; 1,000 deposited and worth 1,050 at the end: +5%.
    days = [_day(0, "1050", inflow="1000"), _day(1, "1050")]
    assert daily_returns(days) == [D("0.05"), D("0")]


def test_an_empty_day_has_no_return() -> None:
    assert daily_returns([_day(0, "0")]) == [D(0)]


def test_annualizing_a_year_and_a_half() -> None:
    # 21% over 730 days is 10% a year: 1.21 ** (365 / 730) = 1.1.
    assert annualize(D("0.21"), 730) == D("0.1")
    with pytest.raises(ValidationError):
        annualize(D("0.1"), 0)


def test_xirr_of_one_year_is_the_plain_return() -> None:
    flows = [(dt.date(2021, 1, 1), D(-1000)), (dt.date(2022, 1, 1), D(1100))]  # 365 days
    assert xirr(flows) == D("0.1")


def test_xirr_weights_money_by_time() -> None:
    # 1,000 in on day 0, 1,000 more after 182 days, 2,310 out after a year. At 21% a year
    # the money grows to 1,000 * 1.21 + 1,000 * 1.21 ** (183 / 365) = 2,310.5: just under 21%.
    start = dt.date(2021, 1, 1)
    flows = [(start, D(-1000)), (start + dt.timedelta(days=182), D(-1000)), (start + dt.timedelta(days=365), D(2310))]
    rate = xirr(flows)
    growth = 1 + rate
    residual = -1000 * growth - 1000 * growth ** (D(183) / D(365)) + 2310
    assert abs(residual) < D("1e-6")
    assert D("0.20") < rate < D("0.21")


def test_xirr_needs_money_in_and_out() -> None:
    with pytest.raises(ValidationError):
        xirr([(DAY, D(-5)), (DAY, D(-6))])


def test_volatility_is_the_sample_deviation_of_daily_returns() -> None:
    # Returns 0.1, -0.1, 0.1, -0.1: mean 0, squares 4 * 0.01, / 3, sqrt = 0.11547005...
    assert volatility([D("0.1"), D("-0.1"), D("0.1"), D("-0.1")]) == D("0.115470053838")
    assert volatility([D("0.1")]) == 0


def test_max_drawdown_follows_the_return_index_not_the_flows() -> None:
    # Index 1.2, 0.9, 1.0, 1.3 from 100: down a quarter from the peak on day 0, back on day 3.
    # A withdrawal on day 1 is no loss: it is added back.
    days = [_day(0, "120"), _day(1, "40", outflow="50"), _day(2, "44.444444444444"), _day(3, "57.777777777778")]
    found = max_drawdown(days, opening=D(100))
    assert found.depth == D("-0.25")
    assert (found.peak, found.trough, found.recovery) == (days[0].date, days[1].date, days[3].date)
    assert found.duration_days == 3


def test_a_drawdown_not_yet_recovered_runs_to_the_last_day() -> None:
    days = [_day(0, "100"), _day(1, "80"), _day(2, "90")]
    found = max_drawdown(days, opening=D(100))
    assert found.depth == D("-0.2")
    assert found.recovery is None
    assert found.duration_days == 2


def test_no_fall_no_drawdown() -> None:
    assert max_drawdown([_day(0, "100"), _day(1, "110")], opening=D(100)).depth == 0


def test_a_few_days_large_gain_has_no_annualised_figure() -> None:
    # 1.2 ** 365 is about 8e28: no meaningful yearly rate, and more than the rate context holds.
    assert annualize(D("0.2"), 1) is None
    month = annualize(D("0.2"), 30)
    assert month is not None
    assert abs(float(month) - (1.2 ** (365 / 30) - 1)) < 1e-9
