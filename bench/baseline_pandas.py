"""The analytics benchmark's baseline: daily values and performance in pandas, from CSV files.

    python bench/baseline_pandas.py CSV_DIR [--portfolio NAME] [--runs N] [--values OUT.csv] [--out OUT.json]

What an analyst competent with pandas would write for the same figures as Prism's value
history and performance (vectorised, float64), from the files ``bench/analytics.py``
exports: ``transactions.csv``, ``assets.csv``, ``portfolios.csv``, ``owner.csv`` (the
owner's base currency), ``prices.csv`` and ``fx.csv``. The same rules as Prism's:

* entries in ledger order (date, entry order, id); quantities per portfolio, asset and
  day from buys, sells, deliveries, security transfers and splits (a split scales every
  position of its asset, in ledger order);
* each position priced with the last close on or before the day (``merge_asof``), or
  the last trade price while the asset has no close yet; converted with the day's rate
  (the last on or before it) of the stored pair, its inverse (rounded to 12 places), or
  a cross through a third currency; cash per currency converted the same way;
* flows: deposits, withdrawals and deliveries (at the entry's rate, or the day's),
  transfers between portfolios (cash, or securities at the day's price), internal to
  the owner; the total of all portfolios in the owner's currency leaves internal ones out;
* each day's value to 10 places, as Prism stores it; TTWROR with inflows at the start
  of the day and outflows at its end, XIRR (Act/365), the sample volatility of the daily
  returns, and the maximum drawdown of the TTWROR index.

Prints (or writes to ``--out``) the median time of ``--runs`` runs over all portfolios
(and over the one named by ``--portfolio``), this process's peak memory, and the
performance figures; ``--values`` writes every day's value for the comparison.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = ["Result", "compute", "load", "measures", "run"]

ALL = "all"
_DAY = pd.Timedelta(days=1)
_INCOME_IN = ["sell", "dividend", "interest", "deposit"]
_SPENT = ["buy", "withdrawal", "fee", "tax"]
_TRADES = ["buy", "sell", "delivery_in", "delivery_out"]
_FLOW_IN, _FLOW_OUT = ["deposit", "delivery_in"], ["withdrawal", "delivery_out"]


class Inputs(NamedTuple):
    """The CSV files, read."""

    transactions: pd.DataFrame
    assets: pd.DataFrame
    portfolios: pd.DataFrame
    owner_base: str
    prices: pd.DataFrame
    fx: pd.DataFrame


class Result(NamedTuple):
    """Every day's value and flows per portfolio (and ``all``), and each one's performance."""

    values: pd.DataFrame  # portfolio (name), date, value, inflow, outflow
    performance: dict[str, dict[str, float | None]]


def load(folder: Path) -> Inputs:
    """Read the exported ledger and market data."""
    text = dict.fromkeys(("id", "portfolio_id", "type", "currency", "asset_id", "target_portfolio_id"), str)
    numbers = dict.fromkeys(("quantity", "price", "amount", "fee", "tax", "fx_rate", "ratio"), "float64")
    transactions = pd.read_csv(
        folder / "transactions.csv",
        dtype=text | numbers | {"entry_order": "int64"},
        parse_dates=["date"],
        engine="pyarrow",
    )
    assets = pd.read_csv(folder / "assets.csv", dtype=str, engine="pyarrow")
    portfolios = pd.read_csv(folder / "portfolios.csv", dtype=str, engine="pyarrow")
    owner = pd.read_csv(folder / "owner.csv", dtype=str)
    prices = pd.read_csv(
        folder / "prices.csv",
        dtype={"isin": str, "close": "float64", "currency": str},
        parse_dates=["date"],
        engine="pyarrow",
    )
    fx = pd.read_csv(folder / "fx.csv", dtype={"pair": str, "rate": "float64"}, parse_dates=["date"], engine="pyarrow")
    prices = prices.sort_values("date", kind="stable", ignore_index=True)  # merge_asof wants it so
    return Inputs(transactions, assets, portfolios, str(owner.base_currency.iloc[0]), prices, fx)


# --- FX: each currency into each base, by date -------------------------------------------


def _route(currency: str, base: str, pairs: set[str]) -> list[tuple[str, bool]] | None:
    """The stored pairs (inverted or not) that turn ``currency`` into ``base``: direct, inverse, or a cross."""
    if currency + base in pairs:
        return [(currency + base, False)]
    if base + currency in pairs:
        return [(base + currency, True)]
    middles = ({pair[:3] for pair in pairs} | {pair[3:] for pair in pairs}) - {currency, base}
    for middle in sorted(middles):
        first = _route(currency, middle, {p for p in pairs if middle in p and currency in p})
        second = _route(middle, base, {p for p in pairs if middle in p and base in p})
        if first and second:
            return first + second
    return None


def conversion_rates(fx: pd.DataFrame, currencies: set[str], bases: set[str]) -> pd.DataFrame:
    """Rates (base, currency, date, rate) turning one unit of ``currency`` into ``base``, sorted by date."""
    series = {pair: frame.set_index("date").rate for pair, frame in fx.groupby("pair")}
    parts = []
    for base in sorted(bases):
        parts.append(pd.DataFrame({"base": base, "currency": base, "date": [pd.Timestamp(1900, 1, 1)], "rate": 1.0}))
        wanted = currencies - {base}
        pairs = {pair for pair in series if pair[:3] in wanted | {base} or pair[3:] in wanted | {base}}
        for currency in sorted(wanted):
            route = _route(currency, base, pairs)
            if route is None:
                continue
            legs = [(1 / series[pair]).round(12) if inverted else series[pair] for pair, inverted in route]
            combined = pd.concat(legs, axis=1, sort=True).ffill().dropna()
            rate = combined.prod(axis=1).round(12)
            parts.append(pd.DataFrame({"base": base, "currency": currency, "date": rate.index, "rate": rate.values}))
    return pd.concat(parts, ignore_index=True).sort_values("date", kind="stable")


def _convert(frame: pd.DataFrame, rates: pd.DataFrame, currency: str = "currency") -> pd.Series:
    """Each row's rate on its date turning its ``currency`` column into its ``base``."""
    left = frame[["date", "base", currency]].rename(columns={currency: "currency"})
    left = left.assign(row=np.arange(len(left))).sort_values("date", kind="stable")
    found = pd.merge_asof(left, rates, on="date", by=["base", "currency"])
    return found.sort_values("row").rate.to_numpy()


