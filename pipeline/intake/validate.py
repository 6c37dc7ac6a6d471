"""Validating a batch of read workbooks: findings as data, values ready for the ledger.

The batch's rows go into one long frame per sheet kind ("Thông tin", "Nhiệm vụ", "Chỉ tiêu"),
with the file and the Excel row as columns; each frame is validated once, lazily, by its pandera
schema in `schemas/submission.py`, and the failures are split back per file with a cell address.
What a schema cannot say row by row is checked here on the same frames: that the rows are exactly
the unit's tasks and indicators, the rules of `schemas/consistency.csv` and the template's locked
cells (pipeline/intake/consistency.py), and values far from the unit's own earlier periods. Cell-level
facts from the reader (error cells, merged cells, hidden rows, formulas without a value, Unicode
NFD, Vietnamese number typing) become findings while the rows are built.

A finding: unit_id, file, sheet, cell, value, rule, severity ('error' blocks acceptance,
'warning' does not) and a Vietnamese message.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import operator
import re
import unicodedata
from dataclasses import dataclass, field

from pipeline.forms import layout
from pipeline.intake import rules
from pipeline.intake.consistency import check_consistency, check_locked_cells
from pipeline.intake.findings import ERROR, WARNING, Finding, finding
from pipeline.intake.reader import Sheet, Workbook, column_index
from pipeline.common.text import fold, nfc
from pipeline.intake.register import parse_date
from pipeline.common.formatting import dmy, dmy_hm, significant, thousands
from pipeline.common.formatting import cell_text

INFO, TASKS, INDICATORS = layout.SHEET_INFO, layout.SHEET_TASKS, layout.SHEET_INDICATORS
DATA_SHEETS = (INFO, TASKS, INDICATORS)
# A value this many times the unit's largest earlier value (and at least OUTLIER_MIN_GAP more) is
# flagged, as is one this many times smaller than it.
OUTLIER_RATIO = 5
OUTLIER_MIN_GAP = 20
# The plausibility ceiling of an indicator whose `max_value` is blank in the catalogue, and of a
# task's quantity: far above anything a unit reports, far below what overflows a total.
DEFAULT_MAX_VALUE = 10 ** 9
_STATUS_BY_KEY = {fold(s): s for s in layout.STATUSES}
# sheet names, headers and statuses repeat in every file: fold each distinct text once
_key = functools.lru_cache(maxsize=8192)(fold)
_OWN_SHEETS = frozenset(fold(s) for s in (*layout.VISIBLE_SHEETS, layout.SHEET_LISTS, layout.SHEET_META))
_VISIBLE = frozenset(fold(s) for s in layout.VISIBLE_SHEETS)


# ---------------------------------------------------------------- where the sheets are

@dataclass
class LocatedSheet:
    sheet: Sheet
    header_row: int   # the row the column headers were found on (data starts on the next)


def _header_matches(sheet: Sheet, row: int, columns) -> bool:
    return all(_key(str(sheet.cell(row, c.letter))) == _key(c.header) for c in columns[:4])


def _find_header(sheet: Sheet, columns, expected: int) -> int | None:
    if _header_matches(sheet, expected, columns):
        return expected
    for row in range(1, min(len(sheet.rows), 40) + 1):
        if _header_matches(sheet, row, columns):
            return row
    return None


def _looks_like_info(sheet: Sheet) -> bool:
    return sum(_key(str(sheet.cell(r, "A"))) == _key(label) for r, _k, label, _i, _q in layout.INFO_FIELDS) >= 4


def locate_sheets(workbook: Workbook, item) -> tuple[dict[str, LocatedSheet], list[Finding]]:
    """The data sheets by kind, found by name or, when renamed, by their content."""
    found: dict[str, LocatedSheet] = {}
    findings: list[Finding] = []
    by_fold = {_key(name): name for name in workbook.sheet_names}
    expected = {INFO: None, TASKS: layout.TASK_COLUMNS, INDICATORS: layout.INDICATOR_COLUMNS}
    header_rows = {INFO: layout.INFO_HEADER_ROW, TASKS: layout.TASKS_HEADER_ROW,
                   INDICATORS: layout.INDICATORS_HEADER_ROW}
    claimed = set()
    for kind, columns in expected.items():
        name = by_fold.get(_key(kind))
        candidates = [name] if name else []
        candidates += [n for n in workbook.sheet_names if n not in candidates and _key(n) not in _OWN_SHEETS]
        for candidate in candidates:
            if candidate in claimed or candidate not in workbook.sheets:
                continue
            sheet = workbook.sheets[candidate]
            if columns is None:
                header = header_rows[kind] if _looks_like_info(sheet) else None
            else:
                header = _find_header(sheet, columns, header_rows[kind])
            if header is None:
                continue
            found[kind] = LocatedSheet(sheet, header)
            claimed.add(candidate)
            if candidate != kind:
                findings.append(finding(item, candidate, "", candidate, rules.SHEET_RENAMED, WARNING,
                                        f"Trang '{candidate}' là trang '{kind}' đã bị đổi tên; đã đọc theo nội dung. "
                                        f"Lần sau hãy giữ nguyên tên trang '{kind}'."))
            if header != header_rows[kind]:
                findings.append(finding(item, candidate, f"A{header}", "", rules.ROWS_SHIFTED, WARNING,
                                        f"Dòng tiêu đề của trang '{kind}' nằm ở dòng {header} thay vì dòng "
                                        f"{header_rows[kind]} (có dòng bị chèn hoặc xoá phía trên); đã đọc theo tiêu đề."))
            break
        else:
            if name and name in workbook.sheets:
                findings.append(finding(item, name, f"A{header_rows[kind]}", "", rules.HEADER_CHANGED, ERROR,
                                        f"Trang '{kind}' không còn đúng cấu trúc biểu mẫu (dòng tiêu đề bị sửa hoặc "
                                        "các cột bị chèn, xoá): hãy chép số liệu vào biểu mẫu gốc và gửi lại."))
            else:
                findings.append(finding(item, kind, "", "", rules.SHEET_MISSING, ERROR,
                                        f"Thiếu trang '{kind}' (đã bị xoá hoặc đổi tên): hãy dùng biểu mẫu gốc, "
                                        "không xoá hoặc đổi tên các trang."))
    if _key(layout.SHEET_GUIDE) not in by_fold:
        findings.append(finding(item, layout.SHEET_GUIDE, "", "", rules.SHEET_MISSING, WARNING,
                                f"Thiếu trang '{layout.SHEET_GUIDE}' (không ảnh hưởng số liệu)."))
    order = [n for n in workbook.sheet_names if _key(n) in _VISIBLE]
    present = {_key(n) for n in order}
    template_order = [s for s in layout.VISIBLE_SHEETS if _key(s) in present]
    moved = next((n for n, t in zip(order, template_order) if _key(n) != _key(t)), None)
    if moved:
        findings.append(finding(item, moved, "", ", ".join(workbook.sheet_names), rules.SHEETS_REORDERED,
                                WARNING, "Thứ tự các trang đã bị thay đổi; đã đọc theo tên trang, không ảnh hưởng "
                                         "số liệu. Lần sau hãy giữ nguyên thứ tự."))
    return found, findings


# ---------------------------------------------------------------- what the reader noticed

# Functions whose result comes from outside the workbook (a program, a web page, another file):
# their cached value is whatever the sender's machine last saw, or wants the reader to see.
_ACTIVE = re.compile(r"\||\[|\b(?:HYPERLINK|WEBSERVICE|FILTERXML|RTD|CALL|REGISTER(?:\.ID)?|EXEC|IMPORTDATA|"
                     r"IMPORTXML|IMPORTRANGE|INDIRECT|DDE|DDEAUTO|INFO|CELL|EVALUATE)\s*\(|'(?:file|https?):", re.I)


def _input_cells(item) -> dict[str, set[str]]:
    """The cells a unit types in, per sheet read: ref -> its sheet's name."""
    cells: dict[str, set[str]] = {}
    for kind, located in item.sheets.items():
        sheet = located.sheet
        if kind == INFO:
            cells[sheet.name] = {f"{layout.INFO_VALUE_COLUMN}{r}" for r, _k, _l, inp, _q in layout.INFO_FIELDS if inp}
        else:
            columns = layout.TASK_COLUMNS if kind == TASKS else layout.INDICATOR_COLUMNS
            letters = {c.letter for c in columns if c.is_input}
            cells[sheet.name] = {ref for ref in sheet.formulas
                                 if re.sub(r"\d", "", ref) in letters
                                 and int(re.sub(r"\D", "", ref) or 0) > located.header_row}
    return cells


