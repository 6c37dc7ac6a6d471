"""Reading one submitted file into plain data, without trusting it.

`sniff` looks at the bytes before any spreadsheet library does: an empty file, a Word document or
a PDF renamed to .xlsx, a corrupt zip, a password-protected workbook, a file far larger than any
template or a zip bomb (judged from the sizes in the zip directory, before anything is inflated)
each raise `Unreadable` with a Vietnamese reason. `read_workbook` then scans the XML calamine is
about to read for cells beyond MAX_ROW / MAX_COLUMN (a far cell, a reference past Excel's limits,
an .ods cell repeated a hundred million times: calamine would allocate every cell up to it) and
only then reads every sheet with python-calamine (the fast path; a Rust panic is caught as the
BaseException it is). It adds what calamine does not report: error cells (`#DIV/0!`, which
calamine turns into blanks), hidden rows, merged cells, every formula (and which have no cached
value), links to other workbooks and the workbook's defined names. For .xlsx/.xlsm it finds them
with a cheap scan of the sheet XML; for .ods with a walk of content.xml, only when the file
contains such things at all. Control characters are removed from every text cell as it is read
(`Sheet.controls` says where).

Rows are kept with their Excel row number (1-based), so every later finding names a cell.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError   # (what defusedxml's parser raises too)

from pipeline.common.formatting import megabytes
from pipeline.common.text import CONTROL_BYTES, has_controls, strip_controls

from pipeline.common.filetypes import EMPTY_ZIP_MAGIC, OLE_MAGIC, OOXML_FORMATS, ZIP_MAGIC
from pipeline.common.formatting import thousands
from pipeline.intake import rules

# A filled template is 20-60 KB; a unit pasting long texts might reach a few MB.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024   # the sum of the zip directory's sizes
MAX_MEMBERS = 2000
MAX_RATIO = 200                             # per member, above 1 MB uncompressed
# No template comes near these; a cell beyond them makes a reader allocate every row and column up
# to it (a cell at XFD1048576 asks for hundreds of gigabytes), so it is refused before reading.
MAX_ROW = 9999
MAX_COLUMN = 702                            # ZZ
EXCEL_MAX_ROW, EXCEL_MAX_COLUMN = 1048576, 16384

ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"

# What the standard library's zip reader raises for a damaged archive: a bad directory or header,
# a bad checksum, a truncated or invalid deflate stream, a name that is not UTF-8 (a ValueError),
# an unknown compression method; a part the file lacks is a KeyError.
ZIP_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError)
# ... and what reading its XML parts raises besides: defusedxml's refusals are ValueErrors, a
# malformed document is a ParseError; a number attribute that is not one is a ValueError.
XML_DAMAGE = (*ZIP_DAMAGE, KeyError, ParseError)


class Unreadable(Exception):
    """The file cannot be read as a workbook. `rule` is the finding's rule, the message says why."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass
class Sheet:
    name: str
    rows: list[list]                       # rows[0] is Excel row 1, cells from column A
    hidden: bool = False
    hidden_rows: list[int] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)          # "E5:E6"
    error_cells: dict[str, str] = field(default_factory=dict)  # "E7" -> "#DIV/0!"
    uncached_formulas: list[str] = field(default_factory=list)
    formulas: dict[str, str] = field(default_factory=dict)     # "E7" -> "SUM(E5:E6)" (every formula cell)
    controls: dict[str, list[str]] = field(default_factory=dict)  # "E7" -> ["U+000B"]: removed on reading

    def cell(self, row: int, column: str):
        """The value at an Excel address (row 1-based, column letter); '' when outside the data."""
        index = column_index(column)
        if row - 1 < len(self.rows):
            values = self.rows[row - 1]
            if index < len(values):
                return values[index]
        return ""


@dataclass
class Workbook:
    path: Path
    format: str
    sheet_names: list[str]
    sheets: dict[str, Sheet]
    defined_names: dict[str, str]          # name -> its formula text ("'_meta'!$B$1" or '"03405"')
    external_links: int = 0                # links to other workbooks (xl/externalLinks parts)


@functools.lru_cache(maxsize=1024)
def column_index(letter: str) -> int:
    n = 0
    for ch in letter:
        n = n * 26 + ord(ch) - 64
    return n - 1


