"""The report a Director signs, on the demo's realistic data: the ministry's outline on at most 8
(semi-annual) or 10 (annual) A4 pages, synthesised (no bare task codes, no unit asking the
Department shown as the Department's proposal), the officer's own words kept across reruns, the
completeness stop; and the consolidation rules behind the figures (province rule, second half,
exact integers)."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from docx import Document

from pipeline.cli import demo
from pipeline.reference.catalogue import load_catalogue
from pipeline.cli.main import cli
from pipeline.report.consolidate import LedgerData, TASK_REPORT_COLUMNS, VALUE_COLUMNS, consolidate, exact_sum
from pipeline.reference.matrix import load_matrix
from pipeline.reference.periods import parse_period
from pipeline.report.model import appendix2_rows, compare_note, read_officer_text
from pipeline.reference.units import load_registry
from pipeline.common.formatting import vn_number

from conftest import PROJECT_ROOT, soffice_convert
from filling import Kit

S1_REPORT = "outputs/2026S1/bao-cao-6-thang-dau-nam-2026.docx"
YEAR_REPORT = "outputs/2026/bao-cao-nam-2026.docx"
HEADINGS = ("I. TÌNH HÌNH CHUNG", "II. KẾT QUẢ THỰC HIỆN", "III. ĐÁNH GIÁ CHUNG", "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ",
            "V. ĐỀ XUẤT, KIẾN NGHỊ")
BARE_CODES = re.compile(r"\b\d\.\d[a-z]?(, \d\.\d[a-z]?){2,}")
POLICE, TA_LENG, MU_CA = "12-CA", "03405", "03451"


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory):
    """`make demo`'s workspace: 46 units, both periods reported, both reports written."""
    workspace = tmp_path_factory.mktemp("demo") / "demo"
    demo.run_demo(PROJECT_ROOT, workspace, echo=lambda *_: None)
    return workspace


