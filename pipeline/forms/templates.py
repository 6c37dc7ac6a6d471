"""Blank reporting templates: one protected workbook per expected unit, pre-filled with its tasks
and indicators for the period, in `outputs/templates/<period>/`, with a manifest.

The layout (sheets, rows, columns, metadata) comes from `pipeline/forms/layout.py`, shared with ingestion;
the guide text from `templates/huong-dan-bieu-mau.txt.j2`.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.forms import layout
from pipeline.common.atomic import write_bytes
from pipeline.reference.settings import Settings
from pipeline.reference.periods import Period
from pipeline.common.text import ascii_slug
from pipeline.reference.project import Project
from pipeline.common.errors import UnknownUnitError
from pipeline.reference.obligations import expected_units, obligations
from pipeline.common.formatting import dmy, thousands

MANIFEST_NAME = "danh-sach-bieu-mau.csv"
MANIFEST_COLUMNS = ("Mã đơn vị", "Tên đơn vị", "Tệp", "Số nhiệm vụ", "Số chỉ tiêu", "Phiên bản mẫu",
                    "Mã cấu trúc", "Email")
STATUS_MEANINGS = {
    "Chưa triển khai": "trong kỳ chưa bắt đầu thực hiện nhiệm vụ.",
    "Đang triển khai": "đã bắt đầu, chưa hoàn thành; ghi rõ kết quả đã đạt được.",
    "Hoàn thành": "đã hoàn thành nhiệm vụ trong kỳ; ghi rõ kết quả.",
    "Không phát sinh": "trong kỳ không phát sinh công việc thuộc nhiệm vụ này tại đơn vị.",
}
FONT = "Times New Roman"
INPUT_FILL = "FFF2CC"
HEADER_FILL = "D9E1F2"
# From this many workbooks a process pool over the machine's cores pays for its start-up: spawned
# processes (Windows) import everything again first, forked ones start at once (a province's 46
# templates in about 0.3 s instead of 0.5 s on two cores).
POOL_THRESHOLD = 120
FORK_POOL_THRESHOLD = 24


@dataclass(frozen=True)
class TemplateSpec:
    """Everything one workbook needs, as plain data (so it can cross to a worker process)."""

    unit_id: str
    unit_name: str
    period_code: str
    period_label: str
    window_start: dt.date
    cutoff: dt.date
    deadline: dt.date
    plan_years: str
    standing_unit: str
    standing_email: str
    guide_lines: tuple[str, ...]
    tasks: tuple[dict, ...]        # task_id, task, role, product
    indicators: tuple[dict, ...]   # code, name, unit_of_measure, tasks, value_type
    file_name: str = field(default="")

    @property
    def fingerprint(self) -> str:
        return layout.fingerprint(self.unit_id, self.period_code, [t["task_id"] for t in self.tasks],
                                  [i["code"] for i in self.indicators])


def template_file_name(period: Period, unit_id: str, unit_name: str) -> str:
    """`2026S1_03405_xa-ta-leng.xlsx`: readable, ASCII, safe on Windows."""
    return f"{period.code}_{unit_id}_{ascii_slug(unit_name)}.xlsx"


def templates_dir(settings: Settings, period: Period) -> Path:
    return settings.path("outputs") / "templates" / period.code


def template_path(settings: Settings, period: Period, unit_id: str, unit_name: str) -> Path:
    return templates_dir(settings, period) / template_file_name(period, unit_id, unit_name)


@functools.lru_cache(maxsize=8)
def _guide_template(templates_folder: Path):
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(templates_folder), undefined=StrictUndefined, autoescape=False)
    return env.get_template("huong-dan-bieu-mau.txt.j2")


def render_guide(settings: Settings, context: dict) -> tuple[str, ...]:
    """The "Hướng dẫn" sheet's lines, from the editable text template in templates/."""
    return tuple(_guide_template(settings.root / "templates").render(**context).splitlines())


