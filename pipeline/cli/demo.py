"""The demo (`python -m pipeline demo`): the province's templates filled the way its communes and
departments would, then the officer's commands run on them in a workspace of their own.

Deterministic (a seeded generator per unit and period), realistic Vietnamese text and figures,
written into the real generated templates. The filling is also the benchmark's and the tests'.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click

from pipeline.cli.commands import Project, cli, pass_project
from pipeline.cli.vi import FOLDER
from pipeline.common.atomic import workbook_bytes
from pipeline.forms import layout
from pipeline.common.text import ascii_slug

# The templates and the register are imported where the demo fills and drops files: they bring
# pandas, which the other commands (every one goes through this module's registration) must not
# pay for at start-up (`python -m pipeline units`).

# What a clerk writes for each task: {n}, {m}, {p} are drawn per unit; {place} is "trên địa bàn xã"
# for a commune and "trên địa bàn tỉnh" for a department.
RESULTS = {
    "1": ["Đã ban hành kế hoạch triển khai công tác phòng, chống mại dâm năm 2026 {place}; quán triệt đến {p} cán bộ, công chức.",
          "Rà soát, tham mưu ban hành {n} văn bản chỉ đạo, hướng dẫn; kiện toàn Ban chỉ đạo và phân công thành viên phụ trách.",
          "Lồng ghép nội dung phòng, chống mại dâm vào kế hoạch phát triển kinh tế - xã hội năm 2026 {place}."],
    "2": ["Tổ chức {n} buổi truyền thông trực tiếp tại {m} thôn, bản với {p} lượt người tham dự; treo {m} băng rôn, khẩu hiệu.",
          "Phát {p} tờ rơi, tài liệu truyền thông; phát {n} tin bài trên hệ thống loa truyền thanh cơ sở.",
          "Lồng ghép tuyên truyền phòng, chống mại dâm trong {n} buổi họp thôn, bản và sinh hoạt của các đoàn thể."],
    "3": ["Rà soát, nắm bắt {n} trường hợp có nguy cơ cao; phối hợp tư vấn, hỗ trợ {m} lượt người.",
          "Duy trì {m} nhóm đồng đẳng, {n} cộng tác viên tham gia hỗ trợ tại cộng đồng.",
          "Giới thiệu {n} người tham gia học nghề, vay vốn hỗ trợ sinh kế tại Ngân hàng Chính sách xã hội."],
    "4": ["Phối hợp kiểm tra {n} lượt cơ sở kinh doanh dịch vụ dễ bị lợi dụng; nhắc nhở {m} cơ sở thực hiện đúng quy định.",
          "Rà soát {m} địa bàn có nguy cơ phát sinh tệ nạn mại dâm; tiếp nhận, xác minh {n} tin báo.",
          "Duy trì quản lý chặt chẽ các cơ sở lưu trú, karaoke {place}; chưa phát hiện vi phạm mới."],
    "5": ["Cử {n} cán bộ tham gia tập huấn nâng cao năng lực; thực hiện báo cáo định kỳ đúng thời hạn.",
          "Tổ chức sơ kết 6 tháng, đánh giá kết quả thực hiện kế hoạch; cập nhật số liệu vào cơ sở dữ liệu.",
          "Thực hiện chế độ thống kê, báo cáo định kỳ theo biểu mẫu của Sở Y tế."],
}
DIFFICULTIES = [
    "Địa bàn rộng, giao thông đi lại khó khăn, nhất là vào mùa mưa.",
    "Kinh phí bố trí cho công tác phòng, chống mại dâm còn hạn hẹp.",
    "Cán bộ phụ trách kiêm nhiệm nhiều việc, chưa được tập huấn chuyên sâu.",
    "Một bộ phận người dân là đồng bào dân tộc thiểu số, khả năng tiếp cận thông tin còn hạn chế.",
    "Hoạt động mại dâm ngày càng tinh vi, lợi dụng mạng xã hội nên khó phát hiện.",
]
PROPOSALS = [
    "Đề nghị Sở Y tế tổ chức tập huấn chuyên môn cho cán bộ cấp xã.",
    "Đề nghị UBND tỉnh bố trí kinh phí riêng cho hoạt động truyền thông tại thôn, bản.",
    "Đề nghị cung cấp thêm tài liệu truyền thông bằng tiếng dân tộc.",
    "Đề nghị tăng cường phối hợp liên ngành trong kiểm tra các cơ sở kinh doanh dịch vụ.",
]
PREPARERS = ["Nguyễn Thị Hoa", "Lò Văn Thắng", "Tẩn Thị Mai", "Vàng A Sử", "Lê Minh Tuấn", "Đỗ Thu Hằng",
             "Giàng Thị Dua", "Phạm Văn Quang", "Lường Thị Ngọc", "Hoàng Văn Long"]
HEADS = ["Lò Văn Hùng", "Nguyễn Văn Bình", "Chảo A Lử", "Trần Thị Lan", "Sùng A Páo", "Vũ Đức Minh"]

# Plausible ranges per indicator for a commune and for a department (whole numbers unless decimal).
# The police's XL06/XL07 (province_total "provincial") cover the communes' counts, so they are larger.
COMMUNE_RANGES = {
    "TT01": (2, 10), "TT02": (60, 600), "TT04": (0, 4), "TT08": (1, 4), "TT09": (40, 300), "TT10": (1, 6),
    "HT01": (0, 5), "HT02": (0, 12), "HT05": (0, 4), "HT06": (0, 3), "HT07": (0.0, 150.0), "HT08": (0, 2),
    "HT09": (0, 2), "HT10": (0, 8), "QL01": (0, 3), "XL06": (0, 3), "XL07": (0, 2), "VB01": (1, 5),
    "NS01": (5.0, 40.0), "DG01": (1, 2),
}
DEPARTMENT_RANGES = {
    "TT01": (8, 20), "TT02": (400, 2000), "TT03": (10, 80), "TT04": (4, 20), "TT05": (1000, 5000),
    "TT06": (20, 60), "TT07": (2000, 9000), "TT08": (2, 8), "TT09": (100, 600), "HT03": (20, 120),
    "HT04": (30, 200), "HT05": (10, 60), "HT08": (1, 4), "KT01": (2, 6), "KT02": (2, 8), "KT03": (15, 60),
    "KT04": (0, 6), "KT05": (0, 45_000_000), "NL01": (2, 6), "NL02": (60, 300), "QL02": (80, 200),
    "QL03": (30, 90), "QL04": (10, 40), "QL05": (2, 10), "QL06": (10, 40), "XL01": (2, 10), "XL02": (4, 30),
    "XL03": (0, 3), "XL04": (0, 8), "XL05": (0, 3), "XL06": (90, 140), "XL07": (60, 85), "VB01": (2, 10),
    "NS01": (50.0, 400.0), "DG01": (1, 3),
}
# (smaller, larger): the first never exceeds the second, as in reality.
ORDERED_PAIRS = (("KT04", "KT03"), ("XL07", "XL06"), ("XL03", "XL01"), ("XL01", "XL02"), ("XL03", "XL04"),
                 ("TT01", "TT02"), ("TT08", "TT09"), ("NL01", "NL02"), ("HT06", "HT02"))


def unit_rng(unit_id: str, period_code: str, salt: str = "") -> random.Random:
    """The same unit and period always get the same figures."""
    return random.Random(f"baocao-demo|{unit_id}|{period_code}|{salt}")


def indicator_values(spec, is_commune: bool, rng: random.Random, first_half: dict | None = None,
                     aggregation: dict | None = None) -> dict:
    """code -> value. For an annual period, flows are at least the first half's figure (the year
    includes it) and stocks stay close to it."""
    ranges = COMMUNE_RANGES if is_commune else DEPARTMENT_RANGES
    values = {}
    for indicator in spec.indicators:
        code = indicator["code"]
        low, high = ranges.get(code, (0, 5))
        if indicator["value_type"] == "decimal":
            value = round(rng.uniform(float(low), float(high)), 1)
        else:
            value = rng.randint(int(low), int(high))
        if first_half and code in first_half:
            earlier = first_half[code]
            if (aggregation or {}).get(code) == "stock":
                value = max(0, earlier + rng.randint(-1, 2)) if isinstance(earlier, int) else earlier
            else:
                value = earlier + (round(value * 0.9, 1) if isinstance(value, float) else int(value * 0.9))
        values[code] = value
    for small, large in ORDERED_PAIRS:
        if small in values and large in values and values[small] > values[large]:
            values[small], values[large] = values[large], values[small]
    if "KT05" in values and values.get("KT04") == 0:
        values["KT05"] = 0
    for handled, detected in (("XL02", "XL01"), ("XL04", "XL03")):   # no person handled without a case
        if handled in values and values.get(detected) == 0:
            values[handled] = 0
    return values


def fill_workbook(wb, spec, *, is_commune: bool, rng: random.Random, report_date: dt.date,
                  values: dict) -> None:
    """Types what the unit's clerk types into its template."""
    info = wb[layout.SHEET_INFO]
    fields = {key: row for row, key, *_ in layout.INFO_FIELDS}
    info[f"B{fields['preparer']}"] = rng.choice(PREPARERS)
    info[f"B{fields['phone']}"] = f"0{rng.choice([912, 983, 979, 868, 214])} {rng.randint(100, 999)} {rng.randint(100, 999)}"
    info[f"B{fields['report_date']}"] = report_date
    info[f"B{fields['head_of_unit']}"] = rng.choice(HEADS)
    place = "trên địa bàn xã" if is_commune else "trên địa bàn tỉnh"
    tasks = wb[layout.SHEET_TASKS]
    col = {c.key: c.letter for c in layout.TASK_COLUMNS}
    # a task whose figures show activity is under way (schemas/consistency.csv); one unit contradicts itself
    active = {t.strip() for i in spec.indicators if values.get(i["code"]) for t in i["tasks"].split(";")}
    coherent = spec.unit_id != CONTRADICTS
    for n, task in enumerate(spec.tasks):
        row = layout.TASKS_FIRST_ROW + n
        status = rng.choices(layout.STATUSES, weights=(1, 6, 4, 1))[0]
        if coherent and status not in layout.STATUSES_NEEDING_RESULTS and task["task_id"] in active:
            status = "Đang triển khai"
        tasks[f"{col['status']}{row}"] = status
        if status in layout.STATUSES_NEEDING_RESULTS or (not coherent and rng.random() < 0.3):
            sentence = rng.choice(RESULTS[task["task_id"].split(".")[0]])
            tasks[f"{col['results']}{row}"] = sentence.format(n=rng.randint(1, 6), m=rng.randint(2, 12),
                                                              p=rng.randint(30, 400), place=place)
            tasks[f"{col['quantity']}{row}"] = rng.randint(1, 8)
        if rng.random() < 0.35 and (status != "Không phát sinh" or not coherent):
            tasks[f"{col['documents']}{row}"] = (f"Kế hoạch số {rng.randint(10, 250)}/KH-UBND ngày "
                                                 f"{rng.randint(1, 28)}/{rng.randint(1, 5)}/2026")
        if rng.random() < 0.2:
            tasks[f"{col['difficulties']}{row}"] = rng.choice(DIFFICULTIES)
        if rng.random() < 0.15:
            tasks[f"{col['proposals']}{row}"] = rng.choice(PROPOSALS)
    sheet = wb[layout.SHEET_INDICATORS]
    value_col = layout.column(layout.INDICATOR_COLUMNS, "value").letter
    for n, indicator in enumerate(spec.indicators):
        sheet[f"{value_col}{layout.INDICATORS_FIRST_ROW + n}"] = values[indicator["code"]]


