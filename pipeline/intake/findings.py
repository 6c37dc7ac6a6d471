"""A finding: one thing wrong (or worth a look) in one cell of one received file, as the ledger,
the check workbook and the unit's feedback all record it."""

from __future__ import annotations

from pipeline.common.formatting import thousands
from pipeline.common.text import printable

ERROR, WARNING = "error", "warning"


def finding(item, sheet: str, cell: str, value, rule: str, severity: str, message: str) -> dict:
    # (what a unit typed is cleaned where it is read; this is the second guard of every writer)
    return {"unit_id": item.unit_id, "file": item.file, "sheet": printable(sheet), "cell": cell,
            "value": printable(show_value(value)), "rule": rule, "severity": severity, "message": printable(message)}


def show_value(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if len(text) <= 200 else text[:200] + f"… ({thousands(len(text))} ký tự)"