def template_specs(project: Project, period: Period, unit_id: str | None = None) -> list[TemplateSpec]:
    """One spec per expected unit (or the one asked for), in registry order."""
    settings, registry, matrix, catalogue = project.settings, project.registry, project.matrix, project.catalogue

    if unit_id is not None:
        registry.get(unit_id)  # an unknown unit fails before anything is written
    expected = expected_units(matrix, registry, period)
    if unit_id is not None:
        expected = expected[expected["id"] == unit_id]
        if expected.empty:

            raise UnknownUnitError(f"Đơn vị {unit_id} không phải báo cáo kỳ {period.code}")
    owed = obligations(matrix, registry, period, unit_id)
    standing = registry.units[registry.units["name"] == settings.standing_unit]
    # units reply to the mailbox that `collect` reads; the standing unit's own address otherwise
    standing_email = settings.mail.from_address or (standing["email"].iloc[0] if len(standing) else "")
    common = {
        "period_code": period.code, "period_label": period.label,
        "window_start": dmy(period.window_start), "cutoff": dmy(period.cutoff),
        "deadline": dmy(period.deadline), "standing_unit": settings.standing_unit,
        "standing_email": standing_email, "plan_years": f"{settings.plan_first_year}-{settings.plan_last_year}",
        "statuses": list(STATUS_MEANINGS.items()), "max_text": thousands(layout.MAX_TEXT_LENGTH),
    }
    # plain rows, grouped once: per-unit DataFrame filtering and itertuples cost more than the
    # workbooks themselves
    tasks_by_unit: dict[str, list[dict]] = {}
    for t in owed[["unit_id", "task_id", "task", "role", "product"]].to_dict("records"):
        tasks_by_unit.setdefault(t["unit_id"], []).append(
            {"task_id": t["task_id"], "task": t["task"], "role": layout.ROLES[t["role"]], "product": t["product"]})
    asked = catalogue.asked(period)[["code", "name", "unit_of_measure", "tasks", "value_type"]].to_dict("records")
    codes_by_unit = catalogue.codes_by_unit()
    specs = []
    for unit in expected[["id", "name"]].to_dict("records"):
        unit_id, unit_name = unit["id"], unit["name"]
        tasks = tasks_by_unit[unit_id]
        codes = codes_by_unit.get(unit_id, set())
        indicators = tuple(dict(i) for i in asked if i["code"] in codes)
        guide = render_guide(settings, {**common, "unit_name": unit_name, "unit_id": unit_id,
                                        "tasks": len(tasks), "indicators": len(indicators)})
        specs.append(TemplateSpec(
            unit_id=unit_id, unit_name=unit_name, period_code=period.code, period_label=period.label,
            window_start=period.window_start, cutoff=period.cutoff, deadline=period.deadline,
            plan_years=common["plan_years"], standing_unit=settings.standing_unit, standing_email=standing_email,
            guide_lines=guide, tasks=tuple(tasks), indicators=indicators,
            file_name=template_file_name(period, unit_id, unit_name),
        ))
    return specs


# ---------------------------------------------------------------- building one workbook

# The workbook is written with XlsxWriter, which streams each sheet's XML straight into the zip: a
# third of the time openpyxl takes to build the same cells as objects and serialise them (issue 20).
# Everything the reader and the tests rely on is written here: the sheets and their order, the
# hidden lists and metadata sheets, the defined names, the data validations, the locked and
# unlocked cells, sheet and structure protection, print setup and frozen headers.

