"""Which client method serves which operation of the OpenAPI spec: the explicit registry.

``OPERATIONS`` maps ``(HTTP method, path)`` as the spec spells them to the client
attribute path (``"transactions.list"`` is ``client.transactions.list``). A test
compares it with the served spec both ways (tests/integration/client/test_spec_coverage.py):
an operation without a method, or a method whose parameters or types differ from
the spec, fails it.

``EXCLUDED_PREFIXES`` are served but not part of this client, and why.
"""

from __future__ import annotations

__all__ = ["EXCLUDED_PREFIXES", "OPERATIONS"]

#: Paths outside the integrator's API, with the reason.
EXCLUDED_PREFIXES: dict[str, str] = {
    "/relay/v1/": "the relay's device protocol: every call is signed with a device key (RelayClient covers it)",
    "/healthz": "liveness probe for process supervisors, not an API operation",
    "/readyz": "readiness probe for load balancers, not an API operation",
    "/schema": "the OpenAPI document itself",
}

OPERATIONS: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/alert-rules"): "alert_rules.list",
    ("POST", "/api/v1/alert-rules"): "alert_rules.create",
    ("GET", "/api/v1/alert-rules/{rule_id}"): "alert_rules.get",
    ("PUT", "/api/v1/alert-rules/{rule_id}"): "alert_rules.replace",
    ("DELETE", "/api/v1/alert-rules/{rule_id}"): "alert_rules.delete",
    ("GET", "/api/v1/alerts"): "alerts.list",
    ("GET", "/api/v1/assets"): "assets.list",
    ("POST", "/api/v1/assets"): "assets.create",
    ("GET", "/api/v1/assets/{asset_id}"): "assets.get",
    ("PUT", "/api/v1/assets/{asset_id}"): "assets.replace",
    ("DELETE", "/api/v1/assets/{asset_id}"): "assets.delete",
    ("POST", "/api/v1/auth/signin"): "auth.signin",
    ("POST", "/api/v1/auth/signup"): "auth.signup",
    ("GET", "/api/v1/backup/blobs"): "backup.blobs",
    ("GET", "/api/v1/backup/blobs/{name}"): "backup.get_blob",
    ("PUT", "/api/v1/backup/blobs/{name}"): "backup.put_blob",
    ("DELETE", "/api/v1/backup/blobs/{name}"): "backup.delete_blob",
    ("POST", "/api/v1/backup/prune"): "backup.prune",
    ("POST", "/api/v1/backup/restore"): "backup.restore",
    ("GET", "/api/v1/backup/snapshots"): "backup.snapshots",
    ("POST", "/api/v1/backup/snapshots"): "backup.backup_now",
    ("GET", "/api/v1/backup/status"): "backup.status",
    ("POST", "/api/v1/backup/verify"): "backup.verify",
    ("GET", "/api/v1/changes"): "changes.list",
    ("GET", "/api/v1/export"): "imports.export",
    ("GET", "/api/v1/exposure"): "analytics.exposure",
    ("GET", "/api/v1/exposure/overlap"): "analytics.overlap",
    ("POST", "/api/v1/hive/contributions"): "hive.contribute",
    ("GET", "/api/v1/hive/isins/{isin}"): "hive.isin",
    ("POST", "/api/v1/hive/resolutions"): "hive.resolve",
    ("GET", "/api/v1/hive/snapshot"): "hive.snapshot",
    ("GET", "/api/v1/holdings"): "analytics.holdings",
    ("POST", "/api/v1/imports"): "imports.import_file",
    ("POST", "/api/v1/market/etf-holdings"): "market.import_etf_holdings",
    ("POST", "/api/v1/market/fx"): "market.import_fx",
    ("GET", "/api/v1/market/prices"): "market.prices",
    ("POST", "/api/v1/market/prices"): "market.import_prices",
    ("GET", "/api/v1/notes"): "notes.list",
    ("POST", "/api/v1/notes"): "notes.create",
    ("GET", "/api/v1/notes/{note_id}"): "notes.get",
    ("PUT", "/api/v1/notes/{note_id}"): "notes.replace",
    ("DELETE", "/api/v1/notes/{note_id}"): "notes.delete",
    ("GET", "/api/v1/performance"): "analytics.performance",
    ("GET", "/api/v1/portfolios"): "portfolios.list",
    ("POST", "/api/v1/portfolios"): "portfolios.create",
    ("GET", "/api/v1/portfolios/{portfolio_id}"): "portfolios.get",
    ("PUT", "/api/v1/portfolios/{portfolio_id}"): "portfolios.replace",
    ("DELETE", "/api/v1/portfolios/{portfolio_id}"): "portfolios.delete",
    ("GET", "/api/v1/portfolios/{portfolio_id}/exposure"): "analytics.portfolio_exposure",
    ("GET", "/api/v1/portfolios/{portfolio_id}/exposure/overlap"): "analytics.portfolio_overlap",
    ("GET", "/api/v1/portfolios/{portfolio_id}/holdings"): "analytics.portfolio_holdings",
    ("GET", "/api/v1/portfolios/{portfolio_id}/performance"): "analytics.portfolio_performance",
    ("GET", "/api/v1/portfolios/{portfolio_id}/value-history"): "analytics.portfolio_value_history",
    ("GET", "/api/v1/settings"): "settings.list",
    ("GET", "/api/v1/settings/{key}"): "settings.get",
    ("PUT", "/api/v1/settings/{key}"): "settings.put",
    ("DELETE", "/api/v1/settings/{key}"): "settings.delete",
    ("GET", "/api/v1/sync/conflicts"): "conflicts.list",
    ("POST", "/api/v1/sync/conflicts/{conflict_id}/restore"): "conflicts.restore",
    ("GET", "/api/v1/tags"): "tags.list",
    ("POST", "/api/v1/tags"): "tags.create",
    ("GET", "/api/v1/tags/{tag_id}"): "tags.get",
    ("PUT", "/api/v1/tags/{tag_id}"): "tags.replace",
    ("DELETE", "/api/v1/tags/{tag_id}"): "tags.delete",
    ("GET", "/api/v1/tags/{tag_id}/taggings"): "tags.taggings",
    ("POST", "/api/v1/tags/{tag_id}/taggings"): "tags.attach",
    ("DELETE", "/api/v1/tags/{tag_id}/taggings/{tagging_id}"): "tags.detach",
    ("GET", "/api/v1/tokens"): "tokens.list",
    ("POST", "/api/v1/tokens"): "tokens.create",
    ("DELETE", "/api/v1/tokens/{token_id}"): "tokens.revoke",
    ("GET", "/api/v1/transactions"): "transactions.list",
    ("POST", "/api/v1/transactions"): "transactions.create",
    ("GET", "/api/v1/transactions/{transaction_id}"): "transactions.get",
    ("PUT", "/api/v1/transactions/{transaction_id}"): "transactions.replace",
    ("DELETE", "/api/v1/transactions/{transaction_id}"): "transactions.delete",
    ("GET", "/api/v1/transactions/{transaction_id}/history"): "transactions.history",
    ("GET", "/api/v1/value-history"): "analytics.value_history",
    ("GET", "/api/v1/webhooks"): "webhooks.list",
    ("POST", "/api/v1/webhooks"): "webhooks.create",
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): "webhooks.delete",
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): "webhooks.deliveries",
}
