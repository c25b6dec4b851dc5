"""Every command against a demo data directory, compared with golden transcripts of shapes.

The transcripts (``tests/fixtures/sidecar/*.json``) hold each request and the shape of
its answer (every leaf replaced by its JSON type), following the old sidecar's
handlers and the frontend's zod schemas; values change with the day, so they are
checked against Prism's own figures instead.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.integration.sidecar.conftest import PRISM, Sidecar, golden, shape_of

_MONEY = Decimal("0.01")


def _run_transcript(sidecar: Sidecar, name: str) -> None:
    """Replay a transcript's requests; each answer's shape and events next to the expected ones."""
    exchanges = golden(name)
    for exchange in exchanges:
        request = exchange["request"]
        answer, events = sidecar.answer(sidecar.send(request["command"], request.get("payload")))
        assert answer["id"] == sidecar.next_id - 1
        assert shape_of(answer) == exchange["response"], request["command"]
        assert [shape_of(event) for event in events] == exchange.get("events", []), request["command"]


def test_readiness_line_comes_first_with_version_and_pid(sidecar: Sidecar) -> None:
    assert shape_of(sidecar.ready) == golden("readiness.json")
    assert sidecar.ready["status"] == "ready"
    assert sidecar.ready["pid"] == sidecar.process.pid


def test_prism_sidecar_command_is_ready_and_healthy(demo_dir: Path) -> None:
    running = Sidecar(demo_dir, command=[PRISM, "sidecar"])
    try:
        assert running.ready["status"] == "ready"
        assert running.call("get_health")["data"]["dataDir"] == str(demo_dir)
    finally:
        running.stop()


def test_read_commands_answer_in_the_old_handlers_shapes(sidecar: Sidecar) -> None:
    _run_transcript(sidecar, "read_commands.json")


def test_write_commands_answer_in_the_old_handlers_shapes(writable_sidecar: Sidecar, tmp_path: Path) -> None:
    upload = tmp_path / "holdings.csv"
    upload.write_text("ISIN,Name,Weight\nUS0378331005,Apple Inc.,60\nUS5949181045,Microsoft Corp.,40\n", "utf-8")
    exchanges = golden("write_commands.json")
    for exchange in exchanges:
        request = exchange["request"]
        payload = dict(request.get("payload") or {})
        if "filePath" in payload:
            payload["filePath"] = str(upload)
        answer, events = writable_sidecar.answer(writable_sidecar.send(request["command"], payload))
        assert shape_of(answer) == exchange["response"], (request["command"], answer)
        assert [shape_of(event) for event in events] == exchange.get("events", []), request["command"]


def test_positions_and_dashboard_agree_with_each_other_to_the_cent(sidecar: Sidecar) -> None:
    positions = sidecar.call("get_positions", {"portfolioId": 1})["data"]
    dashboard = sidecar.call("get_dashboard_data", {"portfolioId": 1})["data"]
    values = sum(Decimal(str(p["currentValue"])) for p in positions["positions"])
    assert abs(values - Decimal(str(positions["totalValue"]))) <= _MONEY * len(positions["positions"])
    assert dashboard["totalValue"] == positions["totalValue"]
    assert dashboard["positionCount"] == len(positions["positions"])
    assert Decimal(positions["exact"]["totalValue"]).quantize(_MONEY) == Decimal(str(positions["totalValue"]))
    assert dashboard["topHoldings"][0]["isin"] == positions["positions"][0]["isin"]


def test_true_holdings_and_the_unresolved_share_add_up_to_the_total(sidecar: Sidecar) -> None:
    found = sidecar.call("get_true_holdings")["data"]
    summary = found["summary"]
    shown = sum(Decimal(str(h["totalValue"])) for h in found["holdings"])
    total = Decimal(str(summary["totalValue"])) - Decimal(str(summary["unresolvedValue"]))
    # Each group is rounded to the cent on its own.
    assert abs(shown - total) <= _MONEY * len(found["holdings"])
    assert summary["total"] == len(found["holdings"]) == summary["resolved"] + summary["unresolved"]
    funds = {p["isin"] for p in sidecar.call("get_positions")["data"]["positions"] if p["instrumentType"] == "etf"}
    through = [h for h in found["holdings"] if h["sources"]]
    assert through, "no security comes through a fund"
    for holding in through:
        assert {source["etf"] for source in holding["sources"]} <= funds
        # What comes through funds is part of the security's total (the rest is held directly).
        through_funds = sum(Decimal(str(source["value"])) for source in holding["sources"])
        assert through_funds <= Decimal(str(holding["totalValue"])) + _MONEY * len(holding["sources"])


def test_hive_contribution_is_off_until_set_and_stays_set(writable_sidecar: Sidecar) -> None:
    assert writable_sidecar.call("get_hive_contribution")["data"] == {"enabled": False}
    assert writable_sidecar.call("set_hive_contribution", {"enabled": True})["data"] == {"enabled": True}
    assert writable_sidecar.call("get_hive_contribution")["data"] == {"enabled": True}
    refused = writable_sidecar.call("set_hive_contribution", {"enabled": "yes"})
    assert refused["error"]["code"] == "INVALID_PARAMS"
    assert "enabled" in refused["error"]["message"]
    assert writable_sidecar.call("get_hive_contribution")["data"] == {"enabled": True}


def test_a_committed_composition_changes_the_look_through(writable_sidecar: Sidecar) -> None:
    positions = writable_sidecar.call("get_positions")["data"]["positions"]
    fund = next(p["isin"] for p in positions if p["instrumentType"] == "etf")
    before = writable_sidecar.call("get_true_holdings")["data"]
    rows = [{"isin": "US0378331005", "name": "Apple Inc.", "weight": 100}]
    committed = writable_sidecar.call("commit_holdings_upload", {"etfIsin": fund, "holdings": rows})
    assert committed["data"]["holdingsCount"] == 1
    after = writable_sidecar.call("get_true_holdings")["data"]
    apple_before = next(h for h in before["holdings"] if h["isin"] == "US0378331005")["totalValue"]
    apple_after = next(h for h in after["holdings"] if h["isin"] == "US0378331005")["totalValue"]
    assert Decimal(str(apple_after)) > Decimal(str(apple_before))


def test_a_rejected_commit_writes_nothing(writable_sidecar: Sidecar) -> None:
    before = writable_sidecar.call("get_true_holdings")["data"]
    rows = [{"isin": "US0378331005", "name": "Apple Inc.", "weight": 150}]
    refused = writable_sidecar.call("commit_holdings_upload", {"etfIsin": "IE00B4L5Y983", "holdings": rows})
    assert refused["error"]["code"] == "INVALID_PARAMS"
    assert "holdings[0].weight" in refused["error"]["message"]
    rows = [{"isin": "US0378331005", "name": "Apple Inc.", "weight": 50}, {"isin": "US-CASH", "name": "x", "weight": 1}]
    refused = writable_sidecar.call("commit_holdings_upload", {"etfIsin": "IE00B4L5Y983", "holdings": rows})
    assert refused["error"]["message"].startswith("holdings[1].isin")
    assert writable_sidecar.call("get_true_holdings")["data"] == before
