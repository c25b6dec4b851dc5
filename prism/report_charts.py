"""Charts of ``prism report``, drawn with matplotlib into PNG or SVG files.

Each function takes the figures and a path (its suffix, ``.png`` or ``.svg``, picks the
format), writes one chart and returns the path. A chart with nothing to show says "no
data" instead of failing, so a report of an empty portfolio still writes its files.

Figures are built on matplotlib's non-interactive Agg canvas, never through ``pyplot``:
no display is needed, and no global figure state is shared between calls or threads.
Money and rates stay :class:`~decimal.Decimal` up to the moment they are handed to
matplotlib, which draws floats; that conversion is for drawing only.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from prism.domain.returns import DailyValue, daily_returns
from prism.errors import ValidationError

__all__ = [
    "FORMATS",
    "Bar",
    "cumulative_invested",
    "drawdown_chart",
    "drawdown_series",
    "exposure_bars",
    "exposure_chart",
    "value_history_chart",
]

#: The file formats a chart can be written in (a path's suffix without the dot).
FORMATS = ("png", "svg")
_CONTEXT = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
_ZERO = Decimal(0)
_ONE = Decimal(1)
_SIZE = (10.0, 5.0)
_DPI = 120
_VALUE_COLOUR = "#1f77b4"
_FLOWS_COLOUR = "#7f7f7f"
_DRAWDOWN_COLOUR = "#d62728"
_UNRESOLVED_COLOUR = "#bdbdbd"
_OTHER = "other"


class Bar(NamedTuple):
    """One bar of the exposure chart."""

    label: str
    value: Decimal
    unresolved: bool = False


def cumulative_invested(days: Sequence[DailyValue], opening: Decimal = _ZERO) -> list[Decimal]:
    """The money invested at the end of each day: ``opening`` plus the net flows so far."""
    invested, found = opening, []
    for day in days:
        invested = _CONTEXT.add(invested, _CONTEXT.subtract(day.inflow, day.outflow))
        found.append(invested)
    return found


def drawdown_series(days: Sequence[DailyValue], opening: Decimal = _ZERO) -> list[Decimal]:
    """Each day's drawdown of the TTWROR index from its running peak (0, or negative).

    The index starts at 1 before the first day, as in :func:`prism.domain.returns.max_drawdown`,
    so the deepest value here is that function's depth.
    """
    level = peak = _ONE
    found = []
    for rate in daily_returns(days, opening):
        level = _CONTEXT.multiply(level, _CONTEXT.add(_ONE, rate))
        peak = max(peak, level)
        found.append(_CONTEXT.subtract(_CONTEXT.divide(level, peak), _ONE))
    return found


def exposure_bars(groups: Sequence[tuple[str, Decimal]], unresolved: Decimal, *, limit: int = 20) -> list[Bar]:
    """The bars to draw: the ``limit`` largest groups, the rest as "other", unresolved last."""
    ordered = sorted(groups, key=lambda group: (-group[1], group[0]))
    bars = [Bar(label, value) for label, value in ordered[:limit]]
    rest = sum((value for _, value in ordered[limit:]), _ZERO)
    if rest:
        bars.append(Bar(_OTHER, rest))
    if unresolved:
        bars.append(Bar("unresolved", unresolved, unresolved=True))
    return bars


def _canvas(path: Path) -> tuple[Figure, Axes]:
    if path.suffix.lstrip(".") not in FORMATS:
        raise ValidationError(f"a chart is written as {' or '.join(FORMATS)}, not {path.suffix or 'no suffix'}")
    figure = Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".svg":
        # Text stays text (searchable, smaller) and no creation date: the same figures give the same file.
        with rc_context({"svg.fonttype": "none", "svg.hashsalt": "prism"}):
            figure.savefig(path, metadata={"Date": None})
    else:
        figure.savefig(path)
    return path


def _no_data(figure: Figure, axes: Axes, title: str, path: Path) -> Path:
    axes.set_axis_off()
    axes.set_title(title)
    axes.text(0.5, 0.5, "no data", ha="center", va="center", fontsize=16, color=_FLOWS_COLOUR)
    return _save(figure, path)


def _date_axis(axes: Axes) -> None:
    # matplotlib ships its date locator and formatter without annotations.
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    axes.grid(visible=True, alpha=0.3)


def _money_ticks(value: float, _position: float) -> str:
    return f"{value:,.0f}"


def _dates(days: Sequence[DailyValue]) -> npt.NDArray[np.datetime64]:
    return np.array([day.date for day in days], dtype="datetime64[D]")


def _floats(values: Sequence[Decimal]) -> list[float]:
    # Drawing only: matplotlib plots floats. Every printed figure stays Decimal.
    return [float(value) for value in values]


def value_history_chart(
    days: Sequence[DailyValue],
    currency: str,
    path: Path,
    *,
    opening: Decimal = _ZERO,
    title: str = "Value history",
) -> Path:
    """The value at each day's end, and the money invested (``opening`` plus net flows)."""
    figure, axes = _canvas(path)
    if not days:
        return _no_data(figure, axes, title, path)
    dates = _dates(days)
    axes.plot(dates, _floats([day.value for day in days]), color=_VALUE_COLOUR, linewidth=1.4, label="value")
    axes.step(
        dates,
        _floats(cumulative_invested(days, opening)),
        where="post",
        color=_FLOWS_COLOUR,
        linewidth=1.1,
        label="invested (opening value + net flows)",
    )
    axes.set_title(title)
    axes.set_ylabel(currency)
    axes.yaxis.set_major_formatter(FuncFormatter(_money_ticks))
    _date_axis(axes)
    axes.legend(loc="upper left")
    return _save(figure, path)


