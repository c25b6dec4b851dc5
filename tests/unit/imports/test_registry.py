"""One registry of formats; a format is one module registering itself."""

from __future__ import annotations

import pytest

from prism.errors import ValidationError
from prism.imports.formats import FormatOptions, ImportFormat, format_names, get_format, register


def test_every_built_in_format_is_registered() -> None:
    assert {"generic", "broker", "ghostfolio", "portfolio-performance"} <= set(format_names())


def test_an_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(ValidationError, match="known: broker, generic") as caught:
        get_format("quicken")
    assert caught.value.field == "format"


def test_two_formats_cannot_share_a_name() -> None:
    with pytest.raises(ValueError, match="two import formats"):
        register(ImportFormat("generic", "another", lambda data, options: []))


def test_a_format_records_its_name_as_source_unless_it_says_otherwise() -> None:
    assert get_format("ghostfolio").source == "ghostfolio"
    assert ImportFormat("x", "y", lambda data, options: [], source="bank:x").source == "bank:x"
    assert FormatOptions().date is None
