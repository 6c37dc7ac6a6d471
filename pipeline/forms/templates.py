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
from pipeline.common.atomic import workbook_bytes, write_bytes
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
# Above this many workbooks, a process pool over the machine's cores pays for its start-up.
POOL_THRESHOLD = 120


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
    specs = []
    tasks_by_unit = {uid: frame for uid, frame in owed.groupby("unit_id", sort=False)}
    asked = catalogue.asked(period)
    codes_by_unit = catalogue.codes_by_unit()
    for unit in expected.itertuples(index=False):
        tasks = tasks_by_unit[unit.id]
        indicators = asked[asked["code"].isin(codes_by_unit.get(unit.id, set()))]
        guide = render_guide(settings, {**common, "unit_name": unit.name, "unit_id": unit.id,
                                        "tasks": len(tasks), "indicators": len(indicators)})
        specs.append(TemplateSpec(
            unit_id=unit.id, unit_name=unit.name, period_code=period.code, period_label=period.label,
            window_start=period.window_start, cutoff=period.cutoff, deadline=period.deadline,
            plan_years=common["plan_years"], standing_unit=settings.standing_unit, standing_email=standing_email,
            guide_lines=guide,
            tasks=tuple({"task_id": t.task_id, "task": t.task, "role": layout.ROLES[t.role], "product": t.product}
                        for t in tasks.itertuples(index=False)),
            indicators=tuple({"code": i.code, "name": i.name, "unit_of_measure": i.unit_of_measure,
                              "tasks": i.tasks, "value_type": i.value_type}
                             for i in indicators.itertuples(index=False)),
            file_name=template_file_name(period, unit.id, unit.name),
        ))
    return specs


# ---------------------------------------------------------------- building one workbook

def build_workbook(spec: TemplateSpec):
    """The blank, protected workbook for one unit and period (an openpyxl Workbook)."""
    from openpyxl import Workbook
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.workbook.protection import WorkbookProtection

    wb = Workbook()
    _register_styles(wb)
    guide = wb.active
    guide.title = layout.SHEET_GUIDE
    _write_guide(guide, spec)
    _write_info(wb.create_sheet(layout.SHEET_INFO), spec)
    _write_tasks(wb.create_sheet(layout.SHEET_TASKS), spec)
    _write_indicators(wb.create_sheet(layout.SHEET_INDICATORS), spec)

    lists = wb.create_sheet(layout.SHEET_LISTS)
    lists["A1"] = "Tình trạng thực hiện"
    for n, status in enumerate(layout.STATUSES, start=2):
        lists.cell(row=n, column=1, value=status)
    lists.sheet_state = "hidden"
    _protect(lists)
    wb.defined_names[layout.LIST_NAME_STATUS] = DefinedName(
        layout.LIST_NAME_STATUS, attr_text=f"'{layout.SHEET_LISTS}'!$A$2:$A${len(layout.STATUSES) + 1}")

    meta = wb.create_sheet(layout.SHEET_META)
    values = {"unit_id": spec.unit_id, "period": spec.period_code,
              "template_version": layout.TEMPLATE_VERSION, "fingerprint": spec.fingerprint}
    for n, key in enumerate(layout.META_KEYS, start=layout.META_FIRST_ROW):
        meta.cell(row=n, column=1, value=key)
        cell = meta.cell(row=n, column=2, value=values[key])
        cell.number_format = "@"
        wb.defined_names[layout.DEFINED_NAME_PREFIX + key] = DefinedName(
            layout.DEFINED_NAME_PREFIX + key, attr_text=f"'{layout.SHEET_META}'!$B${n}")
    meta.sheet_state = "hidden"
    _protect(meta)

    wb.security = WorkbookProtection(lockStructure=True)
    wb.active = 1  # open on "Thông tin"
    return wb


def _styles():
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

    thin = Side(style="thin", color="808080")
    return {
        "font": Font(name=FONT, size=12),
        "bold": Font(name=FONT, size=12, bold=True),
        "title": Font(name=FONT, size=14, bold=True),
        "italic": Font(name=FONT, size=12, italic=True),
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
        "input_fill": PatternFill("solid", fgColor=INPUT_FILL),
        "header_fill": PatternFill("solid", fgColor=HEADER_FILL),
        "wrap": Alignment(wrap_text=True, vertical="top"),
        "center": Alignment(horizontal="center", vertical="center", wrap_text=True),
        "unlocked": Protection(locked=False),
        "locked": Protection(locked=True),
    }


