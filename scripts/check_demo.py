"""Checks what `make demo` wrote: every output exists and names the expected units.

    python -m scripts.check_demo [WORKSPACE]      # default outputs/demo

Exits non-zero, saying what is wrong, when an output is missing or says the wrong thing.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from pipeline.cli import demo

EXPECTED = {
    "2026S1": ["bao-cao-6-thang-dau-nam-2026.docx", "bao-cao-6-thang-dau-nam-2026.html", "tong-hop-2026S1.xlsx",
               "kiem-tra.xlsx", "tinh-hinh-nop-bao-cao.xlsx", "tinh-hinh-nop-bao-cao.csv",
               "cong-van-don-doc-2026S1.docx"],
    "2026": ["bao-cao-nam-2026.docx", "bao-cao-nam-2026.html", "tong-hop-2026.xlsx", "kiem-tra.xlsx",
             "tinh-hinh-nop-bao-cao.xlsx", "tinh-hinh-nop-bao-cao.csv", "cong-van-don-doc-2026.docx"],
}


def check(workspace: Path) -> list[str]:
    from docx import Document
    from openpyxl import load_workbook

    problems = []
    outputs = workspace / "outputs"
    for code, names in EXPECTED.items():
        for name in names:
            if not (outputs / code / name).is_file():
                problems.append(f"missing: outputs/{code}/{name}")
    if len(list((outputs / "templates" / "2026S1").glob("*.xlsx"))) != 46:
        problems.append("outputs/templates/2026S1 does not hold 46 templates")
    if problems:
        return problems

    with open(outputs / "2026S1" / "tinh-hinh-nop-bao-cao.csv", encoding="utf-8-sig", newline="") as handle:
        status = {row["Mã đơn vị"]: row for row in csv.DictReader(handle)}
    if len(status) != 46:
        problems.append(f"the 2026S1 status lists {len(status)} units, not 46")
    for unit_id in demo.NEVER_SEND:
        if status.get(unit_id, {}).get("Gửi công văn đôn đốc", "").lower() not in ("có", "x", "yes"):
            problems.append(f"{unit_id} never sent but is not marked for the reminder letter")
    if not status.get(demo.LATE, {}).get("Số ngày muộn", "").strip("0 "):
        problems.append(f"{demo.LATE} was late but shows no days late")

    letter = "\n".join(p.text for p in Document(outputs / "2026S1" / "cong-van-don-doc-2026S1.docx").paragraphs)
    for name in ("Khổng Lào", "Nậm Sỏ"):
        if name not in letter:
            problems.append(f"the reminder letter does not address {name}")
    for name in ("Tả Lèng", "Bum Tở", "Mù Cả"):
        if name in letter:
            problems.append(f"the reminder letter addresses {name}, which reported")

    report = "\n".join(p.text for p in Document(outputs / "2026S1" / "bao-cao-6-thang-dau-nam-2026.docx").paragraphs)
    for text in ("BÁO CÁO", "6 tháng đầu năm 2026"):
        if text not in report:
            problems.append(f"the semi-annual report lacks {text!r}")
    summary = load_workbook(outputs / "2026S1" / "tong-hop-2026S1.xlsx", read_only=True)
    cells = {str(v) for ws in summary.worksheets for row in ws.iter_rows(values_only=True) for v in row if v}
    for name in ("Xã Tả Lèng", "Công an tỉnh", "Xã Sin Suối Hồ"):
        if not any(name in c for c in cells):
            problems.append(f"tong-hop-2026S1.xlsx does not name {name}")
    return problems


def main() -> None:
    workspace = Path(sys.argv[1] if len(sys.argv) > 1 else "outputs/demo")
    problems = check(workspace)
    for problem in problems:
        print(f"DEMO CHECK FAILED: {problem}")
    if problems:
        sys.exit(1)
    print(f"demo check: every output of {workspace} is there and names the expected units")


if __name__ == "__main__":
    main()
