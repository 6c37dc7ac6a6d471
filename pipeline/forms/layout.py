"""The reporting workbook's layout: the one contract between the template writer and the reader.

Everything a template's structure depends on is here, so that `templates.py` writes and
`ingest.py` reads the same cells. Changing anything here is a new TEMPLATE_VERSION.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

TEMPLATE_VERSION = "2026.1"

SHEET_GUIDE = "Hướng dẫn"
SHEET_INFO = "Thông tin"
SHEET_TASKS = "Nhiệm vụ"
SHEET_INDICATORS = "Chỉ tiêu"
SHEET_LISTS = "Danh mục"   # hidden: the dropdown lists, referenced by defined names
SHEET_META = "_meta"       # hidden: metadata; untrusted on reading (a unit can unhide and edit it)
VISIBLE_SHEETS = (SHEET_GUIDE, SHEET_INFO, SHEET_TASKS, SHEET_INDICATORS)

STATUSES = ("Chưa triển khai", "Đang triển khai", "Hoàn thành", "Không phát sinh")
# statuses that require the results column to be filled
STATUSES_NEEDING_RESULTS = ("Đang triển khai", "Hoàn thành")
ROLES = {"chủ trì": "Chủ trì", "phối hợp": "Phối hợp"}


@dataclass(frozen=True)
class Column:
    letter: str
    key: str        # the field name in DataFrames and the ledger
    header: str     # the Vietnamese header in the workbook
    width: float
    is_input: bool = False


# "Thông tin": labels in column A, values in column B, one field per row.
INFO_HEADER_ROW = 3
INFO_FIELDS = (
    # row, key, label, is_input, required
    (4, "unit_name", "Tên đơn vị báo cáo", False, True),
    (5, "unit_id", "Mã đơn vị", False, True),
    (6, "period_label", "Kỳ báo cáo", False, True),
    (7, "preparer", "Người lập biểu", True, True),
    (8, "phone", "Số điện thoại liên hệ", True, True),
    (9, "report_date", "Ngày lập báo cáo", True, True),
    (10, "head_of_unit", "Thủ trưởng đơn vị", True, True),
)
INFO_VALUE_COLUMN = "B"

# "Nhiệm vụ": a title block, the header row, then one row per task.
TASKS_HEADER_ROW = 4
TASKS_FIRST_ROW = 5
TASK_COLUMNS = (
    Column("A", "task_id", "Mã NV", 7),
    Column("B", "task", "Nhiệm vụ", 40),
    Column("C", "role", "Vai trò", 10),
    Column("D", "product", "Sản phẩm/Kết quả dự kiến", 18),
    Column("E", "status", "Tình trạng thực hiện", 17, True),
    Column("F", "results", "Kết quả thực hiện (nêu cụ thể)", 40, True),
    Column("G", "quantity", "Số lượng sản phẩm", 10, True),
    Column("H", "documents", "Văn bản đã ban hành (số, ký hiệu)", 22, True),
    Column("I", "difficulties", "Khó khăn, vướng mắc", 28, True),
    Column("J", "proposals", "Đề xuất, kiến nghị", 28, True),
)

# "Chỉ tiêu": same shape.
INDICATORS_HEADER_ROW = 4
INDICATORS_FIRST_ROW = 5
INDICATOR_COLUMNS = (
    Column("A", "code", "Mã chỉ tiêu", 9),
    Column("B", "name", "Tên chỉ tiêu", 60),
    Column("C", "unit_of_measure", "Đơn vị tính", 12),
    Column("D", "tasks", "Thuộc nhiệm vụ", 11),
    Column("E", "value", "Giá trị", 14, True),
    Column("F", "note", "Ghi chú", 40, True),
)

# Metadata: key/value rows in the hidden sheet, and a workbook-level defined name for each.
META_KEYS = ("unit_id", "period", "template_version", "fingerprint")
META_FIRST_ROW = 1   # row n: A = key, B = value
DEFINED_NAME_PREFIX = "baocao_"   # baocao_unit_id, baocao_period, ...
LIST_NAME_STATUS = "ds_tinh_trang"  # defined name of the status dropdown list


def column(columns: tuple[Column, ...], key: str) -> Column:
    return next(c for c in columns if c.key == key)


def fingerprint(unit_id: str, period_code: str, task_ids: list[str], indicator_codes: list[str]) -> str:
    """A short hash of the workbook's structure: which rows it was generated with.

    The reader recomputes it from what the unit owes; a mismatch means rows were added,
    removed or the workbook was made for another unit, period or matrix.
    """
    parts = [TEMPLATE_VERSION, unit_id, period_code, *VISIBLE_SHEETS,
             *(c.header for c in TASK_COLUMNS), *(c.header for c in INDICATOR_COLUMNS),
             "|".join(task_ids), "|".join(indicator_codes)]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]

# The longest text a unit may type in one cell (Excel's own limit is 32,767).
MAX_TEXT_LENGTH = 8000