def read_findings(item) -> list[Finding]:
    """What the reader noticed on reading a file, as findings: control characters removed from
    cells, formulas in input cells (those reaching outside the workbook are errors: their value is
    not trusted), links to other workbooks."""
    out = []
    workbook = item.workbook
    for sheet in workbook.sheets.values():
        for ref, found in sheet.controls.items():
            kind = ("dấu ngắt dòng của Word (U+000B), đã đổi thành xuống dòng" if found == ["U+000B"] else
                    f"ký tự điều khiển không in được ({', '.join(found)}), đã bỏ")
            out.append(finding(item, sheet.name, ref, sheet.cell(int(re.sub(r"\D", "", ref)), re.sub(r"\d", "", ref)),
                               rules.CONTROL_CHARACTER, WARNING,
                               f"Ô có {kind} (thường do dán từ Word hoặc trang web): hãy kiểm tra lại nội dung ô."))
    inputs = _input_cells(item) if any(s.formulas for s in workbook.sheets.values()) else {}
    for sheet_name, refs in inputs.items():
        formulas = workbook.sheets[sheet_name].formulas
        for ref in sorted(refs & formulas.keys(), key=lambda r: (len(r), r)):
            formula = formulas[ref]
            if _ACTIVE.search(formula):
                out.append(finding(item, sheet_name, ref, "=" + formula, rules.ACTIVE_CONTENT, ERROR,
                                   "Ô nhập liệu chứa công thức lấy dữ liệu từ bên ngoài (liên kết, trang web, chương "
                                   "trình khác) nên giá trị không tin cậy được: hãy xoá công thức và ghi trực tiếp số "
                                   "liệu hoặc nội dung."))
            else:
                out.append(finding(item, sheet_name, ref, "=" + formula, rules.FORMULA_IN_INPUT, WARNING,
                                   "Ô nhập liệu chứa công thức; đã dùng giá trị đã tính. Lần sau hãy ghi trực tiếp "
                                   "số liệu."))
    if workbook.external_links:
        out.append(finding(item, "", "", workbook.external_links, rules.EXTERNAL_LINK, ERROR,
                           f"Tệp có {workbook.external_links} liên kết tới tệp khác (External Links): số liệu lấy từ "
                           "tệp khác không kiểm tra được. Hãy gỡ liên kết (Dữ liệu > Sửa liên kết > Ngắt liên kết) "
                           "rồi gửi lại."))
    return out


