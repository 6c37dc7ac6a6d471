"""Numbers and dates as written in Vietnam, in one place: "1.234.567", "12,5", "50%", "18/06/2026".

Thousands are grouped with "." and decimals follow ","; a day is dd/mm/yyyy. Every message,
report, workbook and letter writes its numbers and dates through these functions, so the same
value is written the same way everywhere (the outputs' bytes depend on it).
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

DATE = "%d/%m/%Y"


def _swap_separators(text: str) -> str:
    """"1,234.5" (Python's grouping) -> "1.234,5"."""
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _missing(value) -> bool:
    """None, NaN, an infinity, or pandas' NA (pandas is not imported here: the CLI starts fast)."""
    pandas = sys.modules.get("pandas")
    return (value is None or (pandas is not None and value is pandas.NA)
            or (isinstance(value, float) and not math.isfinite(value)))


_EXACT = 2.0 ** 53   # below it, a whole float is the number its repr says


def vn_number(value, decimal: bool | None = None) -> str:
    """1234567 -> "1.234.567"; 12.5 -> "12,5"; NaN -> "" (thousands "." and decimals "," as written in
    Vietnam). Up to two decimals (half to even), trailing zeros dropped; `decimal=False` rounds to a
    whole number, None decides by the value. Exact for Python ints and Decimals of any size (no
    conversion to float)."""
    kind = type(value)
    if kind is int or (kind is float and value.is_integer() and abs(value) < _EXACT and (decimal is not True or value)):
        return thousands(int(value))   # (a whole number, the usual figure: what the rest returns, sooner)
    if _missing(value):
        return ""
    if isinstance(value, float):
        number = Decimal(repr(float(value)))
    else:
        number = Decimal(int(value)) if not isinstance(value, Decimal) else value
    if decimal is None:
        decimal = number != number.to_integral_value()
    if not decimal:
        return thousands(int(number.to_integral_value(ROUND_HALF_EVEN)))
    with localcontext() as context:
        context.prec = max(28, number.adjusted() + 8)
        text = f"{number.quantize(Decimal('0.01'), ROUND_HALF_EVEN):,.2f}".rstrip("0").rstrip(".")
    return _swap_separators(text)


def thousands(count: int) -> str:
    """A whole number with "." between thousands: 1048576 -> "1.048.576"."""
    return f"{count:,}".replace(",", ".")


def significant(value: float) -> str:
    """A number as read from a cell, to ten significant digits: 1234.5 -> "1.234,5"."""
    return _swap_separators(f"{value:,.10g}")


def decimal_comma(value) -> str:
    """A number as Python writes it, with the decimal point a comma and no grouping: 1234.5 -> "1234,5"."""
    return str(value).replace(".", ",")


def vn_percent(share: float) -> str:
    """A share as a percentage to one decimal, the decimal dropped when it is zero: 0.5 -> "50%",
    0.625 -> "62,5%"; None or NaN -> ""."""
    if share is None or math.isnan(share):
        return ""
    return vn_number(round(share * 100, 1)) + "%"


def fixed_percent(share: float) -> str:
    """A share as a percentage always with one decimal (columns of rates line up): 0.5 -> "50,0%"."""
    return decimal_comma(f"{share * 100:.1f}") + "%"


def megabytes(size: int) -> str:
    """A size in bytes as MB with one decimal: 1572864 -> "1,5 MB"."""
    return decimal_comma(f"{size / 1024 / 1024:.1f}") + " MB"


def dmy(day: dt.date) -> str:
    """`18/06/2026`: how every command, workbook, letter and report writes a day."""
    return f"{day:{DATE}}"


def dmy_iso(iso: str | None) -> str:
    """An ISO day as stored in the ledger ("2026-06-18") as `18/06/2026`; "" for none."""
    return dmy(dt.date.fromisoformat(iso)) if iso else ""


def hm_dmy(moment: dt.datetime) -> str:
    """`08:30 18/06/2026`: a moment, time first, as the mail messages say when something arrived."""
    return f"{moment:%H:%M} {dmy(moment)}"


def dmy_hm(moment: dt.datetime) -> str:
    """`18/06/2026 08:30`: a moment, day first, as a cell that holds a date and a time is shown."""
    return f"{dmy(moment)} {moment:%H:%M}"


def cell_text(value) -> str:
    """A cell's value as a finding shows it: "" for a blank, 12 for 12.0, long text cut at 200
    characters with its length said."""
    if value is None or value == "":
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if len(text) <= 200 else text[:200] + f"… ({thousands(len(text))} ký tự)"


# Decree 30/2020's way of writing a date in a document

def vn_date(day: dt.date) -> str:
    """`18/6/2026`, `05/01/2027`: Decree 30 writes a day below 10 and the months 1 and 2 with a leading zero."""
    return f"{_day(day)}/{_month(day)}/{day.year}"


def date_text(day: dt.date) -> str:
    """`ngày 20 tháng 6 năm 2026` (the date line under the motto)."""
    return f"ngày {_day(day)} tháng {_month(day)} năm {day.year}"


def _day(day: dt.date) -> str:
    return f"{day.day:02d}" if day.day < 10 else str(day.day)


def _month(day: dt.date) -> str:
    return f"{day.month:02d}" if day.month < 3 else str(day.month)
