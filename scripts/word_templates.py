"""Builds the editable Word templates in templates/ (docxtpl: Jinja2 tags inside a .docx).

    python -m scripts.word_templates            # (re)writes templates/cong-van-don-doc.docx

The officer then edits these files in Word (wording, signer, recipients); this script is only
their first draft and the reference for the official layout of Decree 30/2020/NĐ-CP, Appendix I:
A4, margins 2 cm top/bottom, 3 cm left, 1.5 cm right; Times New Roman; a borderless two-column
header (issuing body left, national motto right); page numbers centred at the top from page 2;
"Nơi nhận" left and the signer right at the end.

Every document of the family shares the primitives below (page, styles, header, signature).
Variables each template expects are listed in its builder's docstring.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
FONT = "Times New Roman"


# ---------------------------------------------------------------- primitives shared by the family

def new_document() -> Document:
    """A4 portrait, the decree's margins, Times New Roman 14 pt justified body with a first-line indent."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    section.header_distance = Cm(1)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(14)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    fmt = normal.paragraph_format
    fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt.first_line_indent = Cm(1.27)
    fmt.space_before, fmt.space_after = Pt(0), Pt(6)
    fmt.line_spacing = 1.1
    for name in ("Header", "Footer"):
        doc.styles[name].font.name = FONT
    page_numbers_from_page_two(section)
    return doc


def page_numbers_from_page_two(section) -> None:
    """A centred PAGE field in the header, none on the first page (Decree 30)."""
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.first_line_indent = Cm(0)
    run = paragraph.add_run()
    run.font.size = Pt(13)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, None), ("end", None)):
        if kind:
            field = OxmlElement("w:fldChar")
            field.set(qn("w:fldCharType"), kind)
            run._r.append(field)
        elif text:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            t = OxmlElement("w:t")
            t.text = "2"
            run._r.append(t)