# ---------------------------------------------------------------- reading cells

class CellError(str):
    """A cell whose value cannot be used: an error value (#DIV/0!) or a formula never calculated."""


@dataclass(frozen=True)
class Parsed:
    value: float | None
    rule: str = ""
    severity: str = ""
    message: str = ""


_NUMBER = re.compile(r"^([+-]?)\s*(\d[\d.,\s]*)\s*([^\d\s.,+-][^\d]*)?$")
_ZERO_WORDS = {fold(w) for w in ("không", "không có", "khong", "ko")}


def parse_number(raw, decimal: bool) -> Parsed:
    """A cell typed as a number the Vietnamese way: `1.200` = 1200, `1,5` = 1.5, `12 người` = 12,
    `không` = 0 (each noted as a warning); ambiguous (`1,200`) or not a number: an error."""
    if isinstance(raw, CellError):
        return Parsed(None, rules.ERROR_CELL, ERROR, f"Ô bị lỗi ({raw}): hãy nhập số trực tiếp, không dùng công thức lỗi.")
    if raw is None or raw == "":
        return Parsed(None)
    if isinstance(raw, bool):
        return Parsed(None, rules.NOT_A_NUMBER, ERROR, f"'{raw}' không phải là số: hãy ghi số, không có số liệu thì ghi 0.")
    if isinstance(raw, (int, float)):
        value = float(raw)
        if math.isnan(value) or math.isinf(value):
            return Parsed(None, rules.NOT_A_NUMBER, ERROR, "Ô không chứa số hợp lệ.")
        return Parsed(value)
    if isinstance(raw, (dt.date, dt.time, dt.timedelta)):
        return Parsed(None, rules.NOT_A_NUMBER, ERROR, "Ô chứa ngày tháng, không phải số: hãy ghi số.")
    text = nfc(str(raw))
    if not text:
        return Parsed(None)
    if fold(text) in _ZERO_WORDS:
        return Parsed(0.0, rules.VIETNAMESE_NUMBER, WARNING, f"Đã hiểu '{text}' là 0; lần sau hãy ghi số 0.")
    match = _NUMBER.match(text)
    not_number = Parsed(None, rules.NOT_A_NUMBER, ERROR,
                        f"'{cell_text(text)}' không phải là số: hãy chỉ ghi số (ví dụ 12), không có số liệu thì ghi 0; "
                        "giải thích ghi ở cột Ghi chú.")
    if not match:
        return not_number
    sign, spaced, suffix = match.group(1), match.group(2).strip(), (match.group(3) or "").strip()
    digits = re.sub(r"\s+", "", spaced)
    if suffix and not all(ch.isalpha() or ch in " /." for ch in suffix):
        return not_number
    if digits != spaced and not re.fullmatch(r"\d{1,3}( \d{3})+", spaced):
        # "12 15": two figures pasted in one cell, not 1215 ("1 200", a space between thousands, is one)
        return Parsed(None, rules.TWO_NUMBERS, ERROR,
                      f"'{cell_text(text)}' có vẻ là nhiều số ghi chung một ô: hãy ghi một số duy nhất (ví dụ 12); "
                      "giải thích ghi ở cột Ghi chú.")
    if digits != spaced:
        value, how = float(digits), "dấu cách phân cách hàng nghìn"
    elif re.fullmatch(r"\d+", digits):
        value, how = float(digits), ""
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", digits):
        value, how = float(digits.replace(".", "")), "dấu chấm phân cách hàng nghìn"
    elif re.fullmatch(r"\d{1,3}(\.\d{3})*,\d+", digits) and not re.fullmatch(r"\d{1,3},\d{3}", digits):
        value, how = float(digits.replace(".", "").replace(",", ".")), "dấu phẩy thập phân"
    elif re.fullmatch(r"\d{1,3}(,\d{3}){2,}", digits):
        value, how = float(digits.replace(",", "")), "dấu phẩy phân cách hàng nghìn"
    elif re.fullmatch(r"\d+\.\d+", digits):
        value, how = float(digits), "dấu chấm thập phân"
    elif re.fullmatch(r"\d{1,3},\d{3}", digits):
        return Parsed(None, rules.AMBIGUOUS_NUMBER, ERROR,
                      f"'{text}' không rõ là {digits.replace(',', '')} hay {digits.replace(',', '.')}: "
                      "hãy ghi số không có dấu phân cách (ví dụ 1200).")
    else:
        return not_number
    if sign == "-":
        value = -value
    if not how and not suffix:
        return Parsed(value)
    shown = significant(value)
    parts = [p for p in (how, f"bỏ chữ '{suffix}'" if suffix else "") if p]
    return Parsed(value, rules.VIETNAMESE_NUMBER, WARNING,
                  f"Đã hiểu '{text}' là {shown} ({', '.join(parts)}); lần sau hãy chỉ ghi số.")