def drawdown_chart(
    days: Sequence[DailyValue], path: Path, *, opening: Decimal = _ZERO, title: str = "Drawdown"
) -> Path:
    """The drawdown of the TTWROR index from its running peak, filled down from zero."""
    figure, axes = _canvas(path)
    if not days:
        return _no_data(figure, axes, title, path)
    dates = _dates(days)
    depths = _floats(drawdown_series(days, opening))
    axes.fill_between(dates, depths, 0.0, color=_DRAWDOWN_COLOUR, alpha=0.35, linewidth=0)
    axes.plot(dates, depths, color=_DRAWDOWN_COLOUR, linewidth=0.9)
    deepest = min(depths)
    axes.set_ylim(min(deepest * 1.1, -0.01), 0.0)
    axes.set_title(f"{title} (deepest {deepest:.2%})")
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0 if deepest < -0.05 else 1))
    _date_axis(axes)
    return _save(figure, path)


def exposure_chart(
    groups: Sequence[tuple[str, Decimal]],
    unresolved: Decimal,
    currency: str,
    path: Path,
    *,
    title: str = "Exposure",
    limit: int = 20,
) -> Path:
    """Horizontal bars of value per group, largest on top; the unresolved share is its own bar."""
    figure, axes = _canvas(path)
    bars = exposure_bars(groups, unresolved, limit=limit)
    total = sum((bar.value for bar in bars), _ZERO)
    if not bars or total == 0:
        return _no_data(figure, axes, title, path)
    figure.set_size_inches(_SIZE[0], max(3.0, 1.2 + 0.32 * len(bars)))
    positions = list(range(len(bars)))
    values = _floats([bar.value for bar in bars])
    colours = [_UNRESOLVED_COLOUR if bar.unresolved else _VALUE_COLOUR for bar in bars]
    drawn = axes.barh(positions, values, color=colours)
    for patch, bar in zip(drawn.patches, bars, strict=True):
        if bar.unresolved:
            patch.set_hatch("//")
    axes.set_yticks(positions, [bar.label for bar in bars])
    axes.invert_yaxis()
    share = [f"{_CONTEXT.divide(bar.value, total):.1%}" for bar in bars]
    axes.bar_label(drawn, labels=share, padding=3, fontsize=8)
    axes.set_xlabel(currency)
    axes.xaxis.set_major_formatter(FuncFormatter(_money_ticks))
    axes.margins(x=0.12)
    axes.grid(axis="x", alpha=0.3)
    axes.set_title(title)
    return _save(figure, path)
