"""Every example of docs/api.md runs, in order, against freshly served apps on both databases.

``py`` blocks run in one namespace, like a session; ``sh`` blocks run in bash with
``set -euo pipefail``. Both see the environment a user of this machine would have:
``PRISM_DATA_DIR`` and ``PRISM_PORT`` of the device server (and ``PRISM_URL``,
``PRISM_TOKEN``, as the guide's first shell example exports them). The hosted examples'
``https://prism.example.com`` is a hosted server served for the test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from prism.api import create_app
from prism.client.api_registry import OPERATIONS
from prism.config import load_settings
from tests.serving import served_app

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "api.md"
HOSTED_PLACEHOLDER = "https://prism.example.com"
BLOCK = re.compile(r"```(py|sh)\n(.*?)```", re.S)


def _blocks() -> list[tuple[str, str]]:
    return [(kind, source) for kind, source in BLOCK.findall(GUIDE.read_text(encoding="utf-8"))]


@pytest.fixture
def environment(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A device server on ``database_url`` and a hosted one; the environment that points at them."""
    data_dir = tmp_path / "device"
    device = load_settings({}, data_dir=data_dir, database_url=database_url)
    hosted = load_settings({}, data_dir=tmp_path / "hosted", mode="hosted")
    with served_app(create_app(device)) as device_url, served_app(create_app(hosted)) as hosted_url:
        values = {
            "PRISM_DATA_DIR": str(data_dir),
            "PRISM_PORT": device_url.rsplit(":", 1)[1],
            "PRISM_DATABASE_URL": database_url,
            "PRISM_URL": device_url,
            "PRISM_TOKEN": device.token_path.read_text().strip(),
            "HOSTED_URL": hosted_url,
        }
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        yield values


def test_every_example_of_the_guide_runs_in_order(environment: dict[str, str], tmp_path: Path) -> None:
    blocks = _blocks()
    namespace: dict[str, object] = {"__name__": "__guide__"}
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for number, (kind, text) in enumerate(blocks, start=1):
        source = text.replace(HOSTED_PLACEHOLDER, environment["HOSTED_URL"])
        if kind == "py":
            exec(compile(source, f"<docs/api.md example {number}>", "exec"), namespace)
            continue
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", source],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
        assert ran.returncode == 0, f"example {number} failed:\n{source}\n{ran.stdout}\n{ran.stderr}"
        assert ran.stdout.strip(), f"example {number} printed nothing"


def test_the_guide_has_python_and_shell_examples() -> None:
    kinds = [kind for kind, _ in _blocks()]
    assert kinds.count("py") >= 8
    assert kinds.count("sh") >= 6


def test_the_guide_lists_every_operation_of_the_client() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+ /api/v1/\S*)` \| `([\w.]+)`", text, re.M))
    assert rows == {f"{method} {path}": target for (method, path), target in OPERATIONS.items()}
