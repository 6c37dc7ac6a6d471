"""The period lock: once a period's reports are issued (signed and sent), its figures stay as they were.

`lock_period` records, in the ledger, that the reports last built for the period (outputs/<period>/)
were issued: the hash of each file, the as-of day of their submission status and the last
submission they read. After it, a file that arrives is still archived, judged and shown (history,
audit), but it is "after the lock": it never becomes the unit's current version, so the locked
period's reports are rebuilt byte for byte from the figures as they were (`report_as_of` gives
the as-of day too). An agreed exception (`lock --cho-phep UNIT`) lets that unit's late file count;
`unlock_period` reopens the period with a reason, and every file received meanwhile counts. Each
event is kept in the ledger's lock_events table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pipeline.common import clock
from pipeline.common.errors import BaocaoError
from pipeline.common.formatting import dmy
from pipeline.store.ledger import (Ledger, active_lock, add_exceptions, add_lock, after_lock, last_build, lock_exceptions,
                                   lock_files, record_build, unlock)
from pipeline.reference.periods import Period
from pipeline.reference.project import Project
from pipeline.common.issued import _DRAFT


class LockError(BaocaoError):
    """A lock or unlock that cannot be done as asked."""


@dataclass(frozen=True)
class LockState:
    """An active lock of a period, as the other commands need it."""

    period: str
    locked_on: dt.date
    as_of: dt.date
    files: dict[str, str]            # issued file name -> sha256
    exceptions: list[str]            # units whose file after the lock counts
    after: list[dict]                # the files received after the lock (submissions rows + `counted`)

    def report_as_of(self) -> dt.date:
        """The as-of day a rebuild uses: the lock's, or later when an excepted unit's file (which
        counts) was received after it."""
        counted = [dt.date.fromisoformat(r["receipt_date"][:10]) for r in self.after if r["counted"]]
        return max([self.as_of, *counted])


def _ledger(settings, readonly: bool = False) -> Ledger | None:
    path = settings.path("ledger")
    return Ledger(path, readonly=readonly) if path.is_file() else None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def remember_build(settings, period: Period, as_of: dt.date, files: list[Path]) -> None:
    """Records a report build (called by semiannual/annual): which files, from which figures."""
    with Ledger(settings.path("ledger")) as ledger:
        record_build(ledger, period.code, settings.province_code, clock.now(settings).isoformat(), as_of.isoformat(),
                     {p.name: _sha256(p) for p in files})


def lock_state(settings, period: Period) -> LockState | None:
    """The period's active lock, or None. Reads the ledger only (it may be read-only); a ledger
    written before locks existed has no lock."""
    ledger = _ledger(settings, readonly=True)
    if ledger is None:
        return None
    with ledger:
        try:
            lock = active_lock(ledger, period.code, settings.province_code)
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        if lock is None:
            return None
        return LockState(period.code, dt.date.fromisoformat(lock["locked_at"][:10]),
                         dt.date.fromisoformat(lock["as_of"]),
                         {r["name"]: r["sha256"] for r in lock_files(ledger, lock["id"])},
                         lock_exceptions(ledger, lock["id"]),
                         [dict(r) for r in after_lock(ledger, period.code, settings.province_code)])


@dataclass(frozen=True)
class LockResult:
    files: list[str]
    as_of: dt.date
    exceptions: list[str]
    edited: list[str]        # issued files that differ from what the build wrote (edited by hand)
    added_to: bool           # exceptions added to an existing lock


def lock_period(project: Project, period: Period, exceptions: list[str] = ()) -> LockResult:
    """Locks the period on the reports last built for it (see the module docstring)."""
    settings, registry = project.settings, project.registry
    for unit_id in exceptions:
        registry.get(unit_id)   # an unknown unit stops here, with its message
    now = clock.now(settings).isoformat()
    command = (f"python -m pipeline annual --year {period.year}" if period.is_annual
               else f"python -m pipeline semiannual --period {period.code}")
    ledger = _ledger(settings)
    if ledger is None:
        raise LockError(f"Chưa tạo báo cáo kỳ {period.code}: chạy {command} rồi khoá kỳ.")
    with ledger:
        province = settings.province_code
        lock = active_lock(ledger, period.code, province)
        if lock is not None:
            if not exceptions:
                raise LockError(f"Kỳ {period.code} đã khoá ngày {lock['locked_at'][:10]}; để mở lại: python -m pipeline "
                                f"unlock --period {period.code} --ly-do \"…\".")
            add_exceptions(ledger, lock["id"], period.code, province, now, list(exceptions))
            return LockResult(sorted(r["name"] for r in lock_files(ledger, lock["id"])),
                              dt.date.fromisoformat(lock["as_of"]), lock_exceptions(ledger, lock["id"]), [], True)
        build = last_build(ledger, period.code, province)
        if build is None:
            raise LockError(f"Chưa tạo báo cáo kỳ {period.code}: chạy {command} rồi khoá kỳ.")
        built = json.loads(build["files"])
        folder = settings.path("outputs") / period.code
        missing = [name for name in built if not (folder / name).is_file()]
        if missing:
            raise LockError(f"Không thấy báo cáo đã tạo {', '.join(missing)} trong {folder}: chạy {command} rồi khoá kỳ.")
        on_disk = {name: _sha256(folder / name) for name in sorted(built)}
        edited = [name for name, sha in on_disk.items() if sha != built[name]]
        # the hash recorded is of the bytes the program wrote (what a rebuild reproduces); a report
        # the officer edited in Word before signing is named in `edited`
        files = [(name, built[name], (folder / name).stat().st_size) for name in sorted(built)]
        add_lock(ledger, period.code, province, now, build["as_of"], build["last_submission"], files,
                 list(exceptions))
        return LockResult([name for name, *_ in files], dt.date.fromisoformat(build["as_of"]), sorted(exceptions),
                          edited, False)


def unlock_period(settings, period: Period, reason: str) -> LockState:
    """Reopens a locked period; the reason goes into the ledger's lock history. Returns the lock lifted."""
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise LockError("Cần ghi lý do mở khoá: --ly-do \"…\".")
    state = lock_state(settings, period)
    if state is None:
        raise LockError(f"Kỳ {period.code} chưa khoá.")
    with Ledger(settings.path("ledger")) as ledger:
        lock = active_lock(ledger, period.code, settings.province_code)
        unlock(ledger, lock["id"], period.code, settings.province_code, clock.now(settings).isoformat(), reason)
    return state


def compare_issued(state: LockState, files: list[Path]) -> list[str]:
    """The rebuilt files whose bytes differ from the issued ones (empty: byte-identical)."""
    return [p.name for p in files if state.files.get(_issued_name(p)) != _sha256(p)]


def _issued_name(path: Path) -> str:
    """The name a rebuilt file was issued under: a Word draft written beside an edited report
    (`…-ban-2.docx`, pipeline/common/docx_finish.py) is the rebuild of `….docx`."""

    match = _DRAFT.match(path.stem)
    return f"{match['stem']}{path.suffix}" if match else path.name


def locked_note(settings, period: Period) -> str:
    """For the annual report: a sentence saying the first half's figures come from a locked period."""
    if not period.is_annual:
        return ""
    first = period.first_half(settings)
    state = lock_state(settings, first)
    if state is None:
        return ""
    return (f"Số liệu 6 tháng đầu năm {period.year} lấy từ kỳ {first.code} đã khoá ngày "
            f"{dmy(state.locked_on)} (báo cáo đã phát hành, số liệu tính đến ngày {dmy(state.as_of)}); "
            f"tệp nhận sau khi khoá không được tính.")
