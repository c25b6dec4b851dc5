"""The one exception hierarchy of Prism.

Every error a service raises derives from :class:`PrismError`. Only ``prism.api``
maps these to HTTP (RFC 9457 problem details), once. This module is a leaf: it
imports nothing of the project, so every layer, ``prism.domain`` included, may use it.
"""

from __future__ import annotations

__all__ = [
    "ChangeSetRejectedError",
    "ConflictError",
    "InsufficientHoldingsError",
    "MigrationError",
    "NotFoundError",
    "PermissionDeniedError",
    "PrismError",
    "RepositoryDamagedError",
    "RepositoryError",
    "RepositoryLockedError",
    "StorageError",
    "UnreadableDataError",
    "ValidationError",
    "WrongKeyError",
]


class PrismError(Exception):
    """Root of every error Prism raises on purpose."""

    #: A short, stable, machine-readable code (the problem type's last segment).
    code = "prism-error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(PrismError):
    """Input that breaks a rule; ``field`` names the offending field, if any."""

    code = "validation-error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InsufficientHoldingsError(ValidationError):
    """A local write would take out more of an asset than the portfolio holds."""

    code = "insufficient-holdings"


class NotFoundError(PrismError):
    """The named row does not exist for this owner (or is deleted)."""

    code = "not-found"


class PermissionDeniedError(PrismError):
    """The caller may not do this here, whatever the input (a shared resource, say)."""

    code = "forbidden"


class ConflictError(PrismError):
    """The write collides with existing state (a duplicate natural key, say)."""

    code = "conflict"


class StorageError(PrismError):
    """The database failed in a way the caller cannot fix by changing input."""

    code = "storage-error"


class MigrationError(StorageError):
    """A schema upgrade or downgrade failed; the database was left as it was."""

    code = "migration-error"


class UnreadableDataError(StorageError):
    """Stored data does not open with the key given (another key sealed it)."""

    code = "unreadable-data"


class RepositoryError(StorageError):
    """A backup repository cannot be used (unreadable, unknown format, not initialised)."""

    code = "repository-error"


class RepositoryDamagedError(RepositoryError):
    """A backup repository's blob failed a check; the message names the blob and chunk."""

    code = "repository-damaged"


class RepositoryLockedError(ConflictError):
    """Another process holds a conflicting lock on the backup repository."""

    code = "repository-locked"


class WrongKeyError(PermissionDeniedError):
    """No key file of the backup repository opens with the given passphrase or account key."""

    code = "wrong-key"


class ChangeSetRejectedError(PrismError):
    """A sealed change set failed a check (signature, key, account, sequence, format).

    Nothing of it may be applied. ``reason`` says which check failed.
    """

    code = "change-set-rejected"

    def __init__(self, reason: str) -> None:
        super().__init__(f"change set rejected: {reason}")
        self.reason = reason
