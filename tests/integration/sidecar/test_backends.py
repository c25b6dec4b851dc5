"""The sidecar on each store (SQLite, PostgreSQL) and each lake (folder, S3), from an empty account.

The demo transcripts run on the device shape (a SQLite file and a lake folder); these
check that the same commands work, write and read back on the other shapes, where the
answer cache is off (PostgreSQL) and the lake is remote.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from prism.config import LakeSettings
from prism.storage.lake import ETF_HOLDINGS, open_lake
from tests.integration.sidecar.conftest import Sidecar


def _environment(database_url: str, lake: LakeSettings) -> dict[str, str]:
    found = {"PRISM_DATABASE_URL": database_url, "PRISM_LAKE_URL": lake.url}
    if lake.is_s3:
        found.update(
            {
                "PRISM_LAKE_S3_ENDPOINT": lake.s3_endpoint or "",
                "PRISM_LAKE_S3_REGION": lake.s3_region,
                "PRISM_LAKE_S3_ACCESS_KEY_ID": lake.s3_access_key_id or "",
                "PRISM_LAKE_S3_SECRET_ACCESS_KEY": lake.s3_secret_access_key or "",
            }
        )
    return found


def test_an_empty_account_is_served_and_writes_read_back_on_every_store_and_lake(
    database_url: str, lake_settings: LakeSettings, tmp_path: Path
) -> None:
    running = Sidecar(tmp_path, env=_environment(database_url, lake_settings))
    try:
        positions = running.call("get_positions", {"portfolioId": 1})["data"]
        assert (positions["positions"], positions["totalValue"]) == ([], 0)
        dashboard = running.call("get_dashboard_data", {"portfolioId": 1})["data"]
        assert (dashboard["isEmpty"], dashboard["positionCount"]) == (True, 0)
        assert running.call("get_true_holdings")["data"]["holdings"] == []

        assert running.call("set_hive_contribution", {"enabled": True})["data"] == {"enabled": True}
        assert running.call("get_hive_contribution")["data"] == {"enabled": True}

        rows = [{"isin": "US0378331005", "name": "Apple Inc.", "weight": "62.5"}, {"name": "USD CASH", "weight": 0.5}]
        committed = running.call("commit_holdings_upload", {"etfIsin": "IE00B4L5Y983", "holdings": rows})["data"]
        assert (committed["holdingsCount"], Decimal(str(committed["totalWeight"]))) == (2, Decimal("63.00"))
        lake = open_lake(lake_settings)
        try:
            stored = lake.query(
                f"SELECT constituent_isin, constituent_name, weight FROM {lake.scan(ETF_HOLDINGS)} "
                "WHERE fund_isin = 'IE00B4L5Y983' ORDER BY weight DESC",
                {},
            ).to_pylist()
        finally:
            lake.close()
        assert [(row["constituent_isin"], row["weight"]) for row in stored] == [
            ("US0378331005", Decimal("0.625")),
            (None, Decimal("0.005")),
        ]

        report = running.call("run_pipeline")["data"]
        assert report["success"] is True
        assert running.call("get_pipeline_report")["data"]["status"] == "ready"
    finally:
        running.stop()
