"""The demo's market: ten years of daily closes and FX rates, generated from a seed.

Every asset's log return is a common market factor (with its drawdowns: the 2018 sell-off,
the 2020 crash and recovery, 2022, spring 2025) times the asset's beta, plus a sector
factor, plus its own noise and drift. Closes exist only on the days the asset's exchange
trades (European or US holidays, and a few random gaps), are rounded to 2-4 decimals and
stored exactly. Apple's close quarters on its 4-for-1 split, as an unadjusted price does.
FX rates (``EURUSD``: dollars for one euro) wander around their historical levels.

An asset's path depends only on the seed, its ISIN and the calendar, never on the other
assets generated with it, so the ledger (which prices a few hundred assets) trades at
exactly the closes the lake holds for all thousand. Floats are used only to generate;
every close and rate leaves here as an exact decimal.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from prism.demo_universe import APPLE, SECTORS, DemoAsset

__all__ = [
    "APPLE_SPLIT",
    "END",
    "PAIRS",
    "START",
    "DemoMarket",
    "decimal_column",
    "exchange_holidays",
    "generate_market",
]

START = dt.date(2016, 1, 4)
END = dt.date(2025, 12, 31)
APPLE_SPLIT = dt.date(2020, 8, 31)
PAIRS = ("EURUSD", "EURGBP", "EURCHF")

_YEAR = 252
_MARKET_DRIFT = 0.17  # a year, in log terms, outside the episodes
_MARKET_VOL = 0.008  # a day
_SECTOR_VOL = 0.005  # a day
_FX_DECIMALS = 4
_PRICE_SCALE = 10  # the lake's decimal scale for closes
_RATE_SCALE = 12  # and for FX rates
# (first day, last day, log move spread over the days, daily volatility multiplier)
_EPISODES = (
    (dt.date(2018, 10, 1), dt.date(2018, 12, 24), -0.19, 1.6),
    (dt.date(2018, 12, 26), dt.date(2019, 4, 30), 0.17, 1.2),
    (dt.date(2020, 2, 20), dt.date(2020, 3, 23), -0.42, 3.5),
    (dt.date(2020, 3, 24), dt.date(2020, 8, 31), 0.36, 1.8),
    (dt.date(2022, 1, 4), dt.date(2022, 10, 12), -0.24, 1.4),
    (dt.date(2025, 2, 19), dt.date(2025, 4, 8), -0.17, 2.2),
    (dt.date(2025, 4, 9), dt.date(2025, 7, 31), 0.18, 1.3),
)
# Historical levels the rates wander around (rate on the date; linear in between).
_FX_ANCHORS = {
    "EURUSD": (
        ("2016-01-04", 1.09),
        ("2017-01-03", 1.04),
        ("2018-02-01", 1.24),
        ("2019-01-02", 1.14),
        ("2020-03-20", 1.07),
        ("2021-01-06", 1.23),
        ("2022-09-28", 0.96),
        ("2023-07-14", 1.12),
        ("2024-10-01", 1.11),
        ("2025-01-13", 1.02),
        ("2025-12-31", 1.17),
    ),
    "EURGBP": (
        ("2016-01-04", 0.74),
        ("2016-06-23", 0.76),
        ("2016-10-11", 0.90),
        ("2017-08-29", 0.93),
        ("2019-01-02", 0.90),
        ("2020-03-19", 0.93),
        ("2021-06-01", 0.86),
        ("2022-09-26", 0.91),
        ("2024-06-20", 0.845),
        ("2025-12-31", 0.87),
    ),
    "EURCHF": (
        ("2016-01-04", 1.09),
        ("2018-04-20", 1.20),
        ("2019-06-03", 1.11),
        ("2020-06-01", 1.07),
        ("2021-12-01", 1.04),
        ("2022-09-27", 0.95),
        ("2023-12-29", 0.93),
        ("2024-12-31", 0.94),
        ("2025-12-31", 0.93),
    ),
}
# Real-looking behaviour of the core assets: (yearly drift over the market, beta, yearly volatility).
_CORE_PARAMETERS = {
    "US0378331005": (0.12, 1.2, 0.24),
    "US5949181045": (0.11, 1.0, 0.22),
    "NL0010273215": (0.11, 1.3, 0.30),
    "DE0007236101": (-0.01, 1.0, 0.20),
    "IE00B4L5Y983": (0.0, 1.0, 0.02),
    "IE00BKM4GZ66": (-0.015, 0.8, 0.06),
    "IE00B3RBWM25": (-0.01, 1.0, 0.02),
}

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


def _easter(year: int) -> dt.date:
    # The anonymous Gregorian algorithm (Meeus/Jones/Butcher).
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> dt.date:
    """The ``nth`` ``weekday`` of the month (``nth`` -1: the last)."""
    if nth > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta((weekday - first.weekday()) % 7 + 7 * (nth - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(1)
    return last - dt.timedelta((last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    # NYSE: a Saturday holiday closes the Friday before, a Sunday one the Monday after.
    return day + dt.timedelta({5: -1, 6: 1}.get(day.weekday(), 0))


def exchange_holidays(calendar: str, year: int) -> set[dt.date]:
    """The weekdays exchanges of ``calendar`` ("US" or "EU") are closed in ``year``."""
    easter = _easter(year)
    if calendar == "EU":
        found = {dt.date(year, 1, 1), easter - dt.timedelta(2), easter + dt.timedelta(1)}
        return {day for day in {*found, dt.date(year, 12, 25), dt.date(year, 12, 26)} if day.weekday() < 5}
    found = {
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        easter - dt.timedelta(2),
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _observed(dt.date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(dt.date(year, 12, 25)),
    }
    if dt.date(year, 1, 1).weekday() != 5:  # a Saturday New Year is not made up on the Friday before
        found.add(_observed(dt.date(year, 1, 1)))
    if year >= 2022:
        found.add(_observed(dt.date(year, 6, 19)))  # Juneteenth
    # National days of mourning (Presidents Bush and Carter).
    found |= {day for day in (dt.date(2018, 12, 5), dt.date(2025, 1, 9)) if day.year == year}
    return {day for day in found if day.weekday() < 5}


class DemoMarket:
    """Generated closes of some assets and the EUR rates, on every weekday of a period."""

    def __init__(
        self,
        assets: Sequence[DemoAsset],
        days: list[dt.date],
        *,
        units: IntArray,
        open_days: BoolArray,
        decimals: IntArray,
        fx_units: IntArray,
    ) -> None:
        self.assets = tuple(assets)
        self.days = days  # every weekday; an asset has a close on those its exchange trades
        self._units, self._open, self._decimals, self._fx_units = units, open_days, decimals, fx_units
        self._row = {asset.isin: row for row, asset in enumerate(self.assets)}
        self._column = {day: column for column, day in enumerate(days)}

    @property
    def price_rows(self) -> int:
        """How many closes there are (one per asset and trading day)."""
        return int(self._open.sum())

    def close(self, isin: str, day: dt.date) -> Decimal | None:
        """The close of ``isin`` on ``day``, or None when its exchange did not trade."""
        row, column = self._row[isin], self._column.get(day)
        if column is None or not self._open[row, column]:
            return None
        return Decimal(int(self._units[row, column])).scaleb(-int(self._decimals[row]))

    def fx_rate(self, pair: str, day: dt.date) -> Decimal:
        """``pair``'s rate ("EURUSD": dollars for one euro) on ``day``, or the weekday before."""
        column = max(0, bisect.bisect_right(self.days, day) - 1)
        return Decimal(int(self._fx_units[PAIRS.index(pair), column])).scaleb(-_FX_DECIMALS)

    def prices_table(self, year: int | None = None) -> pa.Table:
        """The closes (of ``year`` only, if given) as rows of the lake's ``prices`` dataset."""
        first, last = 0, len(self.days)
        if year is not None:
            first = bisect.bisect_left(self.days, dt.date(year, 1, 1))
            last = bisect.bisect_left(self.days, dt.date(year + 1, 1, 1))
        rows, columns = np.nonzero(self._open[:, first:last])
        columns = columns + first
        shift = (10 ** (_PRICE_SCALE - self._decimals)).astype(np.int64)
        closes = decimal_column(self._units[rows, columns] * shift[rows], _PRICE_SCALE)
        where = pa.array(rows)
        return pa.table(
            {
                "isin": pa.array([asset.isin for asset in self.assets]).take(where),
                "date": pa.array(_day_numbers(self.days)[columns]).cast(pa.date32()),
                "close": closes,
                "currency": pa.array([asset.currency for asset in self.assets]).take(where),
            }
        )

    def fx_table(self) -> pa.Table:
        """Every pair's rate on every weekday, as rows of the lake's ``fx`` dataset."""
        count = len(self.days)
        numbers = _day_numbers(self.days)
        return pa.table(
            {
                "pair": pa.array([pair for pair in PAIRS for _ in range(count)]),
                "date": pa.array(np.tile(numbers, len(PAIRS))).cast(pa.date32()),
                "rate": decimal_column(self._fx_units.reshape(-1) * 10 ** (_RATE_SCALE - _FX_DECIMALS), _RATE_SCALE),
            }
        )