def clean_text(raw) -> tuple[str | None, bool]:
    """(text NFC, was it not NFC); None for a blank cell. Line breaks are kept."""
    if raw.__class__ is str:   # the usual cell: no conversion
        text = raw.strip()
        if not text:
            return None, False
        if text.isascii():
            return text, False
        normal = unicodedata.normalize("NFC", text)
        return normal, normal != text
    if raw is None or raw == "":
        return None, False
    if isinstance(raw, float):
        text = str(int(raw)) if raw.is_integer() else repr(raw)
    elif isinstance(raw, dt.datetime):
        text = dmy_hm(raw) if (raw.hour or raw.minute) else dmy(raw)
    elif isinstance(raw, dt.date):
        text = dmy(raw)
    else:
        text = str(raw)
    text = text.strip()
    if not text:
        return None, False
    normal = unicodedata.normalize("NFC", text)
    return normal, normal != text


def parse_report_date(raw) -> dt.date | None:

    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str) and raw.strip():
        try:
            return parse_date(raw.strip())
        except ValueError:
            return None
    return None


# ---------------------------------------------------------------- the batch

@dataclass
class Expectations:
    """What each unit owes this period."""

    period_code: str
    tasks: dict[str, list[tuple[str, str]]]          # unit -> [(task_id, role)] in plan order
    indicators: dict[str, list[tuple[str, str]]]     # unit -> [(code, value_type)] in catalogue order
    plausibility: list = field(default_factory=list)  # the consistency rules (pipeline/intake/consistency.py)
    earlier: dict[tuple[str, str], list[tuple[str, float]]] = field(default_factory=dict)  # (unit, code) -> [(period, value)]
    locked: dict = field(default_factory=dict)   # what the template wrote in its locked cells (consistency.py)
    ceilings: dict[str, float] = field(default_factory=dict)   # code -> the most one unit can plausibly report

    def fingerprint(self, unit_id: str) -> str:
        return layout.fingerprint(unit_id, self.period_code, [t for t, _ in self.tasks.get(unit_id, [])],
                                  [c for c, _ in self.indicators.get(unit_id, [])])


@dataclass
class Item:
    """One file of the batch, identified, with its sheets located."""

    key: int                  # submission id
    file: str                 # the name the unit sent, as shown to people
    unit_id: str | None
    workbook: Workbook
    sheets: dict[str, LocatedSheet]
    findings: list[Finding] = field(default_factory=list)
    tasks: list[dict] = field(default_factory=list)        # for the ledger
    indicators: list[dict] = field(default_factory=list)   # for the ledger
    blank: bool = False
    info: dict = field(default_factory=dict)               # "Thông tin" inputs, for the ledger

    def without_cells(self) -> "Item":
        """The item once its cells are extracted: the workbook and its sheets keep their names and
        format but not their rows (what a reading process sends back is then a few KB)."""
        sheets = {n: Sheet(n, [], hidden=s.hidden) for n, s in self.workbook.sheets.items()}
        workbook = Workbook(self.workbook.path, self.workbook.format, self.workbook.sheet_names, sheets, {})
        located = {kind: LocatedSheet(sheets[loc.sheet.name], loc.header_row) for kind, loc in self.sheets.items()}
        return Item(self.key, self.file, self.unit_id, workbook, located, self.findings, self.tasks, self.indicators,
                    self.blank, self.info)


# The columns of the batch's frames (check_schemas); Extracted holds each file's rows as tuples in
# this order (a tuple, not a dict: what a reading process sends back is smaller and quicker to read)
_INFO_FRAME = ("file_key", "preparer", "phone", "report_date", "head_of_unit")
_TASK_FRAME = ("file_key", "excel_row", "sheet", "task_id", "status", "results", "quantity", "documents",
               "difficulties", "proposals")
_INDICATOR_FRAME = ("file_key", "excel_row", "sheet", "code", "value_type", "value", "is_blank", "note")


@dataclass
class Extracted:
    """One file's rows for the batch's schemas (tuples, columns as _INFO_FRAME, _TASK_FRAME and
    _INDICATOR_FRAME), and the cells that could not be read."""

    info_rows: list = field(default_factory=list)
    task_rows: list = field(default_factory=list)
    indicator_rows: list = field(default_factory=list)
    cell_errors: set = field(default_factory=set)


def extract(item: Item, expectations: Expectations) -> Extracted:
    """One file's cells read and checked one by one (fills the item's findings, tasks, indicators
    and info); the schemas then check every file's rows at once (check_schemas). Needs only the
    item, so it can run in the process that read the file."""
    rows = Extracted()
    try:
        _extract(item, expectations, rows.info_rows, rows.task_rows, rows.indicator_rows, rows.cell_errors)
        check_locked_cells(item, expectations)
    except Exception as exc:  # noqa: BLE001 - one file we did not foresee must not stop the batch
        rows = Extracted()
        item.tasks, item.indicators, item.blank = [], [], True   # nothing of it is stored
        item.findings.append(finding(item, "", "", "", rules.UNEXPECTED_ERROR, ERROR,
                                     f"Không xử lý được tệp do lỗi không lường trước ({type(exc).__name__}: {exc}); "
                                     "hãy mở lại tệp bằng Excel, lưu lại rồi gửi, và báo lỗi này cho người quản "
                                     "trị phần mềm."))
    return rows


