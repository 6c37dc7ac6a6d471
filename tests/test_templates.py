"""Blank templates: one protected workbook per unit, exactly its tasks and indicators, surviving LibreOffice."""

from __future__ import annotations

import csv

import openpyxl
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from pipeline.forms import layout
from pipeline.reference.catalogue import load_catalogue
from pipeline.cli.main import cli
from pipeline.reference.settings import load_settings
from pipeline.reference.matrix import load_matrix
from pipeline.reference.obligations import expected_units, obligations
from pipeline.reference.periods import parse_period
from pipeline.forms.templates import MANIFEST_NAME, template_bytes, template_specs, templates_dir, write_templates
from pipeline.reference.project import Project
from pipeline.reference.units import load_registry

from conftest import copy_project_data, soffice_convert

pytestmark = pytest.mark.slow   # every unit's template generated, LibreOffice round trips


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Both periods' templates of the province, generated once into a throwaway project."""
    root = copy_project_data(tmp_path_factory.mktemp("tpl") / "project")
    settings = load_settings(root)
    registry = load_registry(settings)
    matrix = load_matrix(settings, registry)
    catalogue = load_catalogue(settings, matrix, registry)
    project = Project.of(settings, registry, matrix, catalogue)
    out = {}
    for code in ("2026S1", "2026"):
        period = parse_period(code, settings)
        rows = write_templates(project, period)
        out[code] = (period, rows)
    return settings, registry, matrix, catalogue, out


def _input_cells(ws, first_row: int, columns) -> list[str]:
    return [f"{c.letter}{row}" for row in range(first_row, ws.max_row + 1) for c in columns if c.is_input]


def _validated(ws) -> set[str]:
    cells = set()
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for row in ws.iter_rows(min_row=rng.min_row, max_row=rng.max_row, min_col=rng.min_col, max_col=rng.max_col):
                cells.update(c.coordinate for c in row)
    return cells


def _check_workbook(path, unit_id, period, owed_tasks, owed_codes):
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:4] == list(layout.VISIBLE_SHEETS)
    assert {wb[layout.SHEET_LISTS].sheet_state, wb[layout.SHEET_META].sheet_state} == {"hidden"}

    # metadata, in the hidden sheet and as defined names
    meta = {wb[layout.SHEET_META][f"A{n}"].value: wb[layout.SHEET_META][f"B{n}"].value
            for n in range(1, len(layout.META_KEYS) + 1)}
    assert meta["unit_id"] == unit_id and meta["period"] == period.code
    assert meta["template_version"] == layout.TEMPLATE_VERSION
    assert meta["fingerprint"] == layout.fingerprint(unit_id, period.code, owed_tasks, owed_codes)
    for key in layout.META_KEYS:
        sheet, cell = next(wb.defined_names[layout.DEFINED_NAME_PREFIX + key].destinations)
        assert wb[sheet][cell.replace("$", "")].value == meta[key]

    # exactly the unit's tasks, ids stored as text
    tasks = wb[layout.SHEET_TASKS]
    ids = [tasks[f"A{r}"].value for r in range(layout.TASKS_FIRST_ROW, tasks.max_row + 1)]
    assert ids == owed_tasks
    assert all(tasks[f"A{r}"].data_type == "s" and tasks[f"A{r}"].number_format == "@"
               for r in range(layout.TASKS_FIRST_ROW, tasks.max_row + 1))
    indicators = wb[layout.SHEET_INDICATORS]
    codes = [indicators[f"A{r}"].value for r in range(layout.INDICATORS_FIRST_ROW, indicators.max_row + 1)]
    assert codes == owed_codes

    # every input cell unlocked and validated, everything else locked; sheets protected without password
    info = wb[layout.SHEET_INFO]
    info_inputs = [f"{layout.INFO_VALUE_COLUMN}{row}" for row, _k, _l, is_input, _r in layout.INFO_FIELDS if is_input]
    for ws, inputs in ((tasks, _input_cells(tasks, layout.TASKS_FIRST_ROW, layout.TASK_COLUMNS)),
                       (indicators, _input_cells(indicators, layout.INDICATORS_FIRST_ROW, layout.INDICATOR_COLUMNS)),
                       (info, info_inputs)):
        assert ws.protection.sheet and not ws.protection.password
        assert set(inputs) <= _validated(ws), f"{ws.title}: input cells without validation"
        for dv in ws.data_validations.dataValidation:
            assert dv.showInputMessage and dv.prompt and dv.showErrorMessage and dv.error
        for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=ws.max_column):
            for cell in row:
                assert cell.protection.locked == (cell.coordinate not in inputs), f"{ws.title}!{cell.coordinate}"
    assert info[f"{layout.INFO_VALUE_COLUMN}4"].value and info["B5"].value == unit_id
    status_dv = next(dv for dv in tasks.data_validations.dataValidation if dv.type == "list")
    assert status_dv.formula1 == layout.LIST_NAME_STATUS
    return wb