def _day_numbers(days: list[dt.date]) -> npt.NDArray[np.int32]:
    epoch = dt.date(1970, 1, 1).toordinal()
    return np.array([day.toordinal() - epoch for day in days], dtype=np.int32)


def decimal_column(units: IntArray, scale: int) -> pa.Array:
    """Non-negative integers (value x 10**scale) as an Arrow decimal128 array, without Python objects."""
    words = np.zeros((units.size, 2), dtype="<i8")  # little-endian 128-bit: low word, then a zero high word
    words[:, 0] = units
    return pa.Array.from_buffers(pa.decimal128(38, scale), units.size, [None, pa.py_buffer(words.tobytes())])


def _weekdays(start: dt.date, end: dt.date) -> list[dt.date]:
    span = (end - start).days + 1
    return [start + dt.timedelta(n) for n in range(span) if (start + dt.timedelta(n)).weekday() < 5]


def _segments(days: list[dt.date]) -> npt.NDArray[np.intp]:
    """Each day's segment: calendar years, cut again where an episode starts or ends."""
    cuts = sorted({*(d for first, last, _, _ in _EPISODES for d in (first, last + dt.timedelta(1)))})
    cuts += [dt.date(year, 1, 1) for year in range(days[0].year, days[-1].year + 2)]
    numbers = np.array([day.toordinal() for day in days])
    return np.searchsorted(np.array(sorted({day.toordinal() for day in cuts})), numbers, side="right")


