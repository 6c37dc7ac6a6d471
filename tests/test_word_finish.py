"""Word that behaves like Word: the report and the reminder letter as rendered from the project's
own templates, checked in their XML and, through LibreOffice's PDF, on the page; the charts at
their printed size; and an officer's edits never overwritten by a rerun."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import matplotlib.figure
import pytest
from click.testing import CliRunner
from docx import Document
from docx.enum.text import WD_BREAK
from lxml import etree

from pipeline.report import charts as chart_module
from pipeline.cli.main import cli
from pipeline.common.docx_finish import LANGUAGE, finish, Properties
from pipeline.common.issued import draft_path
from pipeline.report.build import build_reports
from pipeline.report.model import charts, gather

from conftest import copy_project_data, soffice_convert
from filling import Kit

pytestmark = pytest.mark.slow   # reports built and converted by LibreOffice

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
NS = {"w": W[1:-1]}
WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
AS_OF = dt.date(2026, 6, 25)     # a week after the 2026S1 deadline: every unit without a report is missing
REPORTING = ("03405", "03388", "12-SYT", "12-CA")   # Tả Lèng, Bình Lư, Sở Y tế, Công an tỉnh


def copy_project(root: Path, **config) -> Path:
    """A copy of the project's data; `config` replaces `key = value` lines of inputs/config.toml.
    The reports here run on a nearly empty ledger, so the completeness stop is lowered."""
    copy_project_data(root)
    path = root / "inputs" / "config.toml"
    text = re.sub(r"(?m)^min_completeness = .*$", "min_completeness = 0", path.read_text(encoding="utf-8"))
    for key, value in config.items():
        text, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert count == 1, key
    path.write_text(text, encoding="utf-8")
    return root


def run(root: Path, *args: str):
    result = CliRunner().invoke(cli, ["--root", str(root), *args])
    assert result.exit_code == 0, result.output
    return result


def pdf_pages(docx: Path, out: Path) -> list[str]:
    """The text of each page of LibreOffice's PDF of `docx`."""
    if shutil.which("pdftotext") is None:
        pytest.skip("!!! pdftotext (poppler-utils) is not installed: `make test` installs it; the pages were NOT checked")
    pdf = soffice_convert(docx, "pdf", out)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    count = int(re.search(r"Pages:\s+(\d+)", info)[1])
    return [subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout for n in range(1, count + 1)]


def blank_pages(pages: list[str]) -> list[int]:
    """Pages with nothing on them but a page number."""
    return [n for n, text in enumerate(pages, start=1) if not re.sub(r"[\s\d]", "", text)]


def signature_pages(pages: list[str], title: str) -> dict[str, list[int]]:
    return {mark: [n for n, text in enumerate(pages, start=1) if mark in text]
            for mark in ("Nơi nhận:", title, "……………………")}


def xml(path: Path, part: str):
    with zipfile.ZipFile(path) as archive:
        return etree.fromstring(archive.read(part))


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    """A province where four units reported 2026S1: its report and the audit's reminder letter."""
    root = copy_project(tmp_path_factory.mktemp("word") / "project")
    kit = Kit.load(root)
    for unit_id in REPORTING:
        spec, wb = kit.filled(unit_id)
        kit.save(wb, f"{unit_id}.xlsx")
    kit.ingest()
    run(root, "audit", "--period", "2026S1", "--as-of", AS_OF.isoformat())
    out = build_reports(kit.project, kit.period, AS_OF)
    return kit, out.word, root / "outputs" / "2026S1" / "cong-van-don-doc-2026S1.docx"


@pytest.fixture(scope="module")
def documents(issued):
    _, report, letter = issued
    return {"report": report, "letter": letter}


# ---------------------------------------------------------------- Vietnamese