# --- carrying events forward to every day -------------------------------------------------


def _spread(events: pd.DataFrame, keys: list[str], end: pd.Timestamp) -> pd.DataFrame:
    """Each end-of-day state (``events``: keys, date, ...) repeated on every day until the next one."""
    events = events.sort_values([*keys, "date"], kind="stable").reset_index(drop=True)
    following = events.groupby(keys, sort=False).date.shift(-1)
    until = following.fillna(end + _DAY) - _DAY
    lengths = ((until - events.date) // _DAY).astype(np.int64) + 1
    rows = np.repeat(np.arange(len(events)), lengths)
    offsets = np.arange(len(rows)) - np.repeat(np.cumsum(lengths.to_numpy()) - lengths.to_numpy(), lengths)
    spread = events.iloc[rows].reset_index(drop=True)
    spread["date"] = spread.date + pd.to_timedelta(offsets, unit="D")
    return spread


def _end_of_day(frame: pd.DataFrame, keys: list[str], column: str) -> pd.DataFrame:
    return frame.groupby([*keys, "date"], sort=False, as_index=False)[column].last()


# --- the computation -------------------------------------------------------------------------


def _ledger(inputs: Inputs) -> pd.DataFrame:
    tx = inputs.transactions
    tx = tx[tx.portfolio_id.isin(inputs.portfolios.id)]
    tx = tx.sort_values(["date", "entry_order", "id"], kind="stable").reset_index(drop=True)
    tx["seq"] = np.arange(len(tx))
    tx["gross"] = tx.amount.fillna(tx.quantity * tx.price).fillna(0.0)
    tx[["fee", "tax"]] = tx[["fee", "tax"]].fillna(0.0)
    return tx


def _quantities(tx: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Quantity held per portfolio, asset and day (only days with something held)."""
    kind = tx.type
    moved = tx.asset_id.notna()
    transfers = tx[(kind == "transfer") & moved]
    moves = pd.concat(
        [
            tx.loc[kind.isin(["buy", "delivery_in"]), ["portfolio_id", "asset_id", "seq", "date", "quantity"]],
            tx.loc[kind.isin(["sell", "delivery_out"]), ["portfolio_id", "asset_id", "seq", "date"]].assign(
                quantity=-tx.quantity
            ),
            transfers[["portfolio_id", "asset_id", "seq", "date"]].assign(quantity=-transfers.quantity),
            transfers[["target_portfolio_id", "asset_id", "seq", "date", "quantity"]].rename(
                columns={"target_portfolio_id": "portfolio_id"}
            ),
        ]
    ).sort_values("seq", kind="stable")
    splits = tx.loc[kind == "split", ["asset_id", "seq", "date", "ratio"]]
    splits["factor"] = splits.groupby("asset_id").ratio.cumprod()
    # A quantity in "units" (before every later split) adds up across splits; the day's factor scales it back.
    factor = pd.merge_asof(moves, splits[["asset_id", "seq", "factor"]], on="seq", by="asset_id").factor
    moves["units"] = moves.quantity.to_numpy() / factor.fillna(1.0).to_numpy()
    moves["units"] = moves.groupby(["portfolio_id", "asset_id"]).units.cumsum().round(10)
    held = _spread(
        _end_of_day(moves[moves.date <= end], ["portfolio_id", "asset_id"], "units"), ["portfolio_id", "asset_id"], end
    )
    held = held[held.units != 0].reset_index(drop=True)
    held["quantity"] = held.units
    split = held.asset_id.isin(splits.asset_id)  # only these need the day's split factor
    if split.any():
        day_factor = _end_of_day(splits, ["asset_id"], "factor").sort_values("date")
        scaled = pd.merge_asof(held[split].reset_index().sort_values("date"), day_factor, on="date", by="asset_id")
        held.loc[scaled["index"], "quantity"] = (scaled.units * scaled.factor.fillna(1.0)).to_numpy()
    return held.drop(columns=["units"])


def _price(frame: pd.DataFrame, inputs: Inputs, trades: pd.DataFrame) -> pd.DataFrame:
    """The last close on or before each row's date, else the last trade price, and its currency."""
    isins = inputs.assets.set_index("id")["isin"]
    frame = frame.assign(isin=frame.asset_id.map(isins).fillna("")).sort_values("date", kind="stable")
    frame = pd.merge_asof(frame, inputs.prices, on="date", by="isin")
    frame = pd.merge_asof(frame, trades, on="date", by="asset_id", suffixes=("", "_trade"))
    closed = frame.close.notna()
    frame["price"] = frame.close.where(closed, frame.trade_price)
    frame["price_currency"] = frame.currency.where(closed, frame.currency_trade)
    return frame.drop(columns=["isin", "close", "currency", "trade_price", "currency_trade"])


def _cash(tx: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Cash balance per portfolio, currency and day."""
    kind, costs = tx.type, tx.fee + tx.tax
    cash_transfer = (kind == "transfer") & tx.asset_id.isna()
    columns = ["portfolio_id", "currency", "seq", "date"]
    effects = pd.concat(
        [
            tx.loc[kind.isin(_INCOME_IN), columns].assign(delta=tx.gross - costs),
            tx.loc[kind.isin(_SPENT), columns].assign(delta=-(tx.gross + costs)),
            tx.loc[(kind == "transfer") & tx.asset_id.notna() & (costs != 0), columns].assign(delta=-costs),
            tx.loc[cash_transfer, columns].assign(delta=-(tx.gross + costs)),
            tx.loc[cash_transfer, ["target_portfolio_id", "currency", "seq", "date"]]
            .rename(columns={"target_portfolio_id": "portfolio_id"})
            .assign(delta=tx.gross),
        ]
    ).sort_values("seq", kind="stable")
    effects["balance"] = effects.groupby(["portfolio_id", "currency"]).delta.cumsum().round(10)
    cash = _spread(
        _end_of_day(effects[effects.date <= end], ["portfolio_id", "currency"], "balance"),
        ["portfolio_id", "currency"],
        end,
    )
    return cash[cash.balance != 0]


def _flows(
    tx: pd.DataFrame, inputs: Inputs, trades: pd.DataFrame, rates: pd.DataFrame, bases: pd.Series
) -> pd.DataFrame:
    """Every flow's value in its portfolio's base currency, with its direction and whether it is internal."""
    kind = tx.type
    columns = ["portfolio_id", "date", "currency", "gross"]
    external = tx.loc[kind.isin(_FLOW_IN + _FLOW_OUT), [*columns, "fx_rate"]].assign(
        inflow=kind.isin(_FLOW_IN), internal=False
    )
    cash_moves = tx[(kind == "transfer") & tx.asset_id.isna()]
    target = {"target_portfolio_id": "portfolio_id"}
    money = pd.concat(
        [
            external,
            cash_moves[columns].assign(inflow=False, internal=True),
            cash_moves[["target_portfolio_id", "date", "currency", "gross"]]
            .rename(columns=target)
            .assign(inflow=True, internal=True),
        ],
        ignore_index=True,
    )
    money["base"] = money.portfolio_id.map(bases)
    # The entry's own rate (1 in the base currency); a transfer, or an entry without one, takes the day's.
    rate = money.fx_rate.where(~money.internal).where(money.currency != money.base, 1.0)
    money["value"] = money.gross * rate.fillna(pd.Series(_convert(money, rates), index=money.index))
    moved = tx[(kind == "transfer") & tx.asset_id.notna()]
    securities = pd.concat(
        [
            moved[["portfolio_id", "asset_id", "date", "quantity"]].assign(inflow=False),
            moved[["target_portfolio_id", "asset_id", "date", "quantity"]].rename(columns=target).assign(inflow=True),
        ],
        ignore_index=True,
    ).assign(internal=True)
    if len(securities):
        securities = _price(securities, inputs, trades)
        securities["base"] = securities.portfolio_id.map(bases)
        securities["value"] = securities.quantity * securities.price * _convert(securities, rates, "price_currency")
    keep = ["portfolio_id", "date", "inflow", "internal", "value"]
    return pd.concat([money[keep], securities.reindex(columns=keep)], ignore_index=True)


def _flow_sums(flows: pd.DataFrame) -> pd.DataFrame:
    value, inflow, external = flows.value, flows.inflow.astype(bool), ~flows.internal.astype(bool)
    sums = flows[["portfolio_id", "date"]].assign(
        inflow=value.where(inflow, 0.0),
        outflow=value.where(~inflow, 0.0),
        external_inflow=value.where(inflow & external, 0.0),
        external_outflow=value.where(~inflow & external, 0.0),
    )
    return sums.groupby(["portfolio_id", "date"], as_index=False).sum()


def compute(inputs: Inputs, portfolio: str | None = None, *, today: dt.date | None = None) -> Result:
    """Daily values and performance of every portfolio and their total (or of the one named ``portfolio``)."""
    every = _ledger(inputs)
    last_price = inputs.prices.date.max()
    end = min(pd.Timestamp(today or dt.datetime.now(dt.UTC).date()), max(last_price, every.date.max()))
    books = inputs.portfolios if portfolio is None else inputs.portfolios[inputs.portfolios.name == portfolio]
    bases = books.set_index("id").base_currency
    tx = every
    if portfolio is not None:  # its own entries, transfers into it, and every split (they scale what it holds)
        ids = set(books.id)
        tx = every[every.portfolio_id.isin(ids) | every.target_portfolio_id.isin(ids) | (every.type == "split")]
    first = (
        pd.concat(
            [
                tx[["portfolio_id", "date"]],
                tx[["target_portfolio_id", "date"]].rename(columns={"target_portfolio_id": "portfolio_id"}),
            ]
        )
        .groupby("portfolio_id")
        .date.min()
    )
    first = first[first.index.isin(bases.index)]
    quoted = every[every.type.isin(_TRADES) & (every.quantity > 0)]
    trades = quoted[["asset_id", "date", "currency"]].assign(
        trade_price=quoted.price.fillna(quoted.gross / quoted.quantity)
    )
    currencies = set(every.currency) | set(inputs.prices.currency.unique()) | set(bases)
    rates = conversion_rates(inputs.fx, currencies, set(bases) | {inputs.owner_base})

    held = _quantities(tx, end)
    held = _price(held[held.portfolio_id.isin(bases.index)], inputs, trades)
    held["base"] = held.portfolio_id.map(bases)
    held["value"] = held.quantity * held.price * _convert(held, rates, "price_currency")
    securities = (
        held.groupby(["portfolio_id", "date"], as_index=False).value.sum().rename(columns={"value": "securities"})
    )
    cash = _cash(tx, end)
    cash = cash[cash.portfolio_id.isin(bases.index)].assign(base=lambda c: c.portfolio_id.map(bases))
    cash["cash"] = cash.balance * _convert(cash, rates)
    cash = cash.groupby(["portfolio_id", "date"], as_index=False).cash.sum()
    flows = _flows(tx, inputs, trades, rates, bases)
    flows = _flow_sums(flows[flows.portfolio_id.isin(bases.index) & (flows.date <= end)])

    days = pd.concat(
        [pd.DataFrame({"portfolio_id": ident, "date": pd.date_range(day, end)}) for ident, day in first.items()],
        ignore_index=True,
    )
    daily = days.merge(securities, how="left").merge(cash, how="left").merge(flows, how="left").fillna(0.0)
    daily["value"] = (daily.securities + daily.cash).round(10)
    daily["base"] = daily.portfolio_id.map(bases)
    daily["portfolio"] = daily.portfolio_id.map(books.set_index("id").name)
    series = daily[["portfolio", "date", "value", "inflow", "outflow"]]
    if portfolio is None:
        rate = _convert(daily.assign(base=inputs.owner_base, currency=daily.base), rates)
        total = daily[["date"]].assign(
            value=daily.value * rate, inflow=daily.external_inflow * rate, outflow=daily.external_outflow * rate
        )
        total = total.groupby("date", as_index=False).sum().round({"value": 10, "inflow": 10, "outflow": 10})
        total["portfolio"] = ALL
        series = pd.concat([series, total[series.columns]], ignore_index=True)
    performance = {name: measures(frame) for name, frame in series.groupby("portfolio", sort=False)}
    return Result(series.sort_values(["portfolio", "date"], ignore_index=True), performance)


# --- performance ------------------------------------------------------------------------------


def _xirr(days: np.ndarray, amounts: np.ndarray) -> float:
    """The yearly rate (Act/365) at which the flows' present value is zero: Newton inside a bisection bracket."""
    years = (days - days.min()) / 365.0

    def present(rate: float) -> tuple[float, float]:
        discount = (1.0 + rate) ** -years
        return float(np.sum(amounts * discount)), float(np.sum(-years * amounts * discount / (1.0 + rate)))

    low, high = -0.999999, 1.0
    while present(high)[0] > 0 and high < 1e6:
        low, high = high, high * 2
    rate = (low + high) / 2
    for _ in range(200):
        value, slope = present(rate)
        if value > 0:
            low = rate
        else:
            high = rate
        candidate = rate - value / slope if slope else None
        if candidate is None or not low < candidate < high:
            candidate = (low + high) / 2
        if abs(candidate - rate) < 1e-15 or high - low < 1e-15:
            return candidate
        rate = candidate
    return rate


def measures(days: pd.DataFrame) -> dict[str, float | None]:
    """TTWROR, IRR, volatility and maximum drawdown of one series (date order; nothing before it)."""
    value, inflow, outflow = (days[c].to_numpy() for c in ("value", "inflow", "outflow"))
    start = np.concatenate([[0.0], value[:-1]]) + inflow
    returns = np.divide(value + outflow, start, out=np.ones_like(value), where=start != 0) - 1.0
    index = np.cumprod(1.0 + returns)
    peaks = np.maximum.accumulate(np.maximum(index, 1.0))
    ordinals = days.date.to_numpy().astype("datetime64[D]").astype(np.int64)
    flows_days = np.concatenate([ordinals[inflow != 0] - 1, ordinals[outflow != 0], ordinals[-1:]])
    flows = np.concatenate([-inflow[inflow != 0], outflow[outflow != 0], value[-1:]])
    both_ways = (flows < 0).any() and (flows > 0).any()
    return {
        "ttwror": float(index[-1] - 1.0),
        "irr": _xirr(flows_days, flows) if both_ways else None,
        "volatility": float(np.std(returns, ddof=1)) if len(returns) > 1 else 0.0,
        "max_drawdown": float(min(0.0, np.min(index / peaks - 1.0))),
        "end_value": float(value[-1]),
    }


# --- the command -------------------------------------------------------------------------------


def run(folder: Path, portfolio: str | None = None) -> Result:
    """Read the CSV files and compute: what the benchmark times."""
    return compute(load(folder), portfolio)


def _peak_mb() -> float:
    """Peak resident memory (``VmHWM``: ``ru_maxrss`` would include the parent's peak, carried over the exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="the folder of CSV files bench/analytics.py exported")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--portfolio", help="also time one portfolio, by name")
    parser.add_argument("--values", type=Path, help="write every day's value and flows here (CSV)")
    parser.add_argument("--out", type=Path, help="write the figures here (JSON) instead of printing them")
    args = parser.parse_args()
    times, result = [], None
    for _ in range(args.runs):
        started = time.perf_counter()
        result = run(args.folder)
        times.append(time.perf_counter() - started)
    assert result is not None
    figures: dict[str, Any] = {
        "all_ms": statistics.median(times) * 1000,
        "all_samples_ms": [t * 1000 for t in times],
        "performance": result.performance,
        "days": len(result.values),
    }
    if args.portfolio:
        one = []
        for _ in range(args.runs):
            started = time.perf_counter()
            run(args.folder, args.portfolio)
            one.append(time.perf_counter() - started)
        figures["one_ms"] = statistics.median(one) * 1000
        figures["one_samples_ms"] = [t * 1000 for t in one]
    figures["peak_mb"] = _peak_mb()
    if args.values:
        values = result.values.assign(date=result.values.date.dt.strftime("%Y-%m-%d"))
        values.to_csv(args.values, index=False, float_format="%.10f")
    if args.out:
        args.out.write_text(json.dumps(figures))
    else:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
