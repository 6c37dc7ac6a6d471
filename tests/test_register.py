"""The incoming-documents register: read what the officer typed, append what the mailbox brought."""

import datetime as dt

import pytest

from pipeline.common.errors import ConfigError
from pipeline.intake.register import REGISTER_NAME, Receipt, append_receipts, read_register


def test_reads_a_register_typed_in_excel(tmp_path):
    (tmp_path / REGISTER_NAME).write_text(
        "Tên tệp,Đơn vị,Ngày đến,Số đến,Ghi chú\r\n"
        "bao cao ta leng.xlsx,,18/06/2026,125,\r\n"
        ",Xã Bình Lư,2026-06-17,,nộp qua hệ thống\r\n"
        ",,,,\r\n", encoding="utf-8-sig")
    assert read_register(tmp_path) == [
        Receipt("bao cao ta leng.xlsx", "", dt.date(2026, 6, 18), "125", ""),
        Receipt("", "Xã Bình Lư", dt.date(2026, 6, 17), "", "nộp qua hệ thống"),
    ]


def test_bad_date_names_the_row(tmp_path):
    (tmp_path / REGISTER_NAME).write_text("Tên tệp,Đơn vị,Ngày đến\r\na.xlsx,,18 tháng 6\r\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="dòng 2: ngày đến '18 tháng 6'"):
        read_register(tmp_path)


def test_append_keeps_existing_rows(tmp_path):
    append_receipts(tmp_path, [Receipt("mail/a.xlsx", "", dt.date(2026, 6, 10))])
    append_receipts(tmp_path, [Receipt("mail/b.xlsx", "", dt.date(2026, 6, 11), note="thư từ x@y.vn")])
    assert [r.file_name for r in read_register(tmp_path)] == ["mail/a.xlsx", "mail/b.xlsx"]
    assert (tmp_path / REGISTER_NAME).read_bytes().startswith(b"\xef\xbb\xbf")
