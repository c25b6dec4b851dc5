"""The report's charts: the series they draw, worked by hand, and the files they write."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from prism.domain.returns import DailyValue, max_drawdown
from prism.errors import ValidationError
from prism.report_charts import (
    Bar,
    cumulative_invested,
    drawdown_chart,
    drawdown_series,
    exposure_bars,
    exposure_chart,
    value_history_chart,
)
from tests.builders import D

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}svg"

# 100 deposited on the 1st; the index goes 1, 1.1, 0.99, 1.21 (a 10% fall from the 2nd's peak),
# and 50 more comes in on the 4th (a flow, not a gain: 171 = 1.21 * 100 + 50).
DAYS = [
    DailyValue(dt.date(2024, 1, 1), D(100), inflow=D(100)),
    DailyValue(dt.date(2024, 1, 2), D(110)),
    DailyValue(dt.date(2024, 1, 3), D(99)),
    DailyValue(dt.date(2024, 1, 4), D(171), inflow=D(50)),
]


def _svg_text(path: Path) -> str:
    root = ET.parse(path).getroot()
    assert root.tag == SVG
    return " ".join(text for element in root.iter() if (text := element.text) and text.strip())


def test_drawdown_is_the_fall_of_the_return_index_from_its_peak() -> None:
    assert drawdown_series(DAYS) == [D(0), D(0), D("0.99") / D("1.1") - 1, D(0)]


def test_deepest_drawdown_drawn_is_the_measured_maximum_drawdown() -> None:
    assert min(drawdown_series(DAYS)) == max_drawdown(DAYS).depth


def test_drawdown_counts_from_the_opening_value() -> None:
    # Opening at 200, the 1st's 100 (after 100 in) is a fall to 100 / 300 of the index.
    depth = drawdown_series(DAYS[:1], D(200))[0]
    assert abs(Fraction(depth) - Fraction(-2, 3)) < Fraction(1, 10**35)


def test_invested_money_is_the_opening_value_plus_net_flows() -> None:
    days = [*DAYS, DailyValue(dt.date(2024, 1, 5), D(140), outflow=D(30))]
    assert cumulative_invested(days, D(10)) == [D(110), D(110), D(110), D(160), D(130)]


def test_exposure_bars_keep_the_largest_sum_the_rest_and_show_unresolved_last() -> None:
    groups = [("DE", D(5)), ("US", D(60)), ("FR", D(7)), ("JP", D(20))]
    assert exposure_bars(groups, D(8), limit=2) == [
        Bar("US", D(60)),
        Bar("JP", D(20)),
        Bar("other", D(12)),
        Bar("unresolved", D(8), unresolved=True),
    ]
    assert exposure_bars(groups, D(0), limit=10)[-1] == Bar("DE", D(5))


@pytest.mark.parametrize("extension", ["png", "svg"])
def test_charts_are_written_in_the_format_of_their_suffix(tmp_path: Path, extension: str) -> None:
    written = [
        value_history_chart(DAYS, "EUR", tmp_path / f"value.{extension}", title="Value of P0"),
        drawdown_chart(DAYS, tmp_path / f"drawdown.{extension}"),
        exposure_chart([("US", D(60)), ("DE", D(30))], D(10), "EUR", tmp_path / f"exposure.{extension}"),
    ]
    for path in written:
        if extension == "png":
            assert path.read_bytes().startswith(PNG_SIGNATURE)
        else:
            ET.parse(path)
    if extension == "svg":
        assert "Value of P0" in _svg_text(written[0])
        assert "-10.00%" in _svg_text(written[1])  # the deepest fall, in the title
        exposure_text = _svg_text(written[2])
        assert "unresolved" in exposure_text
        assert "60.0%" in exposure_text


def test_an_empty_history_gives_charts_that_say_no_data(tmp_path: Path) -> None:
    written = [
        value_history_chart([], "EUR", tmp_path / "value.svg"),
        drawdown_chart([], tmp_path / "drawdown.svg"),
        exposure_chart([], Decimal(0), "EUR", tmp_path / "exposure.svg"),
        value_history_chart([], "EUR", tmp_path / "value.png"),
    ]
    for path in written[:3]:
        assert "no data" in _svg_text(path)
    assert written[3].read_bytes().startswith(PNG_SIGNATURE)


def test_the_same_figures_give_the_same_svg(tmp_path: Path) -> None:
    first = value_history_chart(DAYS, "EUR", tmp_path / "a.svg").read_bytes()
    assert value_history_chart(DAYS, "EUR", tmp_path / "b.svg").read_bytes() == first


def test_a_chart_in_another_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="png or svg"):
        value_history_chart(DAYS, "EUR", tmp_path / "value.pdf")
    assert not (tmp_path / "value.pdf").exists()
