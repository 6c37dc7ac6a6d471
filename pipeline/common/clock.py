"""The one clock: every calendar day and "now" the pipeline uses, in the province's time zone.

A machine set to UTC (a server) or to any other zone still files a report received at 23:30 in
Lai Châu on that day: deadlines, receipt dates (first seen), the `--as-of` defaults, the audit and
the dated file names all read the day here. The zone is `[province] timezone` in
inputs/config.toml (default Asia/Ho_Chi_Minh; the older `[mail] timezone` is still read).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


def _utc_now() -> dt.datetime:
    """The instant, from the system clock (the one source: tests replace it)."""
    return dt.datetime.now(dt.timezone.utc)


@lru_cache(maxsize=None)
def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def zone(settings=None):
    """The province's time zone (a tzinfo)."""
    return _zone(getattr(settings, "timezone", None) or DEFAULT_TIMEZONE)


def now(settings=None) -> dt.datetime:
    """The current time in the province's zone, to the second (aware)."""
    return _utc_now().astimezone(zone(settings)).replace(microsecond=0)


def today(settings=None) -> dt.date:
    """The calendar day it is now in the province."""
    return now(settings).date()
