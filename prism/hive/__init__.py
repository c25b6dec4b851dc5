"""The community hive: shared, anonymous ISIN resolution (docs/hive.md).

This package owns the hive end to end, below the HTTP edge:

* ``wire`` — the wire format: contribution batches, resolutions, the snapshot format;
* ``checks`` — a batch checked whole (ISIN check digits, ISO codes, weights) into claims;
* ``pseudonyms`` — per-epoch keyed pseudonyms and the rotating secret;
* ``contributions`` — claims stored by pseudonym, consensus recomputed, versions;
  the pure rules live in :mod:`prism.domain.hive_consensus`;
* ``resolve`` — ISINs resolved from the consensus tables;
* ``snapshots`` — the versioned snapshot and its deltas (build, encode, apply);
* ``service`` — what the API calls (rate limits, contribute, resolve, snapshot);
* ``remote`` — a device talking to a hive over HTTP;
* ``device`` — a device's mirror, lookup cache with a time to live, lake feed and payload;
* ``legacy_dump`` — a one-shot import of the old Supabase hive's tables.

Its tables are declared in :mod:`prism.storage.hive_tables` (revision 0013).
"""

from __future__ import annotations

__all__: list[str] = []