# ---------------------------------------------------------------- the whole demo: `make demo`

# The realistic mess, by unit id (Lai Châu's official codes).
NEVER_SEND = ("03583", "03613")          # Xã Khổng Lào, Xã Nậm Sỏ: no report in the first half
LATE = "03451"                           # Xã Mù Cả: received after the deadline
REJECTED_THEN_FIXED = "03433"            # Xã Bum Tở: a first version with errors, then a correction
VIETNAMESE_NUMBERS = "03390"             # Xã Bình Lư: "1.200", "12 người": understood, with warnings
LIBREOFFICE_RESAVED = "03394"            # Xã Sin Suối Hồ: re-saved as .ods through LibreOffice
CONTRADICTS = "03472"                    # Xã Mường Mô: results typed beside "Không phát sinh": warnings
DEMO_SAVED = dt.datetime(2026, 6, 1, 8, 0)   # the filled workbooks' document dates
ANNUAL_NEVER_SEND = ("03583",)           # still missing at the year's end: chronically missing


@dataclass
class DemoResult:
    workspace: Path
    outputs: dict[str, list[Path]]


# What a project folder keeps out of git: the units' files, the outputs and the ledger (data, not code).
PROJECT_GITIGNORE = """\
/inputs/submissions/*
!/inputs/submissions/.gitkeep
/outputs/*
!/outputs/.gitkeep
*.sqlite
*.sqlite-wal
*.sqlite-shm
"""


