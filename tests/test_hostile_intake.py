"""One unit's bad file never stops the province: each hostile or damaged file (tests/hostile.py) is
put among the 45 good files of the other units and ingested through the real command line; the
command ends normally, the bad file is rejected or warned with a Vietnamese finding naming it, the
45 others are accepted and the province totals are exactly theirs."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import textwrap
import unicodedata
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.forms import layout
from pipeline.cli.main import cli

import hostile
from conftest import PROJECT_ROOT, copy_project_data
from filling import Kit, row_of, task_row, typed_values
from hostile import OTHER, VICTIM

VIETNAMESE = set("ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùýÁÀĐ")


def _copy_project(root):
    return Kit.load(copy_project_data(root))


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """Every unit's good file (bytes), made once."""
    return hostile.good_files(_copy_project(tmp_path_factory.mktemp("province") / "project"))


@pytest.fixture
def kit(project) -> Kit:
    return Kit.load(project)


def _good_name(unit_id: str) -> str:
    return f"bao-cao-{unit_id}.xlsx"


def _drop_good(kit: Kit, province: dict, leave_out=(VICTIM,)) -> list[str]:
    units = [u for u in province if u not in leave_out]
    for unit_id in units:
        (kit.folder / _good_name(unit_id)).write_bytes(province[unit_id])
    return units