def test_one_template_per_expected_unit_with_exactly_its_tasks(generated):
    settings, registry, matrix, catalogue, out = generated
    for code, (period, rows) in out.items():
        expected = expected_units(matrix, registry, period)
        assert [r["Mã đơn vị"] for r in rows] == expected["id"].tolist()
        folder = templates_dir(settings, period)
        assert sorted(p.name for p in folder.glob("*.xlsx")) == sorted(r["Tệp"] for r in rows)
        for row in rows:
            unit_id = row["Mã đơn vị"]
            owed = obligations(matrix, registry, period, unit_id)["task_id"].tolist()
            codes = catalogue.for_unit(unit_id, period)["code"].tolist()
            assert (row["Số nhiệm vụ"], row["Số chỉ tiêu"]) == (len(owed), len(codes))
            _check_workbook(folder / row["Tệp"], unit_id, period, owed, codes)


def test_file_names_are_readable_and_windows_safe(generated):
    _s, _r, _m, _c, out = generated
    names = [r["Tệp"] for r in out["2026S1"][1]]
    assert "2026S1_03405_xa-ta-leng.xlsx" in names
    assert "2026S1_12-SVHTTDL_so-van-hoa-the-thao-va-du-lich.xlsx" in names
    assert all(n.isascii() and not any(ch in n for ch in '<>:"/\\|?* ') for n in names)


def test_manifest_lists_every_template(generated):
    settings, _r, _m, _c, out = generated
    period, rows = out["2026S1"]
    with open(templates_dir(settings, period) / MANIFEST_NAME, encoding="utf-8-sig", newline="") as f:
        manifest = list(csv.DictReader(f))
    assert len(manifest) == 46
    ta_leng = next(r for r in manifest if r["Mã đơn vị"] == "03405")
    assert ta_leng["Tên đơn vị"] == "Xã Tả Lèng" and ta_leng["Số nhiệm vụ"] == "16"
    assert ta_leng["Phiên bản mẫu"] == layout.TEMPLATE_VERSION


def test_annual_template_asks_annual_only_indicators(generated):
    _s, _r, _m, catalogue, out = generated
    s1 = {r["Mã đơn vị"]: r for r in out["2026S1"][1]}
    year = {r["Mã đơn vị"]: r for r in out["2026"][1]}
    assert year["03405"]["Số chỉ tiêu"] == s1["03405"]["Số chỉ tiêu"] + 1  # DG01, sơ kết/tổng kết


def test_guide_sheet_says_window_deadline_and_unprotecting(generated):
    settings, _r, _m, _c, out = generated
    period, rows = out["2026S1"]
    wb = openpyxl.load_workbook(templates_dir(settings, period) / rows[10]["Tệp"])
    text = "\n".join(str(c.value) for c in wb[layout.SHEET_GUIDE]["A"] if c.value)
    assert "15/12/2025" in text and "14/06/2026" in text and "18/06/2026" in text
    assert "không đặt mật khẩu" in text
    for status in layout.STATUSES:
        assert status in text


def test_fonts_print_setup_and_frozen_headers(generated):
    settings, _r, _m, _c, out = generated
    period, rows = out["2026S1"]
    wb = openpyxl.load_workbook(templates_dir(settings, period) / rows[0]["Tệp"])
    ws = wb[layout.SHEET_TASKS]
    assert wb.security.lockStructure   # sheets cannot be added, removed or unhidden without unprotecting
    assert wb.active.title == layout.SHEET_INFO
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.print_title_rows == f"${layout.TASKS_HEADER_ROW}:${layout.TASKS_HEADER_ROW}"
    assert ws.freeze_panes == f"C{layout.TASKS_FIRST_ROW}"
    assert {ws[f"{c}{r}"].font.name for c in "ABEJ" for r in (4, 5)} == {"Times New Roman"}
    assert ws["B5"].alignment.wrap_text
    assert not any(isinstance(c.value, str) and c.value.startswith("=") for row in ws.iter_rows() for c in row)


def test_same_inputs_same_bytes(generated):
    settings, registry, matrix, catalogue, out = generated
    project = Project.of(settings, registry, matrix, catalogue)
    period = out["2026S1"][0]
    spec = template_specs(project, period, "03388")[0]
    path = templates_dir(settings, period) / spec.file_name
    assert template_bytes(spec) == path.read_bytes()


