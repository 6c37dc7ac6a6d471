"""The plain CSV reader (`read_text_rows`) gives the table pandas gave (`read_text_table` below, the
reader it replaced), and the validation memo recognises a list from its rows."""

from __future__ import annotations

import unicodedata

import pandas as pd
import pytest

from pipeline.common import io_csv
from pipeline.common.errors import ConfigError
from pipeline.common.text import nfc
from pipeline.common.io_csv import MEMO_NAME, read_text_rows, validate_rows

def read_text_table(path, columns, optional=()):
    """How the lists were read with pandas until 2 December 2026: the reference the csv module's
    reader must match (same cells, same errors)."""
    if not path.is_file():
        raise ConfigError(f"Không tìm thấy tệp {path}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Tệp {path} không phải UTF-8: khi lưu từ Excel hãy chọn 'CSV UTF-8'") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConfigError(f"Tệp {path} không đọc được: {exc}") from exc
    frame.columns = [nfc(str(c)) for c in frame.columns]
    for column in optional:
        if column not in frame.columns:
            frame[column] = ""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(f"Tệp {path} thiếu cột: {', '.join(missing)}")
    extra = [c for c in frame.columns if c not in columns]
    if extra:
        raise ConfigError(f"Tệp {path} có cột không dùng đến: {', '.join(extra)}")
    return frame[columns].map(nfc)


COLUMNS = ["id", "name", "note"]
NFD = unicodedata.normalize("NFD", "Xã Tả Lèng")

ODD = {
    "bom": "\ufeffid,name,note\r\n12-SYT,Sở Y tế,\r\n",
    "blank_cells_and_lines": "id,name,note\n,,\n\n12-CA,,x\n   \n",
    "na_strings_stay_text": "id,name,note\nNA,null,NaN\nN/A,None,#N/A\n",
    "quoted_commas_quotes_newlines": 'id,name,note\n"1,2","Sở ""Y"" tế","dòng 1\ndòng 2"\n',
    "decomposed_text": f"id,name,note\n03405,{NFD},  {NFD}   xa  \n",
    "short_line": "id,name,note\n1,a\n",
    "columns_reordered_and_optional_missing": "name,id\nB,2\n",
    "header_only": "id,name,note\n",
    "header_in_nfd": f"id,name,note\n1,{NFD},\n".replace("note", unicodedata.normalize("NFD", "note")),
    "text_after_a_closing_quote": 'id,name,note\n1,"Sở"Y tế,x\n2,b,c\n',
}


@pytest.mark.parametrize("text", ODD.values(), ids=ODD.keys())
def test_the_plain_reader_reads_what_pandas_read(tmp_path, text):
    path = tmp_path / "list.csv"
    path.write_bytes(text.encode("utf-8"))
    expected = read_text_table(path, COLUMNS, optional=("note",))
    table = read_text_rows(path, COLUMNS, optional=("note",))
    assert table.columns == tuple(COLUMNS)
    assert [list(r) for r in table.rows] == expected.values.tolist()
    pd.testing.assert_frame_equal(table.frame(), expected, check_exact=True)
    assert all(unicodedata.is_normalized("NFC", v) for row in table.rows for v in row)


ERRORS = {
    "missing": ("id,name\n1,a\n", "thiếu cột: note"),
    "extra": ("id,name,note,more\n1,a,b,c\n", "có cột không dùng đến: more"),
    "blank_header": ("id,,name,note\n1,2,3,4\n", "có cột không dùng đến: Unnamed: 1"),
    "repeated_header": ("id,name,note,name\n1,2,3,4\n", "có cột không dùng đến: name.1"),
    "empty": ("", "không đọc được"),
    # a quote left open swallows every line after it: the units they name would vanish
    "quote_left_open": ('id,name,note\n12-SYT,"Sở Y tế,x\n12-CA,Công an,\n12-STP,Tư pháp,\n', "không đọc được"),
}


@pytest.mark.parametrize("text, message", ERRORS.values(), ids=ERRORS.keys())
def test_the_plain_reader_fails_as_pandas_did(tmp_path, text, message):
    path = tmp_path / "list.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as by_pandas:
        read_text_table(path, COLUMNS)
    with pytest.raises(ConfigError) as plain:
        read_text_rows(path, COLUMNS)
    assert str(plain.value) == str(by_pandas.value) or message == "không đọc được"
    assert message in str(plain.value)


