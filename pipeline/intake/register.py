"""The incoming-documents register (sổ công văn đến) of a period: `inputs/submissions/<period>/so-den.csv`.

One row per received file: the file's name (relative to the period folder) or the unit, the date it
was received, and optionally the register number and a note. The officer may keep it by hand; the
mailbox collector appends to it. Ingestion takes a file's receipt date from here, else from when
the file was first seen.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.common.errors import ConfigError
from pipeline.common.text import nfc
from pipeline.common.formatting import dmy

REGISTER_NAME = "so-den.csv"
COLUMNS = ("Tên tệp", "Đơn vị", "Ngày đến", "Số đến", "Ghi chú")


@dataclass(frozen=True)
class Receipt:
    file_name: str      # relative to the period folder, "/" separated; blank when the row names a unit
    unit: str           # unit id or name; blank when the row names a file
    received: dt.date
    number: str = ""
    note: str = ""


def parse_date(text: str) -> dt.date:
    """`18/06/2026`, `18-06-2026`, `2026-06-18` (day first, the Vietnamese way)."""
    text = nfc(text)
    for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def read_register(folder: Path) -> list[Receipt]:
    path = folder / REGISTER_NAME
    if not path.is_file():
        return []
    receipts = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS[:3] if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path}: thiếu cột {', '.join(missing)} (cần: {', '.join(COLUMNS)})")
        for n, row in enumerate(reader, start=2):
            file_name, unit = nfc(row.get("Tên tệp") or ""), nfc(row.get("Đơn vị") or "")
            if not (file_name or unit or (row.get("Ngày đến") or "").strip()):
                continue
            try:
                received = parse_date(row.get("Ngày đến") or "")
            except ValueError:
                raise ConfigError(f"{path}, dòng {n}: ngày đến {row.get('Ngày đến')!r} không đúng dạng ngày/tháng/năm") from None
            if not (file_name or unit):
                raise ConfigError(f"{path}, dòng {n}: cần ghi tên tệp hoặc đơn vị")
            receipts.append(Receipt(file_name.replace("\\", "/"), unit, received,
                                    nfc(row.get("Số đến") or ""), nfc(row.get("Ghi chú") or "")))
    return receipts


def append_receipts(folder: Path, receipts: list[Receipt]) -> None:
    """Adds rows to the register, writing the whole file atomically (Excel keeps it readable: BOM, CRLF)."""
    if not receipts:
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REGISTER_NAME
    existing = read_register(folder)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".so-den-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(COLUMNS)
            for r in [*existing, *receipts]:
                writer.writerow([r.file_name, r.unit, dmy(r.received), r.number, r.note])
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
