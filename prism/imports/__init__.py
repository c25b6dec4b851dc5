"""Getting data in: transaction files from brokers and trackers, and the existing app's folders.

Formats are plug-ins in one registry (``formats``); every import is checked whole,
written in one transaction with deterministic ids (so a second run adds nothing), and
ends with a report of what was imported, skipped and why.
"""