def _ingest(kit: Kit) -> str:
    result = CliRunner().invoke(cli, ["--root", str(kit.root), "ingest", "--period", "2026S1", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert result.exception is None and "Traceback" not in result.output and "không mong đợi" not in result.output
    return result.output


def _rows(kit: Kit, sql: str, *args) -> list[dict]:
    with sqlite3.connect(kit.settings.path("ledger")) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(sql, args)]


def _verdict(kit: Kit, name: str) -> tuple[dict, list[dict]]:
    [row] = _rows(kit, "SELECT * FROM submissions WHERE original_name = ?", name)
    return row, _rows(kit, "SELECT * FROM findings WHERE submission_id = ? ORDER BY id", row["id"])


def _named(findings: list[dict], rule: str, name: str) -> dict:
    hits = [f for f in findings if f["rule"] == rule]
    assert hits, f"no {rule} in {findings}"
    finding = hits[0]
    assert finding["file"] == name
    assert VIETNAMESE & set(finding["message"]) and unicodedata.is_normalized("NFC", finding["message"])
    return finding


def _assert_province_intact(kit: Kit, units: list[str], extra: dict | None = None) -> None:
    """The good files accepted and current, and the province totals exactly theirs (plus `extra`:
    unit -> its figures, for a bad file accepted with warnings)."""
    subs = {r["original_name"]: r for r in _rows(kit, "SELECT * FROM submissions")}
    for unit_id in units:
        row = subs[_good_name(unit_id)]
        assert (row["outcome"], row["is_current"], row["unit_id"]) == ("accepted", 1, unit_id), row
    expected: dict[str, float] = {}
    figures = {u: typed_values(kit.spec(u)) for u in units}
    figures.update(extra or {})
    for values in figures.values():
        for code, value in values.items():
            expected[code] = expected.get(code, 0) + value
    totals = {r["code"]: r["total"] for r in _rows(kit, "SELECT code, SUM(value) AS total FROM current_indicator_values "
                                                        "GROUP BY code")}
    assert totals == pytest.approx(expected)
    outputs = kit.settings.path("outputs") / "2026S1"
    assert (outputs / "kiem-tra.xlsx").is_file()
    openpyxl.load_workbook(outputs / "kiem-tra.xlsx")   # written, and readable


def _feedback_of(kit: Kit, unit_id: str | None = VICTIM):
    folder = kit.settings.path("outputs") / "2026S1" / "phan-hoi"
    found = sorted(folder.glob(f"2026S1_{unit_id}_*.xlsx" if unit_id else "2026S1_khong-ro-don-vi_*.xlsx"))
    assert found, list(folder.iterdir())
    return found[0]


# ---------------------------------------------------------------- one bad file among the good ones

def _dde_checks(kit, name, findings):
    spec = kit.spec(VICTIM)
    cells = {(f["sheet"], f["cell"]): f for f in findings if f["rule"] == "active_content"}
    first, second = (row_of(spec, i["code"]) for i in spec.indicators[:2])
    assert set(cells) == {(layout.SHEET_INDICATORS, f"E{first}"), (layout.SHEET_INDICATORS, f"E{second}"),
                          (layout.SHEET_TASKS, f"F{task_row(spec, spec.tasks[0]['task_id'])}")}
    assert "cmd|" in cells[(layout.SHEET_INDICATORS, f"E{first}")]["value"]
    _named(findings, "external_link", name)
    # the feedback mailed back carries values only: no formula, link, hyperlink or macro
    feedback = zipfile.ZipFile(_feedback_of(kit))
    names = feedback.namelist()
    assert not any("externalLink" in n or "vbaProject" in n for n in names), names
    for part in names:
        if part.startswith("xl/worksheets/") and part.endswith(".xml"):
            xml = feedback.read(part)
            assert b"<f>" not in xml and b"<f " not in xml and b"<hyperlink" not in xml, part
    assert b"cmd|" not in b"".join(feedback.read(n) for n in names if n.endswith(".rels"))


CASES = [
    # name, builder, outcome, rule, words of the message
    ("o-xa.xlsx", hostile.far_cell, "rejected", "cell_out_of_range", "ô XFD1048576 nằm quá xa vùng biểu mẫu"),
    ("tham-chieu-qua-gioi-han.xlsx", hostile.beyond_excel, "rejected", "cell_out_of_range",
     "ô B99999999 vượt quá giới hạn của Excel"),
    ("lap-lai.ods", lambda kit: hostile.repeated_ods(), "rejected", "cell_out_of_range", "nằm quá xa vùng biểu mẫu"),
    ("hai-so.xlsx", lambda kit: hostile.with_value(kit, VICTIM, "12 15"), "rejected", "two_numbers",
     "nhiều số ghi chung một ô"),
    ("mot-trieu-ty.xlsx", lambda kit: hostile.with_value(kit, VICTIM, 10 ** 15), "rejected", "above_ceiling",
     "vượt quá mức tối đa hợp lý"),
    ("cong-thuc-ngoai.xlsx", hostile.active_content, "rejected", "active_content", "lấy dữ liệu từ bên ngoài"),
]


@pytest.mark.parametrize("name, build, outcome, rule, words", CASES, ids=[c[0] for c in CASES])
def test_a_hostile_file_among_45_good_ones(kit, province, name, build, outcome, rule, words):
    units = _drop_good(kit, province)
    (kit.folder / name).write_bytes(build(kit))
    output = _ingest(kit)
    assert "46 tệp trong thư mục, 46 tệp mới" in output
    row, findings = _verdict(kit, name)
    assert row["outcome"] == outcome
    assert words in _named(findings, rule, name)["message"]
    _assert_province_intact(kit, units)
    if rule == "active_content":
        _dde_checks(kit, name, findings)
    assert _rows(kit, "SELECT COUNT(*) AS n FROM findings WHERE rule = 'unexpected_error'") == [{"n": 0}]


@pytest.mark.parametrize("char", ["\x0b", "\x07", "\x01", "\x1b"], ids=["U+000B", "U+0007", "U+0001", "ESC"])
def test_control_characters_in_a_number_a_status_a_text_and_a_file_name(kit, province, char):
    units = _drop_good(kit, province)
    (kit.folder / f"bao{char}cao ta leng.xlsx").write_bytes(hostile.with_controls(kit, char))
    _ingest(kit)
    name = "bao cao ta leng.xlsx" if char == "\x0b" else "baocao ta leng.xlsx"
    row, findings = _verdict(kit, name)
    assert (row["outcome"], row["unit_id"], row["is_current"]) == ("accepted_with_warnings", VICTIM, 1)
    spec = kit.spec(VICTIM)
    task = task_row(spec, spec.tasks[0]["task_id"])
    cells = {(f["sheet"], f["cell"]) for f in findings if f["rule"] == "control_character"}
    assert cells == {(layout.SHEET_INDICATORS, f"E{row_of(spec, spec.indicators[0]['code'])}"),
                     (layout.SHEET_TASKS, f"E{task}"), (layout.SHEET_TASKS, f"F{task}"), ("", "")}
    _named(findings, "control_character", name)
    # what was stored is clean: the number read as 12, the status recognised, the text without the character
    [value] = _rows(kit, "SELECT value FROM current_indicator_values WHERE unit_id = ? AND code = ?", VICTIM,
                    spec.indicators[0]["code"])
    [stored] = _rows(kit, "SELECT status, results FROM current_task_reports WHERE unit_id = ? AND task_id = ?",
                     VICTIM, spec.tasks[0]["task_id"])
    assert value["value"] == 12 and stored["status"] == "Hoàn thành"
    assert stored["results"] == ("Tổ chức 2 buổi\ntuyên truyền tại thôn." if char == "\x0b" else
                                 "Tổ chức 2 buổituyên truyền tại thôn.")
    victim = typed_values(spec)
    victim[spec.indicators[0]["code"]] = 12
    _assert_province_intact(kit, units, {VICTIM: victim})
    # every writer gets clean text: the check workbook and the feedback open
    openpyxl.load_workbook(_feedback_of(kit))


def test_a_damaged_xls_that_makes_the_reader_panic(kit, province, tmp_path):
    data = hostile.damaged_xls(kit, tmp_path)
    if data is None:
        pytest.skip("!!! none of the known damages makes this LibreOffice's .xls panic: the panic was NOT tested")
    units = _drop_good(kit, province)
    (kit.folder / "bao-cao-hong.xls").write_bytes(data)
    _ingest(kit)
    row, findings = _verdict(kit, "bao-cao-hong.xls")
    assert row["outcome"] == "rejected"
    assert "PanicException" in _named(findings, "corrupt_file", "bao-cao-hong.xls")["message"]
    _assert_province_intact(kit, units)


def test_1e308_from_two_communes_is_an_error_not_a_figure(kit, province):
    units = _drop_good(kit, province, leave_out=(VICTIM, OTHER))
    for unit_id in (VICTIM, OTHER):
        (kit.folder / f"lon-{unit_id}.xlsx").write_bytes(hostile.with_value(kit, unit_id, 1e308))
    _ingest(kit)
    for unit_id in (VICTIM, OTHER):
        row, findings = _verdict(kit, f"lon-{unit_id}.xlsx")
        assert (row["outcome"], row["unit_id"]) == ("rejected", unit_id)
        _named(findings, "above_ceiling", f"lon-{unit_id}.xlsx")
    _assert_province_intact(kit, units)


def test_a_real_workbook_named_like_a_lock_file_is_read(kit, province):
    units = _drop_good(kit, province)
    (kit.folder / "~$bao-cao.xlsx").write_bytes(province[VICTIM])
    _ingest(kit)
    row, _findings = _verdict(kit, "~$bao-cao.xlsx")
    assert (row["outcome"], row["unit_id"]) == ("accepted", VICTIM)
    _assert_province_intact(kit, units, {VICTIM: typed_values(kit.spec(VICTIM))})


def test_what_a_folder_holds_besides_reports_is_skipped_and_named_once(kit, province):
    units = _drop_good(kit, province, leave_out=())
    (kit.folder / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    (kit.folder / "desktop.ini").write_bytes(b"[.ShellClassInfo]\r\nIconResource=C:\\x.dll,0\r\n")
    (kit.folder / "trong.xlsx").write_bytes(b"")
    (kit.folder / "~$bao-cao-03405.xlsx").write_bytes(hostile.OFFICE_LOCK)
    output = _ingest(kit)
    assert "Bỏ qua 4 tệp không phải báo cáo" in output
    for name in ("Thumbs.db", "desktop.ini", "trong.xlsx (tệp rỗng (0 byte))", "~$bao-cao-03405.xlsx (tệp khoá"):
        assert output.count(name) == 1, name
    assert "46 tệp trong thư mục, 46 tệp mới" in output
    assert len(_rows(kit, "SELECT id FROM submissions")) == 46   # never recorded, never judged
    _assert_province_intact(kit, units)


def test_a_signed_pdf_beside_the_workbook_is_its_attachment(kit, province):
    units = _drop_good(kit, province)
    folder = kit.folder / "03405-ta-leng"
    folder.mkdir()
    (folder / "bao-cao.xlsx").write_bytes(province[VICTIM])
    (folder / "scan-ban-ky.pdf").write_bytes(hostile.pdf_bytes())
    output = _ingest(kit)
    assert "03405-ta-leng/scan-ban-ky.pdf  bản ký" in output
    pdf, findings = _verdict(kit, "03405-ta-leng/scan-ban-ky.pdf")
    assert (pdf["unit_id"], pdf["format"], pdf["version"], pdf["is_current"], findings) == (VICTIM, "pdf", None, 0, [])
    assert pdf["archive_path"].endswith(".pdf")
    assert (kit.settings.path("outputs") / pdf["archive_path"]).read_bytes() == hostile.pdf_bytes()
    _assert_province_intact(kit, units, {VICTIM: typed_values(kit.spec(VICTIM))})
    history = CliRunner().invoke(cli, ["--root", str(kit.root), "history", "--unit", VICTIM, "--period", "2026S1"])
    assert history.exit_code == 0 and "scan-ban-ky.pdf" in history.output and "bản ký" in history.output
    # and in the summary workbook (tong-hop), on the unit's line of appendix III
    from pipeline.report.model import gather
    from pipeline.report.excel import SHEET_SUBMISSIONS, excel_bytes

    sheet = openpyxl.load_workbook(io.BytesIO(excel_bytes(gather(kit.settings, kit.registry, kit.matrix, kit.catalogue,
                                                                 kit.period))))[SHEET_SUBMISSIONS]
    lines = {r[0]: r for r in sheet.iter_rows(values_only=True)}
    assert lines["Mã đơn vị"][-1] == "Bản ký (PDF, ảnh)" and lines[VICTIM][-1] == "03405-ta-leng/scan-ban-ky.pdf"


def test_a_pdf_alone_counts_as_sent_and_asks_for_the_excel_file(kit, province):
    from pipeline.audit.status import MISSING, REJECTED, submission_status

    units = _drop_good(kit, province)
    (kit.folder / "bao-cao-ta-leng-03405.pdf").write_bytes(hostile.pdf_bytes())
    _ingest(kit)
    row, findings = _verdict(kit, "bao-cao-ta-leng-03405.pdf")
    assert (row["unit_id"], row["format"], row["outcome"], row["version"]) == (VICTIM, "pdf", "rejected", 1)
    assert "chưa có tệp Excel" in _named(findings, "excel_file_missing", "bao-cao-ta-leng-03405.pdf")["message"]
    import datetime as dt

    day = max(dt.date.today(), kit.period.deadline) + dt.timedelta(days=1)   # (received today, by the clock)
    status = submission_status(kit.project, kit.period, day)
    mine = status.set_index("unit_id").loc[VICTIM, "status"]
    assert mine == REJECTED and mine != MISSING
    _assert_province_intact(kit, units)


# ---------------------------------------------------------------- identity and versions

def test_a_file_named_as_another_units_never_replaces_the_templates_unit(kit, province):
    units = _drop_good(kit, province, leave_out=(OTHER,))   # Tả Lèng's own good file is among them
    _ingest(kit)
    spec, wb = kit.filled(VICTIM, values={kit.spec(VICTIM).indicators[0]["code"]: 99})
    wb.save(kit.folder / "bao-cao-phuong-tan-phong.xlsx")
    _ingest(kit)
    row, findings = _verdict(kit, "bao-cao-phuong-tan-phong.xlsx")
    assert (row["unit_id"], row["outcome"], row["is_current"]) == (VICTIM, "rejected", 0)
    assert "Phường Tân Phong" in _named(findings, "file_name_other_unit", "bao-cao-phuong-tan-phong.xlsx")["message"]
    _assert_province_intact(kit, units)   # Tả Lèng's figures are still its own file's


def test_an_older_version_brought_late_does_not_replace_the_correction(kit, province):
    units = _drop_good(kit, province)
    spec = kit.spec(VICTIM)
    code = spec.indicators[0]["code"]
    register = kit.folder / "so-den.csv"
    register.write_text("Tên tệp,Đơn vị,Ngày đến\r\nta-leng-sua.xlsx,03405,17/06/2026\r\n"
                        "ta-leng-ban-dau.xlsx,03405,12/06/2026\r\n", encoding="utf-8-sig")
    _, wb = kit.filled(VICTIM, values={code: 21})
    wb.save(kit.folder / "ta-leng-sua.xlsx")
    _ingest(kit)
    _, wb = kit.filled(VICTIM, values={code: 20})
    wb.save(kit.folder / "ta-leng-ban-dau.xlsx")   # the first version, brought on a USB stick after
    _ingest(kit)
    versions = {r["original_name"]: r for r in _rows(kit, "SELECT * FROM submissions WHERE unit_id = ?", VICTIM)}
    assert versions["ta-leng-sua.xlsx"]["is_current"] == 1
    assert (versions["ta-leng-ban-dau.xlsx"]["is_current"], versions["ta-leng-ban-dau.xlsx"]["superseded"]) == (0, 1)
    victim = typed_values(spec)
    victim[code] = 21
    _assert_province_intact(kit, units, {VICTIM: victim})


# ---------------------------------------------------------------- a reader that never ends, or dies

def test_a_damaged_xls_that_asks_for_20_gb_kills_its_reader_not_the_batch(kit, province, tmp_path):
    data = hostile.exhausting_xls(kit, tmp_path)
    if data is None:
        pytest.skip("!!! no known damage makes this LibreOffice's .xls exhaust the reader: NOT tested")
    units = _drop_good(kit, province)
    (kit.folder / "bao-cao-hong-nang.xls").write_bytes(data)
    output = _ingest(kit)
    assert "memory allocation" not in output   # (the reading process's last words are not the officer's)
    row, findings = _verdict(kit, "bao-cao-hong-nang.xls")
    assert row["outcome"] == "rejected"
    assert "dừng đột ngột" in _named(findings, "reader_crashed", "bao-cao-hong-nang.xls")["message"]
    _assert_province_intact(kit, units)


def test_a_reader_that_never_ends_is_stopped_and_its_file_rejected(kit, province, monkeypatch):
    import time

    import pipeline.intake.ingest as ingest_module

    real = ingest_module._examine_file

    def endless(result, *args):
        if result.name == "treo.xlsx":
            while True:   # as a reader looping in native code would: no exception, no end
                time.sleep(1)
        return real(result, *args)

    monkeypatch.setattr(ingest_module, "_examine_file", endless)
    monkeypatch.setattr(ingest_module, "READ_SECONDS", 2)
    (kit.folder / "treo.xlsx").write_bytes(province[VICTIM])
    (kit.folder / _good_name(OTHER)).write_bytes(province[OTHER])
    by_name = {j["original_name"]: j for j in kit.ingest(progress=False).judged}
    assert by_name[_good_name(OTHER)]["outcome"] == "accepted"
    stuck = by_name["treo.xlsx"]
    assert stuck["outcome"] == "rejected"
    assert "quá 2 giây" in _named(stuck["findings"], "read_timeout", "treo.xlsx")["message"]


def test_a_reading_process_that_dies_rejects_its_file_not_the_batch(kit, province, monkeypatch):
    import pipeline.intake.ingest as ingest_module

    real = ingest_module._examine_file

    def dying(result, *args):
        if result.name == "chet.xlsx":
            os._exit(9)   # as the kernel's out-of-memory killer or a Rust abort would end it
        return real(result, *args)

    monkeypatch.setattr(ingest_module, "_examine_file", dying)
    units = _drop_good(kit, province)
    (kit.folder / "chet.xlsx").write_bytes(province[VICTIM])
    output = _ingest(kit)
    assert "46 tệp trong thư mục, 46 tệp mới" in output
    row, findings = _verdict(kit, "chet.xlsx")
    assert row["outcome"] == "rejected"
    assert "dừng đột ngột" in _named(findings, "reader_crashed", "chet.xlsx")["message"]
    _assert_province_intact(kit, units)


# ---------------------------------------------------------------- memory

MEMORY_CHILD = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    from pipeline.cli.main import main
    sys.argv = ["pipeline", "--root", sys.argv[1], "ingest", "--period", "2026S1", "--no-progress"]
    main()
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS as Linux counts it")
def test_the_memory_cases_are_read_within_2_gib(kit, province):
    units = _drop_good(kit, province)
    (kit.folder / "o-xa.xlsx").write_bytes(hostile.far_cell(kit))
    (kit.folder / "tham-chieu.xlsx").write_bytes(hostile.beyond_excel(kit))
    (kit.folder / "lap-lai.ods").write_bytes(hostile.repeated_ods())
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(kit.root)], capture_output=True, text=True,
                          timeout=30, env=env, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for name in ("o-xa.xlsx", "tham-chieu.xlsx", "lap-lai.ods"):
        row, findings = _verdict(kit, name)
        assert row["outcome"] == "rejected"
        _named(findings, "cell_out_of_range", name)
    _assert_province_intact(kit, units)
