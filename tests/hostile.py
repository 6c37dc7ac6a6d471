"""A corpus of hostile submissions, built from the project's own templates: each is what a careless
or malicious sender could put in the period's folder among the province's good files."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from pipeline.forms import layout

from filling import Kit, row_of, task_row, xlsx_bytes

VICTIM = "03405"          # Xã Tả Lèng: the unit whose file is damaged
OTHER = "03408"           # Phường Tân Phong
SHEET_PARTS = {layout.SHEET_INFO: "xl/worksheets/sheet2.xml", layout.SHEET_TASKS: "xl/worksheets/sheet3.xml",
               layout.SHEET_INDICATORS: "xl/worksheets/sheet4.xml"}   # openpyxl's parts, in sheet order
# What Excel writes as ~$name.xlsx while a workbook is open: the user's name, padded; 165 bytes.
OFFICE_LOCK = ((bytes([10]) + b"Nguyen Hoa").ljust(54, b" ") + bytes([10, 0]) + "Nguyen Hoa".encode("utf-16-le")
               ).ljust(165, b" ")


def good_files(kit: Kit) -> dict[str, bytes]:
    """Every unit's template filled in full, as xlsx bytes, by unit id."""
    out = {}
    for unit_id in kit.registry.ids:
        _spec, wb = kit.filled(unit_id)
        out[unit_id] = xlsx_bytes(wb)
    return out


def patch_part(data: bytes, part: str, change) -> bytes:
    """The workbook's bytes with one zip member rewritten by `change(bytes) -> bytes`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info, change(content) if info.filename == part else content)
    return out.getvalue()


def add_part(data: bytes, part: str, content: bytes) -> bytes:
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as target:
        target.writestr(part, content)
    return out.getvalue()


def far_cell(kit: Kit) -> bytes:
    """The victim's good workbook with one more cell at the sheet's last row and column."""
    _spec, wb = kit.filled(VICTIM)
    wb[layout.SHEET_INDICATORS]["XFD1048576"] = 1
    return xlsx_bytes(wb)


def beyond_excel(kit: Kit) -> bytes:
    """A cell reference past Excel's last row (1,048,576), written into the sheet's XML."""
    _spec, wb = kit.filled(VICTIM)
    return patch_part(xlsx_bytes(wb), SHEET_PARTS[layout.SHEET_INDICATORS], lambda xml: xml.replace(
        b"</sheetData>", b'<row r="99999999"><c r="B99999999" t="n"><v>7</v></c></row></sheetData>'))


def repeated_ods() -> bytes:
    """A ~1 KB .ods whose one cell is repeated 10,000 x 10,000 times."""
    content = (b'<?xml version="1.0" encoding="UTF-8"?>'
               b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               b'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               b'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               b'<office:body><office:spreadsheet><table:table table:name="Ch\xe1\xbb\x89 ti\xc3\xaau">'
               b'<table:table-row table:number-rows-repeated="10000">'
               b'<table:table-cell table:number-columns-repeated="10000" office:value-type="float" office:value="1">'
               b'<text:p>1</text:p></table:table-cell></table:table-row>'
               b'</table:table></office:spreadsheet></office:body></office:document-content>')
    manifest = (b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                b'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                b'<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                b'</manifest:manifest>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), b"application/vnd.oasis.opendocument.spreadsheet")
        z.writestr(zipfile.ZipInfo("content.xml"), content, zipfile.ZIP_DEFLATED)
        z.writestr(zipfile.ZipInfo("META-INF/manifest.xml"), manifest, zipfile.ZIP_DEFLATED)
    return out.getvalue()


# Damages (offset from the start of the file, four new bytes) found by trying: each makes
# python-calamine raise pyo3's PanicException on the .xls LibreOffice writes from the victim's
# template (a BaseException, which `except Exception` does not catch).
XLS_DAMAGES = ((4086, "136f1797"), (4132, "1651fed9"), (4002, "745b1960"))
_PROBE = """
import io, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
import python_calamine as pc
data = sys.stdin.buffer.read()
try:
    book = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python()
    print("read")
except Exception:
    print("error")
except BaseException as exc:
    print(type(exc).__name__)