BORDER = {"border": 1, "border_color": "#808080"}
CELL = {"font_name": FONT, "font_size": 12, **BORDER, "text_wrap": True, "valign": "top", "num_format": "@"}
INPUT = {**CELL, "pattern": 1, "bg_color": f"#{INPUT_FILL}", "locked": False}
FORMATS = {
    # cell styles of the data sheets
    "text": CELL,
    "label": {**CELL, "bold": True},
    "header": {**CELL, "bold": True, "pattern": 1, "bg_color": f"#{HEADER_FILL}", "align": "center",
               "valign": "vcenter"},
    "input_text": INPUT,
    "input_int": {**INPUT, "num_format": "#,##0"},
    "input_dec": {**INPUT, "num_format": "#,##0.###"},
    "input_date": {**INPUT, "num_format": "dd/mm/yyyy"},
    # the titles above each table
    "title": {"font_name": FONT, "font_size": 14, "bold": True, "align": "center", "valign": "vcenter",
              "text_wrap": True},
    "subtitle": {"font_name": FONT, "font_size": 12, "italic": True, "align": "center", "valign": "vcenter",
                 "text_wrap": True},
    # the guide's lines
    "guide_title": {"font_name": FONT, "font_size": 14, "bold": True, "text_wrap": True, "valign": "top"},
    "guide_heading": {"font_name": FONT, "font_size": 12, "bold": True, "text_wrap": True, "valign": "top"},
    "guide_line": {"font_name": FONT, "font_size": 12, "text_wrap": True, "valign": "top"},
    "as_text": {"num_format": "@"},
}
# protected without a password (a guard against slips, said so in "Hướng dẫn"); formatting rows and
# columns and selecting any cell stay allowed
PROTECTION = {"format_columns": True, "format_rows": True, "select_locked_cells": True,
              "select_unlocked_cells": True}
A4 = 9   # the paper size code of A4 in the file format


def _workbook_class():
    # XlsxWriter is imported here, not at the top: commands that only read workbooks never load it
    import xlsxwriter

    class ProtectedStructure(xlsxwriter.Workbook):
        """A workbook whose structure is locked (sheets cannot be added, removed, renamed or
        unhidden without first unprotecting), which XlsxWriter does not offer by itself."""

        def _write_workbook_pr(self) -> None:
            super()._write_workbook_pr()
            self._xml_empty_tag("workbookProtection", [("lockStructure", 1)])

    return ProtectedStructure


def template_bytes(spec: TemplateSpec) -> bytes:
    """The blank, protected workbook for one unit and period, as .xlsx bytes: the same spec always
    gives the same bytes (document dates are the period's start, zip entries carry a fixed time)."""
    buffer = io.BytesIO()
    wb = _workbook_class()(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                    "strings_to_urls": False})
    wb.set_properties({"created": template_timestamp(spec)})
    fmt = {name: wb.add_format(props) for name, props in FORMATS.items()}
    guide = wb.add_worksheet(layout.SHEET_GUIDE)
    _write_guide(guide, spec, fmt)
    info = wb.add_worksheet(layout.SHEET_INFO)
    _write_info(info, spec, fmt)
    _write_tasks(wb.add_worksheet(layout.SHEET_TASKS), spec, fmt)
    _write_indicators(wb.add_worksheet(layout.SHEET_INDICATORS), spec, fmt)

    lists = wb.add_worksheet(layout.SHEET_LISTS)
    lists.write_string(0, 0, "Tình trạng thực hiện")
    for n, status in enumerate(layout.STATUSES, start=1):
        lists.write_string(n, 0, status)
    lists.hide()
    lists.protect("", PROTECTION)
    wb.define_name(layout.LIST_NAME_STATUS, f"='{layout.SHEET_LISTS}'!$A$2:$A${len(layout.STATUSES) + 1}")

    meta = wb.add_worksheet(layout.SHEET_META)
    values = {"unit_id": spec.unit_id, "period": spec.period_code,
              "template_version": layout.TEMPLATE_VERSION, "fingerprint": spec.fingerprint}
    for n, key in enumerate(layout.META_KEYS, start=layout.META_FIRST_ROW):
        meta.write_string(n - 1, 0, key)
        meta.write_string(n - 1, 1, values[key], fmt["as_text"])
        wb.define_name(layout.DEFINED_NAME_PREFIX + key, f"='{layout.SHEET_META}'!$B${n}")
    meta.hide()
    meta.protect("", PROTECTION)

    info.activate()  # open on "Thông tin"
    wb.close()
    return buffer.getvalue()


def build_workbook(spec: TemplateSpec):
    """The unit's blank template as an openpyxl Workbook, to fill in (the demo, the tests)."""
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(template_bytes(spec)))


def _page_setup(ws, landscape: bool, title_row: int | None = None) -> None:
    ws.set_paper(A4)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    if title_row:
        ws.repeat_rows(title_row - 1)


