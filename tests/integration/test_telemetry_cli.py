"""``prism telemetry preview`` prints exactly a report's bytes: counts as orders of
magnitude, and no ISIN, name or amount of the portfolio it counts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

_PRISM = "import sys\nfrom prism.cli import main\nmain(sys.argv[1:])\n"


def _prism(data_dir: Path, *args: str) -> str:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PRISM_")}, "PRISM_DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "-c", _PRISM, *args], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_preview_prints_the_report_and_nothing_personal(tmp_path: Path) -> None:
    _prism(tmp_path, "demo", "--no-market", "--no-serve", "--scale", "0.05")
    printed = _prism(tmp_path, "telemetry", "preview")
    body, state = printed.splitlines()[0], printed.splitlines()[-1]
    report = json.loads(body)
    assert report["portfolios"] == "1-9"
    assert re.fullmatch(r"\d+-\d+", report["transactions"])
    assert not re.search(r"[A-Z]{2}[A-Z0-9]{9}\d", body)  # no ISIN
    assert not re.search(r"\d+\.\d{2}", body.replace(report["python"], ""))  # no amount
    assert state == "telemetry is off"