def _pinned(noise: FloatArray, segments: npt.NDArray[np.intp]) -> FloatArray:
    """``noise`` without its mean over each segment: daily moves stay, the scripted path holds."""
    sums = np.bincount(segments, weights=noise)
    counts = np.maximum(np.bincount(segments), 1)
    return noise - (sums / counts)[segments]


def _market_factor(days: list[dt.date], seed: int, segments: npt.NDArray[np.intp]) -> FloatArray:
    rng = np.random.default_rng([seed, 1])
    volatility = np.full(len(days), _MARKET_VOL)
    drift = np.full(len(days), _MARKET_DRIFT / _YEAR)
    for first, last, move, multiplier in _EPISODES:
        inside = np.array([first <= day <= last for day in days])
        if inside.any():
            drift[inside] = move / inside.sum()
            volatility[inside] *= multiplier
    # Pinned so every seed has the drawdowns and the long-run return of the script.
    return drift + _pinned(volatility * rng.standard_normal(len(days)), segments)


def _parameters(asset: DemoAsset, rng: np.random.Generator) -> tuple[float, float, float, float, str | None]:
    """(yearly drift over the market, beta, yearly volatility, sector loading, sector)."""
    focus = asset.focus or ""
    if asset.isin in _CORE_PARAMETERS:
        drift, beta, volatility = _CORE_PARAMETERS[asset.isin]
        return drift, beta, volatility, 0.0, asset.sector
    if asset.kind == "stock":
        return (
            rng.normal(0.0, 0.05),
            rng.uniform(0.6, 1.4),
            rng.uniform(0.15, 0.40),
            rng.uniform(0.5, 1.5),
            asset.sector,
        )
    if focus.startswith("sector:"):
        return rng.normal(0.0, 0.02), 1.0, 0.05, 1.0, focus.removeprefix("sector:")
    if focus.startswith("bond"):
        return 0.02 - 0.05 * _MARKET_DRIFT, 0.05, 0.04, 0.0, None
    if focus == "em":
        return rng.normal(-0.03, 0.01), 0.8, 0.08, 0.0, None
    if focus.startswith("fof"):
        beta = 0.6 if focus == "fof1" else 0.75
        return 0.03 - beta * _MARKET_DRIFT + rng.normal(0.0, 0.005), beta, 0.02, 0.0, None
    return rng.normal(0.0, 0.01), rng.uniform(0.9, 1.1), 0.03, 0.0, None