# Cell styles as named styles: one assignment per cell instead of six (openpyxl hashes each one).
TEXT, LABEL, HEADER = "bc_text", "bc_label", "bc_header"
INPUT_TEXT, INPUT_INT, INPUT_DEC, INPUT_DATE = "bc_input_text", "bc_input_int", "bc_input_dec", "bc_input_date"


def _register_styles(wb) -> None:
    from openpyxl.styles import NamedStyle

    s = _styles()
    locked = {"font": s["font"], "border": s["border"], "alignment": s["wrap"], "protection": s["locked"],
              "number_format": "@"}
    inputs = {**locked, "fill": s["input_fill"], "protection": s["unlocked"]}
    for name, attrs in (
        (TEXT, locked),
        (LABEL, {**locked, "font": s["bold"]}),
        (HEADER, {**locked, "font": s["bold"], "fill": s["header_fill"], "alignment": s["center"]}),
        (INPUT_TEXT, inputs),
        (INPUT_INT, {**inputs, "number_format": "#,##0"}),
        (INPUT_DEC, {**inputs, "number_format": "#,##0.###"}),
        (INPUT_DATE, {**inputs, "number_format": "dd/mm/yyyy"}),
    ):
        wb.add_named_style(NamedStyle(name=name, **attrs))


def _protect(ws) -> None:
    # protected without a password: a guard against slips, said so in "Hướng dẫn"
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.selectLockedCells = False
    ws.protection.selectUnlockedCells = False


def _page_setup(ws, landscape: bool, title_rows: str | None = None) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    if title_rows:
        ws.print_title_rows = title_rows


def _validation(kind: str, *, title: str, prompt: str, error: str, **kwargs):
    from openpyxl.worksheet.datavalidation import DataValidation

    dv = DataValidation(type=kind, allow_blank=True, showInputMessage=True, showErrorMessage=True,
                        promptTitle=title[:32], prompt=prompt[:255], errorTitle="Giá trị không hợp lệ",
                        error=error[:255], **kwargs)
    return dv


def _add_validations(ws, validations) -> None:
    # a validation over no cell is an empty sqref, which Excel calls a corrupt file
    for dv in validations:
        if dv.sqref.ranges:
            ws.add_data_validation(dv)


def _text_validation(what: str):
    return _validation(
        "textLength", operator="lessThanOrEqual", formula1=str(layout.MAX_TEXT_LENGTH),
        title=what, prompt=f"{what}: ghi bằng chữ, tối đa {layout.MAX_TEXT_LENGTH} ký tự.",
        error=f"{what} dài quá {layout.MAX_TEXT_LENGTH} ký tự. Hãy rút gọn.")


def _number_validation(what: str, decimal: bool):
    if decimal:
        return _validation("decimal", operator="greaterThanOrEqual", formula1="0", title=what,
                           prompt=f"{what}: ghi số lớn hơn hoặc bằng 0, được có phần thập phân. Không có số liệu thì ghi 0.",
                           error="Chỉ ghi số lớn hơn hoặc bằng 0 (được có phần thập phân), không kèm chữ.")
    return _validation("whole", operator="greaterThanOrEqual", formula1="0", title=what,
                       prompt=f"{what}: ghi số nguyên lớn hơn hoặc bằng 0. Không có số liệu thì ghi 0.",
                       error="Chỉ ghi số nguyên lớn hơn hoặc bằng 0, không kèm chữ.")


def _write_guide(ws, spec: TemplateSpec) -> None:
    s = _styles()
    ws.column_dimensions["A"].width = 72
    for n, line in enumerate(spec.guide_lines, start=1):
        if line.startswith("# "):
            cell = ws.cell(row=n, column=1, value=line[2:])
            cell.font = s["title"] if n == 1 else s["bold"]
        elif line.startswith("- "):
            cell = ws.cell(row=n, column=1, value="•  " + line[2:])
            cell.font = s["font"]
        else:
            cell = ws.cell(row=n, column=1, value=line or None)
            cell.font = s["font"]
        cell.alignment = s["wrap"]
        ws.row_dimensions[n].height = 16.5 * max(1, math.ceil(len(str(cell.value or "")) / 66))
    _page_setup(ws, landscape=False)
    _protect(ws)


