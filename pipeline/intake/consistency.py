"""Consistency of one file: the relations its figures must satisfy, and the template's locked cells.

The relations are data, `schemas/consistency.csv` (one rule a row, validated by
schemas/consistency.py): an indicator at most another (`at_most`), an indicator above zero only
when another is (`positive_requires`), a task status that excludes results or figures
(`status_excludes_results`), fields required by a status (`required_when_done`); each with its
severity and its Vietnamese message. A violated rule is a finding at the cell.

The locked cells (a task's id, name, role and product; an indicator's code, name, unit and tasks)
are compared with what the template generator wrote (pipeline/forms/templates.py): a clerk who
unprotected the sheet and changed one gets a warning naming the cell.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass
from pathlib import Path

from pipeline.forms import layout
from pipeline.common.errors import ConfigError
from pipeline.common.text import nfc
from pipeline.intake.findings import WARNING, finding
from pipeline.intake.reader import column_index
from pipeline.common.io_csv import read_text_rows, validate_rows
from pipeline.common.formatting import decimal_comma, thousands
from pipeline.intake.rules import (IMPLAUSIBLE, LOCKED_CELL_CHANGED, POSITIVE_REQUIRES, REQUIRED_WHEN_DONE,
                                   STATUS_EXCLUDES_RESULTS)

RULES_FILE = "consistency.csv"
# The finding's rule code for each kind of relation (titles in schemas/rules.csv).
FINDING_RULES = {"at_most": IMPLAUSIBLE, "positive_requires": POSITIVE_REQUIRES,
                 "status_excludes_results": STATUS_EXCLUDES_RESULTS, "required_when_done": REQUIRED_WHEN_DONE}
FIELD_LABELS = {"results": "kết quả thực hiện", "quantity": "số lượng sản phẩm", "documents": "văn bản đã ban hành",
                "figures": "số liệu chỉ tiêu"}
_PLACEHOLDERS = {
    "at_most": {"left", "right", "left_cell", "right_cell", "left_code", "right_code"},
    "positive_requires": {"left", "right", "left_cell", "right_cell", "left_code", "right_code"},
    "status_excludes_results": {"task", "status", "field", "value", "cell"},
    "required_when_done": {"task", "status", "field", "cell"},
}
_TASK_LETTERS = {c.key: c.letter for c in layout.TASK_COLUMNS}


@dataclass(frozen=True)
class Rule:
    kind: str
    subject: str          # an indicator code, or a task status
    other: tuple[str, ...]  # an indicator code, or task fields
    severity: str
    message: str


def load_rules(folder: Path, memo: Path | None = None) -> list[Rule]:
    """The rules of `folder`/consistency.csv (none when the file is absent); a malformed file is
    one ConfigError naming every bad line. `memo`: the project's outputs/, where a table that
    passed its schema is remembered (`validate_rows`)."""
    # late: the schemas bring pandera, which only validation needs
    from schemas.consistency import INDICATOR_CODE, INDICATOR_KINDS, TASK_FIELDS

    path = folder / RULES_FILE
    if not path.is_file():
        return []
    frame = validate_rows(read_text_rows(path, ["kind", "subject", "other", "severity", "message"]),
                          "schemas.consistency:ConsistencyRuleSchema", "schemas.consistency:MESSAGES",
                          memo=memo).frame()
    rules = []
    for n, row in enumerate(frame.itertuples(index=False), start=2):
        other = [p.strip() for p in row.other.split(";") if p.strip()]
        if row.kind in INDICATOR_KINDS and not (re.match(INDICATOR_CODE, row.subject) and len(other) == 1
                                                 and re.match(INDICATOR_CODE, other[0])):
            raise ConfigError(f"{path.name}, dòng {n}: quan hệ {row.kind} cần hai mã chỉ tiêu (dạng TT01) ở cột "
                              f"subject và other (giá trị: {row.subject!r}, {row.other!r})")
        if row.kind not in INDICATOR_KINDS and not (other and all(f in TASK_FIELDS for f in other)):
            raise ConfigError(f"{path.name}, dòng {n}, cột other: các cột nhiệm vụ chỉ nhận "
                              f"{', '.join(TASK_FIELDS)}, cách nhau bởi ; (giá trị: {row.other!r})")
        used = {name for _text, name, _spec, _conv in string.Formatter().parse(row.message) if name}
        unknown = used - _PLACEHOLDERS[row.kind]
        if unknown:
            raise ConfigError(f"{path.name}, dòng {n}, cột message: chỗ trống không dùng được "
                              f"{', '.join('{' + u + '}' for u in sorted(unknown))} (dùng được: "
                              f"{', '.join('{' + p + '}' for p in sorted(_PLACEHOLDERS[row.kind]))})")
        rules.append(Rule(row.kind, row.subject.strip(), tuple(other), row.severity, row.message))
    return rules


# ---------------------------------------------------------------- the relations

def check_consistency(items: list, exp) -> None:
    """Adds a finding to each item for every rule its figures or task rows violate."""

    rules = exp.plausibility
    tasks_of_code = exp.locked.get("indicator_tasks", {}) if exp.locked else {}
    # a figure is unexplained when every task of the file it is tied to has a status without figures
    no_figures = {r.subject for r in rules if r.kind == "status_excludes_results" and "figures" in r.other}
    for item in items:
        if item.blank:
            continue
        by_code = {i["code"]: i for i in item.indicators}
        status_of = {t["task_id"]: t.get("status") or "" for t in item.tasks}
        figures: dict[str, list[dict]] = {}
        for code, ind in by_code.items():
            tied = [t for t in tasks_of_code.get(code, ()) if t in status_of]
            if tied and all(status_of[t] in no_figures for t in tied):
                for task_id in tied:
                    figures.setdefault(task_id, []).append(ind)
        for rule in rules:
            if rule.kind in ("at_most", "positive_requires"):
                left, right = by_code.get(rule.subject), by_code.get(rule.other[0])
                if not left or not right or left["value"] is None or right["value"] is None:
                    continue
                broken = (left["value"] > right["value"] if rule.kind == "at_most"
                          else left["value"] > 0 and right["value"] <= 0)
                if broken:
                    text = rule.message.format(left=_show(left["value"]), right=_show(right["value"]),
                                               left_cell=left["cell"], right_cell=right["cell"],
                                               left_code=rule.subject, right_code=rule.other[0])
                    item.findings.append(finding(item, left["sheet"], left["cell"], left["value"], FINDING_RULES[rule.kind],
                                                 rule.severity, text))
                continue
            for task in item.tasks:
                if (task.get("status") or "") != rule.subject:
                    continue
                for field in rule.other:
                    for cell, value in _filled(task, field, figures.get(task["task_id"], [])):
                        if rule.kind == "status_excludes_results" and value not in (None, 0):  # 0: nothing
                            text = rule.message.format(task=task["task_id"], status=rule.subject,
                                                       field=FIELD_LABELS[field], value=_short(value), cell=cell)
                            item.findings.append(finding(item, task_sheet(task, field), cell, value, FINDING_RULES[rule.kind],
                                                         rule.severity, text))
                            break   # one finding per field and task
                        if rule.kind == "required_when_done" and value is None:
                            text = rule.message.format(task=task["task_id"], status=rule.subject,
                                                       field=FIELD_LABELS[field], cell=cell)
                            item.findings.append(finding(item, task_sheet(task, field), cell, "", FINDING_RULES[rule.kind],
                                                         rule.severity, text))
                            break


def task_sheet(task: dict, field: str) -> str:
    return layout.SHEET_INDICATORS if field == "figures" else task["sheet"]


def _filled(task: dict, field: str, figures: list[dict]):
    """(cell, value or None when blank) of a task's field; for `figures`, of each indicator tied
    to the task."""
    if field == "figures":
        if not figures:
            yield "", None
        for ind in figures:
            value = ind["value"]
            yield ind["cell"], (None if _nan(value) else value)
        return
    value = task.get(field)
    if isinstance(value, str) and not value.strip():
        value = None
    if _nan(value):
        value = None
    yield f"{_TASK_LETTERS[field]}{task['row']}", value


def _nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _show(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return thousands(value) if isinstance(value, int) else decimal_comma(value)


def _short(value, width: int = 40) -> str:
    text = " ".join(_show(value).split()) if isinstance(value, (int, float)) else " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


# ---------------------------------------------------------------- the template's locked cells

def locked_texts(owed, indicators) -> dict:
    """What the template generator writes into the locked cells (pipeline/forms/templates.py
    `template_specs`): per task id its name and product, per indicator code its name, unit and
    tasks; the role comes from what the unit owes. `owed`: pipeline.reference.obligations rows; `indicators`:
    the catalogue's indicators frame."""
    tasks = {}
    for task_id, task, product in zip(owed["task_id"].tolist(), owed["task"].tolist(), owed["product"].tolist()):
        tasks.setdefault(task_id, {"task": task, "product": product})
    codes = {}
    indicator_tasks = {}
    for code, name, unit, ts in zip(indicators["code"].tolist(), indicators["name"].tolist(),
                                    indicators["unit_of_measure"].tolist(), indicators["tasks"].tolist()):
        codes[code] = {"name": name, "unit_of_measure": unit, "tasks": ts}
        indicator_tasks[code] = tuple(t.strip() for t in str(ts).split(";") if t.strip())
    return {"tasks": tasks, "indicators": codes, "indicator_tasks": indicator_tasks}


