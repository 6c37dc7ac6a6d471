"""Vietnamese numbers and dates (pipeline/common/formatting.py), and the one list of file types
(pipeline/common/filetypes.py): written once, and no module writes them its own way again."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from pipeline.common import filetypes
from pipeline.common.formatting import (cell_text, decimal_comma, dmy, dmy_hm, dmy_iso, fixed_percent, hm_dmy,
                                        megabytes, significant, thousands, vn_number, vn_percent)

PIPELINE = Path(__file__).resolve().parent.parent / "pipeline"


@pytest.mark.parametrize("value, decimal, text", [
    (0, None, "0"),
    (7, None, "7"),
    (1234, None, "1.234"),
    (1234567, None, "1.234.567"),
    (-1234567, None, "-1.234.567"),
    (12.5, None, "12,5"),
    (1234.5, None, "1.234,5"),
    (1234.0, None, "1.234"),
    (0.125, None, "0,12"),            # two decimals, half to even
    (0.135, None, "0,14"),
    (2.5, False, "2"),               # a whole-number indicator rounds half to even
    (3.5, False, "4"),
    (12.0, True, "12"),              # trailing zeros dropped
    (Decimal("1234567.891"), True, "1.234.567,89"),
    (10 ** 30, None, "1" + ".000" * 10),
    (None, None, ""),
    (math.nan, None, ""),
    (math.inf, None, ""),
    (pd.NA, None, ""),
])
def test_numbers_group_thousands_with_dots_and_decimals_with_a_comma(value, decimal, text):
    assert vn_number(value, decimal) == text


class _Float(float):
    """A float the short way does not take (it checks the exact type): the general route's text."""


class _Int(int):
    pass


@pytest.mark.parametrize("value", [0.0, -0.0, 12.0, -12.0, 1234567.0, 2.0 ** 53 - 1, 2.0 ** 53, 2.0 ** 60, 1e16, 1e20,
                                   -1e22, 7, -7, 0, 10 ** 18, 10 ** 30])
@pytest.mark.parametrize("decimal", [None, True, False])
def test_a_whole_number_is_written_as_the_general_route_writes_it(value, decimal):
    """Whole numbers take a short way (the usual figure, thousands of them a report): the same
    text as the general route (where a float's repr is what is written, 2**60 as
    1.152921504606847e18, and -0.0 with decimals is "-0")."""
    general = _Float(value) if isinstance(value, float) else _Int(value)
    assert type(general) is not type(value)
    assert vn_number(value, decimal) == vn_number(general, decimal)


def test_a_huge_integer_is_exact():
    total = 2 * 10 ** 308 + 1
    assert vn_number(total).replace(".", "") == str(total)


@pytest.mark.parametrize("share, text, fixed", [
    (0.5, "50%", "50,0%"),
    (0.625, "62,5%", "62,5%"),
    (1, "100%", "100,0%"),
    (0, "0%", "0,0%"),
    (2 / 3, "66,7%", "66,7%"),
])
def test_percentages(share, text, fixed):
    assert (vn_percent(share), fixed_percent(share)) == (text, fixed)
    assert vn_percent(math.nan) == vn_percent(None) == ""


def test_the_other_number_forms():
    assert thousands(1048576) == "1.048.576" and thousands(999) == "999"
    assert significant(1234.5) == "1.234,5" and significant(1200.0) == "1.200" and significant(0.1 + 0.2) == "0,3"
    assert decimal_comma(1234.5) == "1234,5" and decimal_comma("0.25") == "0,25"
    assert megabytes(1572864) == "1,5 MB" and megabytes(20 * 1024 * 1024) == "20,0 MB"


def test_a_cell_value_as_a_finding_shows_it():
    assert cell_text(None) == cell_text("") == "" and cell_text(12.0) == "12" and cell_text(12.5) == "12.5"
    assert cell_text("x" * 200) == "x" * 200
    assert cell_text("x" * 1500) == "x" * 200 + "… (1.500 ký tự)"


def test_dates_are_day_month_year():
    day, moment = dt.date(2026, 6, 8), dt.datetime(2026, 6, 18, 8, 5)
    assert dmy(day) == "08/06/2026" and dmy(moment) == "18/06/2026"
    assert dmy_iso("2026-06-08") == "08/06/2026" and dmy_iso("") == dmy_iso(None) == ""
    assert hm_dmy(moment) == "08:05 18/06/2026" and dmy_hm(moment) == "18/06/2026 08:05"


def test_file_types_agree():
    assert filetypes.SPREADSHEET_SUFFIXES == (".xlsx", ".xlsm", ".xls", ".ods")
    assert set(filetypes.OOXML_FORMATS) <= set(filetypes.FORMATS)
    assert set(filetypes.SPREADSHEET_SUFFIXES) | set(filetypes.LETTER_SUFFIXES) <= set(filetypes.MEDIA_TYPES)
    assert filetypes.is_spreadsheet_name("BAO CAO.XLSX") and not filetypes.is_spreadsheet_name("bao-cao.pdf")


# The ways a number or a date used to be written by hand, module by module.
_BY_HAND = [
    (re.compile(r"""\.replace\(\s*["'],["']\s*,\s*["']\.["']\s*\)"""), 'replace(",", ".")'),
    (re.compile(r"""\.replace\(\s*["']\.["']\s*,\s*["'],["']\s*\)"""), 'replace(".", ",")'),
    (re.compile(r"\{[^{}]*:,[^{}]*\}"), "f\"{x:,}\""),
    (re.compile(r"%d/%m/%Y"), "%d/%m/%Y"),
    (re.compile(r"""b["']PK\\x0[35]"""), "zip magic"),
    (re.compile(r"""\\xd0\\xcf\\x11\\xe0"""), "OLE magic"),
    (re.compile(r"""["']\.?xlsm["']\s*,\s*["']\.?xls["']"""), "the spreadsheet suffixes"),
]
# Reading is not writing: these parse what an officer or a commune typed.
_ALLOWED = {("register.py", "%d/%m/%Y"), ("validate.py", 'replace(".", ",")'), ("validate.py", 'replace(",", ".")')}


def test_numbers_dates_and_file_types_are_written_in_one_place():
    found = []
    for path in sorted(PIPELINE.rglob("*.py")):
        if path.name in ("formatting.py", "filetypes.py"):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for pattern, what in _BY_HAND:
                if pattern.search(line) and (path.name, what) not in _ALLOWED:
                    found.append(f"{path.relative_to(PIPELINE)}:{n}: {what}: {line.strip()}")
    assert found == []