def _write_title(ws, spec: TemplateSpec, title: str, last_column: str) -> None:
    s = _styles()
    ws.merge_cells(f"A1:{last_column}1")
    ws["A1"] = title
    ws["A1"].font = s["title"]
    ws["A1"].alignment = s["center"]
    ws.merge_cells(f"A2:{last_column}2")
    ws["A2"] = f"Đơn vị: {spec.unit_name} - Kỳ báo cáo: {spec.period_label} (số liệu từ {dmy(spec.window_start)} đến {dmy(spec.cutoff)})"
    ws["A2"].font = s["italic"]
    ws["A2"].alignment = s["center"]
    ws.row_dimensions[1].height = 22
    ws.row_dimensions[2].height = 32


def _write_info(ws, spec: TemplateSpec) -> None:
    s = _styles()
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 60
    ws.merge_cells("A1:B1")
    ws["A1"] = "THÔNG TIN ĐƠN VỊ BÁO CÁO"
    ws["A1"].font = s["title"]
    ws["A1"].alignment = s["center"]
    for col, text in (("A", "Mục"), ("B", "Nội dung")):
        cell = ws[f"{col}{layout.INFO_HEADER_ROW}"]
        cell.value, cell.style = text, HEADER
    prefilled = {"unit_name": spec.unit_name, "unit_id": spec.unit_id,
                 "period_label": f"{spec.period_label} ({spec.period_code})"}
    earliest, latest = spec.window_start, spec.deadline + dt.timedelta(days=120)
    for row, key, label, is_input, _required in layout.INFO_FIELDS:
        ws.cell(row=row, column=1, value=label).style = LABEL
        cell = ws[f"{layout.INFO_VALUE_COLUMN}{row}"]
        ws.row_dimensions[row].height = 22
        if not is_input:
            cell.value, cell.style = prefilled[key], TEXT
            continue
        if key == "report_date":
            cell.style = INPUT_DATE
            dv = _validation("date", operator="between", formula1=_excel_date(earliest), formula2=_excel_date(latest),
                             title="Ngày lập báo cáo",
                             prompt=f"Ghi ngày theo dạng ngày/tháng/năm, từ {dmy(earliest)} đến {dmy(latest)}.",
                             error=f"Ngày lập báo cáo phải là ngày hợp lệ từ {dmy(earliest)} đến {dmy(latest)}.")
        else:
            cell.style = INPUT_TEXT
            dv = _text_validation(label)
        ws.add_data_validation(dv)
        dv.add(cell.coordinate)
    _page_setup(ws, landscape=False)
    _protect(ws)


def _excel_date(day: dt.date) -> str:
    return str((day - dt.date(1899, 12, 30)).days)


def _header_row(ws, columns, row: int) -> None:
    for c in columns:
        cell = ws[f"{c.letter}{row}"]
        cell.value, cell.style = c.header, HEADER
        ws.column_dimensions[c.letter].width = c.width
    ws.row_dimensions[row].height = 48


def _row_height(values: dict, columns) -> float:
    lines = 3  # room to type, even for short tasks
    for c in columns:
        text = str(values.get(c.key) or "")
        lines = max(lines, math.ceil(len(text) / max(c.width * 0.95, 1)))
    return 15.75 * lines


