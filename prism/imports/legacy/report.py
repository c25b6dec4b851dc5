"""What a legacy import did, per file: imported, skipped, and why."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FileReport", "LegacyReport"]


@dataclass(slots=True)
class FileReport:
    """One file's outcome; ``notes`` say what was skipped or noticed, and where."""

    path: str
    format: str
    imported: int = 0
    skipped: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)

    def skip(self, where: str, reason: str) -> None:
        """Count a skipped row and say why."""
        self.skipped += 1
        self.notes.append(f"{where}: skipped: {reason}")

    def note(self, where: str, message: str) -> None:
        """Record something noticed that skipped nothing."""
        self.notes.append(f"{where}: {message}")

    def as_dict(self) -> dict[str, object]:
        """The report as plain data (for JSON output)."""
        return {
            "path": self.path,
            "format": self.format,
            "imported": self.imported,
            "skipped": self.skipped,
            "unchanged": self.unchanged,
            "notes": list(self.notes),
        }


@dataclass(slots=True)
class LegacyReport:
    """The whole import: one entry per file met, and whether anything was written."""

    directory: str
    dry_run: bool
    files: list[FileReport] = field(default_factory=list)

    def add(self, path: str, format_name: str) -> FileReport:
        """A new file entry, kept in the report."""
        entry = FileReport(path, format_name)
        self.files.append(entry)
        return entry

    @property
    def imported(self) -> int:
        """Rows imported across every file."""
        return sum(entry.imported for entry in self.files)

    def as_dict(self) -> dict[str, object]:
        """The report as plain data (for JSON output)."""
        return {
            "directory": self.directory,
            "dry_run": self.dry_run,
            "imported": self.imported,
            "files": [entry.as_dict() for entry in self.files],
        }
