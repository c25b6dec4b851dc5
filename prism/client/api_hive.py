"""``/api/v1/hive``: the shared catalogue of ISINs (docs/hive.md)."""

from __future__ import annotations

from prism.client._operations import Area, Call, M, operation
from prism.hive.wire import ContributionIn, ContributionOut, Resolution, ResolveIn, ResolveOut

__all__ = ["Hive"]


class Hive(Area[M]):
    """Resolve ISINs, download the hive, contribute what the account knows."""

    @operation("GET", "/api/v1/hive/isins/{isin}")
    def isin(self, isin: str) -> Call[Resolution]:
        """What the hive knows of one ISIN."""
        return Call(Resolution, path={"isin": isin})

    # A lookup writes nothing: resending it is harmless.
    @operation("POST", "/api/v1/hive/resolutions", idempotent=True)
    def resolve(self, body: ResolveIn) -> Call[ResolveOut]:
        """Resolve up to 1,000 ISINs at once."""
        return Call(ResolveOut, body=body)

    @operation("GET", "/api/v1/hive/snapshot")
    def snapshot(self, *, since: int = 0) -> Call[bytes]:
        """The hive as a compact snapshot (``since=0``) or the delta since a version (msgpack, zstd)."""
        return Call(bytes, query={"since": since})

    @operation("POST", "/api/v1/hive/contributions")
    def contribute(self, body: ContributionIn) -> Call[ContributionOut]:
        """Contribute listings and fund compositions."""
        return Call(ContributionOut, body=body)
