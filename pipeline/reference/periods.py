"""Reporting periods in DHIS2's notation: `2026S1` (first half) and `2026` (the year).

Data windows per Decree 09/2019/NĐ-CP: 15 December of the previous year to 14 June (semi-annual)
or to 14 December (annual). The sending deadline comes from the settings.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum

from pipeline.common.errors import PeriodError
from pipeline.common.text import fold
from pipeline.common.formatting import dmy

_CODE = re.compile(r"^(\d{4})(S1)?$")
ACCEPTED_FORMS = "2026S1 (6 tháng đầu năm) hoặc 2026 (cả năm)"


class PeriodKind(str, Enum):
    SEMIANNUAL = "semiannual"
    ANNUAL = "annual"


@dataclass(frozen=True)
class Period:
    year: int
    kind: PeriodKind
    deadline: dt.date

    @property
    def code(self) -> str:
        return f"{self.year}S1" if self.kind is PeriodKind.SEMIANNUAL else str(self.year)

    @property
    def label(self) -> str:
        """How the period is named in a Vietnamese document: `6 tháng đầu năm 2026`, `năm 2026`."""
        return f"6 tháng đầu năm {self.year}" if self.kind is PeriodKind.SEMIANNUAL else f"năm {self.year}"

    @property
    def window_start(self) -> dt.date:
        return dt.date(self.year - 1, 12, 15)

    @property
    def cutoff(self) -> dt.date:
        """The last day of the data window (chốt số liệu)."""
        return dt.date(self.year, 6, 14) if self.kind is PeriodKind.SEMIANNUAL else dt.date(self.year, 12, 14)

    @property
    def is_annual(self) -> bool:
        return self.kind is PeriodKind.ANNUAL

    def first_half(self, settings) -> "Period":
        """The semi-annual period of the same year (for the annual report's comparison)."""
        return parse_period(f"{self.year}S1", settings)

    @property
    def sort_key(self) -> tuple[int, int]:
        """Chronological order: 2026S1 before 2026 (the year ends later than its first half)."""
        return (self.year, 0 if self.kind is PeriodKind.SEMIANNUAL else 1)

    def __lt__(self, other: "Period") -> bool:
        return self.sort_key < other.sort_key

    def __str__(self) -> str:
        return self.code


def parse_period(code: str, settings) -> Period:
    """`2026S1` -> Period; a malformed or out-of-plan code raises one readable line."""
    text = str(code).strip().upper()
    match = _CODE.match(text)
    if not match:
        raise PeriodError(f"Mã kỳ báo cáo không hợp lệ: {code!r}. Dạng hợp lệ: {ACCEPTED_FORMS}.")
    year = int(match.group(1))
    if not settings.plan_first_year <= year <= settings.plan_last_year:
        raise PeriodError(
            f"Kỳ {text} nằm ngoài thời gian kế hoạch {settings.plan_first_year}-{settings.plan_last_year}. "
            f"Dạng hợp lệ: {ACCEPTED_FORMS}."
        )
    kind = PeriodKind.SEMIANNUAL if match.group(2) else PeriodKind.ANNUAL
    cutoff = dt.date(year, 6, 14) if kind is PeriodKind.SEMIANNUAL else dt.date(year, 12, 14)
    deadline = settings.deadline_overrides.get(text) or cutoff + dt.timedelta(days=settings.deadline_days_after_cutoff)
    if deadline <= cutoff:
        raise PeriodError(f"Hạn nộp của kỳ {text} ({dmy(deadline)}) phải sau ngày chốt số liệu ({dmy(cutoff)}).")
    return Period(year=year, kind=kind, deadline=deadline)


def plan_periods(settings) -> list[Period]:
    """Every period of the plan, in order: 2026S1, 2026, 2027S1, ..."""
    out = []
    for year in range(settings.plan_first_year, settings.plan_last_year + 1):
        out.append(parse_period(f"{year}S1", settings))
        out.append(parse_period(str(year), settings))
    return out


class TimeframeKind(str, Enum):
    ANNUAL = "annual"          # Hằng năm / Hàng năm: due once a year, done by the annual report
    ONGOING = "ongoing"        # Thường xuyên: activity expected every period
    SEMIANNUAL = "semiannual"  # 6 tháng, hàng năm: activity expected every period
    PLAN = "plan"              # 2026-2030: progress toward the plan's end, every period


_PLAN_SPAN = re.compile(r"^\d{4}\s*[-–]\s*\d{4}$")


def timeframe_kind(text: str) -> TimeframeKind | None:
    """Classifies the matrix's "Thời gian thực hiện"; None where the text is not a known form."""

    key = fold(text)
    if key in {fold("Hằng năm"), fold("Hàng năm")}:
        return TimeframeKind.ANNUAL
    if key == fold("Thường xuyên"):
        return TimeframeKind.ONGOING
    if key in {fold("6 tháng, hàng năm"), fold("6 tháng, hằng năm")}:
        return TimeframeKind.SEMIANNUAL
    if _PLAN_SPAN.match(key):
        return TimeframeKind.PLAN
    return None


def is_due(kind: TimeframeKind, period: Period) -> bool:
    """Whether a task is expected to be done within the period (not just progressing).

    Every unit reports progress on all its tasks each period; an annual task is only due at the
    annual report, so in the first half it is "not yet due" rather than overdue.
    """
    return period.is_annual or kind is not TimeframeKind.ANNUAL
