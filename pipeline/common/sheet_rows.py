"""A worksheet of many rows written without an openpyxl cell object per value.

openpyxl builds a `Cell` for every value and writes each one through lxml's incremental writer:
for the summary workbook's 26,000 cells that was most of its time. Here a sheet's rows are kept as
plain `(value, data type, style)` triples (what `cells.put` would store, so text stays text) and
openpyxl writes the sheet without cells; its empty `<sheetData>` is then replaced by the rows'
one, made as text: the bytes openpyxl writes for the same cells (the same elements, attributes
and escaping, the styles numbered in the same order; tests/test_sheet_rows.py compares them).
Where openpyxl does not write with lxml, the rows become cells and openpyxl writes them itself.
"""

from __future__ import annotations

import datetime as dt
import re
from copy import copy

from pipeline.common.cells import plain, put


def new_table(ws) -> None:
    """Marks `ws` as holding its cells as rows (`add_row`), written by `workbook_bytes`."""
    ws._baocao_rows = {}


def add_row(ws, row: int, values, style_of) -> None:
    """Row `row` (1-based) of `ws`: its values from column A, each stored as `put` stores it, with
    the named style `style_of(column, stored value)` (column 1-based)."""
    cells = []
    for c, value in enumerate(values, start=1):
        value, kind = _stored(ws, value)
        cells.append((value, kind, _style_array(ws, style_of(c, value))))
    ws._baocao_rows[row] = cells


def max_row(ws) -> int:
    """The last row with a cell (1 when none), as openpyxl's `Worksheet.max_row` counts it."""
    rows = getattr(ws, "_baocao_rows", None)
    return max(rows, default=1) if rows is not None else ws.max_row


def _stored(ws, value) -> tuple[object, str]:
    """(value, data type) as `put` stores them in a new cell: None, "n" for a blank."""
    stored = plain(value)
    if stored is not None:
        return stored
    # anything else (a date, a boolean, another type) through `put` itself, on a cell of no sheet:
    # a date registers its number format with the workbook, as it does for a cell of the sheet
    cell = put(_Scratch(ws), 1, 1, value)
    return cell._value, cell.data_type


class _Scratch:
    """Stands for the worksheet in `put`: one cell, not in any sheet, bound to the workbook."""

    def __init__(self, ws):
        self._ws = ws

    def cell(self, row: int, column: int):
        from openpyxl.cell.cell import Cell

        return Cell(self._ws, row=row, column=column)


def _style_array(ws, name: str):
    """The style array a cell gets from the named style `name` (resolved once per sheet)."""
    resolved = ws.__dict__.setdefault("_baocao_styles", {})
    if name not in resolved:
        from openpyxl.cell.cell import Cell

        cell = Cell(ws, row=1, column=1)
        cell.style = name
        resolved[name] = copy(cell._style)
    return resolved[name]


def workbook_bytes(workbook, timestamp: dt.datetime) -> bytes:
    """`atomic.workbook_bytes`, the sheets marked by `new_table` written from their rows."""
    from openpyxl import LXML

    from pipeline.common.atomic import workbook_bytes as write

    if not LXML:   # openpyxl writes every cell itself: the rows become cells
        for ws in workbook.worksheets:
            _to_cells(ws)
        return write(workbook, timestamp)
    return write(workbook, timestamp, writer=_writer_class())


def _to_cells(ws) -> None:
    rows = ws.__dict__.pop("_baocao_rows", None)
    if rows is None:
        return
    from openpyxl.cell.cell import Cell

    for r, cells in rows.items():
        for c, (value, kind, style) in enumerate(cells, start=1):
            cell = Cell(ws, row=r, column=c)
            cell._value, cell.data_type, cell._style = value, kind, copy(style)
            ws._cells[(r, c)] = cell


_WRITER = None
_EMPTY_SHEET_DATA = b"<sheetData></sheetData>"   # what openpyxl's writer writes for a sheet without cells