"""


def panics(data: bytes) -> bool:
    """Does python-calamine panic on these bytes? (asked in a process of its own: a damaged .xls
    may also make it loop or abort)"""
    try:
        out = subprocess.run([sys.executable, "-c", _PROBE], input=data, capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        return False
    return out.stdout.decode().strip() == "PanicException"


def _victim_xls_damaged(kit: Kit, tmp: Path, damages, does) -> bytes | None:
    """The victim's workbook saved as .xls by LibreOffice, with the first of `damages` (offset, new
    bytes) for which `does(data)` holds; None if none does to this LibreOffice's file."""
    from conftest import soffice_convert

    _spec, wb = kit.filled(VICTIM)
    source = tmp / "victim.xlsx"
    wb.save(source)
    data = soffice_convert(source, "xls", tmp / "xls").read_bytes()
    for offset, new in damages:
        damaged = bytearray(data)
        damaged[offset:offset + 4] = bytes.fromhex(new)
        if does(bytes(damaged)):
            return bytes(damaged)
    return None


def damaged_xls(kit: Kit, tmp: Path) -> bytes | None:
    """The victim's .xls with a few bytes changed so that the reader panics."""
    return _victim_xls_damaged(kit, tmp, XLS_DAMAGES, panics)


# A damage that makes python-calamine ask for 20 GB on the same .xls (found the same way: without a
# memory limit the reader grows until the machine swaps; with one, Rust aborts the process).
XLS_EXHAUSTING = ((28029, "4f207990"),)


def aborts(data: bytes) -> bool:
    """Does reading these bytes kill the reading process (under a 2 GiB limit)?"""
    try:
        out = subprocess.run([sys.executable, "-c", _PROBE], input=data, capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        return False
    return out.returncode < 0 and b"memory allocation" in out.stderr


def exhausting_xls(kit: Kit, tmp: Path) -> bytes | None:
    """The victim's .xls damaged so that the reader asks for more memory than any machine has."""
    return _victim_xls_damaged(kit, tmp, XLS_EXHAUSTING, aborts)


def with_controls(kit: Kit, char: str) -> bytes:
    """The victim's workbook with `char` in a number ("12" + char), a status and a text, stored as
    Excel stores a control character (`_x0007_`: openpyxl refuses to write one)."""
    spec, wb = kit.filled(VICTIM)
    first = spec.indicators[0]["code"]
    wb[layout.SHEET_INDICATORS][f"E{row_of(spec, first)}"] = "12@CTRL@"
    row = task_row(spec, spec.tasks[0]["task_id"])
    wb[layout.SHEET_TASKS][f"E{row}"] = "Hoàn thành@CTRL@"
    wb[layout.SHEET_TASKS][f"F{row}"] = "Tổ chức 2 buổi@CTRL@tuyên truyền tại thôn."
    escape = f"_x{ord(char):04X}_".encode()
    data = xlsx_bytes(wb)
    for part in (SHEET_PARTS[layout.SHEET_INDICATORS], SHEET_PARTS[layout.SHEET_TASKS]):
        data = patch_part(data, part, lambda xml: xml.replace(b"@CTRL@", escape))
    return data


def with_value(kit: Kit, unit_id: str, value) -> bytes:
    spec, wb = kit.filled(unit_id)
    wb[layout.SHEET_INDICATORS][f"E{row_of(spec, spec.indicators[0]['code'])}"] = value
    return xlsx_bytes(wb)


def active_content(kit: Kit) -> bytes:
    """Formulas with cached values in input cells: DDE, HYPERLINK and a link to another workbook
    (with its externalLink part), as Excel stores them."""
    spec, wb = kit.filled(VICTIM)
    first, second = (row_of(spec, i["code"]) for i in spec.indicators[:2])
    task = task_row(spec, spec.tasks[0]["task_id"])
    data = xlsx_bytes(wb)

    def formulas(xml: bytes, cells: dict) -> bytes:
        for ref, (formula, cached, kind) in cells.items():
            xml, n = re.subn(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)',
                             f'<c r="{ref}"{kind}><f>{formula}</f><v>{cached}</v></c>'.encode(), xml, count=1, flags=re.S)
            assert n == 1, ref
        return xml

    data = patch_part(data, SHEET_PARTS[layout.SHEET_INDICATORS], lambda xml: formulas(xml, {
        f"E{first}": ("cmd|' /C calc'!A0", "12", ""),
        f"E{second}": ("[1]Sheet1!$A$1", "13", "")}))
    data = patch_part(data, SHEET_PARTS[layout.SHEET_TASKS], lambda xml: formulas(xml, {
        f"F{task}": ('HYPERLINK("http://example.invalid/x","Xem kết quả")', "Xem kết quả", ' t="str"')}))
    return add_part(data, "xl/externalLinks/externalLink1.xml",
                    b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    b'<externalBook><sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook></externalLink>')


def pdf_bytes(text: str = "Bao cao da ky") -> bytes:
    """A small, valid one-page PDF (a signed scan stands in for it)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
               b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"]
    out = b"%PDF-1.4\n"
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out