def prepare_workspace(source_root: Path, workspace: Path) -> Path:
    """A fresh copy of the project's data (inputs, schemas, templates): the officer's real
    inputs/ and ledger are never touched. Its .gitignore keeps the units' data out of git."""
    if workspace.exists():
        shutil.rmtree(workspace, onerror=_writable_then_retry)   # archive copies are read-only (0444)
    for folder in ("inputs", "schemas", "templates"):
        shutil.copytree(source_root / folder, workspace / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.py", "submissions"))
    (workspace / "inputs" / "submissions").mkdir(parents=True)
    (workspace / "outputs").mkdir()
    (workspace / ".gitignore").write_text(PROJECT_GITIGNORE, encoding="utf-8")
    return workspace


def _file_name(unit_id: str, name: str, short_name: str, period, n: int) -> str:
    """What units call their files: every clerk has a habit."""
    label = "6 thang" if not period.is_annual else "nam"
    styles = [
        lambda: f"Báo cáo PCMD {period.label} - {name}.xlsx",
        lambda: f"BC_PCMD_{label.replace(' ', '_')}_{ascii_slug(short_name)}.xlsx",
        lambda: f"{period.code}_{unit_id}_{ascii_slug(name)}.xlsx",
        lambda: f"gui SYT/{ascii_slug(short_name)} bao cao {label} {period.year}.xlsx",
    ]
    return styles[n % len(styles)]()


def _load_template(path: Path):
    from openpyxl import load_workbook

    return load_workbook(path)


def _save(wb, path: Path) -> Path:
    """The filled workbook, saved with fixed document dates and zip times: the demo's inputs are the
    same bytes at every run (so are its outputs, which name each file's hash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(workbook_bytes(wb, DEMO_SAVED))
    return path


def _resave_with_libreoffice(path: Path, fmt: str = "ods") -> Path | None:
    """Converts the way a clerk's "Save as" in LibreOffice would; None without LibreOffice."""
    binary = shutil.which("soffice") or shutil.which("libreoffice")
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="baocao-lo-") as profile:
        subprocess.run([binary, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                        "--convert-to", fmt, "--outdir", str(path.parent), str(path)],
                       capture_output=True, timeout=180, check=False)
    converted = path.with_suffix(f".{fmt}")
    if not converted.is_file():
        return None
    path.unlink()
    return converted