def _asset_rng(seed: int, isin: str) -> np.random.Generator:
    return np.random.default_rng([seed, 3, int.from_bytes(hashlib.blake2b(isin.encode(), digest_size=8).digest())])


def _decimals_of(asset: DemoAsset) -> int:
    if asset.currency == "GBP":
        return 4  # London quotes pence; in pounds that is up to four decimals
    return 3 if asset.kind == "etf" else 2


def generate_market(
    assets: Sequence[DemoAsset], *, seed: int, start: dt.date = START, end: dt.date = END
) -> DemoMarket:
    """The closes of ``assets`` and the EUR rates on every weekday from ``start`` to ``end``."""
    days = _weekdays(start, end)
    count = len(days)
    segments = _segments(days)
    market = _market_factor(days, seed, segments)
    sectors = np.random.default_rng([seed, 2]).normal(0.0, _SECTOR_VOL, (len(SECTORS), count))
    closed = {
        calendar: np.array([day in holidays for day in days])
        for calendar in ("EU", "US")
        for holidays in [set().union(*(exchange_holidays(calendar, y) for y in range(start.year, end.year + 1)))]
    }
    keep = {0, count - 1, *([days.index(APPLE_SPLIT)] if APPLE_SPLIT in days else [])}
    returns = np.empty((len(assets), count))
    open_days = np.empty((len(assets), count), dtype=bool)
    for row, asset in enumerate(assets):
        rng = _asset_rng(seed, asset.isin)
        drift, beta, volatility, loading, sector = _parameters(asset, rng)
        own = rng.standard_normal(count) * (volatility / np.sqrt(_YEAR))
        if asset.isin in _CORE_PARAMETERS:  # the famous names end near where they really did
            own = _pinned(own, segments)
        own += drift / _YEAR
        returns[row] = own + beta * market
        if sector is not None and loading:
            returns[row] += loading * sectors[SECTORS.index(sector)]
        open_days[row] = ~closed["US" if asset.currency == "USD" else "EU"]
        gaps = [int(day) for day in rng.integers(0, count, int(rng.integers(0, 4))) if int(day) not in keep]
        open_days[row, gaps] = False
    returns[:, 0] = 0.0
    starts = np.log(np.array([float(asset.start_price) for asset in assets]))
    closes = np.exp(np.cumsum(returns, axis=1) + starts[:, None])
    if APPLE_SPLIT in days and any(asset.isin == APPLE for asset in assets):
        closes[[asset.isin for asset in assets].index(APPLE), days.index(APPLE_SPLIT) :] /= 4
    decimals = np.array([_decimals_of(asset) for asset in assets], dtype=np.int64)
    units = np.maximum(np.rint(closes * (10.0**decimals)[:, None]), 1).astype(np.int64)
    return DemoMarket(assets, days, units=units, open_days=open_days, decimals=decimals, fx_units=_fx_units(days, seed))


def _fx_units(days: list[dt.date], seed: int) -> IntArray:
    """Each pair's rate x 10**4 on every weekday: a mean-reverting walk around its anchors."""
    rng = np.random.default_rng([seed, 4])
    ordinals = np.array([day.toordinal() for day in days], dtype=np.float64)
    shocks = rng.standard_normal((len(PAIRS), len(days))) * 0.004
    noise = np.zeros_like(shocks)
    for column in range(1, len(days)):  # Ornstein-Uhlenbeck: about 2% around the level
        noise[:, column] = noise[:, column - 1] * 0.98 + shocks[:, column]
    found = np.empty((len(PAIRS), len(days)), dtype=np.int64)
    for row, pair in enumerate(PAIRS):
        anchors = _FX_ANCHORS[pair]
        at = [dt.date.fromisoformat(day).toordinal() for day, _ in anchors]
        level = np.interp(ordinals, at, np.log([rate for _, rate in anchors]))
        found[row] = np.rint(np.exp(level + noise[row]) * 10**_FX_DECIMALS).astype(np.int64)
    return found
