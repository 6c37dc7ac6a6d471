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


if __name__ == "__main__":
    for built in (reminder_letter(),):
        print(f"wrote {built}")
