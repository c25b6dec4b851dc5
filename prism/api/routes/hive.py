"""``/hive``: the community hive (docs/hive.md): lookups, snapshots, contributions.

Lookups and snapshots answer any authenticated caller. A contribution needs a valid
account token (``/api/v1/hive/contributions``) or a relay device's signature
(``/relay/v1/hive/contributions``) at the door, for the abuse limits; past the door
only the epoch's pseudonym of the account is used, and the client address only picks
a coarse rate-limit bucket. Nothing here logs either.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import TooManyRequestsException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.types import ControllerRouterHandler

from prism.api.routes.relay import signed_device, signed_request
from prism.api.state import owner_of, state_of
from prism.errors import NotFoundError, PermissionDeniedError
from prism.hive.service import (
    admit,
    check_batch,
    contribute,
    hive_version,
    resolve_many,
    resolve_one,
    snapshot_bytes,
)
from prism.hive.wire import ContributionIn, ContributionOut, Resolution, ResolveIn, ResolveOut

__all__ = [
    "HIVE_RELAY_ROUTES",
    "HIVE_ROUTES",
    "SNAPSHOT_MEDIA_TYPE",
    "contribute_signed",
    "contribute_with_token",
    "hive_snapshot",
    "lookup_isin",
    "lookup_isins",
]

SNAPSHOT_MEDIA_TYPE = "application/vnd.prism.hive-snapshot"
#: The largest contribution body: 20 compositions of 5,000 rows fit, a flood does not.
MAX_CONTRIBUTION_BYTES = 8 << 20


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@get("/hive/isins/{isin:str}", tags=["hive"], summary="What the hive knows of one ISIN")
async def lookup_isin(request: Request[Any, Any, Any], isin: FromPath[str]) -> Resolution:
    """Per-field consensus with confidence and distinct contributors; a fund's composition rows."""
    found = await resolve_one(state_of(request).database, isin, today=_today())
    if found is None:
        raise NotFoundError(f"the hive knows nothing of {isin.strip().upper()}")
    return found


@post("/hive/resolutions", tags=["hive"], summary="Resolve up to 1,000 ISINs at once")
async def lookup_isins(request: Request[Any, Any, Any], data: JSONBody[ResolveIn]) -> ResolveOut:
    """Resolutions in request order (compositions summarised); ISINs nobody knows under ``unknown``."""
    return await resolve_many(state_of(request).database, data.isins, today=_today())


@get(
    "/hive/snapshot",
    tags=["hive"],
    summary="The hive as a compact snapshot, or the delta since a version",
    response_description="msgpack, zstd-compressed (docs/hive.md); the X-Hive-Version header names its version",
)
async def hive_snapshot(request: Request[Any, Any, Any], since: FromQuery[int] = 0) -> Response[bytes]:
    """Every row (``since=0``) or the rows changed after ``since``, for resolving offline."""
    state = state_of(request)
    # Building the whole hive's snapshot takes seconds: each version's is built once per process.
    key = ("hive-snapshot", since)
    current = await hive_version(state.database)
    cached = state.responses.get(key, current)
    if cached is not None:
        return Response(cached, media_type=SNAPSHOT_MEDIA_TYPE, headers={"X-Hive-Version": str(current)})
    version, body = await snapshot_bytes(state.database, since)
    state.responses.put(key, version, body)
    return Response(body, media_type=SNAPSHOT_MEDIA_TYPE, headers={"X-Hive-Version": str(version)})


async def _contribute(request: Request[Any, Any, Any], batch: ContributionIn, identity: str) -> ContributionOut:
    state = state_of(request)
    if state.settings.hive.url:
        # This process mirrors another hive: local claims would rewrite the mirrored consensus.
        raise PermissionDeniedError(
            "this server mirrors the hive at PRISM_HIVE_URL: contribute there (prism hive sync)"
        )
    database = state.database
    today = _today()
    check_batch(batch, today=today)  # a bad batch is refused before anything is counted
    address = request.client.host if request.client else None
    admission = await admit(database, identity, address, today=today)
    if not admission.admitted:
        raise TooManyRequestsException(
            detail="too many contributions; try again later", headers={"Retry-After": str(admission.retry_after)}
        )
    return await contribute(database, batch, identity, today=today)


@post(
    "/hive/contributions",
    tags=["hive"],
    summary="Contribute assets, listings, aliases and fund compositions",
    request_max_body_size=MAX_CONTRIBUTION_BYTES,
)
async def contribute_with_token(request: Request[Any, Any, Any], data: JSONBody[ContributionIn]) -> ContributionOut:
    """Stored under the account's pseudonym of this epoch, never under the account."""
    return await _contribute(request, data, f"account:{owner_of(request)}")


@post(
    "/hive/contributions",
    tags=["hive"],
    summary="Contribute to the hive (signed request)",
    security=[],
    guards=[signed_device],
    request_max_body_size=MAX_CONTRIBUTION_BYTES,
)
async def contribute_signed(request: Request[Any, Any, Any], data: JSONBody[ContributionIn]) -> ContributionOut:
    """As ``/api/v1/hive/contributions``, for a relay device: the relay account's pseudonym is stored."""
    account, _device = signed_request(request)
    return await _contribute(request, data, f"account:{account}")


HIVE_ROUTES: list[ControllerRouterHandler] = [lookup_isin, lookup_isins, hive_snapshot, contribute_with_token]
HIVE_RELAY_ROUTES: list[ControllerRouterHandler] = [contribute_signed]