def _validation(kind: str, *, title: str, prompt: str, error: str, **options) -> dict:
    return {"validate": kind, "ignore_blank": True, "show_input": True, "show_error": True,
            "input_title": title[:32], "input_message": prompt[:255], "error_title": "Giá trị không hợp lệ",
            "error_message": error[:255], **options}


def _text_validation(what: str) -> dict:
    return _validation(
        "length", criteria="<=", value=layout.MAX_TEXT_LENGTH,
        title=what, prompt=f"{what}: ghi bằng chữ, tối đa {layout.MAX_TEXT_LENGTH} ký tự.",
        error=f"{what} dài quá {layout.MAX_TEXT_LENGTH} ký tự. Hãy rút gọn.")


def _number_validation(what: str, decimal: bool) -> dict:
    if decimal:
        return _validation("decimal", criteria=">=", value=0, title=what,
                           prompt=f"{what}: ghi số lớn hơn hoặc bằng 0, được có phần thập phân. Không có số liệu thì ghi 0.",
                           error="Chỉ ghi số lớn hơn hoặc bằng 0 (được có phần thập phân), không kèm chữ.")
    return _validation("integer", criteria=">=", value=0, title=what,
                       prompt=f"{what}: ghi số nguyên lớn hơn hoặc bằng 0. Không có số liệu thì ghi 0.",
                       error="Chỉ ghi số nguyên lớn hơn hoặc bằng 0, không kèm chữ.")


def _validate(ws, cells: list[str], options: dict) -> None:
    """One validation over `cells` ("E5:E20", "E7", ...); none over no cell (an empty range is what
    Excel calls a corrupt file)."""
    if cells:
        ws.data_validation(cells[0], {**options, "multi_range": " ".join(cells)})


def _write_guide(ws, spec: TemplateSpec, fmt: dict) -> None:
    ws.set_column(0, 0, 72)
    for n, line in enumerate(spec.guide_lines):
        if line.startswith("# "):
            text, style = line[2:], fmt["guide_title"] if n == 0 else fmt["guide_heading"]
        elif line.startswith("- "):
            text, style = "•  " + line[2:], fmt["guide_line"]
        else:
            text, style = line, fmt["guide_line"]
        if text:
            ws.write_string(n, 0, text, style)
        else:
            ws.write_blank(n, 0, None, style)
        ws.set_row(n, 16.5 * max(1, math.ceil(len(text) / 66)))
    _page_setup(ws, landscape=False)
    ws.protect("", PROTECTION)


def _write_title(ws, spec: TemplateSpec, title: str, last_column: str, fmt: dict) -> None:
    ws.merge_range(f"A1:{last_column}1", title, fmt["title"])
    ws.merge_range(f"A2:{last_column}2", f"Đơn vị: {spec.unit_name} - Kỳ báo cáo: {spec.period_label} "
                                         f"(số liệu từ {dmy(spec.window_start)} đến {dmy(spec.cutoff)})",
                   fmt["subtitle"])
    ws.set_row(0, 22)
    ws.set_row(1, 32)


def _write_info(ws, spec: TemplateSpec, fmt: dict) -> None:
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 60)
    ws.merge_range("A1:B1", "THÔNG TIN ĐƠN VỊ BÁO CÁO", fmt["title"])
    ws.write_string(f"A{layout.INFO_HEADER_ROW}", "Mục", fmt["header"])
    ws.write_string(f"B{layout.INFO_HEADER_ROW}", "Nội dung", fmt["header"])
    prefilled = {"unit_name": spec.unit_name, "unit_id": spec.unit_id,
                 "period_label": f"{spec.period_label} ({spec.period_code})"}
    earliest, latest = spec.window_start, spec.deadline + dt.timedelta(days=120)
    for row, key, label, is_input, _required in layout.INFO_FIELDS:
        ws.write_string(f"A{row}", label, fmt["label"])
        cell = f"{layout.INFO_VALUE_COLUMN}{row}"
        ws.set_row(row - 1, 22)
        if not is_input:
            ws.write_string(cell, prefilled[key], fmt["text"])
            continue
        if key == "report_date":
            ws.write_blank(cell, None, fmt["input_date"])
            dv = _validation("date", criteria="between", minimum=earliest, maximum=latest,
                             title="Ngày lập báo cáo",
                             prompt=f"Ghi ngày theo dạng ngày/tháng/năm, từ {dmy(earliest)} đến {dmy(latest)}.",
                             error=f"Ngày lập báo cáo phải là ngày hợp lệ từ {dmy(earliest)} đến {dmy(latest)}.")
        else:
            ws.write_blank(cell, None, fmt["input_text"])
            dv = _text_validation(label)
        _validate(ws, [cell], dv)
    _page_setup(ws, landscape=False)
    ws.protect("", PROTECTION)


