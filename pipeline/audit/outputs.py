"""The audit's files for a period, written together (`write_audit`): the status workbook and the
mail-merge CSV (audit/tables.py), the reminder letter (audit/letter.py). The terminal table is in
audit/terminal.py, the history page in audit/page.py.

Everything here takes the frames `pipeline.audit.status` computes and writes files atomically and
reproducibly: the same ledger and the same `as_of` day give the same bytes (document dates are
the audit day, zip entries carry a fixed time).

Outputs of `write_audit` for period P:
- outputs/P/tinh-hinh-nop-bao-cao.xlsx   one row per expected unit, and the rates by kind of unit;
- outputs/P/tinh-hinh-nop-bao-cao.csv    the same rows for a mail merge (UTF-8 with BOM, for Excel);
- outputs/P/cong-van-don-doc-P.docx      the reminder letter to the units without an accepted
                                          report (none written, and an old one removed, when every
                                          unit has one).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.common.atomic import write_bytes
from pipeline.common.issued import write_issued
from pipeline.reference.periods import Period
from pipeline.audit.tables import mail_merge_csv, status_workbook
from pipeline.audit.letter import LetterSettings, letter_addressees, letter_context, letter_path, render_letter, resolve_new_deadline
from pipeline.audit.legend import LETTER_TEMPLATE, MAIL_MERGE_CSV, STATUS_WORKBOOK

# ---------------------------------------------------------------- writing it all

@dataclass
class AuditOutputs:
    workbook: Path
    csv: Path
    letter: Path | None
    addressed: list[str] = field(default_factory=list)   # unit ids the letter addresses
    new_deadline: dt.date | None = None
    removed_letter: bool = False


def write_audit(settings, period: Period, status: pd.DataFrame, as_of: dt.date,
                new_deadline: dt.date | None = None) -> AuditOutputs:
    letter = LetterSettings.from_settings(settings)
    deadline = resolve_new_deadline(period, as_of, new_deadline, letter)
    addressed = letter_addressees(status, letter)
    ids = set(addressed["unit_id"])
    folder = settings.path("outputs") / period.code
    outputs = AuditOutputs(folder / STATUS_WORKBOOK, folder / MAIL_MERGE_CSV, None,
                           addressed["unit_id"].tolist(), deadline)
    write_bytes(outputs.workbook, status_workbook(period, status, as_of, ids))
    write_bytes(outputs.csv, mail_merge_csv(period, status, deadline, ids))
    path = letter_path(settings, period)
    if len(addressed):
        context = letter_context(settings, period, addressed, as_of, deadline, letter)
        outputs.letter = write_issued(path, render_letter(settings.root / "templates" / LETTER_TEMPLATE, context, as_of),
                                      settings.path("outputs"))
    elif path.is_file():
        path.unlink()  # an old letter must not be sent to units that have since reported
        outputs.removed_letter = True
    return outputs