@pytest.mark.parametrize("which", ["report", "letter"])
def test_styles_and_runs_are_vietnamese(documents, which):
    path = documents[which]
    styles = xml(path, "word/styles.xml")
    default = styles.find("w:docDefaults/w:rPrDefault/w:rPr/w:lang", NS)
    assert default is not None and default.get(f"{W}val") == LANGUAGE and default.get(f"{W}eastAsia") == LANGUAGE
    langs = styles.findall(".//w:lang", NS)
    assert {(e.get(f"{W}val"), e.get(f"{W}eastAsia")) for e in langs} == {(LANGUAGE, LANGUAGE)}
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        text_parts = [n for n in names if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", n)]
        assert "word/document.xml" in text_parts
        for name in text_parts:   # a run's own tag would override the styles'
            assert b"<w:lang" not in archive.read(name), name
        assert b"en-US" not in archive.read("word/styles.xml")
        assert "word/stylesWithEffects.xml" not in names   # Word 2010's untagged copy of the styles
        settings = archive.read("word/settings.xml")
    assert b"proofState" not in settings   # "already checked" would keep Word from checking
    assert b'<w:themeFontLang w:val="vi-VN"/>' in settings


# ---------------------------------------------------------------- tables

@pytest.mark.parametrize("which", ["report", "letter"])
def test_no_row_splits_and_data_tables_repeat_their_header(documents, which):
    body = xml(documents[which], "word/document.xml").find("w:body", NS)
    rows = body.findall(".//w:tr", NS)
    assert rows and all(r.find("w:trPr/w:cantSplit", NS) is not None for r in rows)
    tables = body.findall(".//w:tbl", NS)
    letterhead, *_ = tables
    signature = [t for t in tables if "Nơi nhận" in "".join(t.itertext())]
    assert len(signature) == 1
    for layout_table in (letterhead, *signature):   # borderless: no header row
        assert layout_table.find(".//w:tblHeader", NS) is None
    data = [t for t in tables if t is not letterhead and t not in signature]
    if which == "letter":
        assert data == []
        return
    assert len(data) >= 3   # the appendices' tables
    for table in data:
        first, *others = table.findall("w:tr", NS)
        assert first.find("w:trPr/w:tblHeader", NS) is not None
        assert all(r.find("w:trPr/w:tblHeader", NS) is None for r in others[1:])


# ---------------------------------------------------------------- properties

@pytest.mark.parametrize("which, title", [
    ("report", "Báo cáo kết quả thực hiện công tác phòng, chống mại dâm 6 tháng đầu năm 2026"),
    ("letter", "Công văn đôn đốc gửi báo cáo kết quả thực hiện công tác phòng, chống mại dâm 6 tháng đầu năm 2026"),
])
def test_properties_name_the_document_and_nothing_else(documents, which, title):
    path = documents[which]
    props = Document(str(path)).core_properties
    assert props.title == title
    assert props.subject == "Kế hoạch phòng, chống mại dâm giai đoạn 2026-2030 tỉnh Lai Châu"
    assert props.author == props.last_modified_by == "Sở Y tế"
    assert props.comments == props.keywords == props.category == ""   # the template's description is gone
    assert props.language == LANGUAGE and props.revision == 1 and props.last_printed is None
    expected = dt.datetime(2026, 6, 14) if which == "report" else dt.datetime.combine(AS_OF, dt.time())
    expected = expected.replace(tzinfo=dt.timezone.utc)
    assert props.created == props.modified == expected
    with zipfile.ZipFile(path) as archive:
        assert not [n for n in archive.namelist() if "thumbnail" in n]
        assert b"thumbnail" not in archive.read("_rels/.rels")
        assert b"jpeg" not in archive.read("[Content_Types].xml")


# ---------------------------------------------------------------- on the page

def test_report_keeps_its_signature_together_and_has_no_blank_page(documents, tmp_path):
    pages = pdf_pages(documents["report"], tmp_path)
    assert blank_pages(pages) == []
    where = signature_pages(pages, "KT. GIÁM ĐỐC")
    assert len(where["Nơi nhận:"]) == 1 and where["Nơi nhận:"] == where["KT. GIÁM ĐỐC"] == where["……………………"], where
    closing = [n for n, text in enumerate(pages, start=1) if "Trên đây" in text]
    assert closing == where["Nơi nhận:"]
    assert re.search(r"Phụ lục I\b", pages[where["Nơi nhận:"][0]])   # the appendices start on the next page


@pytest.mark.parametrize("config", [
    {},                                   # the communes on one line: the signer block fell at a page's end
    {"group_communes_from": "0", "letter_recipients":   # 45 lines and a long "Nơi nhận": a third page
     "[" + ", ".join(f'"Phòng {n} (để biết)"' for n in range(1, 19)) + ', "Lưu: VT, NVY"]'},
], ids=["communes-grouped", "one-line-each"])
def test_a_letter_to_45_units_keeps_the_signer_and_noi_nhan_on_one_page(tmp_path, config):
    root = copy_project(tmp_path / "project", **config)
    result = run(root, "audit", "--period", "2026S1", "--as-of", AS_OF.isoformat())
    assert "Công văn đôn đốc (45 đơn vị" in result.output   # 46 units but the Department itself
    letter = root / "outputs" / "2026S1" / "cong-van-don-doc-2026S1.docx"
    pages = pdf_pages(letter, tmp_path / "pdf")
    assert len(pages) >= 2 and blank_pages(pages) == []
    where = signature_pages(pages, "KT. GIÁM ĐỐC")
    assert len(where["KT. GIÁM ĐỐC"]) == 1, where
    assert where["Nơi nhận:"] == where["KT. GIÁM ĐỐC"] == where["……………………"], where
    last_line = [n for n, text in enumerate(pages, start=1) if "phối hợp thực hiện./." in text]
    assert last_line == where["Nơi nhận:"]   # the closing sentence travels with the signature


# ---------------------------------------------------------------- blank pages, in the XML

def _document_with_table():
    document = Document()
    document.add_paragraph("Nội dung")
    document.add_table(rows=2, cols=2).style = "Table Grid"
    return document


def _text(element) -> str:
    return "".join(t.text or "" for t in element.iter(f"{W}t"))


def _finish(document):
    finish(document, Properties("Tiêu đề", "Trích yếu", "Sở Y tế", dt.datetime(2026, 6, 14)))
    return document.element.body


def test_a_page_break_on_its_own_line_moves_onto_what_follows():
    document = _document_with_table()
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    document.add_paragraph("Phụ lục II")
    body = _finish(document)
    assert body.find(f".//{W}br") is None
    heading = [p for p in body.iter(f"{W}p") if _text(p) == "Phụ lục II"][0]
    assert heading.find(f"{W}pPr/{W}pageBreakBefore") is not None


def test_nothing_is_left_after_the_last_table_but_a_one_point_line():
    document = _document_with_table()
    document.add_paragraph()
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    document.add_paragraph()
    body = _finish(document)
    blocks = [b for b in body if b.tag != f"{W}sectPr"]
    assert blocks[-2].tag == f"{W}tbl"
    last = blocks[-1]
    assert not _text(last) and last.find(f".//{W}br") is None
    assert last.find(f"{W}pPr/{W}spacing").get(f"{W}line") == "20"
    assert last.find(f"{W}pPr/{W}rPr/{W}sz").get(f"{W}val") == "2"


def test_a_section_break_moves_into_the_paragraph_before_it():
    document = Document()
    document.add_paragraph("Trên đây là báo cáo")
    document.add_paragraph()
    document.add_section()   # python-docx puts the break in a new empty paragraph
    document.add_paragraph("Phụ lục I")
    body = _finish(document)
    paragraphs = body.findall(f"{W}p")
    assert [_text(p) for p in paragraphs] == ["Trên đây là báo cáo", "Phụ lục I"]
    assert paragraphs[0].find(f"{W}pPr/{W}sectPr") is not None


def test_no_page_break_before_a_section_break_or_at_the_end():
    document = Document()
    document.add_paragraph("Trên đây là báo cáo").add_run().add_break(WD_BREAK.PAGE)
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    document.add_section()
    document.add_paragraph("Phụ lục I")
    document.add_paragraph("Hết").add_run().add_break(WD_BREAK.PAGE)
    document.add_paragraph()
    body = _finish(document)
    assert body.find(f".//{W}br") is None
    paragraphs = body.findall(f"{W}p")
    assert [_text(p) for p in paragraphs] == ["Trên đây là báo cáo", "Phụ lục I", "Hết"]
    assert paragraphs[0].find(f"{W}pPr/{W}sectPr") is not None


# ---------------------------------------------------------------- charts

@pytest.fixture(scope="module")
def drawn(issued):
    """Every chart of the report drawn here (not in a forked worker), with the texts of each figure
    as it was saved: (text, font name, size in points), and the figure's width in cm."""
    kit, _, _ = issued
    seen = []
    real = matplotlib.figure.Figure.savefig

    def record(figure, *args, **kwargs):
        texts = [(t.get_text(), t.get_fontname(), t.get_fontsize()) for t in figure.findobj(matplotlib.text.Text)
                 if t.get_visible() and t.get_text().strip()]
        legend = [t.get_text() for lg in figure.legends for t in lg.get_texts()]
        seen.append({"texts": texts, "legend": legend, "width_cm": figure.get_figwidth() * 2.54})
        return real(figure, *args, **kwargs)

    patch = pytest.MonkeyPatch()
    patch.setattr(matplotlib.figure.Figure, "savefig", record)
    try:
        data = gather(kit.project, kit.period, AS_OF)
        pictures = charts(data)
    finally:
        patch.undo()
    return data, pictures, seen


def printed_widths_cm(path: Path) -> dict[bytes, float]:
    """Each picture of a .docx (its bytes) and the width it is printed at, in cm."""
    rels = xml(path, "word/_rels/document.xml.rels")
    targets = {r.get("Id"): r.get("Target") for r in rels}
    body = xml(path, "word/document.xml")
    out = {}
    with zipfile.ZipFile(path) as archive:
        for inline in body.iter(f"{WP}inline"):
            blip = inline.find(f".//{A}blip")
            picture = archive.read("word/" + targets[blip.get(f"{R}embed")])
            out[picture] = int(inline.find(f"{WP}extent").get("cx")) / 360000
    return out


def test_charts_use_the_documents_font_at_9_points_or_more_as_printed(drawn, documents):
    _, pictures, seen = drawn
    assert len(seen) == len(pictures) >= 2
    fonts = {font for figure in seen for _, font, _ in figure["texts"]}
    assert fonts <= {"Times New Roman", "Liberation Serif"}, fonts
    smallest = min(size for figure in seen for _, _, size in figure["texts"])
    assert smallest >= 9
    # each picture is printed at the width it was drawn at, so a figure's point is a printed point
    printed = printed_widths_cm(documents["report"])
    for chart, figure in zip(pictures.values(), seen):
        assert printed[chart.png] == pytest.approx(figure["width_cm"], abs=0.01), chart.title


def test_no_legend_entry_for_a_status_nobody_has(drawn):
    data, pictures, seen = drawn
    legends = {key: figure["legend"] for key, figure in zip(pictures, seen)}
    groups = data.consolidation.groups
    present = [s for s in chart_module.STATUS_COLOURS if groups[s].sum() > 0]
    absent = [s for s in chart_module.STATUS_COLOURS if groups[s].sum() == 0]
    assert absent, "the fixture should leave some status empty"
    assert legends["task_status"] == present
    from pipeline.audit.status import STATUS_LABELS

    statuses = set(data.status["status"])
    assert legends["completeness"] == [STATUS_LABELS[s] for s in chart_module.SUBMISSION_COLOURS if s in statuses]


# ---------------------------------------------------------------- the officer's edits

def _edit(path: Path, text: str) -> bytes:
    """What the officer does in Word: opens the file, adds a sentence, saves."""
    document = Document(str(path))
    document.add_paragraph(text)
    document.save(str(path))
    return path.read_bytes()


def test_an_edited_report_is_never_overwritten(tmp_path):
    root = copy_project(tmp_path / "project")
    folder = root / "outputs" / "2026S1"
    report = folder / "bao-cao-6-thang-dau-nam-2026.docx"
    first = run(root, "semiannual", "--period", "2026S1", "--as-of", AS_OF.isoformat())
    assert "ban-2" not in first.output
    written = report.read_bytes()
    again = run(root, "semiannual", "--period", "2026S1", "--as-of", AS_OF.isoformat())   # not edited: replaced
    assert "ban-2" not in again.output and not draft_path(report, 2).exists()
    assert report.read_bytes() == written

    edited = _edit(report, "Ý kiến bổ sung của lãnh đạo Sở.")
    kit = Kit.load(root)   # a late file arrives
    spec, wb = kit.filled("03405")
    kit.save(wb, "ta-leng.xlsx")
    rerun = run(root, "semiannual", "--period", "2026S1", "--as-of", AS_OF.isoformat())
    assert report.read_bytes() == edited
    draft = draft_path(report, 2)
    assert draft.is_file() and "Ý kiến bổ sung" not in "\n".join(p.text for p in Document(str(draft)).paragraphs)
    assert (f"Tệp {report.name} đã được sửa sau khi tạo nên được giữ nguyên; bản mới ghi vào {draft.name}."
            in rerun.output)
    assert f"Báo cáo (Word): {draft}" in rerun.output
    # the next rerun replaces our draft in place; an edited draft is kept in turn
    run(root, "semiannual", "--period", "2026S1", "--as-of", AS_OF.isoformat())
    assert report.read_bytes() == edited and not draft_path(report, 3).exists()
    _edit(draft, "Sửa tiếp.")
    last = run(root, "semiannual", "--period", "2026S1", "--as-of", AS_OF.isoformat())
    assert draft_path(report, 3).is_file() and "-ban-3.docx" in last.output


def test_an_edited_letter_is_never_overwritten(tmp_path):
    root = copy_project(tmp_path / "project")
    letter = root / "outputs" / "2026S1" / "cong-van-don-doc-2026S1.docx"
    run(root, "audit", "--period", "2026S1", "--as-of", AS_OF.isoformat())
    edited = _edit(letter, "Đề nghị gửi kèm bản mềm.")
    rerun = run(root, "audit", "--period", "2026S1", "--as-of", (AS_OF + dt.timedelta(days=1)).isoformat())
    assert letter.read_bytes() == edited and draft_path(letter, 2).is_file()
    assert f"bản mới ghi vào {draft_path(letter, 2).name}" in rerun.output


def test_a_docx_we_have_no_record_of_is_kept_unless_it_is_what_we_would_write(tmp_path):
    """A report from before the record (or whose record was lost) may hold edits: kept too; one
    identical to the new draft holds nothing to lose and is replaced."""
    root = copy_project(tmp_path / "project")
    record = root / "outputs" / ".ban-da-ghi.json"
    report = root / "outputs" / "2026S1" / "bao-cao-6-thang-dau-nam-2026.docx"
    run(root, "semiannual", "--period", "2026S1", "--as-of", AS_OF.isoformat())
    record.unlink()
    run(root, "semiannual", "--period", "2026S1", "--as-of", AS_OF.isoformat())
    assert not draft_path(report, 2).exists() and record.is_file()
    record.unlink()
    edited = _edit(report, "Sửa trước khi có bản ghi.")
    run(root, "semiannual", "--period", "2026S1", "--as-of", AS_OF.isoformat())
    assert report.read_bytes() == edited and draft_path(report, 2).is_file()