def _header_row(ws, columns, row: int, fmt: dict) -> None:
    for n, c in enumerate(columns):
        ws.write_string(row - 1, n, c.header, fmt["header"])
        ws.set_column(n, n, c.width)
    ws.set_row(row - 1, 48)


def _row_height(values: dict, columns) -> float:
    lines = 3  # room to type, even for short tasks
    for c in columns:
        text = str(values.get(c.key) or "")
        lines = max(lines, math.ceil(len(text) / max(c.width * 0.95, 1)))
    return 15.75 * lines


def _write_tasks(ws, spec: TemplateSpec, fmt: dict) -> None:
    columns = layout.TASK_COLUMNS
    last = columns[-1].letter
    _write_title(ws, spec, f"KẾT QUẢ THỰC HIỆN CÁC NHIỆM VỤ ĐƯỢC GIAO - {spec.period_label.upper()}", last, fmt)
    _header_row(ws, columns, layout.TASKS_HEADER_ROW, fmt)
    validations = {
        "status": _validation("list", source=f"={layout.LIST_NAME_STATUS}", title="Tình trạng thực hiện",
                              prompt="Chọn một trong: " + "; ".join(layout.STATUSES) + ".",
                              error="Hãy chọn tình trạng trong danh sách: " + "; ".join(layout.STATUSES) + "."),
        "results": _text_validation("Kết quả thực hiện"),
        "quantity": _number_validation("Số lượng sản phẩm", decimal=False),
        "documents": _text_validation("Văn bản đã ban hành"),
        "difficulties": _text_validation("Khó khăn, vướng mắc"),
        "proposals": _text_validation("Đề xuất, kiến nghị"),
    }
    first_row, last_row = layout.TASKS_FIRST_ROW, layout.TASKS_FIRST_ROW + len(spec.tasks) - 1
    if spec.tasks:
        for c in columns:
            if c.is_input:
                _validate(ws, [f"{c.letter}{first_row}:{c.letter}{last_row}"], validations[c.key])
    for n, task in enumerate(spec.tasks):
        row = first_row + n - 1   # 0-based
        for col, c in enumerate(columns):
            if c.is_input:
                ws.write_blank(row, col, None, fmt["input_int" if c.key == "quantity" else "input_text"])
            else:
                _write_text(ws, row, col, task[c.key], fmt["text"])
        ws.set_row(row, _row_height(task, columns))
    ws.freeze_panes(layout.TASKS_FIRST_ROW - 1, 2)   # C5
    _page_setup(ws, landscape=True, title_row=layout.TASKS_HEADER_ROW)
    ws.protect("", PROTECTION)


def _write_text(ws, row: int, col: int, value, style) -> None:
    """A locked text cell; an empty value leaves the cell blank, with its style."""
    if value:
        ws.write_string(row, col, str(value), style)
    else:
        ws.write_blank(row, col, None, style)