def fill_period(project: Project, period, *, first_half_values: dict | None = None,
                never_send=(), late: dict | None = None, receipts_start: dt.date) -> tuple[dict, dict]:
    """Fills and drops every expected unit's template into the period's submissions folder.
    Returns each unit's receipt (for the register) and the values typed per unit."""
    from pipeline.forms.templates import template_path, template_specs
    from pipeline.intake.register import Receipt

    settings, registry, catalogue = project.settings, project.registry, project.catalogue

    folder = settings.path("submissions") / period.code
    aggregation = dict(zip(catalogue.indicators["code"], catalogue.indicators["aggregation"]))
    specs = template_specs(project, period)
    units = registry.units.set_index("id")
    receipts, typed = {}, {}
    for n, spec in enumerate(specs):
        if spec.unit_id in never_send:
            continue
        unit = units.loc[spec.unit_id]
        rng = unit_rng(spec.unit_id, period.code)
        is_commune = unit["kind"] == "commune"
        values = indicator_values(spec, is_commune, rng, (first_half_values or {}).get(spec.unit_id), aggregation)
        typed[spec.unit_id] = dict(values)
        wb = _load_template(template_path(settings, period, spec.unit_id, spec.unit_name))
        received = receipts_start + dt.timedelta(days=rng.randint(0, (period.deadline - receipts_start).days))
        fill_workbook(wb, spec, is_commune=is_commune, rng=rng, report_date=min(received, period.deadline), values=values)
        name = _file_name(spec.unit_id, unit["name"], unit["short_name"], period, n)
        if spec.unit_id == VIETNAMESE_NUMBERS and not period.is_annual:
            _type_the_vietnamese_way(wb, spec, values)
        if late and spec.unit_id in late:
            received = late[spec.unit_id]
        path = _save(wb, folder / name)
        if spec.unit_id == LIBREOFFICE_RESAVED and not period.is_annual:
            path = _resave_with_libreoffice(path) or path
        receipts[spec.unit_id] = Receipt(path.relative_to(folder).as_posix(), "", received, str(100 + n), "thư điện tử")
    return receipts, typed