def _writer_class():
    """openpyxl's ExcelWriter, but a marked sheet's `<sheetData>` written from its rows: openpyxl
    writes the sheet without cells, then its empty `<sheetData>` is replaced by the rows' one."""
    global _WRITER
    if _WRITER is not None:
        return _WRITER
    from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
    from openpyxl.worksheet._writer import WorksheetWriter
    from openpyxl.writer.excel import ExcelWriter

    class RowsWriter(WorksheetWriter):
        def write_dimensions(self):
            from openpyxl.worksheet.dimensions import SheetDimension

            self.xf.send(SheetDimension(_dimension(self.ws._baocao_rows)).to_tree())

        def write_rows(self):
            # (the rows' text made here, where openpyxl numbers the cells' styles)
            self.sheet_data = _sheet_data(self.ws)
            xf = self.xf.send(True)
            with xf.element("sheetData"):
                pass
            self.xf.send(None)

    class Writer(ExcelWriter):
        def write_worksheet(self, ws):
            if getattr(ws, "_baocao_rows", None) is None:
                return super().write_worksheet(ws)
            # (ExcelWriter.write_worksheet, with the rows put in)
            ws._drawing = SpreadsheetDrawing()
            ws._drawing.charts = ws._charts
            ws._drawing.images = ws._images
            writer = RowsWriter(ws)
            writer.write()
            ws._rels = writer._rels
            with open(writer.out, "rb") as handle:
                xml = handle.read()
            if xml.count(_EMPTY_SHEET_DATA) != 1:
                raise RuntimeError(f"openpyxl wrote the sheet {ws.title!r} in a way this writer does not know")
            self._archive.writestr(ws.path[1:], xml.replace(_EMPTY_SHEET_DATA, writer.sheet_data))
            self.manifest.append(ws)
            writer.cleanup()

    _WRITER = Writer
    return Writer


def _dimension(rows: dict) -> str:
    """`Worksheet.calculate_dimension` over the rows' cells."""
    from openpyxl.utils import get_column_letter

    filled = [r for r, cells in rows.items() if cells]
    if not filled:
        return "A1:A1"
    width = max(len(rows[r]) for r in filled)
    return f"A{min(filled)}:{get_column_letter(width)}{max(filled)}"


def _escape(text: str) -> str:
    # lxml's escaping of a text: &, <, > and the carriage return; every other character as it is
    # (the ASCII encoding below makes a non-ASCII one a decimal reference, as lxml writes it)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _sheet_data(ws) -> bytes:
    """The `<sheetData>` openpyxl's writer (lxml, no encoding declared: ASCII with character
    references) writes for these cells, byte for byte."""
    from openpyxl.compat import safe_string
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.datetime import to_excel

    rows, dims = ws._baocao_rows, ws.row_dimensions
    styles = ws.parent._cell_styles
    ids: dict[tuple, str] = {}
    epoch = ws.parent.epoch
    letters = [get_column_letter(c) for c in range(1, 1 + max((len(cells) for cells in rows.values()), default=0))]
    out = ["<sheetData>"]
    for r in sorted(rows.keys() | dims.keys()):
        attrs = {"r": f"{r}"}
        attrs.update(dims.get(r, {}))
        out.append("<row" + "".join(f' {k}="{_escape(v)}"' for k, v in attrs.items()) + ">")
        for c, (value, kind, style) in enumerate(rows.get(r, ())):
            head = f'<c r="{letters[c]}{r}"'
            if any(style):
                key = tuple(style)
                if key not in ids:
                    ids[key] = f"{styles.add(style)}"
                head += f' s="{ids[key]}"'
            if kind == "d":
                head += ' t="n"'
                value = to_excel(value, epoch)
            else:
                head += ' t="inlineStr"' if kind == "s" else f' t="{kind}"'
            if value is None or value == "":
                out.append(head + "></c>")
            elif kind == "s":
                space = ' xml:space="preserve"' if value != value.strip() else ""
                out.append(f"{head}><is><t{space}>{_escape(value)}</t></is></c>")
            else:
                out.append(f"{head}><v>{_escape(safe_string(value))}</v></c>")
        out.append("</row>")
    out.append("</sheetData>")
    text = "".join(out)
    if _SURROGATE.search(text):   # (not XML: openpyxl refuses it, and so does this)
        raise ValueError(f"a text of the sheet {ws.title!r} is not valid Unicode")
    return text.encode("ascii", "xmlcharrefreplace")
