"""Multi-device sync: the change-set codec today; merge, relay and the device engine next.

The protocol is written down in ``docs/sync-protocol.md``; this package implements it.
"""
