"""The wire format: framing, the size limit, request parsing, and exact decimals out."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from prism.sidecar.protocol import (
    Framed,
    LineFramer,
    ProtocolError,
    error_line,
    parse_request,
    progress_line,
    ready_line,
    success_line,
)


def test_lines_split_across_chunks_are_joined() -> None:
    framer = LineFramer()
    assert list(framer.feed(b'{"id": 1, "comm')) == []
    assert list(framer.feed(b'and": "get_health"}\n{"id"')) == [Framed(b'{"id": 1, "command": "get_health"}')]
    assert list(framer.feed(b": 2}\n\n")) == [Framed(b'{"id": 2}'), Framed(b"")]
    assert framer.end() is None


def test_a_last_line_without_newline_comes_out_at_the_end() -> None:
    framer = LineFramer()
    assert list(framer.feed(b'{"id": 3}')) == []
    assert framer.end() == Framed(b'{"id": 3}')


def test_a_line_over_the_limit_is_dropped_keeping_its_head_and_the_next_line_is_intact() -> None:
    framer = LineFramer(limit=64)
    head = b'{"command": "x", "id": 9, "payload": "'
    out = list(framer.feed(head + b"a" * 50))
    out += list(framer.feed(b"a" * 10_000))
    out += list(framer.feed(b'"}\n{"id": 10}\n'))
    assert out[0].too_long
    assert out[0].data.startswith(head)
    assert len(out[0].data) <= 4096
    assert out[1] == Framed(b'{"id": 10}')


def test_a_line_of_exactly_the_limit_is_kept() -> None:
    framer = LineFramer(limit=10)
    assert list(framer.feed(b"0123456789\n")) == [Framed(b"0123456789")]
    assert next(iter(framer.feed(b"0123456789a\n"))).too_long


def test_an_oversized_request_is_refused_with_the_id_found_in_its_head() -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_request(Framed(b'{"command": "upload_holdings", "id": 4242, "payload": {"x": "aaa', too_long=True))
    assert (refused.value.code, refused.value.request_id) == ("PAYLOAD_TOO_LARGE", 4242)


def test_malformed_json_is_refused_with_id_zero() -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_request(Framed(b"{nope"))
    assert (refused.value.code, refused.value.request_id) == ("INVALID_JSON", 0)


@pytest.mark.parametrize(
    ("line", "code", "ident"),
    [
        (b"[1]", "INVALID_REQUEST", 0),
        (b'{"id": -1, "command": "get_health"}', "INVALID_REQUEST", 0),
        (b'{"id": "7", "command": "get_health"}', "INVALID_REQUEST", 0),
        (b'{"id": true, "command": "get_health"}', "INVALID_REQUEST", 0),
        (b'{"id": 7}', "INVALID_REQUEST", 7),
        (b'{"id": 7, "command": ""}', "INVALID_REQUEST", 7),
        (b'{"id": 7, "command": "get_health", "payload": "x"}', "INVALID_PARAMS", 7),
    ],
)
def test_requests_that_break_the_contract_are_refused(line: bytes, code: str, ident: int) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_request(Framed(line))
    assert (refused.value.code, refused.value.request_id) == (code, ident)


def test_a_request_without_payload_gets_an_empty_one_and_blank_lines_are_skipped() -> None:
    request = parse_request(Framed(b'{"id": 18446744073709551615, "command": "get_health"}'))
    assert request is not None
    assert (request.id, request.command, request.payload) == (2**64 - 1, "get_health", {})
    assert parse_request(Framed(b"   ")) is None


def test_fractions_in_a_payload_arrive_as_exact_decimals() -> None:
    request = parse_request(Framed(b'{"id": 1, "command": "c", "payload": {"weight": 0.1, "n": 3}}'))
    assert request is not None
    assert request.payload == {"weight": Decimal("0.1"), "n": 3}


def test_decimals_are_written_as_json_numbers_with_their_exact_digits() -> None:
    line = success_line(5, {"value": Decimal("12345678901234567.89"), "cents": Decimal("0.10")})
    assert b'"value":12345678901234567.89' in line
    assert b'"cents":0.10' in line
    assert json.loads(line, parse_float=Decimal)["data"]["value"] == Decimal("12345678901234567.89")


def test_each_line_is_one_json_document_ending_in_a_newline() -> None:
    for line in (
        ready_line("0.1.0", 42),
        success_line(1, None),
        error_line(2, "UNKNOWN_COMMAND", "Unknown command: x"),
        progress_line(50, "halfway", "snapshots", 3),
    ):
        assert line.endswith(b"\n")
        assert line.count(b"\n") == 1
        json.loads(line)
    assert json.loads(ready_line("0.1.0", 42)) == {"status": "ready", "version": "0.1.0", "pid": 42}
    assert json.loads(progress_line(50, "halfway", "snapshots", 3))["event"] == "sync_progress"
