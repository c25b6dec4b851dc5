"""The deployment files say what the code does: probes on routes that exist, only
settings Prism reads, secrets referenced and never embedded, a non-root image."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

import prism.config
from prism.api.routes.system import healthz, readyz

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
_KNOWN = set(re.findall(r"``(PRISM_[A-Z0-9_]+)``", prism.config.__doc__ or ""))


def _documents() -> list[tuple[str, Any]]:
    return [(path.name, doc) for path in sorted(DEPLOY.rglob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())]


def _containers() -> list[dict[str, Any]]:
    found = []
    for _, doc in _documents():
        spec = doc.get("spec", {})
        template = spec.get("template", {}).get("spec", {})
        found.extend(template.get("containers", []))
    return found


def test_probes_ask_routes_the_app_serves() -> None:
    served = set(healthz.paths) | set(readyz.paths)
    probes = [
        c[kind]["httpGet"]["path"] for c in _containers() for kind in ("readinessProbe", "livenessProbe") if kind in c
    ]
    assert sorted(set(probes)) == ["/healthz", "/readyz"]
    assert set(probes) <= served


def test_every_setting_the_files_give_is_one_prism_reads() -> None:
    given = set()
    for path in [*DEPLOY.rglob("*.yaml"), DEPLOY / "Containerfile"]:
        given |= set(re.findall(r"\b(PRISM_[A-Z0-9_]+)\b", path.read_text()))
    assert given
    assert given <= _KNOWN, given - _KNOWN


def test_secrets_are_referenced_never_embedded() -> None:
    for container in _containers():
        for variable in container.get("env", []):
            if any(word in variable["name"] for word in ("SECRET", "DATABASE_URL", "PASSWORD", "KEY_ID")):
                assert "value" not in variable, variable
                assert "secretKeyRef" in variable["valueFrom"], variable
    compose = (DEPLOY / "compose.yaml").read_text()
    assert re.findall(r"\$\{(\w+):\?", compose) == [
        "POSTGRES_PASSWORD",
        "S3_ACCESS_KEY_ID",
        "S3_SECRET_ACCESS_KEY",
        "POSTGRES_PASSWORD",
    ]


def test_the_image_runs_as_a_user_with_a_health_check() -> None:
    image = (DEPLOY / "Containerfile").read_text()
    assert re.search(r"^USER prism$", image, re.MULTILINE)
    assert "HEALTHCHECK" in image
    assert "/healthz" in image
    assert all(
        c.get("securityContext", {}).get("allowPrivilegeEscalation") is False
        for c in _containers()
        if c["name"] == "prism"
    )
