"""Writing outputs atomically and reproducibly.

An output is written to a temporary file beside its target and renamed over it, so an interrupted
run leaves the previous version intact. Office files are zip archives whose entries carry the time
of writing; they are repacked with a fixed entry time so that the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import secrets
import zipfile
from pathlib import Path

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _create_beside(path: Path) -> tuple[int, str]:
    """A new temporary file beside `path`, created with mode 0666 less the umask, as any new file
    is (0644 under the usual 022): `mkstemp` would give 0600, which colleagues on a shared machine
    or a Samba share cannot open once it is renamed into place."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_beside(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def repack_zip(data: bytes) -> bytes:
    """The same archive with every entry's time fixed and entries in their original order."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


class FixedTimeZipFile(zipfile.ZipFile):
    """A ZipFile whose entries written by name all carry FIXED_ZIP_TIME (no repacking needed)."""

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=FIXED_ZIP_TIME)
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        # openpyxl streams worksheets through temporary files, whose mtime would leak in
        with open(filename, "rb") as handle:
            self.writestr(arcname or Path(filename).name, handle.read(), compress_type, compresslevel)


def workbook_bytes(workbook, timestamp: dt.datetime, writer=None) -> bytes:
    """An openpyxl workbook as reproducible .xlsx bytes: document dates set to `timestamp`.
    `writer`: openpyxl's ExcelWriter or a class derived from it."""
    if writer is None:
        from openpyxl.writer.excel import ExcelWriter as writer

    workbook.properties.created = timestamp
    workbook.properties.modified = timestamp
    buffer = io.BytesIO()
    with FixedTimeZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        writer(workbook, archive).save()
    return buffer.getvalue()


def save_workbook(workbook, path: Path, timestamp: dt.datetime) -> None:
    write_bytes(path, workbook_bytes(workbook, timestamp))