def check_locked_cells(item, exp) -> None:
    """A warning for every locked cell of a keyed row that differs from what the template wrote.
    Runs while the item still has its cells (in `validate.extract`)."""
    TASKS, INDICATORS = layout.SHEET_TASKS, layout.SHEET_INDICATORS

    locked = exp.locked
    if not locked or item.blank or item.unit_id not in exp.tasks:
        return   # (a file of no unit, or of one not expected, is an error of its own)
    roles = dict(exp.tasks.get(item.unit_id, []))
    if TASKS in item.sheets:
        sheet = item.sheets[TASKS].sheet
        for task in item.tasks:
            wrote = locked["tasks"].get(task["task_id"])
            if wrote is not None:
                _check_locked_row(item, sheet, task["row"], layout.TASK_COLUMNS,
                                  {**wrote, "role": roles.get(task["task_id"], "")}, "nhiệm vụ", task["task_id"])
    if INDICATORS in item.sheets:
        sheet = item.sheets[INDICATORS].sheet
        for ind in item.indicators:
            wrote = locked["indicators"].get(ind["code"])
            if wrote is not None:
                _check_locked_row(item, sheet, int(ind["cell"][1:]), layout.INDICATOR_COLUMNS, wrote, "chỉ tiêu",
                                  ind["code"])