def _pages(pdf: Path) -> list[str]:
    count = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                                                             check=True).stdout).group(1))
    return [subprocess.run(["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout for n in range(1, count + 1)]


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("report, limit", [(S1_REPORT, 8), (YEAR_REPORT, 10)])
def test_the_body_follows_the_outline_on_few_pages(demo_workspace, tmp_path, report, limit):
    if shutil.which("pdftotext") is None:
        pytest.skip("!!! pdftotext (poppler-utils) is not installed: the page count was NOT checked")
    pdf = soffice_convert(demo_workspace / report, "pdf", tmp_path)
    pages = _pages(pdf)
    # the body ends with the signer block: "Nơi nhận" and its last line, "Lưu: VT, NVY."
    signer_page = next(n for n, page in enumerate(pages, start=1) if "Lưu: VT, NVY" in page)
    assert "Nơi nhận" in "".join(pages[:signer_page])
    assert signer_page <= limit, f"the body runs to {signer_page} pages"
    body = _flat("\n".join(pages[:signer_page]))
    body = body[body.index("BÁO CÁO"):body.index("Nơi nhận")]
    positions = [body.index(h) for h in HEADINGS]
    assert positions == sorted(positions)
    assert not BARE_CODES.search(body), BARE_CODES.search(body).group(0)
    section_v = body[body.index("V. ĐỀ XUẤT, KIẾN NGHỊ"):]
    for sentence in re.split(r"(?<=[.;])\s", section_v):
        assert not re.search(r"đề nghị\s+(quý\s+)?Sở Y tế", sentence, re.IGNORECASE), sentence
    assert "Đề nghị UBND tỉnh" in section_v and "Đề nghị Bộ Y tế" in section_v
    assert "Một số" in section_v and "đề nghị UBND tỉnh bố trí kinh phí riêng" in section_v   # forwarded
    # what the officer checks never reaches the signed document; nor do file names
    everything = _flat("\n".join(pages))
    assert "cần kiểm tra" not in everything.lower()
    assert not re.search(r"\.(xlsx|xls|ods|csv)\b", everything)
    # no completion rate for continuous tasks
    assert not re.search(r"tỷ lệ hoàn thành \d", body)
    assert "nhiệm vụ thực hiện hằng năm đã hoàn thành" in body


def test_the_demo_police_figure_is_the_province_figure(demo_workspace):
    wb = openpyxl.load_workbook(demo_workspace / "outputs/2026S1/tong-hop-2026S1.xlsx")
    rows = {r[0]: r for r in wb["PL II - Chỉ tiêu"].iter_rows(min_row=2, values_only=True)}
    code, _, _, _, _, total, departments, communes, *_, rule = rows["XL06"]
    assert total == departments and total >= communes and "trong đó" in rule
    assert rows["TT01"][5] == rows["TT01"][6] + rows["TT01"][7]
    text = "\n".join(p.text for p in Document(str(demo_workspace / S1_REPORT)).paragraphs)
    assert f"tiếp nhận: {vn_number(total)} tin (trong đó cấp xã: {vn_number(communes)})" in text


OFFICER_TEXT = """# ignored title
## Đánh giá chung
Công tác phòng, chống mại dâm 6 tháng đầu năm được triển khai
đồng bộ, có trọng tâm.

- Ưu điểm do cán bộ tự viết: các xã vùng cao chủ động tuyên truyền.
- Tồn tại do cán bộ tự viết: một số xã báo cáo muộn.

## Đề xuất, kiến nghị
- Đề nghị UBND tỉnh bổ sung biên chế chuyên trách cho Chi cục.
## Mục lạ
bỏ qua
"""


def test_the_officers_words_survive_a_rerun_with_a_late_file(demo_workspace, tmp_path):
    root = tmp_path / "demo"
    shutil.copytree(demo_workspace, root)
    before = openpyxl.load_workbook(root / "outputs/2026S1/tong-hop-2026S1.xlsx")
    tt01 = {r[0]: r[5] for r in before["PL II - Chỉ tiêu"].iter_rows(min_row=2, values_only=True)}["TT01"]
    (root / "inputs" / "bao-cao").mkdir()
    (root / "inputs" / "bao-cao" / "2026S1.md").write_text(OFFICER_TEXT, encoding="utf-8")
    # the demo locked the period after its report: the leadership reopens it for a late file
    opened = CliRunner().invoke(cli, ["--root", str(root), "unlock", "--period", "2026S1",
                                      "--ly-do", "Lãnh đạo Sở đồng ý nhận báo cáo muộn"])
    assert opened.exit_code == 0, opened.output
    # a late file from a commune that had sent nothing
    kit = Kit.load(root, "2026S1")
    late = demo.NEVER_SEND[1]
    _, wb = kit.filled(late, values={"TT01": 777})
    kit.save(wb, "gui muon/Nam So.xlsx")

    result = CliRunner().invoke(cli, ["--root", str(root), "semiannual", "--period", "2026S1"])
    assert result.exit_code == 0, result.output
    assert "inputs/bao-cao/2026S1.md (dùng cho mục Đánh giá chung, Đề xuất, kiến nghị)" in result.output
    assert "«Mục lạ»" in result.output
    doc = Document(str(root / S1_REPORT))
    paragraphs = [p.text for p in doc.paragraphs]
    text = "\n".join(paragraphs)
    assert ("Công tác phòng, chống mại dâm 6 tháng đầu năm được triển khai đồng bộ, có trọng tâm." in paragraphs)
    assert "- Ưu điểm do cán bộ tự viết: các xã vùng cao chủ động tuyên truyền." in paragraphs
    assert "- Tồn tại do cán bộ tự viết: một số xã báo cáo muộn." in paragraphs
    section_v = text[text.index("V. ĐỀ XUẤT, KIẾN NGHỊ"):]
    assert "- Đề nghị UBND tỉnh bổ sung biên chế chuyên trách cho Chi cục." in section_v
    assert "Đề nghị Bộ Y tế" not in section_v            # the generated section is replaced, not added to
    assert "1. Ưu điểm, kết quả nổi bật" not in text and "bỏ qua" not in text
    assert "I. TÌNH HÌNH CHUNG" in text and "3. Nguyên nhân" not in text
    # the figures are recomputed: the late commune is counted
    assert "45/46 cơ quan, đơn vị" in text
    assert f"số buổi truyền thông trực tiếp tại cộng đồng: {vn_number(tt01 + 777)} buổi" in text
    html = (root / "outputs/2026S1/bao-cao-6-thang-dau-nam-2026.html").read_text(encoding="utf-8")
    assert "Ưu điểm do cán bộ tự viết" in html and vn_number(tt01 + 777) in html


def test_the_officer_file_reader(project):
    from pipeline.reference.settings import load_settings

    settings = load_settings(project)
    period = parse_period("2026S1", settings)
    path, sections, warnings = read_officer_text(settings, period)
    assert sections == {} and not path.exists()
    path.parent.mkdir(parents=True)
    path.write_text("## III. Đánh giá chung\n### 1. Ưu điểm\n* một\n  hai\n\nba\nbốn\n## Tình hình  chung\n",
                    encoding="utf-8")
    _, sections, warnings = read_officer_text(settings, period)
    assert sections == {"assessment": [{"kind": "heading", "text": "1. Ưu điểm"}, {"kind": "p", "text": "- một"},
                                       {"kind": "p", "text": "hai"}, {"kind": "p", "text": "ba bốn"}]}
    assert warnings == []
    path.write_bytes("## Đánh giá chung\nxin chào".encode("cp1258", errors="replace") + b"\xff")
    with pytest.raises(Exception, match="không phải UTF-8"):
        read_officer_text(settings, period)


def test_too_few_reports_stop_the_report_unless_forced(project):
    kit = Kit.load(project, "2026S1")
    for unit_id in (POLICE, TA_LENG, MU_CA):
        _, wb = kit.filled(unit_id)
        kit.save(wb, f"{unit_id}.xlsx")
    result = CliRunner().invoke(cli, ["--root", str(project), "semiannual", "--period", "2026S1"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Lỗi")]
    assert len(lines) == 1 and "3/46" in lines[0] and "--force" in lines[0] and "FORCE=1" in lines[0]
    assert not (project / S1_REPORT).exists()
    forced = CliRunner().invoke(cli, ["--root", str(project), "semiannual", "--period", "2026S1", "--force"])
    assert forced.exit_code == 0, forced.output
    first = "\n".join(p.text for p in Document(str(project / S1_REPORT)).paragraphs[:6])
    assert "DỰ THẢO" in first and "3/46" in first and "6,5%" in first


# ---------------------------------------------------------------- the consolidation rules

def _ledger(values: list[dict]) -> LedgerData:
    base = {c: None for c in VALUE_COLUMNS}
    v = pd.DataFrame([{**base, "raw": "", "note": "", "sheet": "Chỉ tiêu", "cell": "E5", "file": "f.xlsx",
                       "version": 1, "receipt_date": "2026-06-16", **r} for r in values], columns=VALUE_COLUMNS)
    v["value"] = v["value"].astype(float)
    return LedgerData(pd.DataFrame(columns=TASK_REPORT_COLUMNS), v)


def _loaded(settings):
    registry = load_registry(settings)
    matrix = load_matrix(settings, registry)
    return registry, matrix, load_catalogue(settings, matrix, registry)


def test_the_province_figure_follows_the_catalogues_rule(settings):
    registry, matrix, catalogue = _loaded(settings)
    rules = catalogue.indicators.set_index("code")["province_total"]
    assert rules["XL06"] == "provincial" and rules["TT01"] == "sum"
    period = parse_period("2026S1", settings)
    values = [{"unit_id": POLICE, "period": "2026S1", "code": "XL06", "value": 25},
              {"unit_id": TA_LENG, "period": "2026S1", "code": "XL06", "value": 8},
              {"unit_id": MU_CA, "period": "2026S1", "code": "XL06", "value": 5},
              {"unit_id": "12-SYT", "period": "2026S1", "code": "TT01", "value": 10},
              {"unit_id": TA_LENG, "period": "2026S1", "code": "TT01", "value": 4}]
    k = consolidate(matrix, registry, catalogue, period, _ledger(values))
    ind = k.indicators.set_index("code")
    # the police's count covers the communes': it is the province figure, the communes' sum "of which"
    assert (ind.loc["XL06", "total"], ind.loc["XL06", "departments"], ind.loc["XL06", "communes"]) == (25, 25, 13)
    assert ind.loc["TT01", "total"] == 14                      # separate activities add up
    row = {r["code"]: r for r in appendix2_rows(k)}["XL06"]
    assert row["total"] == "25" and row["communes"] == "trong đó 13"


def test_the_second_half_is_computed_unit_by_unit(settings):
    registry, matrix, catalogue = _loaded(settings)
    period = parse_period("2026", settings)
    values = [{"unit_id": TA_LENG, "period": "2026S1", "code": "TT01", "value": 4},
              {"unit_id": TA_LENG, "period": "2026", "code": "TT01", "value": 9},
              {"unit_id": MU_CA, "period": "2026", "code": "TT01", "value": 30},      # no first half
              {"unit_id": POLICE, "period": "2026S1", "code": "XL06", "value": 20},
              {"unit_id": POLICE, "period": "2026", "code": "XL06", "value": 50},
              {"unit_id": TA_LENG, "period": "2026", "code": "XL06", "value": 7}]
    k = consolidate(matrix, registry, catalogue, period, _ledger(values))
    c = k.comparison.set_index("code")
    assert (c.loc["TT01", "annual"], c.loc["TT01", "first_half"], c.loc["TT01", "second_half"]) == (39, 4, 5)
    assert c.loc["TT01", "second_half_left_out"] == "Xã Mù Cả"
    assert "Xã Mù Cả" in compare_note(k)
    # under the provincial rule, over the provincial units only
    assert (c.loc["XL06", "annual"], c.loc["XL06", "second_half"], c.loc["XL06", "second_half_left_out"]) == (50, 30, "")


def test_huge_figures_add_up_exactly_and_render(settings, tmp_path):
    assert exact_sum([1e308, 1e308]) == 2 * int(1e308) and isinstance(exact_sum([1e308, 1e308]), int)
    assert math.isnan(exact_sum([math.nan, None]))
    registry, matrix, catalogue = _loaded(settings)
    period = parse_period("2026S1", settings)
    values = [{"unit_id": TA_LENG, "period": "2026S1", "code": "TT01", "value": 1e308},
              {"unit_id": MU_CA, "period": "2026S1", "code": "TT01", "value": 1e308}]
    k = consolidate(matrix, registry, catalogue, period, _ledger(values))
    total = k.indicators.set_index("code").loc["TT01", "total"]
    assert total == 2 * int(1e308)
    assert vn_number(total).startswith("200.000.000") and len(vn_number(total).replace(".", "")) == 309
    assert len(k.findings) == 2 and "vượt mức hợp lý" in k.findings.iloc[0]["message"]