def check_schemas(items: list[Item], extracted: dict[int, Extracted]) -> None:
    """The pandera schemas, once per sheet kind over the rows of every item given (their keys
    unique in the batch), whatever project each belongs to: the schemas do not depend on what a
    unit owes."""
    import pandas as pd
    import pandera.pandas as pa

    # late: the schemas bring pandera, which only validation needs
    from schemas.submission import (IndicatorValueSchema, SubmissionInfoSchema, TaskReportSchema)

    info_rows, task_rows, indicator_rows = [], [], []
    by_key = {item.key: item for item in items}
    cell_errors: set[tuple[int, str, str]] = set()
    for item in items:
        rows = extracted[item.key]
        info_rows += rows.info_rows
        task_rows += rows.task_rows
        indicator_rows += rows.indicator_rows
        cell_errors |= rows.cell_errors

    frames = [
        (INFO, SubmissionInfoSchema, pd.DataFrame(info_rows, columns=list(_INFO_FRAME)), None),
        (TASKS, TaskReportSchema, pd.DataFrame(task_rows, columns=list(_TASK_FRAME)), _column_cell(layout.TASK_COLUMNS)),
        (INDICATORS, IndicatorValueSchema, pd.DataFrame(indicator_rows, columns=list(_INDICATOR_FRAME)),
         _column_cell(layout.INDICATOR_COLUMNS)),
    ]
    for kind, schema, frame, cell_of in frames:
        if frame.empty:
            continue
        frame = _typed(frame)
        try:
            schema.validate(frame.drop(columns=["sheet"], errors="ignore"), lazy=True)
        except pa.errors.SchemaErrors as exc:
            _schema_findings(exc.failure_cases, frame, kind, by_key, cell_of, cell_errors)


def check_across(items: list[Item], expectations: Expectations) -> None:
    """What no single cell says: the consistency rules, and values far from the unit's own
    earlier periods. `items` are one project's."""
    check_consistency(items, expectations)
    _outliers(items, expectations)


