"""The sealed spool gives back exactly what was written, and holds none of it in plaintext."""

from __future__ import annotations

import os

import pytest

from prism.export.spool import SealedSpool

NEEDLE = b"Capybara Family Trust 31415.9265;"


def test_what_is_written_is_read_back_in_any_piece_sizes() -> None:
    data = os.urandom(3_000_000) + NEEDLE * 1000
    spool = SealedSpool()
    for start in range(0, len(data), 70_001):
        spool.write(data[start : start + 70_001])
    spool.rewind()
    pieces = []
    while piece := spool.read(65_536):
        pieces.append(piece)
    spool.close()
    assert b"".join(pieces) == data


def test_a_spill_to_disk_holds_no_plaintext() -> None:
    spool = SealedSpool()
    spool.write(NEEDLE * 400_000)  # about 13 MB: past the in-memory limit
    spool.rewind()
    backing = spool._file  # the temporary file under the spool
    assert getattr(backing, "_rolled", True), "the spool should have spilled to disk"
    backing.seek(0)
    stored = backing.read()
    assert len(stored) > len(NEEDLE) * 400_000
    assert NEEDLE[:16] not in stored
    backing.seek(0)
    assert spool.read() == NEEDLE * 400_000
    spool.close()


def test_reading_before_rewinding_is_refused() -> None:
    spool = SealedSpool()
    spool.write(b"x")
    with pytest.raises(OSError, match="rewind"):
        spool.read(1)
