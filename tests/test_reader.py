"""The reader alone: what is the file's fault (a verdict, Unreadable) and what is ours (raised)."""

from __future__ import annotations

import pytest

import hostile
from conftest import copy_project_data
from filling import Kit
from hostile import VICTIM


@pytest.fixture(scope="module")
def victim(tmp_path_factory) -> tuple[Kit, bytes]:
    """A project and the victim's good workbook (xlsx bytes), made once."""
    kit = Kit.load(copy_project_data(tmp_path_factory.mktemp("reader") / "project"))
    _spec, wb = kit.filled(VICTIM)
    return kit, hostile.xlsx_bytes(wb)


def _with_central_directory(data: bytes, change) -> bytes:
    """The zip's bytes with `change(bytearray, offset)` applied to each central directory entry."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at != -1:
        change(out, at)
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


def test_a_zip_directory_naming_a_part_in_broken_utf8_is_a_damaged_file(victim):
    """Its name flagged UTF-8 but not UTF-8: the zip reader raises UnicodeDecodeError, not BadZipFile."""
    from pipeline.intake.reader import Unreadable, read_workbook

    kit, good = victim
    data = hostile.add_part(good, "xl/ảnh.xml", b"<a/>")
    data = data.replace("ảnh".encode("utf-8"), b"\x9b\x9b\x9b\x9b\x9b")   # same length, every copy of the name
    with pytest.raises(Unreadable) as caught:
        read_workbook(kit.folder / "hong.xlsx", data=data)
    assert caught.value.rule == "corrupt_file" and "không giải nén được" in caught.value.message


def test_a_zip_encrypted_part_is_a_password(victim):
    """A workbook zipped again with a password (7-Zip, WinRAR): the zip reader would raise RuntimeError."""
    from pipeline.intake.reader import Unreadable, read_workbook

    kit, good = victim

    def encrypted(out, at):
        out[at + 8] |= 0x1   # the general purpose flag's bit 0: encrypted

    data = _with_central_directory(good, encrypted)
    with pytest.raises(Unreadable) as caught:
        read_workbook(kit.folder / "mat-khau.xlsx", data=data)
    assert caught.value.rule == "password_protected"


@pytest.mark.parametrize("where", ["_scan_sheet_xml", "_remove_controls"])
def test_a_bug_in_the_reader_is_raised_not_blamed_on_the_file(victim, monkeypatch, where):
    """A programming error (python-calamine 0.3 had no merged_cell_ranges: an AttributeError) must
    not become "the file is damaged": the tests would pass a reader that rejects every file."""
    from pipeline.intake import reader

    def broken(*_args):
        raise AttributeError("'CalamineSheet' object has no attribute 'merged_cell_ranges'")

    monkeypatch.setattr(reader, where, broken)
    kit, good = victim
    with pytest.raises(AttributeError, match="merged_cell_ranges"):
        reader.read_workbook(kit.folder / "bao-cao.xlsx", data=good)