def _write_indicators(ws, spec: TemplateSpec, fmt: dict) -> None:
    columns = layout.INDICATOR_COLUMNS
    last = columns[-1].letter
    _write_title(ws, spec, f"CHỈ TIÊU THỐNG KÊ - {spec.period_label.upper()}", last, fmt)
    _header_row(ws, columns, layout.INDICATORS_HEADER_ROW, fmt)
    whole, decimal = [], []
    for n, indicator in enumerate(spec.indicators):
        row = layout.INDICATORS_FIRST_ROW + n - 1   # 0-based
        for col, c in enumerate(columns):
            if c.key == "value":
                is_decimal = indicator["value_type"] == "decimal"
                ws.write_blank(row, col, None, fmt["input_dec" if is_decimal else "input_int"])
                (decimal if is_decimal else whole).append(f"{c.letter}{row + 1}")
            elif c.is_input:
                ws.write_blank(row, col, None, fmt["input_text"])
            else:
                _write_text(ws, row, col, indicator[c.key], fmt["text"])
        ws.set_row(row, max(31.5, _row_height(indicator, columns) / 1.5))
    _validate(ws, whole, _number_validation("Giá trị", decimal=False))
    _validate(ws, decimal, _number_validation("Giá trị", decimal=True))
    if spec.indicators:
        note = layout.column(columns, "note").letter
        first, last_row = layout.INDICATORS_FIRST_ROW, layout.INDICATORS_FIRST_ROW + len(spec.indicators) - 1
        _validate(ws, [f"{note}{first}:{note}{last_row}"], _text_validation("Ghi chú"))
    ws.freeze_panes(layout.INDICATORS_FIRST_ROW - 1, 2)   # C5
    _page_setup(ws, landscape=True, title_row=layout.INDICATORS_HEADER_ROW)
    ws.protect("", PROTECTION)


# ---------------------------------------------------------------- writing a period's templates

def template_timestamp(spec: TemplateSpec) -> dt.datetime:
    """Document dates are the period's start, so the same inputs give the same bytes."""
    return dt.datetime.combine(spec.window_start, dt.time())


def _write_one(args: tuple[TemplateSpec, Path]) -> None:
    spec, folder = args
    write_bytes(folder / spec.file_name, template_bytes(spec))


def write_template_files(jobs: list[tuple[TemplateSpec, Path]], workers: int | None = None) -> None:
    """Writes each spec's workbook into its folder; a process pool over the cores for large batches."""
    import os

    import multiprocessing
    import threading

    workers = workers if workers is not None else (os.cpu_count() or 1)
    # a forked worker starts at once; a spawned one (Windows) imports everything again first. No
    # fork from a job of the web server: beside its other threads, a lock one of them held stays
    # held in the child, which may then wait for ever
    forks = ("fork" in multiprocessing.get_all_start_methods()
             and threading.current_thread() is threading.main_thread())
    if workers > 1 and len(jobs) >= (FORK_POOL_THRESHOLD if forks else POOL_THRESHOLD):
        context = multiprocessing.get_context("fork" if forks else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            list(pool.map(_write_one, jobs, chunksize=max(1, min(16, len(jobs) // (workers * 4)))))
    else:
        for job in jobs:
            _write_one(job)


def write_templates(project: Project, period: Period, unit_id: str | None = None,
                    workers: int | None = None) -> list[dict]:
    """Writes the period's templates and the manifest; returns the manifest rows written this run."""
    settings, registry = project.settings, project.registry
    specs = template_specs(project, period, unit_id)
    folder = templates_dir(settings, period)
    folder.mkdir(parents=True, exist_ok=True)
    write_template_files([(spec, folder) for spec in specs], workers)
    emails = registry.units.set_index("id")["email"]
    rows = [{"Mã đơn vị": s.unit_id, "Tên đơn vị": s.unit_name, "Tệp": s.file_name,
             "Số nhiệm vụ": len(s.tasks), "Số chỉ tiêu": len(s.indicators),
             "Phiên bản mẫu": layout.TEMPLATE_VERSION, "Mã cấu trúc": s.fingerprint,
             "Email": emails.get(s.unit_id, "")} for s in specs]
    _write_manifest(folder, rows, registry.ids)
    return rows


def read_manifest(folder: Path) -> list[dict]:
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _write_manifest(folder: Path, rows: list[dict], unit_order: list[str]) -> None:
    # one unit regenerated: its row replaces the old one, the others stay
    merged = {r["Mã đơn vị"]: r for r in read_manifest(folder)}
    merged.update({r["Mã đơn vị"]: r for r in rows})
    order = {uid: i for i, uid in enumerate(unit_order)}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for uid in sorted(merged, key=lambda u: order.get(u, len(order))):
        writer.writerow(merged[uid])
    write_bytes(folder / MANIFEST_NAME, ("\ufeff" + buffer.getvalue()).encode("utf-8"))