def _write_tasks(ws, spec: TemplateSpec) -> None:
    columns = layout.TASK_COLUMNS
    last = columns[-1].letter
    _write_title(ws, spec, f"KẾT QUẢ THỰC HIỆN CÁC NHIỆM VỤ ĐƯỢC GIAO - {spec.period_label.upper()}", last)
    _header_row(ws, columns, layout.TASKS_HEADER_ROW)
    validations = {
        "status": _validation("list", formula1=layout.LIST_NAME_STATUS, title="Tình trạng thực hiện",
                              prompt="Chọn một trong: " + "; ".join(layout.STATUSES) + ".",
                              error="Hãy chọn tình trạng trong danh sách: " + "; ".join(layout.STATUSES) + "."),
        "results": _text_validation("Kết quả thực hiện"),
        "quantity": _number_validation("Số lượng sản phẩm", decimal=False),
        "documents": _text_validation("Văn bản đã ban hành"),
        "difficulties": _text_validation("Khó khăn, vướng mắc"),
        "proposals": _text_validation("Đề xuất, kiến nghị"),
    }
    last_row = layout.TASKS_FIRST_ROW + len(spec.tasks) - 1
    for c in columns:
        if c.is_input and spec.tasks:
            validations[c.key].add(f"{c.letter}{layout.TASKS_FIRST_ROW}:{c.letter}{last_row}")
    _add_validations(ws, validations.values())
    for n, task in enumerate(spec.tasks):
        row = layout.TASKS_FIRST_ROW + n
        for c in columns:
            cell = ws[f"{c.letter}{row}"]
            if c.is_input:
                cell.style = INPUT_INT if c.key == "quantity" else INPUT_TEXT
            else:
                cell.value, cell.style = task[c.key], TEXT
        ws.row_dimensions[row].height = _row_height(task, columns)
    ws.freeze_panes = f"C{layout.TASKS_FIRST_ROW}"
    _page_setup(ws, landscape=True, title_rows=f"{layout.TASKS_HEADER_ROW}:{layout.TASKS_HEADER_ROW}")
    _protect(ws)


def _write_indicators(ws, spec: TemplateSpec) -> None:
    columns = layout.INDICATOR_COLUMNS
    last = columns[-1].letter
    _write_title(ws, spec, f"CHỈ TIÊU THỐNG KÊ - {spec.period_label.upper()}", last)
    _header_row(ws, columns, layout.INDICATORS_HEADER_ROW)
    whole = _number_validation("Giá trị", decimal=False)
    decimal = _number_validation("Giá trị", decimal=True)
    note = _text_validation("Ghi chú")
    note_column = layout.column(columns, "note").letter
    if spec.indicators:
        note.add(f"{note_column}{layout.INDICATORS_FIRST_ROW}:{note_column}{layout.INDICATORS_FIRST_ROW + len(spec.indicators) - 1}")
    for n, indicator in enumerate(spec.indicators):
        row = layout.INDICATORS_FIRST_ROW + n
        for c in columns:
            cell = ws[f"{c.letter}{row}"]
            if c.key == "value":
                is_decimal = indicator["value_type"] == "decimal"
                cell.style = INPUT_DEC if is_decimal else INPUT_INT
                (decimal if is_decimal else whole).add(cell.coordinate)
            elif c.is_input:
                cell.style = INPUT_TEXT
            else:
                cell.value, cell.style = indicator[c.key] or None, TEXT
        ws.row_dimensions[row].height = max(31.5, _row_height(indicator, columns) / 1.5)
    _add_validations(ws, (whole, decimal, note))
    ws.freeze_panes = f"C{layout.INDICATORS_FIRST_ROW}"
    _page_setup(ws, landscape=True, title_rows=f"{layout.INDICATORS_HEADER_ROW}:{layout.INDICATORS_HEADER_ROW}")
    _protect(ws)


# ---------------------------------------------------------------- writing a period's templates

def template_timestamp(spec: TemplateSpec) -> dt.datetime:
    """Document dates are the period's start, so the same inputs give the same bytes."""
    return dt.datetime.combine(spec.window_start, dt.time())


def template_bytes(spec: TemplateSpec) -> bytes:
    return workbook_bytes(build_workbook(spec), template_timestamp(spec))


def _write_one(args: tuple[TemplateSpec, Path]) -> None:
    spec, folder = args
    write_bytes(folder / spec.file_name, template_bytes(spec))


def write_template_files(jobs: list[tuple[TemplateSpec, Path]], workers: int | None = None) -> None:
    """Writes each spec's workbook into its folder; a process pool over the cores for large batches."""
    import os

    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers > 1 and len(jobs) >= POOL_THRESHOLD:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_write_one, jobs, chunksize=16))
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