def _typed(frame):
    import pandas as pd

    for column in frame.columns:
        if column in ("file_key", "excel_row"):
            frame[column] = frame[column].astype("int64")
        elif column in ("value", "quantity"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        elif column == "is_blank":
            frame[column] = frame[column].astype(bool)
        else:
            # a missing cell stays missing: astype("str") alone writes None as "None" under pandas 2
            # (and 3 with future.infer_string off), and the not-null checks would pass a blank status
            frame[column] = frame[column].astype("str").where(frame[column].notna())
    return frame


def _column_cell(columns):
    letters = {c.key: c.letter for c in columns}

    def cell_of(row, column: str) -> tuple[str, str]:
        return row["sheet"], f"{letters.get(column, 'A')}{int(row['excel_row'])}"
    return cell_of


def _schema_findings(failures, frame, kind, by_key, cell_of, cell_errors) -> None:
    # late: the schemas bring pandera, which only validation needs
    from schemas.submission import MESSAGES, ROW_CHECK_COLUMNS

    seen = set()
    for case in failures.itertuples(index=False):
        if case.index is None or (isinstance(case.index, float) and math.isnan(case.index)):
            continue
        check = str(case.check)
        column = ROW_CHECK_COLUMNS.get(check, case.column if isinstance(case.column, str) else "")
        key = (int(case.index), check, column)
        if key in seen:
            continue
        seen.add(key)
        rule_spec = next((spec for prefix, spec in MESSAGES.get(column, {}).items() if check.startswith(prefix)), None)
        if rule_spec is None:
            rule_spec = (check, ERROR, f"Không đạt kiểm tra {check}.")
        row = frame.iloc[int(case.index)]
        item = by_key[int(row["file_key"])]
        if item.blank:
            continue
        sheet, cell = cell_of(row, column) if kind != INFO else _info_location(item, column)
        if (item.key, sheet, cell) in cell_errors:
            continue  # the cell already has an error saying why it could not be read
        value = row[column] if column in row.index else ""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            value = ""
        rule, severity, message = rule_spec
        text = value if isinstance(value, str) else cell_text(value)
        item.findings.append(finding(item, sheet, cell, value, rule, severity,
                                     message.format(value=cell_text(text), length=len(text) if isinstance(text, str) else 0)))


def _info_location(item: Item, column: str) -> tuple[str, str]:
    sheet = item.sheets[INFO].sheet.name if INFO in item.sheets else INFO
    for r, key, _label, _inp, _req in layout.INFO_FIELDS:
        if key == column:
            return sheet, f"{layout.INFO_VALUE_COLUMN}{r}"
    return sheet, ""


# ---------------------------------------------------------------- building the rows of one file

def _cell_value(sheet: Sheet, row: int, letter: str):
    if sheet.error_cells or sheet.uncached_formulas:   # most sheets have neither: no address to build
        ref = f"{letter}{row}"
        if ref in sheet.error_cells:
            return CellError(sheet.error_cells[ref])
        if ref in sheet.uncached_formulas:
            return CellError("công thức chưa được tính")
    return sheet.cell(row, letter)


@functools.lru_cache(maxsize=64)
def _indexes(letters: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(column_index(letter) for letter in letters)


@functools.lru_cache(maxsize=64)
def _getter(letters: tuple[str, ...]) -> tuple[int, object]:
    """How wide a row must be to hold every cell of `letters`, and what takes them from it at once."""
    indexes = _indexes(letters)
    return max(indexes) + 1, (operator.itemgetter(*indexes) if len(indexes) > 1 else lambda cells: (cells[indexes[0]],))


def _row_values(sheet: Sheet, row: int, letters: tuple[str, ...]) -> list:
    """The values of one row's cells in `letters` ('' outside the data): one list, read at once;
    a cell that cannot be used is a CellError."""
    cells = sheet.rows[row - 1] if row - 1 < len(sheet.rows) else ()
    width = len(cells)
    needed, take = _getter(letters)
    values = list(take(cells)) if width >= needed else [cells[i] if i < width else "" for i in _indexes(letters)]
    if sheet.error_cells or sheet.uncached_formulas:
        for n, letter in enumerate(letters):
            ref = f"{letter}{row}"
            if ref in sheet.error_cells:
                values[n] = CellError(sheet.error_cells[ref])
            elif ref in sheet.uncached_formulas:
                values[n] = CellError("công thức chưa được tính")
    return values


_UNREAD = object()


def _text_cell(item: Item, sheet: Sheet, row: int, letter: str, cell_errors, raw=_UNREAD) -> str | None:
    """The cell's text (NFC); `raw` is its value when already read."""
    if raw.__class__ is str:   # the usual cell, read already: ASCII text needs no normalising
        text = raw.strip()
        if text.isascii():
            return text or None
    if raw is _UNREAD:
        raw = _cell_value(sheet, row, letter)
    if isinstance(raw, CellError):
        ref = f"{letter}{row}"
        item.findings.append(finding(item, sheet.name, ref, raw, rules.ERROR_CELL, ERROR,
                                     f"Ô bị lỗi ({raw}): hãy ghi nội dung trực tiếp."))
        cell_errors.add((item.key, sheet.name, ref))
        return None
    text, was_nfd = clean_text(raw)
    if was_nfd:
        item.findings.append(finding(item, sheet.name, f"{letter}{row}", text, rules.NFD_TEXT, WARNING,
                                     "Chữ tiếng Việt ở dạng Unicode tổ hợp (NFD), đã chuyển sang dạng dựng sẵn (NFC); "
                                     "nên dùng bộ gõ Unicode dựng sẵn."))
    return text


def _number_cell(item: Item, sheet: Sheet, row: int, letter: str, decimal: bool, cell_errors,
                 raw=_UNREAD, ceiling: float = DEFAULT_MAX_VALUE) -> tuple[float | None, bool, str]:
    if raw is _UNREAD:
        raw = _cell_value(sheet, row, letter)
    if type(raw) is float and -ceiling <= raw <= ceiling:   # a plain number: the usual case (NaN fails too)
        return raw, False, cell_text(raw)
    parsed = parse_number(raw, decimal)
    if parsed.value is not None and abs(parsed.value) > ceiling:
        shown_ceiling = thousands(round(ceiling))
        parsed = Parsed(None, rules.ABOVE_CEILING, ERROR,
                        f"Giá trị {cell_text(parsed.value) if abs(parsed.value) < 1e15 else format(parsed.value, '.3g')} "
                        f"vượt quá mức tối đa hợp lý cho một đơn vị ({shown_ceiling}): hãy kiểm tra lại số đã ghi "
                        "(thừa chữ số, dán nhầm).")
    shown = raw if isinstance(raw, str) else cell_text(raw)
    if parsed.rule:
        ref = f"{letter}{row}"
        item.findings.append(finding(item, sheet.name, ref, shown, parsed.rule, parsed.severity, parsed.message))
        if parsed.severity == ERROR:
            cell_errors.add((item.key, sheet.name, ref))
    blank = (raw is None or (isinstance(raw, str) and not raw.strip()))
    return parsed.value, blank, "" if raw is None else str(shown)


def _cell_facts(item: Item, located: LocatedSheet, first_row: int) -> None:
    sheet = located.sheet
    for row in sheet.hidden_rows:
        if row >= first_row:
            item.findings.append(finding(item, sheet.name, f"A{row}", "", rules.HIDDEN_ROW, WARNING,
                                         f"Dòng {row} đang bị ẩn; nội dung dòng ẩn vẫn được đọc: hãy bỏ ẩn và kiểm tra lại."))
    for merged in sheet.merged:
        start = merged.split(":")[0]
        if int(re.sub(r"[A-Z]", "", start)) >= first_row:
            item.findings.append(finding(item, sheet.name, merged, "", rules.MERGED_CELLS, WARNING,
                                         f"Các ô {merged} bị gộp: chỉ ô đầu ({start}) được đọc, các ô còn lại coi như để "
                                         "trống. Hãy bỏ gộp ô và ghi riêng từng dòng."))


def _anything_typed(item: Item, task_inputs, indicator_inputs) -> bool:
    """False for a template sent back blank: nothing in any input cell."""
    if INFO in item.sheets:
        s = item.sheets[INFO].sheet
        if any(s.cell(r, layout.INFO_VALUE_COLUMN) not in ("", None) for r, _k, _l, inp, _q in layout.INFO_FIELDS if inp):
            return True
    for kind, inputs in ((TASKS, task_inputs), (INDICATORS, indicator_inputs)):
        if kind in item.sheets:
            located = item.sheets[kind]
            letters = tuple(c.letter for c in inputs)
            for row in range(located.header_row + 1, len(located.sheet.rows) + 1):
                if any(v not in ("", None) for v in _row_values(located.sheet, row, letters)):
                    return True
    return False


_TASK_LETTERS = tuple(c.letter for c in layout.TASK_COLUMNS)
_INDICATOR_LETTERS = tuple(c.letter for c in layout.INDICATOR_COLUMNS)

# What a row's key is called, in the messages about rows that cannot be matched.
_TASK_ROWS = {"key": "mã nhiệm vụ", "what": "Nhiệm vụ", "content": "nội dung", "row_of": "nhiệm vụ",
              "owed": "các nhiệm vụ của đơn vị trong kỳ này"}
_INDICATOR_ROWS = {"key": "mã chỉ tiêu", "what": "Chỉ tiêu", "content": "số liệu", "row_of": "chỉ tiêu",
                   "owed": "các chỉ tiêu đơn vị báo cáo trong kỳ này"}


def _row_key(item, sheet: str, row: int, raw, seen: dict, owed, words: dict) -> str | None:
    """The row's task id or indicator code; None, with a finding, for an inserted, duplicated or
    foreign row. `owed` is None when the unit's obligations are unknown."""
    key, _ = clean_text(raw)
    if not key:
        item.findings.append(finding(item, sheet, f"A{row}", "", rules.ROW_INSERTED, ERROR,
                                     f"Dòng {row} có nội dung nhưng không có {words['key']} (dòng chèn thêm): hãy "
                                     f"ghi {words['content']} vào đúng dòng của {words['row_of']} và xoá dòng này."))
        return None
    if key in seen:
        item.findings.append(finding(item, sheet, f"A{row}", key, rules.DUPLICATE_ROW, ERROR,
                                     f"{words['what']} {key} xuất hiện hai lần (dòng {seen[key]} và dòng {row}): "
                                     "hãy giữ một dòng."))
        return None
    if owed is not None and key not in owed:
        item.findings.append(finding(item, sheet, f"A{row}", key, rules.UNEXPECTED_ROW, ERROR,
                                     f"{words['what']} {key} không thuộc {words['owed']}: "
                                     "hãy xoá dòng này hoặc dùng đúng biểu mẫu của đơn vị."))
        return None
    seen[key] = row
    return key


def _keyed_rows(item: Item, located: LocatedSheet, letters: tuple[str, ...], owed, words: dict, seen: dict):
    """The sheet's data rows below its header that are not blank: (Excel row, its key, the values of
    `letters`). Inserted, duplicated and foreign rows are findings and left out; `seen` collects
    the keys read and their rows."""
    sheet = located.sheet
    first = located.header_row + 1
    _cell_facts(item, located, first)
    for row in range(first, len(sheet.rows) + 1):
        values = _row_values(sheet, row, letters)
        if all(v in ("", None) for v in values):
            continue
        key = _row_key(item, sheet.name, row, values[0], seen, owed, words)
        if key is not None:
            yield row, key, values


def _extract(item: Item, exp: Expectations, info_rows, task_rows, indicator_rows, cell_errors) -> None:
    # the structure is checked against what the unit owes; a unit not identified, or not expected
    # this period (already an error), gets only its cells checked
    expected = item.unit_id in exp.tasks
    owed_tasks = dict(exp.tasks[item.unit_id]) if expected else {}
    owed_codes = dict(exp.indicators.get(item.unit_id, [])) if expected else {}
    task_inputs = [c for c in layout.TASK_COLUMNS if c.is_input]
    indicator_inputs = [c for c in layout.INDICATOR_COLUMNS if c.is_input]

    if item.sheets and not _anything_typed(item, task_inputs, indicator_inputs):
        item.blank = True
        sheet = item.sheets.get(TASKS) or next(iter(item.sheets.values()))
        item.findings.append(finding(item, sheet.sheet.name, f"E{sheet.header_row + 1}", "", rules.BLANK_TEMPLATE, ERROR,
                                     "Biểu mẫu chưa được điền: tất cả các ô nhập liệu đều trống. Hãy điền thông tin, "
                                     "tình trạng và kết quả từng nhiệm vụ, giá trị các chỉ tiêu rồi gửi lại."))
        return

    if INFO in item.sheets:
        located = item.sheets[INFO]
        s = located.sheet
        _cell_facts(item, located, layout.INFO_FIELDS[0][0])
        values = {"file_key": item.key}
        for r, key, _label, is_input, _req in layout.INFO_FIELDS:
            if not is_input:
                continue
            if key == "report_date":
                raw = _cell_value(s, r, layout.INFO_VALUE_COLUMN)
                ref = f"{layout.INFO_VALUE_COLUMN}{r}"
                day = None if isinstance(raw, CellError) else parse_report_date(raw)
                if raw not in ("", None) and day is None:
                    item.findings.append(finding(item, s.name, ref, raw, rules.INVALID_DATE, ERROR,
                                                 f"Ngày lập báo cáo '{cell_text(raw)}' không đúng dạng ngày/tháng/năm."))
                    cell_errors.add((item.key, s.name, ref))
                values[key] = day.isoformat() if day else None
            else:
                values[key] = _text_cell(item, s, r, layout.INFO_VALUE_COLUMN, cell_errors)
        info_rows.append(tuple(values.get(c) for c in _INFO_FRAME))
        item.info = {k: v for k, v in values.items() if k != "file_key"}

    if TASKS in item.sheets:
        located = item.sheets[TASKS]
        s = located.sheet
        seen: dict[str, int] = {}
        for row, task_id, values in _keyed_rows(item, located, _TASK_LETTERS, owed_tasks if expected else None,
                                                _TASK_ROWS, seen):
            record = {"file_key": item.key, "excel_row": row, "sheet": s.name, "task_id": task_id}
            for c, raw in zip(layout.TASK_COLUMNS[4:], values[4:]):
                if c.key == "quantity":
                    record["quantity"], _blank, _raw = _number_cell(item, s, row, c.letter, False, cell_errors, raw)
                elif c.key == "status":
                    text = _text_cell(item, s, row, c.letter, cell_errors, raw)
                    record["status"] = _STATUS_BY_KEY.get(_key(text), text) if text else None
                else:
                    record[c.key] = _text_cell(item, s, row, c.letter, cell_errors, raw)
            task_rows.append(tuple(record[c] for c in _TASK_FRAME))
            item.tasks.append({"task_id": task_id, "role": owed_tasks.get(task_id, ""), "status": record["status"],
                               "results": record["results"], "quantity": record["quantity"],
                               "documents": record["documents"], "difficulties": record["difficulties"],
                               "proposals": record["proposals"], "sheet": s.name, "row": row})
        if expected:
            _check_set(item, s.name, owed_tasks, seen, located.header_row + 1, "nhiệm vụ")

    if INDICATORS in item.sheets:
        located = item.sheets[INDICATORS]
        s = located.sheet
        seen = {}
        for row, code, values in _keyed_rows(item, located, _INDICATOR_LETTERS, owed_codes if expected else None,
                                             _INDICATOR_ROWS, seen):
            value_type = owed_codes.get(code, "decimal")
            value, blank, raw = _number_cell(item, s, row, "E", value_type == "decimal", cell_errors,
                                             values[_INDICATOR_LETTERS.index("E")],
                                             exp.ceilings.get(code, DEFAULT_MAX_VALUE))
            note = _text_cell(item, s, row, "F", cell_errors, values[_INDICATOR_LETTERS.index("F")])
            indicator_rows.append((item.key, row, s.name, code, value_type, value, blank, note))   # _INDICATOR_FRAME
            item.indicators.append({"code": code, "value": value, "raw": raw, "note": note,
                                    "sheet": s.name, "cell": f"E{row}"})
        if expected:
            _check_set(item, s.name, owed_codes, seen, located.header_row + 1, "chỉ tiêu")


def _check_set(item: Item, sheet: str, owed: dict, seen: dict[str, int], first_row: int, what: str) -> None:
    """Exactly the owed rows; rows moved are read by their id, with a warning."""
    missing = [k for k in owed if k not in seen]
    for key in missing:
        item.findings.append(finding(item, sheet, "", key, rules.ROW_MISSING, ERROR,
                                     f"Thiếu dòng {what} {key} (dòng đã bị xoá): hãy dùng biểu mẫu gốc, không xoá dòng."))
    if missing:
        return
    moved = [seen[k] for n, k in enumerate(owed) if seen[k] != first_row + n]
    if moved:
        first_bad = min(moved)
        item.findings.append(finding(item, sheet, f"A{first_bad}", "", rules.ROWS_MOVED, WARNING,
                                     f"Các dòng {what} đã bị chèn, xoá hoặc đổi thứ tự (từ dòng {first_bad}); đã đọc "
                                     f"theo mã {what}, không ảnh hưởng số liệu. Lần sau hãy giữ nguyên thứ tự dòng."))


# ---------------------------------------------------------------- across indicators, across periods

def _outliers(items: list[Item], exp: Expectations) -> None:
    if not exp.earlier:
        return
    for item in items:
        if item.blank or not item.unit_id:
            continue
        for ind in item.indicators:
            value = ind["value"]
            history = exp.earlier.get((item.unit_id, ind["code"]))
            if value is None or not history:
                continue
            top = max(v for _p, v in history)
            high = value > OUTLIER_RATIO * max(top, 1) and value - top >= OUTLIER_MIN_GAP
            low = top >= OUTLIER_MIN_GAP and value * OUTLIER_RATIO < top
            if high or low:
                earlier = "; ".join(f"{p}: {cell_text(v)}" for p, v in sorted(history))
                item.findings.append(finding(
                    item, ind["sheet"], ind["cell"], value, rules.FAR_FROM_HISTORY, WARNING,
                    f"Giá trị {cell_text(value)} khác xa các kỳ trước của đơn vị ({earlier}): hãy kiểm tra lại; "
                    "nếu đúng, ghi lý do ở cột Ghi chú."))
