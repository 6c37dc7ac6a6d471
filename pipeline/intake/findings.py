"""A finding: one thing wrong (or worth a look) in one cell of one received file, as the ledger,
the check workbook and the unit's feedback all record it. One frozen record, one constructor."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.common.formatting import cell_text
from pipeline.common.text import printable
from pipeline.intake.rules import ERROR, WARNING

__all__ = ["ERROR", "WARNING", "FileRef", "Finding", "finding"]


@dataclass(frozen=True)
class Finding:
    """One rule broken by one submission, where it was broken: the file, its unit (None until the
    file is identified), the sheet and cell (`D14`; "" for the file as a whole), the value found as
    text, the rule's code, its severity and the Vietnamese sentence the unit reads."""

    unit_id: str | None
    file: str
    sheet: str
    cell: str
    value: str
    rule: str
    severity: str
    message: str

    def of_unit(self, unit_id: str | None) -> "Finding":
        """The same finding, once the file's unit is known."""
        return Finding(unit_id, self.file, self.sheet, self.cell, self.value, self.rule, self.severity, self.message)


def finding(where, sheet: str, cell: str, value, rule: str, severity: str, message: str) -> Finding:
    """The one constructor: `where` is what the finding is about (anything with `unit_id` and
    `file`: a submission's Item, or a FileRef); the value is shown as the unit wrote it."""
    # (what a unit typed is cleaned where it is read; this is the second guard of every writer)
    return Finding(where.unit_id, where.file, printable(sheet), cell, printable(cell_text(value)), rule, severity,
                   printable(message))


@dataclass(frozen=True)
class FileRef:
    """A file a finding is about before it has an Item: its unit when known, and its name."""

    unit_id: str | None
    file: str