def para(container, text: str = "", *, size: float = 14, bold=False, italic=False, align="justify",
         indent: bool = True, after: float = 6, before: float = 0, upper=False):
    """One paragraph in one run (so that a Jinja tag in `text` stays whole for docxtpl)."""
    p = container.add_paragraph()
    p.alignment = {"justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "center": WD_ALIGN_PARAGRAPH.CENTER,
                   "left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT}[align]
    fmt = p.paragraph_format
    fmt.first_line_indent = Cm(1.27) if indent and align == "justify" else Cm(0)
    fmt.space_after, fmt.space_before = Pt(after), Pt(before)
    if text:
        run = p.add_run(text.upper() if upper else text)
        run.font.size, run.bold, run.italic = Pt(size), bold, italic
    return p


def rule(container, *, left_cm: float, right_cm: float):
    """A short horizontal line: an empty 1 pt paragraph whose top border is narrowed by indents."""
    paragraph = para(container, "", align="center", after=0)
    fmt = paragraph.paragraph_format
    fmt.left_indent, fmt.right_indent = Cm(left_cm), Cm(right_cm)
    fmt.line_spacing = Pt(2)
    p_pr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        top.set(qn(key), value)
    borders.append(top)
    p_pr.append(borders)
    return paragraph


def _cell(table, row: int, col: int, width_cm: float):
    table.columns[col].width = Cm(width_cm)  # the grid, which LibreOffice follows
    cell = table.cell(row, col)
    cell.width = Cm(width_cm)
    cell.paragraphs[0]._p.getparent().remove(cell.paragraphs[0]._p)
    return cell


def letterhead(doc, symbol_line: str, subject_line: str | None = None) -> None:
    """The header table: issuing body at left (parent, body, rule, number), motto at right (Quốc hiệu,
    Tiêu ngữ, rule, place and date). Variables: parent_body, issuing_body, place, date_text."""
    table = doc.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    left, right = _cell(table, 0, 0, 6.3), _cell(table, 0, 1, 10.2)
    para(left, "{{ parent_body }}", size=13, align="center", after=0)
    para(left, "{{ issuing_body }}", size=13, bold=True, align="center", after=0)
    rule(left, left_cm=2.0, right_cm=2.0)
    para(left, symbol_line, size=13, align="center", before=6, after=0)
    if subject_line:
        para(left, subject_line, size=12, align="center", after=0)
    para(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=12, bold=True, align="center", after=0)
    para(right, "Độc lập - Tự do - Hạnh phúc", size=13, bold=True, align="center", after=0)
    rule(right, left_cm=2.0, right_cm=2.0)
    para(right, "{{ place }}, {{ date_text }}", size=14, italic=True, align="center", before=6, after=0)


def signature(doc, recipients_loop: str = "{%p for r in recipients %}", signer_title: str = "KT. GIÁM ĐỐC",
              signer_subtitle: str = "PHÓ GIÁM ĐỐC", signer_name: str = "……………………") -> None:
    """"Nơi nhận" at left (12 pt bold italic, recipients 11 pt), signer block at right."""
    table = doc.add_table(rows=1, cols=2)
    table.autofit = False
    left, right = _cell(table, 0, 0, 8.0), _cell(table, 0, 1, 8.5)
    para(left, "Nơi nhận:", size=12, bold=True, italic=True, align="left", indent=False, after=0, before=6)
    para(left, recipients_loop, size=11, align="left", indent=False, after=0)
    para(left, "{{ r }}", size=11, align="left", indent=False, after=0)
    para(left, "{%p endfor %}", size=11, align="left", indent=False, after=0)
    para(right, signer_title, size=14, bold=True, align="center", after=0, before=6)
    para(right, signer_subtitle, size=14, bold=True, align="center", after=0)
    para(right, "", after=48)
    para(right, signer_name, size=14, bold=True, align="center", after=0)


def save(doc, name: str) -> Path:
    path = TEMPLATES / name
    doc.core_properties.author = ""
    doc.core_properties.comments = "Mẫu văn bản của baocao: sửa lời văn, người ký, nơi nhận trực tiếp trong Word."
    doc.save(path)
    return path


# ---------------------------------------------------------------- the reminder letter (công văn đôn đốc)

def reminder_letter() -> Path:
    """templates/cong-van-don-doc.docx. Variables: parent_body, issuing_body, place, date_text,
    symbol (e.g. "SYT-NVY"), period_label, period_code, window_text, deadline_text, new_deadline_text,
    standing_unit, addressees (list of unit names), recipients (list of "- ...;" lines),
    contact_text (may be empty), plan_years, province_name; overdue (the original deadline has
    passed), has_missing and has_rejected (whether some addressees sent nothing, or sent a file
    that was not accepted)."""
    doc = new_document()
    letterhead(doc, "Số: …/{{ symbol }}", "V/v đôn đốc gửi báo cáo kết quả thực hiện công tác phòng, chống mại dâm {{ period_label }}")
    para(doc, "", after=6)
    # one addressee on the "Kính gửi:" line itself; several as a list below it
    p = para(doc, "Kính gửi:{% if addressees|length == 1 %} {{ addressees[0] }}.{% endif %}", size=14,
             align="left", indent=False, after=0)
    p.paragraph_format.left_indent = Cm(3)
    para(doc, "{%p if addressees|length > 1 %}", align="left", indent=False, after=0)
    para(doc, "{%p for a in addressees %}", align="left", indent=False, after=0)
    item = para(doc, "- {{ a }}{% if loop.last %}.{% else %};{% endif %}", size=14, align="left", indent=False,
                after=0)
    item.paragraph_format.left_indent = Cm(5)
    para(doc, "{%p endfor %}", align="left", indent=False, after=0)
    para(doc, "{%p endif %}", align="left", indent=False, after=0)
    para(doc, "", after=6)
    para(doc, "Thực hiện nhiệm vụ 5.4 của Kế hoạch phòng, chống mại dâm giai đoạn {{ plan_years }} trên địa bàn tỉnh "
              "{{ province_name }} về thực hiện chế độ thống kê, báo cáo định kỳ, {{ standing_unit }} đã gửi biểu mẫu "
              "báo cáo kết quả thực hiện {{ period_label }} (số liệu từ {{ window_text }}) đến các cơ quan, đơn vị, "
              "đề nghị gửi báo cáo chậm nhất ngày {{ deadline_text }}.")
    para(doc, "{%p if overdue %}", indent=False, after=0)
    para(doc, "Đến nay, đã quá thời hạn nêu trên nhưng các cơ quan, đơn vị có tên tại phần Kính gửi "
              "{% if has_missing and has_rejected %}chưa gửi báo cáo hoặc báo cáo đã gửi chưa đạt yêu cầu, cần "
              "chỉnh sửa theo kết quả kiểm tra đã được thông báo{% elif has_rejected %}có báo cáo đã gửi chưa đạt yêu "
              "cầu, cần chỉnh sửa theo kết quả kiểm tra đã được thông báo{% else %}chưa gửi báo cáo{% endif %}. "
              "Để kịp thời tổng hợp, báo cáo Ủy ban nhân dân tỉnh và Bộ Y tế, {{ standing_unit }} đề nghị các cơ "
              "quan, đơn vị khẩn trương hoàn thiện và gửi báo cáo {{ period_label }} về {{ standing_unit }} "
              "chậm nhất ngày {{ new_deadline_text }}.")
    para(doc, "{%p else %}", indent=False, after=0)
    para(doc, "Đến nay, thời hạn gửi báo cáo sắp hết nhưng {{ standing_unit }} "
              "{% if has_missing and has_rejected %}chưa nhận được báo cáo hoặc báo cáo đã nhận chưa đạt yêu cầu"
              "{% elif has_rejected %}đã nhận được báo cáo nhưng báo cáo chưa đạt yêu cầu{% else %}chưa nhận được "
              "báo cáo{% endif %} của các cơ quan, đơn vị có tên tại phần Kính gửi. Để kịp thời tổng hợp, báo cáo "
              "Ủy ban nhân dân tỉnh và Bộ Y tế, {{ standing_unit }} đề nghị các cơ quan, đơn vị "
              "{% if has_rejected %}hoàn thiện và {% endif %}gửi báo cáo {{ period_label }} về {{ standing_unit }} "
              "đúng thời hạn, chậm nhất ngày {{ new_deadline_text }}.")
    para(doc, "{%p endif %}", indent=False, after=0)
    para(doc, "{%p if contact_text %}", indent=False, after=0)
    para(doc, "{{ contact_text }}")
    para(doc, "{%p endif %}", indent=False, after=0)
    para(doc, "{{ standing_unit }} đề nghị các cơ quan, đơn vị quan tâm, phối hợp thực hiện./.")
    signature(doc)
    return save(doc, "cong-van-don-doc.docx")


# ---------------------------------------------------------------- the summary report (báo cáo 6 tháng / năm)

def _report_heading(doc, text: str):
    return _keep(para(doc, text, bold=True, after=6, before=6))


def _keep(paragraph):
    """Kept on the page of what follows (a heading is never the last line of a page)."""
    paragraph.paragraph_format.keep_with_next = True
    return paragraph


def _report_caption(doc, text: str) -> None:
    para(doc, text, size=12, italic=True, align="center", indent=False, after=6)


def _report_break(doc) -> None:
    paragraph = para(doc, "", indent=False, after=0)
    paragraph.add_run().add_break(WD_BREAK.PAGE)


def _report_loop(doc, loop: str, body: str, *, end: str = "{%p endfor %}", **style) -> None:
    """A paragraph repeated per item: the loop tags sit in paragraphs of their own (docxtpl drops them)."""
    para(doc, loop, indent=False, after=0)
    para(doc, body, **style)
    para(doc, end, indent=False, after=0)


def _report_table(doc, headers: list[str], cells: list[str], widths_cm: list[float], loop: str,
                  aligns: str, size: float = 11):
    """A bordered table: a header row repeated on every page, then one row per item of `loop`
    (docxtpl row tags `{%tr ... %}` in rows of their own)."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    align_of = {"l": "left", "c": "center", "r": "right"}
    header_row = table.rows[0]._tr
    tr_pr = header_row.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    texts = [headers, [loop] + [""] * (len(headers) - 1), cells, ["{%tr endfor %}"] + [""] * (len(headers) - 1)]
    for r, row in enumerate(texts):
        for c, text in enumerate(row):
            cell = _cell(table, r, c, widths_cm[c])
            align = "center" if r == 0 else align_of[aligns[c]]
            para(cell, text, size=size, bold=(r == 0), align=align, indent=False, after=0, before=0)
    return table


def _report_appendix_title(doc, number: str, title: str) -> None:
    _keep(para(doc, f"Phụ lục {number}", size=14, bold=True, align="center", indent=False, after=0))
    _keep(para(doc, title, size=14, bold=True, align="center", indent=False, after=0))
    _keep(para(doc, "{{ appendix_reference }}", size=14, italic=True, align="center", indent=False, after=12))


def _report_items(doc, name: str) -> None:
    """A narrative section: a list of paragraphs {kind, text}, a kind "heading" in bold (the
    officer's `###` or the generated "1. Ưu điểm …"), the others as body paragraphs ("- " bullets
    keep their dash, the house style of the report)."""
    para(doc, f"{{%p for it in {name} %}}", indent=False, after=0)
    para(doc, '{%p if it.kind == "heading" %}', indent=False, after=0)
    _keep(para(doc, "{{ it.text }}", bold=True))
    para(doc, "{%p else %}", indent=False, after=0)
    para(doc, "{{ it.text }}")
    para(doc, "{%p endif %}", indent=False, after=0)
    para(doc, "{%p endfor %}", indent=False, after=0)


def report_template() -> Path:
    """templates/bao-cao.docx, for both the semi-annual and the annual report, in the ministry's
    outline: I. Tình hình chung; II. Kết quả thực hiện (by task group); III. Đánh giá chung;
    IV. Phương hướng, nhiệm vụ; V. Đề xuất, kiến nghị; then the appendices.

    Variables: parent_body, issuing_body, place, date_text, symbol ("BC-SYT"), draft (bool),
    draft_note, title_line, period_label; situation, assessment, next_steps, proposals (lists of
    paragraphs: kind "p" | "heading", text); overview; groups (number,
    title, progress, tasks: list of lines); annual (bool), comparison_lines; next_period_label;
    closing; recipients; signer_title, signer_subtitle, signer_name; appendix_reference; appendix1
    (task_id, task, leads, partners, timeframe, status, reported_by, not_reported); appendix2 (no,
    code, name, unit_of_measure, total, departments, communes, reporting), appendix2_rule;
    appendix2_compare (code, name, unit_of_measure, first_half, second_half, annual, previous_year,
    change), compare_note; by_unit_title, by_unit_note, by_unit (table XML), commune_charts (image,
    title, number); chart_task_status (image, after appendix I); submission_summary, appendix3 (no, name, status, receipt, versions),
    chart_completeness (image), completeness_chart_number. A list of paragraphs may be empty.
    """
    doc = new_document()
    letterhead(doc, "Số: …/{{ symbol }}")
    para(doc, "{%p if draft %}", indent=False, after=0)
    para(doc, "{{ draft_note }}", size=13, bold=True, align="center", indent=False, before=6, after=0)
    para(doc, "{%p endif %}", indent=False, after=0)
    para(doc, "", after=6)
    para(doc, "BÁO CÁO", size=14, bold=True, align="center", indent=False, after=0)
    para(doc, "{{ title_line }}", size=14, bold=True, align="center", indent=False, after=0)
    rule(doc, left_cm=6.0, right_cm=6.0).paragraph_format.space_before = Pt(4)
    para(doc, "", after=0)

    _report_heading(doc, "I. TÌNH HÌNH CHUNG")
    _report_items(doc, "situation")

    _report_heading(doc, "II. KẾT QUẢ THỰC HIỆN")
    para(doc, "{{ overview }}")
    para(doc, "{%p for g in groups %}", indent=False, after=0)
    _keep(para(doc, "{{ g.number }}. {{ g.title }}", bold=True))
    para(doc, "{{ g.progress }}", italic=True)
    _report_loop(doc, "{%p for line in g.tasks %}", "{{ line }}")
    para(doc, "{%p endfor %}", indent=False, after=0)
    para(doc, "{%p if annual %}", indent=False, after=0)
    _keep(para(doc, "{{ groups|length + 1 }}. So sánh với 6 tháng đầu năm và năm trước", bold=True))
    _report_loop(doc, "{%p for line in comparison_lines %}", "{{ line }}")
    para(doc, "{%p endif %}", indent=False, after=0)

    _report_heading(doc, "III. ĐÁNH GIÁ CHUNG")
    _report_items(doc, "assessment")

    _report_heading(doc, "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ {{ next_period_label|upper }}")
    _report_items(doc, "next_steps")

    _report_heading(doc, "V. ĐỀ XUẤT, KIẾN NGHỊ")
    _report_items(doc, "proposals")
    _keep(para(doc, "{{ closing }}"))
    signature(doc, signer_title="{{ signer_title }}", signer_subtitle="{{ signer_subtitle }}",
              signer_name="{{ signer_name }}")

    # the appendices: landscape pages, the same margins, page numbers continued
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21)
    section.different_first_page_header_footer = False
    _report_appendix_title(doc, "I", "TÌNH HÌNH THỰC HIỆN CÁC NHIỆM VỤ THEO BIỂU PHÂN CÔNG")
    _report_table(doc, ["STT", "Nhiệm vụ", "Chủ trì", "Phối hợp", "Thời gian", "Tình trạng", "Đã báo cáo",
                        "Chưa báo cáo"],
                  ["{{ r.task_id }}", "{{ r.task }}", "{{ r.leads }}", "{{ r.partners }}", "{{ r.timeframe }}",
                   "{{ r.status }}", "{{ r.reported_by }}", "{{ r.not_reported }}"],
                  [1.3, 6.4, 2.8, 3.4, 2.0, 2.6, 3.2, 3.5], "{%tr for r in appendix1 %}", "clllclll", size=10)
    # the task-status chart closes appendix I (in the body it would leave a blank third of a page)
    _keep(para(doc, "{{ chart_task_status }}", align="center", indent=False, before=6, after=0))
    _report_caption(doc, "Biểu đồ 1. Tình trạng thực hiện các nhiệm vụ theo nhóm")
    _report_break(doc)
    _report_appendix_title(doc, "II", "SỐ LIỆU CÁC CHỈ TIÊU THỐNG KÊ")
    _keep(para(doc, "1. Tổng hợp toàn tỉnh", bold=True, indent=False))
    _keep(para(doc, "{{ appendix2_rule }}", size=11, italic=True, indent=False))
    _report_table(doc, ["STT", "Mã", "Chỉ tiêu", "Đơn vị tính", "Toàn tỉnh", "Các sở, ngành", "Các xã, phường",
                        "Số đơn vị báo cáo"],
                  ["{{ r.no }}", "{{ r.code }}", "{{ r.name }}", "{{ r.unit_of_measure }}", "{{ r.total }}",
                   "{{ r.departments }}", "{{ r.communes }}", "{{ r.reporting }}"],
                  [1.1, 1.4, 10.2, 2.4, 2.6, 2.5, 2.5, 2.5], "{%tr for r in appendix2 %}", "ccllrrrc", size=10)
    para(doc, "{%p if annual %}", indent=False, after=0)
    para(doc, "", indent=False, after=0)
    _keep(para(doc, "2. So sánh với 6 tháng đầu năm và năm trước", bold=True, indent=False))
    _report_table(doc, ["Mã", "Chỉ tiêu", "Đơn vị tính", "6 tháng đầu năm", "6 tháng cuối năm", "Cả năm",
                        "Năm trước", "So với năm trước"],
                  ["{{ r.code }}", "{{ r.name }}", "{{ r.unit_of_measure }}", "{{ r.first_half }}",
                   "{{ r.second_half }}", "{{ r.annual }}", "{{ r.previous_year }}", "{{ r.change }}"],
                  [1.4, 9.6, 2.4, 2.4, 2.4, 2.4, 2.4, 2.6], "{%tr for r in appendix2_compare %}", "cllrrrrr",
                  size=10)
    para(doc, "{{ compare_note }}", size=11, italic=True, indent=False, before=3)
    para(doc, "{%p endif %}", indent=False, after=0)
    para(doc, "", indent=False, after=0)
    _keep(para(doc, "{{ by_unit_title }}", bold=True, indent=False))
    _keep(para(doc, "{{ by_unit_note }}", size=11, italic=True, indent=False))
    para(doc, "{{p by_unit }}", indent=False, after=0)
    para(doc, "{%p for c in commune_charts %}", indent=False, after=0)
    _keep(para(doc, "{{ c.image }}", align="center", indent=False, before=6, after=0))
    _report_caption(doc, "Biểu đồ {{ c.number }}. {{ c.title }}")
    para(doc, "{%p endfor %}", indent=False, after=0)
    _report_break(doc)
    _report_appendix_title(doc, "III", "TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC CƠ QUAN, ĐƠN VỊ")
    _keep(para(doc, "{{ submission_summary }}", indent=False))
    _report_table(doc, ["STT", "Cơ quan, đơn vị", "Ngày nhận", "Tình trạng", "Số lần gửi"],
                  ["{{ r.no }}", "{{ r.name }}", "{{ r.receipt }}", "{{ r.status }}", "{{ r.versions }}"],
                  [1.2, 9.6, 3.4, 8.6, 2.4], "{%tr for r in appendix3 %}", "clclc", size=10)
    _keep(para(doc, "{{ chart_completeness }}", align="center", indent=False, before=6, after=0))
    _report_caption(doc, "Biểu đồ {{ completeness_chart_number }}. Tình hình gửi báo cáo theo loại đơn vị")
    return save(doc, "bao-cao.docx")


if __name__ == "__main__":
    for built in (reminder_letter(), report_template()):
        print(f"wrote {built}")