def column_letter(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def sniff(path: Path) -> str:
    """The workbook format of `path` (one of filetypes.FORMATS), judged from its bytes."""
    fmt, archive = _sniff(_file_bytes(path), path.suffix)
    if archive is not None:
        archive.close()
    return fmt


def _file_bytes(path: Path) -> bytes:
    """The file's bytes, unless it is far larger than any template (an empty file is `_sniff`'s)."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _too_large(size)
    return path.read_bytes()


def _too_large(size: int) -> Unreadable:
    return Unreadable(rules.FILE_TOO_LARGE, f"Tệp quá lớn ({megabytes(size)}, tối đa {MAX_FILE_BYTES // 1048576} MB): "
                                        "không phải biểu mẫu báo cáo; hãy gửi đúng tệp biểu mẫu đã điền.")


def _sniff(data: bytes, suffix: str) -> tuple[str, zipfile.ZipFile | None]:
    """The format of a file's bytes and, for the zip formats, its zip directory, already opened and
    checked against zip bombs (the caller closes it)."""
    if not data:
        raise Unreadable(rules.EMPTY_FILE, "Tệp rỗng (0 byte): tệp bị lỗi khi lưu hoặc gửi; hãy gửi lại tệp biểu mẫu đã điền.")
    head = data[:8]
    suffix = suffix.lower().lstrip(".")
    if head.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        return _sniff_zip(data)
    if head == OLE_MAGIC:
        if "EncryptionInfo".encode("utf-16-le") in data or "EncryptedPackage".encode("utf-16-le") in data:
            raise Unreadable(rules.PASSWORD_PROTECTED, "Tệp được đặt mật khẩu nên không đọc được: hãy gỡ mật khẩu "
                                                   "(Tệp > Thông tin > Bảo vệ sổ làm việc) rồi gửi lại.")
        if "WordDocument".encode("utf-16-le") in data:
            raise Unreadable(rules.NOT_A_SPREADSHEET, "Tệp là văn bản Word (.doc), không phải bảng tính: "
                                                  "hãy gửi tệp biểu mẫu Excel đã điền.")
        return "xls", None
    if head.startswith(b"%PDF"):
        raise Unreadable(rules.NOT_A_SPREADSHEET, "Tệp là PDF, không phải bảng tính: hãy gửi tệp biểu mẫu Excel "
                                              "đã điền (không in ra PDF).")
    kind = f"tệp .{suffix}" if suffix else "tệp"
    raise Unreadable(rules.NOT_A_SPREADSHEET, f"Không phải bảng tính ({kind} không có cấu trúc Excel hay "
                                          "LibreOffice): hãy gửi tệp biểu mẫu đã điền.")


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")   # zipfile's structFileHeader: 30 bytes before the name


class _Archive(zipfile.ZipFile):
    """zipfile's reader of bytes in memory, whose usual member (deflated or stored, not encrypted,
    its local header agreeing with the directory, its length and CRC-32 right) is inflated straight
    from those bytes: what zipfile would return, without its file-like layers (a third of the time
    of a template's small parts). Any other member is zipfile's, which raises what it raises."""

    def __init__(self, data: bytes):
        super().__init__(io.BytesIO(data))
        self._bytes = data

    def read(self, name, pwd=None):
        out = self._usual(name) if pwd is None and isinstance(name, str) and self.fp is not None else None
        return super().read(name, pwd) if out is None else out

    def _usual(self, name: str) -> bytes | None:
        info = self.NameToInfo.get(name)
        if info is None or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) \
                or info.flag_bits & 0x61:   # encrypted, compressed patch, strong encryption
            return None
        data, start = self._bytes, info.header_offset
        header = data[start:start + 30]
        if len(header) != 30:
            return None
        fields = _LOCAL_HEADER.unpack(header)
        if fields[0] != ZIP_MAGIC:   # (a local file header begins as the file does)
            return None
        name_end = start + 30 + fields[10]
        try:
            local_name = data[start + 30:name_end].decode(
                "utf-8" if fields[3] & 0x800 else (getattr(self, "metadata_encoding", None) or "cp437"))
        except UnicodeDecodeError:
            return None
        begin = name_end + fields[11]
        if local_name != info.orig_filename or begin + info.compress_size > len(data):
            return None
        packed = data[begin:begin + info.compress_size]
        if info.compress_type == zipfile.ZIP_STORED:
            out = packed
        else:
            inflate = zlib.decompressobj(-15)
            try:
                out = inflate.decompress(packed, info.file_size + 1)   # (never more than the directory says)
            except zlib.error:
                return None
            if not inflate.eof:
                return None
        return out if len(out) == info.file_size and zlib.crc32(out) == info.CRC else None


def _sniff_zip(data: bytes) -> tuple[str, zipfile.ZipFile]:
    try:
        archive = _Archive(data)
    except ZIP_DAMAGE as exc:
        raise Unreadable(rules.CORRUPT_FILE, f"Tệp bị hỏng, không giải nén được ({exc}): hãy mở lại bằng Excel "
                                         "hoặc LibreOffice, lưu lại rồi gửi.") from exc
    try:
        return _zip_format(archive), archive
    except BaseException:
        archive.close()
        raise


def _zip_format(archive: zipfile.ZipFile) -> str:
    infos = archive.infolist()
    names = archive.NameToInfo
    if any(i.flag_bits & 0x1 for i in infos):   # a zip-encrypted part: the zip reader refuses it (RuntimeError)
        raise Unreadable(rules.PASSWORD_PROTECTED, "Tệp được đặt mật khẩu nên không đọc được: hãy gỡ mật khẩu rồi gửi lại.")
    if len(infos) > MAX_MEMBERS:
        raise Unreadable(rules.ZIP_BOMB, f"Tệp chứa {len(infos)} thành phần, bất thường đối với một biểu mẫu: "
                                     "không mở để bảo đảm an toàn.")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES or any(
            i.file_size > 1048576 and i.file_size > MAX_RATIO * max(i.compress_size, 1) for i in infos):
        raise Unreadable(rules.ZIP_BOMB, f"Tệp khi giải nén lên tới {total / 1048576:.0f} MB, lớn hơn nhiều so với "
                                     "biểu mẫu: không mở để bảo đảm an toàn; hãy gửi đúng tệp biểu mẫu.")
    try:
        if "mimetype" in names and archive.read("mimetype").strip() == ODS_MIME:
            return "ods"
        if "xl/workbook.xml" in names:
            content_types = archive.read("[Content_Types].xml") if "[Content_Types].xml" in names else b""
            return "xlsm" if b"macroEnabled" in content_types else "xlsx"
    except ZIP_DAMAGE as exc:
        raise Unreadable(rules.CORRUPT_FILE, f"Tệp bị hỏng, không giải nén được ({exc}): hãy mở lại bằng Excel "
                                         "hoặc LibreOffice, lưu lại rồi gửi.") from exc
    if "word/document.xml" in names:
        raise Unreadable(rules.NOT_A_SPREADSHEET, "Tệp là văn bản Word (.docx) đổi đuôi, không phải bảng tính: "
                                              "hãy gửi tệp biểu mẫu Excel đã điền.")
    if "ppt/presentation.xml" in names:
        raise Unreadable(rules.NOT_A_SPREADSHEET, "Tệp là bản trình chiếu PowerPoint, không phải bảng tính.")
    if "mimetype" in names:
        raise Unreadable(rules.NOT_A_SPREADSHEET, "Tệp OpenDocument nhưng không phải bảng tính (.ods).")
    raise Unreadable(rules.NOT_A_SPREADSHEET, "Tệp nén (zip) không chứa bảng tính: hãy gửi tệp biểu mẫu đã điền.")


def read_workbook(path: Path, skip: tuple[str, ...] = (), data: bytes | None = None) -> Workbook:
    """Every sheet's values (but those named in `skip`) and the cell-level facts calamine omits.

    The file is read once (or not at all when its bytes are given as `data`; `path` then only
    names it): the sniff, calamine and the XML scan all see the same bytes, and the zip directory
    is parsed once for the sniff and the scan. Raises Unreadable for anything that is not a
    readable workbook.
    """
    if data is None:
        data = _file_bytes(path)
    elif len(data) > MAX_FILE_BYTES:
        raise _too_large(len(data))
    fmt, archive = _sniff(data, path.suffix)
    try:
        return _read(path, data, fmt, archive, skip)
    finally:
        if archive is not None:
            archive.close()


def _read(path: Path, data: bytes, fmt: str, archive: zipfile.ZipFile | None, skip: tuple[str, ...]) -> Workbook:
    import python_calamine as pc

    # What calamine does not say, and the limits, from the XML before calamine sees it (a far cell
    # or a cell repeated a hundred million times would make it allocate past any memory).
    facts: dict[str, Sheet] = {}
    defined: dict[str, str] = {}
    external = 0
    try:
        if fmt in OOXML_FORMATS:
            defined, external = _scan_xlsx(archive, facts, skip)
        elif fmt == "ods":
            defined = _scan_ods(archive, facts)
    except XML_DAMAGE as exc:  # not XML a spreadsheet program wrote: not a file to trust
        raise Unreadable(rules.CORRUPT_FILE, f"Tệp bị hỏng, cấu trúc bên trong không đọc được ({type(exc).__name__}): "
                                         "hãy mở lại bằng Excel hoặc LibreOffice, lưu lại rồi gửi.") from exc
    try:
        book = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except pc.PasswordError as exc:
        raise Unreadable(rules.PASSWORD_PROTECTED, "Tệp được đặt mật khẩu nên không đọc được: hãy gỡ mật khẩu rồi gửi lại.") from exc
    except pc.CalamineError as exc:   # XmlError, ZipError, WorksheetNotFound, ... and a damaged .xls
        raise _damaged(exc) from None
    except BaseException as exc:
        if not _is_panic(exc):
            raise
        raise _damaged(exc) from None
    try:
        sheets: dict[str, Sheet] = {}
        names = list(book.sheet_names)
        hidden = {m.name for m in book.sheets_metadata if m.visible != pc.SheetVisibleEnum.Visible}
        for name in names:
            if name in skip:
                continue
            sheet = book.get_sheet_by_name(name)
            end = sheet.end
            if end is not None and (end[0] >= MAX_ROW or end[1] >= MAX_COLUMN):
                raise _far_cell(name, f"{column_letter(end[1])}{end[0] + 1}", end[0] + 1, end[1] + 1)
            rows = sheet.to_python(skip_empty_area=False)
            merged = sheet.merged_cell_ranges
            known = facts.get(name) or Sheet(name, [])
            known.rows, known.hidden = rows, name in hidden
            known.merged = ([f"{column_letter(a[1])}{a[0] + 1}:{column_letter(b[1])}{b[0] + 1}"
                             for a, b in merged] if merged else []) + known.merged
            _remove_controls(known)
            sheets[name] = known
    except pc.CalamineError as exc:
        raise _damaged(exc) from None
    except BaseException as exc:
        if not _is_panic(exc):
            raise
        raise _damaged(exc) from None
    finally:
        book.close()
    return Workbook(path=path, format=fmt, sheet_names=names, sheets=sheets, defined_names=defined,
                    external_links=external)


def _is_panic(exc: BaseException) -> bool:
    """A Rust panic inside calamine (pyo3's PanicException, a BaseException no module exports): the
    file's bytes led the reader astray. Anything else is not the file's fault and is raised."""
    return type(exc).__name__ == "PanicException" and type(exc).__module__ == "pyo3_runtime"


def _damaged(exc: BaseException) -> Unreadable:
    # (the exception's text only: a Rust panic cannot be pickled back from a reading process)
    return Unreadable(rules.CORRUPT_FILE, f"Tệp bị hỏng, không đọc được nội dung ({type(exc).__name__}: "
                                      f"{str(exc)[:200]}): hãy mở lại bằng Excel hoặc LibreOffice, lưu lại rồi gửi.")


def _far_cell(sheet: str, ref: str, row: int, column: int) -> Unreadable:
    beyond = row > EXCEL_MAX_ROW or column > EXCEL_MAX_COLUMN
    why = (f"vượt quá giới hạn của Excel (dòng {thousands(EXCEL_MAX_ROW)}, cột XFD)" if beyond else
           f"nằm quá xa vùng biểu mẫu (quá dòng {thousands(MAX_ROW)} hoặc cột {column_letter(MAX_COLUMN - 1)})")
    return Unreadable(rules.CELL_OUT_OF_RANGE, f"Trang '{sheet}' có ô {ref} {why}: tệp không được đọc để bảo đảm an "
                                           "toàn. Hãy xoá nội dung ở ô đó (hoặc chép số liệu sang biểu mẫu gốc) "
                                           "rồi gửi lại.")


def _remove_controls(sheet: Sheet) -> None:
    """Control characters out of every text cell, as read; each cell cleaned is noted in `controls`.
    (Whatever the XML held — the raw byte, `&#7;`, OOXML's `_x0007_` — calamine has decoded it:
    one look at the sheet's texts together, at C speed, spares the walk on almost every sheet.)"""

    texts = [value for row in sheet.rows for value in row if value.__class__ is str]
    if not texts:
        return
    joined = "".join(texts).encode("utf-8", "surrogatepass")
    if len(joined.translate(None, CONTROL_BYTES)) == len(joined) and b"\xef\xbf\xbe" not in joined \
            and b"\xef\xbf\xbf" not in joined:   # (U+FFFE, U+FFFF)
        return
    for r, row in enumerate(sheet.rows):
        for c, value in enumerate(row):
            if type(value) is str and has_controls(value):
                row[c], found = strip_controls(value)
                if found:
                    sheet.controls[f"{column_letter(c)}{r + 1}"] = found


# ---------------------------------------------------------------- xlsx: what calamine does not say

_DEFINED = re.compile(rb'<definedName\b([^>]*)>([^<]*)</definedName>')
_SHEET = re.compile(rb'<sheet\b([^>]*)/>')
_REL = re.compile(rb'<Relationship\b([^>]*)/>')
_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')
_ROW_HIDDEN = re.compile(rb'<row\b[^>]*>')
_CELL = re.compile(rb'<c\b([^>]*?)(?:/>|>(.*?)</c>)', re.S)
_FORMULA = re.compile(rb"<f[ >/]")   # a formula cell, not <formula1> of a data validation


def _attrs(text: bytes) -> dict[bytes, bytes]:
    return dict(_ATTR.findall(text))


def _unescape(text: bytes) -> str:
    from xml.sax.saxutils import unescape

    return unescape(text.decode("utf-8"), {"&quot;": '"', "&apos;": "'"})


_unescape_short = functools.lru_cache(maxsize=1024)(_unescape)


def _unescape_name(text: bytes) -> str:
    """`_unescape` of a sheet's or a defined name's text: a template's are the same in every file (a
    short one is remembered)."""
    return _unescape_short(text) if len(text) <= 256 else _unescape(text)


# a row or cell at column AAA+ or row 10000+ (the literal space makes the search fast; another white
# space before the attribute, which no spreadsheet program writes, takes the slow pattern)
_FAR_REF = re.compile(rb' r="(?:[A-Z]{3,}|[A-Z]*0*[1-9]\d{4,})')
_FAR_REF_ANY_SPACE = re.compile(rb'\sr="(?:[A-Z]{3,}|[A-Z]*0*[1-9]\d{4,})')
_REF = re.compile(rb'\sr="([A-Z]*)(\d+)"')
_FAR_CELL = re.compile(rb'\sr="([A-Z]{3,}|[A-Z]+(?=0*[1-9]\d{4,}))(\d+)"')


def _scan_xlsx(archive: zipfile.ZipFile, facts: dict[str, Sheet], skip: tuple[str, ...]) -> tuple[dict, int]:
    """Defined names; per sheet to read: every cell within the limits (else Unreadable), error
    cells, hidden rows, formulas; links to other workbooks. Byte-level scans: a sheet without the markers (`t="e"`, `hidden=`, `<f`) costs a
    few `in` tests and two regular-expression searches."""
    workbook_xml = archive.read("xl/workbook.xml")
    defined = {}
    for attrs, text in _DEFINED.findall(workbook_xml):
        name = _attrs(attrs).get(b"name", b"").decode("utf-8")
        if name:
            defined[name] = _unescape_name(text)
    names = archive.NameToInfo
    external = sum(1 for n in names if n.startswith("xl/externalLinks/") and n.endswith(".xml"))
    rels = {}
    try:
        for attrs in _REL.findall(archive.read("xl/_rels/workbook.xml.rels")):
            a = _attrs(attrs)
            target = a.get(b"Target", b"").decode("utf-8")
            target = target.lstrip("/") if target.startswith("/") else "xl/" + target
            rels[a.get(b"Id", b"")] = target
    except KeyError:
        return defined, external
    for attrs in _SHEET.findall(workbook_xml):
        a = _attrs(attrs)
        name = _unescape_name(a.get(b"name", b""))
        part = rels.get(a.get(b"r:id", b""))
        if name in skip or part is None:
            continue
        try:
            xml = archive.read(part)
        except KeyError:
            continue
        far = _FAR_REF.search(xml)
        if far is None and (b"\t" in xml or b"\n" in xml or b"\r" in xml) \
                and (b'\tr="' in xml or b'\nr="' in xml or b'\rr="' in xml):   # (a byte is found far quicker)
            far = _FAR_REF_ANY_SPACE.search(xml)
        if far:   # name the cell (a row's number comes before its cells' references)
            ref = _FAR_CELL.search(xml, far.start()) or _REF.match(xml, far.start())
            letters, row = (ref.group(1).decode(), int(ref.group(2))) if ref else ("", EXCEL_MAX_ROW + 1)
            raise _far_cell(name, f"{letters}{row}" if letters else f"dòng {row}", row,
                            column_index(letters) + 1 if letters else 1)
        facts[name] = sheet = Sheet(name, [])
        _scan_sheet_xml(xml, sheet)
    return defined, external


def _scan_sheet_xml(xml: bytes, sheet: Sheet) -> None:
    if b'hidden="' in xml and (b'hidden="1"' in xml or b'hidden="true"' in xml):
        for tag in _ROW_HIDDEN.findall(xml):
            a = _attrs(tag)
            if a.get(b"hidden") in (b"1", b"true") and b"r" in a:
                sheet.hidden_rows.append(int(a[b"r"]))
    if b't="e"' not in xml and not _FORMULA.search(xml):
        return
    for attrs, body in _CELL.findall(xml):
        a = _attrs(attrs)
        ref = a.get(b"r", b"").decode("ascii")
        body = body or b""
        if a.get(b"t") == b"e":
            value = re.search(rb"<v>([^<]*)</v>", body)
            sheet.error_cells[ref] = (_unescape(value.group(1)) if value else "") or "#N/A"
        elif _FORMULA.search(body):
            formula = re.search(rb"<f\b[^>]*>([^<]*)</f>", body)
            sheet.formulas[ref] = _unescape(formula.group(1)) if formula else ""
            if not re.search(rb"<v>[^<]+</v>", body):
                sheet.uncached_formulas.append(ref)


# ---------------------------------------------------------------- ods: the same facts from content.xml

_ODS_MARKERS = (b'calcext:value-type="error"', b'table:visibility="collapse"', b'table:visibility="filter"',
                b"number-columns-spanned", b"number-rows-spanned", b"<table:named-range", b"<table:named-expression",
                b"table:formula=")
_ODS_BIG_REPEAT = re.compile(rb'number-(?:columns|rows)-repeated="0*[1-9]\d{3,}"')
_ODS_TABLE = re.compile(rb'<table:table\s([^>]*)>(.*?)</table:table>', re.S)
_ODS_ROW = re.compile(rb'<table:table-row\b([^>]*?)(?:/>|>(.*?)</table:table-row>)', re.S)
_ODS_CELL = re.compile(rb'<table:(?:covered-)?table-cell\b([^>]*?)(/?)>')
_ODS_REPEATS = re.compile(rb'table:number-(columns|rows)-repeated="(\d+)"')


def _check_ods_repeats(content: bytes) -> None:
    """Unreadable when a cell with content is repeated beyond the limits: an 829-byte file whose one
    cell is repeated 10,000 x 10,000 times is a hundred million cells to a reader. (LibreOffice
    itself repeats empty cells and rows to the sheet's end: those are left alone.)"""
    if not _ODS_BIG_REPEAT.search(content):
        return
    for table in _ODS_TABLE.finditer(content):
        name = _unescape(_attrs(table.group(1)).get(b"table:name", b""))
        row = 0
        for row_match in _ODS_ROW.finditer(table.group(2)):
            rows = int(dict(_ODS_REPEATS.findall(row_match.group(1))).get(b"rows", 1))
            column, filled = 0, None
            for cell in _ODS_CELL.finditer(row_match.group(2) or b""):
                columns = int(dict(_ODS_REPEATS.findall(cell.group(1))).get(b"columns", 1))
                if cell.group(2) != b"/" or b"value-type=" in cell.group(1):
                    filled = column
                    if column + columns > MAX_COLUMN:
                        raise _far_cell(name, f"{column_letter(min(column + columns, EXCEL_MAX_COLUMN + 1) - 1)}"
                                              f"{row + 1}", row + 1, column + columns)
                column += columns
            if filled is not None and row + rows > MAX_ROW:
                raise _far_cell(name, f"{column_letter(filled)}{row + rows}", row + rows, filled + 1)
            row += rows


def _scan_ods(archive: zipfile.ZipFile, facts: dict[str, Sheet]) -> dict[str, str]:
    content = archive.read("content.xml")
    _check_ods_repeats(content)
    if not any(marker in content for marker in _ODS_MARKERS):
        return {}
    from defusedxml import ElementTree

    ns = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
          "calcext": "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0",
          "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
          "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0"}
    t = "{%s}" % ns["table"]
    root = ElementTree.fromstring(content)
    defined = {}
    for named in root.iter(f"{t}named-range"):
        defined[named.get(f"{t}name")] = _ods_reference(named.get(f"{t}cell-range-address") or "")
    for named in root.iter(f"{t}named-expression"):
        defined[named.get(f"{t}name")] = (named.get(f"{t}expression") or "").removeprefix("of:=")
    for table in root.iter(f"{t}table"):
        name = table.get(f"{t}name") or ""
        facts[name] = sheet = Sheet(name, [])
        row = 0
        for row_el in table.iter(f"{t}table-row"):
            repeat = int(row_el.get(f"{t}number-rows-repeated") or 1)
            if row_el.get(f"{t}visibility") in ("collapse", "filter") and row < 10000:
                sheet.hidden_rows.extend(range(row + 1, row + 1 + min(repeat, 10000)))
            col = 0
            for cell in row_el:
                if cell.tag not in (f"{t}table-cell", f"{t}covered-table-cell"):
                    continue
                span = int(cell.get(f"{t}number-columns-repeated") or 1)
                cols = int(cell.get(f"{t}number-columns-spanned") or 1)
                rows = int(cell.get(f"{t}number-rows-spanned") or 1)
                if cols > 1 or rows > 1:
                    sheet.merged.append(f"{column_letter(col)}{row + 1}:{column_letter(col + cols - 1)}{row + rows}")
                if cell.get("{%s}value-type" % ns["calcext"]) == "error":
                    text = "".join(cell.itertext()).strip() or "#N/A"
                    sheet.error_cells[f"{column_letter(col)}{row + 1}"] = text
                formula = cell.get(f"{t}formula")
                if formula and col < MAX_COLUMN and row < MAX_ROW:
                    sheet.formulas[f"{column_letter(col)}{row + 1}"] = formula.removeprefix("of:=")
                col += span
            row += repeat
    return defined


def _ods_reference(address: str) -> str:
    """`$_meta.$B$1` -> `'_meta'!$B$1` (the xlsx spelling, which `defined_value` resolves)."""
    if "." not in address:
        return address
    sheet, cell = address.rsplit(".", 1)
    return f"'{sheet.lstrip('$').strip(chr(39))}'!{cell}"


def defined_value(workbook: Workbook, name: str) -> str | None:
    """The value a defined name holds: a quoted constant, or the one cell it points at."""
    text = workbook.defined_names.get(name)
    if text is None:
        return None
    text = text.strip().removeprefix("=")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    match = re.fullmatch(r"'?(.+?)'?!\$?([A-Z]+)\$?(\d+)", text)
    if not match:
        return None
    sheet = workbook.sheets.get(match.group(1).replace("''", "'"))
    if sheet is None:
        return None
    value = sheet.cell(int(match.group(3)), match.group(2))
    return None if value == "" else str(value)