def test_the_pool_writes_what_one_process_writes(generated, tmp_path):
    """A province's templates are written by a pool of forked processes (46 workbooks, above
    FORK_POOL_THRESHOLD where the system forks): each file the bytes one process writes."""
    import multiprocessing

    from pipeline.forms.templates import FORK_POOL_THRESHOLD, write_template_files

    settings, registry, matrix, catalogue, out = generated
    specs = template_specs(Project.of(settings, registry, matrix, catalogue), out["2026S1"][0])
    assert len(specs) >= FORK_POOL_THRESHOLD
    pooled, alone = tmp_path / "pooled", tmp_path / "alone"
    pooled.mkdir(), alone.mkdir()
    write_template_files([(spec, pooled) for spec in specs], workers=2)
    write_template_files([(spec, alone) for spec in specs], workers=1)
    assert sorted(p.name for p in pooled.iterdir()) == sorted(spec.file_name for spec in specs)
    for spec in specs:
        assert (pooled / spec.file_name).read_bytes() == (alone / spec.file_name).read_bytes(), spec.file_name
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("(no fork here: a pool of spawned processes only from POOL_THRESHOLD workbooks)")


def test_no_fork_beside_another_thread(generated, tmp_path, monkeypatch):
    """From the web server (a thread runs the job beside uvicorn's) the workbooks of a province are
    written in this process: a fork beside other threads may hang on a lock one of them held."""
    import concurrent.futures
    import threading

    import pipeline.forms.templates as writer

    settings, registry, matrix, catalogue, out = generated
    specs = template_specs(Project.of(settings, registry, matrix, catalogue), out["2026S1"][0])
    pools = []
    monkeypatch.setattr(writer, "ProcessPoolExecutor",
                        lambda *a, **k: pools.append(k) or concurrent.futures.ProcessPoolExecutor(*a, **k))
    errors = []

    def job():
        try:
            writer.write_template_files([(spec, tmp_path) for spec in specs], workers=2)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
    assert not errors and pools == [] and len(list(tmp_path.iterdir())) == len(specs)


def test_calamine_reads_the_template(generated):
    settings, _r, _m, _c, out = generated
    period, rows = out["2026S1"]
    wb = CalamineWorkbook.from_path(str(templates_dir(settings, period) / "2026S1_03405_xa-ta-leng.xlsx"))
    rows_ = wb.get_sheet_by_name(layout.SHEET_TASKS).to_python()
    assert rows_[layout.TASKS_HEADER_ROW - 1][:3] == ["Mã NV", "Nhiệm vụ", "Vai trò"]
    assert rows_[layout.TASKS_FIRST_ROW - 1][0] == "1.1"


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_libreoffice_round_trip_keeps_metadata_dropdowns_and_protection(generated, tmp_path, fmt):
    settings, registry, matrix, catalogue, out = generated
    project = Project.of(settings, registry, matrix, catalogue)
    period = out["2026S1"][0]
    for unit_id in ("03405", "12-CA"):
        spec = template_specs(project, period, unit_id)[0]
        source = templates_dir(settings, period) / spec.file_name
        saved = soffice_convert(source, fmt, tmp_path / fmt / unit_id)
        if fmt == "ods":  # read the .ods back through LibreOffice's own xlsx export
            saved = soffice_convert(saved, "xlsx", tmp_path / "ods-back" / unit_id)
        owed = [t["task_id"] for t in spec.tasks]
        codes = [i["code"] for i in spec.indicators]
        _check_workbook(saved, unit_id, period, owed, codes)


@pytest.mark.parametrize("args, message", [
    (["templates", "--period", "2026S1", "--unit", "99999"], "Không có đơn vị mã '99999'"),
    (["templates", "--period", "2026-1"], "Mã kỳ báo cáo không hợp lệ"),
])
def test_bad_arguments_write_nothing(project, args, message):
    result = CliRunner().invoke(cli, ["--root", str(project), *args])
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1
    assert not (project / "outputs" / "templates").exists()


def test_one_unit_regenerated_keeps_the_manifest_whole(project):
    runner = CliRunner()
    assert runner.invoke(cli, ["--root", str(project), "templates", "--period", "2026S1"]).exit_code == 0
    result = runner.invoke(cli, ["--root", str(project), "templates", "--period", "2026S1", "--unit", "03405"])
    assert result.exit_code == 0, result.output
    assert "2026S1_03405_xa-ta-leng.xlsx" in result.output
    with open(project / "outputs/templates/2026S1" / MANIFEST_NAME, encoding="utf-8-sig") as f:
        assert len(list(csv.DictReader(f))) == 46


def test_guide_names_the_mailbox_that_collect_reads(project):
    config = project / "inputs" / "config.toml"
    text = config.read_text(encoding="utf-8").replace('from_address = ""', 'from_address = "baocao.syt@laichau.gov.vn"', 1)
    config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--root", str(project), "templates", "--period", "2026S1", "--unit", "03405"])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(project / "outputs/templates/2026S1/2026S1_03405_xa-ta-leng.xlsx")
    guide = "\n".join(str(c.value) for c in wb[layout.SHEET_GUIDE]["A"] if c.value)
    assert "qua thư điện tử baocao.syt@laichau.gov.vn" in guide
