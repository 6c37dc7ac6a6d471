"""What kinds of file the pipeline takes and writes: the spreadsheet formats and their suffixes,
the other files a submission may come with, and the magic numbers that tell them apart by bytes.

One list, so that the reader, the intake, mail collection and the feedback all agree on what a
workbook is.
"""

from __future__ import annotations

# The workbook formats a unit may send (the ledger's `format` column), and their file suffixes.
FORMATS = ("xlsx", "xlsm", "xls", "ods")
SPREADSHEET_SUFFIXES = tuple(f".{f}" for f in FORMATS)
OOXML_FORMATS = ("xlsx", "xlsm")                  # the zip formats openpyxl reads and writes back
# Other files kept with a submission: a signed scan, a photo of the stamped page.
ATTACHMENT_SUFFIXES = ("pdf", "png", "jpg", "jpeg", "tif", "tiff")
LETTER_SUFFIXES = (".pdf", ".docx")               # a signed reminder letter

ZIP_MAGIC = b"PK\x03\x04"                         # .xlsx .xlsm .ods .docx
EMPTY_ZIP_MAGIC = b"PK\x05\x06"                   # a zip with no members
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"   # the legacy .xls container (also .doc, encrypted OOXML)
# Files that are not workbooks, by their first bytes: what the officer is told the file is.
SIGNATURES = ((b"%PDF", "pdf"), (b"\x89PNG", "image"), (b"\xff\xd8\xff", "image"), (b"II*\x00", "image"),
              (b"MM\x00*", "image"))

MEDIA_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    ".xls": "application/vnd.ms-excel",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pdf": "application/pdf",
}


def is_spreadsheet_name(name: str) -> bool:
    """A file name with a workbook suffix (any case)."""
    return name.lower().endswith(SPREADSHEET_SUFFIXES)