def _type_the_vietnamese_way(wb, spec, values: dict) -> None:
    sheet = wb[layout.SHEET_INDICATORS]
    value_col = layout.column(layout.INDICATOR_COLUMNS, "value").letter
    rows = {i["code"]: layout.INDICATORS_FIRST_ROW + n for n, i in enumerate(spec.indicators)}
    if "TT02" in rows:
        values["TT02"] = 1200
        sheet[f"{value_col}{rows['TT02']}"] = "1.200"
    if "HT02" in rows:
        values["HT02"] = 12
        sheet[f"{value_col}{rows['HT02']}"] = "12 người"


def _break_workbook(wb, spec) -> None:
    """The first version of Xã Bum Tở: a word in a number cell, and "Hoàn thành" with no results."""
    sheet = wb[layout.SHEET_INDICATORS]
    value_col = layout.column(layout.INDICATOR_COLUMNS, "value").letter
    sheet[f"{value_col}{layout.INDICATORS_FIRST_ROW}"] = "nhiều"
    tasks = wb[layout.SHEET_TASKS]
    col = {c.key: c.letter for c in layout.TASK_COLUMNS}
    tasks[f"{col['status']}{layout.TASKS_FIRST_ROW}"] = "Hoàn thành"
    tasks[f"{col['results']}{layout.TASKS_FIRST_ROW}"] = None