def _check_locked_row(item, sheet, row: int, columns, wrote: dict, kind: str, key: str) -> None:
    """The locked cells of one row (`columns` whose key the template wrote), as `Sheet.cell` reads them."""
    values = sheet.rows[row - 1] if row - 1 < len(sheet.rows) else None
    for column in columns:
        if column.key not in wrote:
            continue
        expected = wrote[column.key]
        index = column_index(column.letter)
        found = values[index] if values is not None and index < len(values) else ""
        if found.__class__ is expected.__class__ and found == expected or _same(found, expected):
            continue   # (the cell as the template wrote it: most of them)
        cell = f"{column.letter}{row}"
        what = f"{kind} {key}"
        item.findings.append(finding(
            item, sheet.name, cell, _short(found) if found not in (None, "") else "", LOCKED_CELL_CHANGED, WARNING,
            f"Ô {cell} ({column.header}, {what}) là ô khoá của biểu mẫu nhưng đã bị sửa: biểu mẫu ghi "
            f"«{_short(expected, 60)}», tệp ghi «{_short(found, 60) if found not in (None, '') else '(trống)'}». "
            "Số liệu vẫn được đọc theo mã; lần sau hãy giữ nguyên các ô khoá."))


def _same(found, expected) -> bool:
    if type(found) is type(expected) and found == expected:
        return True   # (the cell as the template wrote it: most of them; equal values normalise equally)

    def norm(value) -> str:
        if value is None or _nan(value):
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return " ".join(nfc(str(value)).split())

    return norm(found) == norm(expected)
