"""Row identifiers made on the device.

Rows with a natural key get a deterministic UUIDv5 inside the account's namespace,
so two devices that create "the same" row offline converge instead of duplicating
it; every other row gets a time-ordered UUIDv7. The exact names hashed are part
of the sync protocol (``docs/architecture.md``): changing them splits identities.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable

import uuid_utils.compat as uuid_compat

__all__ = [
    "EntryClock",
    "asset_id",
    "imported_transaction_id",
    "imported_transaction_ids",
    "new_id",
    "tag_id",
    "tagging_id",
    "ticker_asset_id",
]


def new_id() -> uuid.UUID:
    """A fresh UUIDv7: unique, and sortable by creation time."""
    return uuid_compat.uuid7()


def asset_id(owner_id: uuid.UUID, isin: str) -> uuid.UUID:
    """The id of the asset with ``isin`` in ``owner_id``'s account."""
    return uuid.uuid5(owner_id, f"asset:{isin.upper()}")


def tag_id(owner_id: uuid.UUID, name: str) -> uuid.UUID:
    """The id of the tag called ``name`` (case and surrounding space ignored)."""
    return uuid.uuid5(owner_id, f"tag:{name.strip().casefold()}")


def tagging_id(owner_id: uuid.UUID, tag: uuid.UUID, entity_type: str, entity: uuid.UUID) -> uuid.UUID:
    """The id of the link between a tag and the row it labels."""
    return uuid.uuid5(owner_id, f"tagging:{tag}:{entity_type}:{entity}")


def imported_transaction_id(owner_id: uuid.UUID, source: str, external_id: str) -> uuid.UUID:
    """The id of a transaction imported from ``source`` under ``external_id``.

    Importing the same statement twice, on one device or two, yields the same ids.
    """
    return uuid.uuid5(owner_id, f"transaction:{source}:{external_id}")


def imported_transaction_ids(owner_id: uuid.UUID, source: str) -> Callable[[str], uuid.UUID]:
    """:func:`imported_transaction_id` of one owner and source, for many external ids.

    The same UUIDv5 (RFC 9562: SHA-1 of namespace and name), with the hash of the
    common prefix computed once: an import of a million rows makes a million ids.
    """
    prefix = hashlib.sha1(owner_id.bytes + f"transaction:{source}:".encode(), usedforsecurity=False)

    def make(external_id: str) -> uuid.UUID:
        digest = prefix.copy()
        digest.update(external_id.encode())
        return uuid.UUID(bytes=digest.digest()[:16], version=5)

    return make


class EntryClock:
    """Monotonic entry stamps: 48-bit milliseconds and a 16-bit counter.

    Same-day ledger entries apply in the order they were entered; this stamp is
    that order. It never goes backwards within a process, even if the wall clock does.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> int:
        """A stamp strictly greater than every earlier one from this clock."""
        wall = (time.time_ns() // 1_000_000) << 16
        with self._lock:
            self._last = max(self._last + 1, wall)
            return self._last


def ticker_asset_id(owner_id: uuid.UUID, ticker: str) -> uuid.UUID:
    """The id of an asset known only by ``ticker`` (no ISIN) in ``owner_id``'s account.

    Deterministic like :func:`asset_id`, so two devices importing the same tracker file
    before they sync create one asset, not two.
    """
    return uuid.uuid5(owner_id, f"asset-ticker:{ticker.strip().upper()}")
