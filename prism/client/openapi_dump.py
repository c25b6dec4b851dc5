"""Write the OpenAPI document a device server serves to ``docs/openapi.json`` (or a given path).

Run ``python -m prism.client.openapi_dump [PATH]`` after changing a route; the test
tests/integration/api/test_openapi_committed.py fails until the committed document
matches what the server serves. Keys are sorted so that the diff shows only changes.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from litestar._openapi.schema_generation.examples import ExampleFactory as _ExampleFactory
from litestar.serialization import encode_json

from prism.api import create_app
from prism.config import load_settings

__all__ = ["DEFAULT_PATH", "contract", "render", "served_document", "write"]

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def served_document(mode: str = "device") -> dict[str, Any]:
    """The OpenAPI document of a ``mode`` server (the app is built, never started).

    Litestar makes up examples for some answers from a random stream seeded once per
    process; it is seeded again here, so the committed document does not churn.
    """
    _ExampleFactory.seed_random(_ExampleFactory.__random_seed__)
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings({}, data_dir=Path(folder), mode=mode)
        # Through Litestar's encoder, as /schema/openapi.json is: examples hold structs.
        document: dict[str, Any] = json.loads(encode_json(create_app(settings).openapi_schema.to_schema()))
    return document


def contract(document: Any) -> Any:
    """The document without its ``examples``: what a server promises, for comparing two documents.

    Examples illustrate; some are made up at random when the document is built.
    """
    if isinstance(document, dict):
        return {key: contract(value) for key, value in document.items() if key not in {"examples", "example"}}
    if isinstance(document, list):
        return [contract(value) for value in document]
    return document


def render(document: dict[str, Any]) -> str:
    """The document as committed: sorted keys, two-space indents, a final newline."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write(path: Path = DEFAULT_PATH) -> Path:
    """Write the device server's document to ``path``."""
    path.write_text(render(served_document()), encoding="utf-8")
    return path


if __name__ == "__main__":
    written = write(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH)
    print(f"wrote {written}")
