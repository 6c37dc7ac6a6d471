"""The rules a submission can break: their codes, and the catalogue that names them for people.

Each rule has a code (the constants below: the code writes `rules.NOT_A_NUMBER`, never the string)
and a row in the catalogue `schemas/rules.csv`: `code,severity,title,description`, the title and
description in Vietnamese, so the officer can reword them. `severity` is `error` (the file is
rejected), `warning` (accepted, to check) or `either` (the place that finds it decides: a missing
guide sheet is only a warning; a consistency rule's severity is data in schemas/consistency.csv).
A code the catalogue does not know yet shows as OTHER_RULE rather than as an internal code. A
broken rule is a `Finding` (pipeline/intake/findings.py).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

OTHER_RULE = "Quy tắc khác"
CATALOGUE = Path(__file__).resolve().parents[2] / "schemas" / "rules.csv"

ERROR, WARNING = "error", "warning"     # an error rejects the file; a warning is accepted, to check
EITHER = "either"                       # the catalogue's word for a rule whose severity the finder sets
SEVERITIES = (ERROR, WARNING)

# ---------------------------------------------------------------- the file as a whole (reading)
EMPTY_FILE = "empty_file"
FILE_TOO_LARGE = "file_too_large"
PASSWORD_PROTECTED = "password_protected"
NOT_A_SPREADSHEET = "not_a_spreadsheet"
CORRUPT_FILE = "corrupt_file"
ZIP_BOMB = "zip_bomb"
CELL_OUT_OF_RANGE = "cell_out_of_range"
UNEXPECTED_ERROR = "unexpected_error"
READER_CRASHED = "reader_crashed"
READ_TIMEOUT = "read_timeout"
EXCEL_FILE_MISSING = "excel_file_missing"
CONTROL_CHARACTER = "control_character"
# ---------------------------------------------------------------- whose file, which period
TEMPLATE_VERSION = "template_version"
UNIT_CONFLICT = "unit_conflict"
UNIT_UNKNOWN = "unit_unknown"
UNIT_NOT_EXPECTED = "unit_not_expected"
IDENTIFIED_BY_SHEET = "identified_by_sheet"
IDENTIFIED_BY_FILE_NAME = "identified_by_file_name"
FILE_NAME_OTHER_UNIT = "file_name_other_unit"
PERIOD_CONFLICT = "period_conflict"
TWO_FILES_IN_BATCH = "two_files_in_batch"
# ---------------------------------------------------------------- the template's shape
SHEET_MISSING = "sheet_missing"
SHEET_RENAMED = "sheet_renamed"
SHEETS_REORDERED = "sheets_reordered"
ROWS_SHIFTED = "rows_shifted"
HEADER_CHANGED = "header_changed"
BLANK_TEMPLATE = "blank_template"
ROW_INSERTED = "row_inserted"
DUPLICATE_ROW = "duplicate_row"
UNEXPECTED_ROW = "unexpected_row"
ROW_MISSING = "row_missing"
ROWS_MOVED = "rows_moved"
HIDDEN_ROW = "hidden_row"
MERGED_CELLS = "merged_cells"
LOCKED_CELL_CHANGED = "locked_cell_changed"
ACTIVE_CONTENT = "active_content"
EXTERNAL_LINK = "external_link"
FORMULA_IN_INPUT = "formula_in_input"
# ---------------------------------------------------------------- one cell
ERROR_CELL = "error_cell"
NFD_TEXT = "nfd_text"
INVALID_DATE = "invalid_date"
NOT_A_NUMBER = "not_a_number"
VIETNAMESE_NUMBER = "vietnamese_number"
AMBIGUOUS_NUMBER = "ambiguous_number"
TWO_NUMBERS = "two_numbers"
ABOVE_CEILING = "above_ceiling"
# ---------------------------------------------------------------- the schemas (schemas/submission.py)
REQUIRED = "required"
RESULTS_REQUIRED = "results_required"
STATUS_NOT_ALLOWED = "status_not_allowed"
PHONE_FORMAT = "phone_format"
TEXT_TOO_LONG = "text_too_long"
NEGATIVE = "negative"
NOT_WHOLE = "not_whole"
# ---------------------------------------------------------------- across cells and periods
IMPLAUSIBLE = "implausible"
POSITIVE_REQUIRES = "positive_requires"
REQUIRED_WHEN_DONE = "required_when_done"
STATUS_EXCLUDES_RESULTS = "status_excludes_results"
FAR_FROM_HISTORY = "far_from_history"

CODES = tuple(value for name, value in globals().items() if name.isupper() and isinstance(value, str)
              and name not in {"OTHER_RULE", "ERROR", "WARNING", "EITHER"})


# ---------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str       # error | warning | either
    title: str
    description: str


@functools.lru_cache(maxsize=8)
def catalogue(path: Path = CATALOGUE) -> dict[str, Rule]:
    """code -> Rule, from the catalogue at `path` (UTF-8, with or without Excel's BOM)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return {row["code"].strip(): Rule(row["code"].strip(), (row.get("severity") or "").strip(),
                                          row["title"].strip(), (row.get("description") or "").strip())
                for row in csv.DictReader(handle) if row.get("code")}


def rule_titles(path: Path = CATALOGUE) -> dict[str, str]:
    """code -> title, from the catalogue at `path`."""
    return {code: rule.title for code, rule in catalogue(path).items()}


def rule_title(code: str, settings=None) -> str:
    """The title of rule `code`; from the project's own schemas/rules.csv when it has one."""
    path = _catalogue_of(settings.root) if settings is not None else CATALOGUE
    rule = catalogue(path).get(code)
    return rule.title if rule else OTHER_RULE


@functools.lru_cache(maxsize=8)
def _catalogue_of(root: Path) -> Path:
    own = root / "schemas" / "rules.csv"
    return own if own.is_file() else CATALOGUE