def run_demo(source_root: Path, workspace: Path, echo=print) -> DemoResult:
    """Templates, filled submissions with their mess, ingestion, audit and both reports, in `workspace`."""
    from pipeline.forms.templates import template_specs
    from pipeline.intake.register import Receipt, append_receipts

    prepare_workspace(source_root, workspace)
    project = Project(workspace)
    settings = project.settings
    s1, year = project.period(f"{settings.plan_first_year}S1"), project.period(str(settings.plan_first_year))

    def step(title: str, *args: str) -> None:
        echo(f"\n=== {title}: python -m pipeline {' '.join(args)}")
        try:
            cli.main(["--root", str(workspace), *args], prog_name="python -m pipeline", standalone_mode=False)
        except SystemExit as exc:  # click's exit for errors: the demo stops loudly
            if exc.code:
                raise

    for period in (s1, year):
        step(f"Biểu mẫu kỳ {period.label}", "templates", "--period", period.code)

    # First half: most units in time, the mess below.
    s1_folder = settings.path("submissions") / s1.code
    late = {LATE: s1.deadline + dt.timedelta(days=4)}
    receipts, s1_values = fill_period(project, s1, never_send=NEVER_SEND, late=late,
                                      receipts_start=s1.cutoff - dt.timedelta(days=4))
    # the late unit's file arrives after the first ingestion; so does Bum Tở's correction
    held_back = [r for r in receipts.values() if r.received > s1.deadline]
    on_time = [r for r in receipts.values() if r.received <= s1.deadline]
    held_files = {}
    for r in held_back:
        path = s1_folder / r.file_name
        held_files[r.file_name] = path.read_bytes()
        path.unlink()
    # Bum Tở's first version has errors; its correction comes the day after the deadline
    spec = template_specs(project, s1, REJECTED_THEN_FIXED)[0]
    first = s1_folder / receipts[REJECTED_THEN_FIXED].file_name
    correct_bytes = first.read_bytes()
    wb = _load_template(first)
    _break_workbook(wb, spec)
    _save(wb, first)
    append_receipts(s1_folder, on_time)
    step("Tiếp nhận đợt 1 (trước hạn)", "ingest", "--period", s1.code, "--no-progress")

    corrected = s1_folder / "bo sung" / f"Báo cáo sửa lại - {project.registry.get(REJECTED_THEN_FIXED)['name']}.xlsx"
    corrected.parent.mkdir(parents=True, exist_ok=True)
    corrected.write_bytes(correct_bytes)
    for name, data in held_files.items():
        (s1_folder / name).parent.mkdir(parents=True, exist_ok=True)
        (s1_folder / name).write_bytes(data)
    append_receipts(s1_folder, [*held_back, Receipt(corrected.relative_to(s1_folder).as_posix(), "",
                                                    s1.deadline + dt.timedelta(days=1), "150", "bản sửa lại")])
    step("Tiếp nhận đợt 2 (sau hạn: bản sửa lại, báo cáo muộn)", "ingest", "--period", s1.code, "--no-progress")
    step("Lịch sử các phiên bản của Xã Bum Tở", "history", "--unit", REJECTED_THEN_FIXED, "--period", s1.code)
    s1_as_of = (s1.deadline + dt.timedelta(days=7)).isoformat()
    step("Rà soát tình hình nộp", "audit", "--period", s1.code, "--as-of", s1_as_of)
    step("Báo cáo 6 tháng", "semiannual", "--period", s1.code, "--as-of", s1_as_of)
    step("Khoá kỳ 6 tháng (báo cáo đã ký, phát hành)", "lock", "--period", s1.code)

    # The year: everyone but one, on time; figures include the first half.
    receipts, _ = fill_period(project, year, first_half_values=s1_values,
                              never_send=ANNUAL_NEVER_SEND, receipts_start=year.cutoff - dt.timedelta(days=3))
    append_receipts(settings.path("submissions") / year.code, list(receipts.values()))
    year_as_of = (year.deadline + dt.timedelta(days=2)).isoformat()
    # as an officer would: the files that came are ingested before the audit asks who is missing
    step(f"Tiếp nhận báo cáo {year.label}", "ingest", "--period", year.code, "--no-progress")
    step("Rà soát tình hình nộp cả năm", "audit", "--period", year.code, "--as-of", year_as_of, "--no-ingest")
    step("Báo cáo năm", "annual", "--year", str(year.year), "--as-of", year_as_of)
    step("Lịch sử nộp báo cáo qua các kỳ", "audit", "--history", "--as-of", year_as_of)

    outputs = {p.code: sorted(q for q in (settings.path("outputs") / p.code).rglob("*") if q.is_file())
               for p in (s1, year)}
    return DemoResult(workspace, outputs)


def _writable_then_retry(remove, path, _exc) -> None:
    """Windows refuses to delete a read-only file (the archive's copies): make it writable, retry."""
    os.chmod(path, stat.S_IWRITE | stat.S_IREAD)
    remove(path)


@cli.command()
@click.option("--workspace", type=FOLDER, default=None,
              help="Thư mục chạy thử (mặc định: outputs/demo); được làm trống trước khi chạy.")
@pass_project
def demo(project: Project, workspace: Path | None) -> None:
    """Chạy thử toàn bộ quy trình trên số liệu mẫu, trong thư mục riêng.

    Tạo biểu mẫu kỳ 6 tháng và cả năm đầu kế hoạch, điền như các xã, sở, ngành sẽ điền (hai đơn vị
    không nộp, một nộp muộn, một bị trả lại rồi sửa, vài cảnh báo, một tệp lưu lại bằng
    LibreOffice), rồi tiếp nhận, rà soát và lập cả hai báo cáo. Không động tới inputs/ hay sổ cái
    của dự án.

    Ví dụ: python -m pipeline demo
    """
    workspace = (workspace or project.settings.path("outputs") / "demo").resolve()
    result = run_demo(project.settings.root, workspace, echo=click.echo)
    click.echo(f"\n=== Kết quả chạy thử (thư mục {result.workspace})")
    for code, files in result.outputs.items():
        click.echo(f"Kỳ {code}:")
        for path in files:
            if path.parent.name == code:
                click.echo(f"  {path.relative_to(result.workspace)}")
    click.echo(f"Biểu mẫu trống: {result.workspace / 'outputs' / 'templates'}")
    click.echo(f"Tệp phản hồi gửi đơn vị: {result.workspace / 'outputs' / '<kỳ>' / 'phan-hoi'}")