def test_the_plain_reader_refuses_what_is_not_utf8_or_missing(tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(b"id,name,note\n1,S\xf4 Y t\xea,\n")   # a legacy Windows code page
    with pytest.raises(ConfigError, match="không phải UTF-8"):
        read_text_rows(path, COLUMNS)
    with pytest.raises(ConfigError, match="Không tìm thấy tệp"):
        read_text_rows(tmp_path / "none.csv", COLUMNS)


def test_a_line_longer_than_the_header_is_unreadable(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("id,name,note\n1,a,b,c\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="không đọc được: dòng 2 có 4 ô"):
        read_text_rows(path, COLUMNS)


SCHEMA = ("schemas.units:CommuneContactsFileSchema", "schemas.units:COMMUNE_MESSAGES")
CONTACTS = ["id", "name", "active_from", "email", "phone", "contact_person"]


def _contacts(tmp_path, text: str):
    path = tmp_path / "commune_contacts.csv"
    path.write_text("id,name,active_from,email,phone,contact_person\n" + text, encoding="utf-8")
    return read_text_rows(path, CONTACTS)


def _validations(monkeypatch) -> list:
    calls = []
    real = io_csv.validate_table

    def counted(frame, *args, **kwargs):
        calls.append(len(frame))
        return real(frame, *args, **kwargs)

    monkeypatch.setattr(io_csv, "validate_table", counted)
    return calls


def test_the_memo_skips_an_unchanged_list_and_checks_a_changed_one(tmp_path, monkeypatch):
    memo = tmp_path / "outputs"
    memo.mkdir()
    calls = _validations(monkeypatch)
    table = _contacts(tmp_path, "03405,Xã Tả Lèng,,,,\n")
    assert validate_rows(table, *SCHEMA, memo=memo) == table
    assert validate_rows(_contacts(tmp_path, "03405,Xã Tả Lèng,,,,\n"), *SCHEMA, memo=memo) == table
    assert calls == [1] and (memo / MEMO_NAME).is_file()
    changed = _contacts(tmp_path, "03405,Xã Tả Lèng,2026,,,\n")
    validate_rows(changed, *SCHEMA, memo=memo)
    assert calls == [1, 1]
    with pytest.raises(ConfigError, match="commune_contacts.csv"):   # a wrong list is never remembered
        validate_rows(_contacts(tmp_path, "3405,Xã Tả Lèng,,,,\n"), *SCHEMA, memo=memo)
    with pytest.raises(ConfigError, match="commune_contacts.csv"):
        validate_rows(_contacts(tmp_path, "3405,Xã Tả Lèng,,,,\n"), *SCHEMA, memo=memo)
    assert calls == [1, 1, 1, 1]


def test_the_memo_key_follows_the_schema_and_the_libraries(tmp_path, monkeypatch):
    from importlib import metadata

    table = _contacts(tmp_path, "03405,Xã Tả Lèng,,,,\n")
    key = io_csv._rows_memo_key(table, SCHEMA[0])
    assert io_csv._rows_memo_key(_contacts(tmp_path, "03405,Xã Tả Lèng,,,,\n"), SCHEMA[0]) == key
    assert io_csv._rows_memo_key(table, "schemas.units:DepartmentsFileSchema") != key
    assert io_csv._rows_memo_key(table, "schemas.matrix:AssignmentMatrixSchema") != key  # another source file
    renamed = io_csv.TextTable(table.path, ("id", "name", "active_from", "email", "contact_person", "phone"), table.rows)
    assert io_csv._rows_memo_key(renamed, SCHEMA[0]) != key
    real = metadata.version
    for library in ("pandera", "pandas"):   # (an upgrade: the next process reads the new version)
        monkeypatch.setattr(metadata, "version", lambda name, lib=library: "0.0" if name == lib else real(name))
        io_csv._validating_versions.cache_clear()
        assert io_csv._rows_memo_key(table, SCHEMA[0]) != key
    monkeypatch.setattr(metadata, "version", real)
    io_csv._validating_versions.cache_clear()
    assert io_csv._rows_memo_key(table, SCHEMA[0]) == key


def test_a_validation_that_changes_the_table_is_not_remembered(tmp_path, monkeypatch):
    memo = tmp_path / "outputs"
    memo.mkdir()
    table = _contacts(tmp_path, "03405,Xã Tả Lèng,,,,\n")

    def coercing(frame, *_args, **_kwargs):
        return frame.assign(name=frame["name"].str.upper())

    monkeypatch.setattr(io_csv, "validate_table", coercing)
    result = validate_rows(table, *SCHEMA, memo=memo)
    assert result.rows == (("03405", "XÃ TẢ LÈNG", "", "", "", ""),)
    assert not (memo / MEMO_NAME).exists()
