"""Ingestion of a period's submissions, the orchestration: what was received (receive.py) is read and
identified in forked processes (examine.py, identify.py), recorded, validated (validate.py) and stored.

`ingest(...)` takes every file under `inputs/submissions/<period>/` (any name, subfolders too;
the register so-den.csv, and what is not a report — hidden and operating-system files, office lock
files, empty files, named once in the report's `ignored` — aside) and:

1. reads each file once and, from those bytes, hashes it and archives it untouched under
   `outputs/archive/<sha256[:2]>/<sha256><suffix>`; unless the ledger already has its content for
   the period (re-ingesting is a no-op), reads it as a workbook (python-calamine, see reader.py;
   a file that is not a readable workbook becomes a finding, never a stop), identifies its unit
   and period from the metadata, falling back on the "Thông tin" sheet and on the file name (and
   says which it used; conflicts are findings), and extracts its cells. A file a killed run left
   pending is read from its archived copy. Reading runs in forked processes (a pool for a large
   batch), each file with a time and a memory limit: a reader that panics, dies or hangs rejects
   its file, never the batch. A PDF or an image is kept as the signed copy of a unit's workbook
   (or, alone, recorded as received but not readable). Nothing of it touches the ledger;
2. records every new file in the ledger as `pending`, all in one transaction, before judging any;
3. validates the whole batch at once (validate.py), then stores each file's verdict, findings
   and values, each whole or not at all (committed a group of files at a time), so a run killed
   half-way leaves the ledger consistent and the next run judges what is still pending.

`ingest_many(...)` does the same for several projects (provinces) in one run, sharing the pool
and the schema pass; each project keeps its own archive, outputs and ledger rows (its province).
"""
from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from dataclasses import dataclass, field
from dataclasses import asdict
from pathlib import Path

from pipeline.common import clock
from pipeline.common.errors import BaocaoError, IngestError
from pipeline.common.filetypes import FORMATS
from pipeline.intake import rules
from pipeline.store.ledger import ACCEPTED, REJECTED, WARNED, Ledger, Received, run_lock
from pipeline.reference.periods import Period
from pipeline.intake.findings import ERROR, WARNING, FileRef, Finding, finding
from pipeline.intake.validate import (Expectations, Item, check_across, check_schemas)
from pipeline.reference.project import Project
from pipeline.reference.settings import Settings
from pipeline.reference.units import Registry
from pipeline.intake.feedback import write_check_report, write_unit_feedback
from pipeline.intake.receive import discover, receipts_by_file_and_unit, submissions_dir
from pipeline.intake.identify import Directory, build_expectations
from pipeline.intake.examine import Read, read_all


@dataclass
class IngestReport:
    period: str
    files_seen: int
    files_new: int
    judged: list[dict] = field(default_factory=list)   # one per file judged this run (ledger row + unit name)
    feedback_files: list[Path] = field(default_factory=list)
    check_report: Path | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)   # files that could not be opened at all
    ignored: list[tuple[str, str]] = field(default_factory=list)   # not reports: system, lock, empty files


# ---------------------------------------------------------------- the run

def _outcome(findings: list[Finding]) -> str:
    if any(f.severity == ERROR for f in findings):
        return REJECTED
    return WARNED if findings else ACCEPTED


def ingest(project: Project, period: Period, *, now: dt.datetime | None = None,
           progress: bool | None = None, write_outputs: bool = True) -> IngestReport:
    """Ingests what is new in the period's folder; see the module docstring."""
    [report] = ingest_many([Source(project, period)], now=now, progress=progress,
                           write_outputs=write_outputs)
    return report


@dataclass(frozen=True)
class Source:
    """One project (a province) to ingest, and the period."""

    project: Project
    period: Period

    @property
    def settings(self) -> Settings:
        return self.project.settings

    @property
    def registry(self) -> Registry:
        return self.project.registry


@dataclass
class _Batch:
    """One project's share of a run: what it received, and what is pending in its ledger."""

    source: Source
    ledger: Ledger
    run_id: int
    files: list[Path]
    by_file: dict
    by_unit: dict
    known: set            # the contents the ledger already has for the period
    left: list            # files a killed run recorded but did not judge
    report: IngestReport
    expectations: Expectations | None = None


def ingest_many(sources: list[Source], *, now: dt.datetime | None = None, progress: bool | None = None,
                write_outputs: bool = True) -> list[IngestReport]:
    """Ingests several projects (the provinces a ministry serves) in one run, one report each.

    Each project's files are archived, recorded, judged and stored in its own ledger exactly as
    `ingest` does for one (projects naming the same ledger file share it). What is shared is the
    work: one pool of processes over every project's files, and one pandera call per sheet kind
    over the rows of a wave of projects (`_Store`: the projects read are stored while the pool
    reads the next)."""
    first = sources[0].settings if sources else None   # the province's day (pipeline/common/clock.py)
    now = (now or clock.now(first)).astimezone(clock.zone(first)).replace(microsecond=0)
    stamp = now.isoformat()
    with ExitStack() as stack:
        ledgers: dict[Path, Ledger] = {}
        batches = []
        for source in sources:
            path = source.settings.path("ledger").resolve()
            if path not in ledgers:
                stack.enter_context(run_lock(path))   # one run at a time claims the new files
                ledgers[path] = stack.enter_context(Ledger(path))
            batches.append(_start(source, ledgers[path], stamp))

        # one job per file found and per file left pending, with a key unique in the run
        jobs = []
        for n, batch in enumerate(batches):
            s = batch.source
            outputs = s.settings.path("outputs")
            if batch.files or batch.left:
                batch.expectations = build_expectations(s.project, s.period,
                                                        batch.ledger)
            folder = submissions_dir(s.settings, s.period)
            for path in batch.files:
                jobs.append((len(jobs), n, outputs, path, path.relative_to(folder).as_posix(), None))
            for row in batch.left:
                jobs.append((len(jobs), n, outputs, outputs / row["archive_path"], row["original_name"], row["id"]))
        contexts = [(Directory.of(b.source.registry), b.expectations, b.source.period, b.by_file, b.known)
                    if b.expectations is not None else None for b in batches]
        store = _Store(batches, now, stamp, write_outputs, _apart(batches), len(jobs))
        read_all(jobs, contexts, progress, ready=store.ready)
        store.flush()
    return [batch.report for batch in batches]


WAVE_FILES = 200   # the smallest wave of files stored while the pool reads on (see _Store)


def _apart(batches: list[_Batch]) -> bool:
    """Whether no two projects share their ledger rows (each its own ledger, or its own province
    in a shared one): then each can be stored as soon as it is read, before the next are."""
    provinces: dict[int, list] = {}
    for batch in batches:
        provinces.setdefault(id(batch.ledger), []).append(batch.source.settings.province_code)
    return all(None not in codes and len(set(codes)) == len(codes) for codes in provinces.values() if len(codes) > 1)


class _Store:
    """What is read is recorded, validated and judged a wave of projects at a time, while the pool
    reads the next ones: the projects read by then (in order) once the files waiting are half of
    those still to read (and at least WAVE_FILES), so the waves shrink (a third of the files, then
    less and less) and what is left to store once the pool is done is small; and the rest at the
    end. The schemas run once per wave; a project is judged as when judged alone. Projects that
    share their ledger rows are stored together at the end, as one wave."""

    def __init__(self, batches: list[_Batch], now: dt.datetime, stamp: str, write_outputs: bool, waves: bool,
                 files: int):
        self.batches, self.now, self.stamp, self.write_outputs, self.waves = batches, now, stamp, write_outputs, waves
        self.read: list[tuple[int, list]] = []
        self.files = 0            # read and waiting
        self.unread = files       # not read yet

    def ready(self, n: int, results: list) -> None:
        self.read.append((n, results))
        self.files += len(results)
        self.unread -= len(results)
        if self.waves and self.files >= max(WAVE_FILES, self.unread // 2):
            self.flush()

    def flush(self) -> None:
        wave, self.read, self.files = self.read, [], 0
        if not wave:
            return
        batches, now, stamp = self.batches, self.now, self.stamp
        to_judge = {n: _record(batches[n], results, now, stamp) for n, results in wave}
        check_schemas([r.item for judged in to_judge.values() for _row, r in judged if r.item and r.item.sheets],
                      {r.key: r.extracted for judged in to_judge.values() for _row, r in judged
                       if r.extracted is not None})
        for n, _results in wave:
            batch = batches[n]
            items = [r.item for _row, r in to_judge[n] if r.item is not None]
            if batch.expectations is not None:
                check_across([i for i in items if i.sheets], batch.expectations)
            _same_unit_twice(items)
            _judge(batch, to_judge[n], stamp)
            batch.ledger.finish_run(batch.run_id, clock.now(batch.source.settings).isoformat(),
                                    len(batch.files), batch.report.files_new)
            if self.write_outputs:
                s = batch.source
                batch.report.check_report = write_check_report(s.settings, batch.ledger, s.period, s.registry)
                batch.report.feedback_files = write_unit_feedback(s.settings, batch.ledger, s.period, s.registry,
                                                                  [j["id"] for j in batch.report.judged])


def _start(source: Source, ledger: Ledger, stamp: str) -> _Batch:
    """The run's start for one project: its files, its register of receipts, its run id, what its
    ledger already has and what a killed run left pending."""
    period, province = source.period, source.settings.province_code
    folder = submissions_dir(source.settings, period)
    by_file, by_unit = receipts_by_file_and_unit(folder, source.registry)
    run_id = ledger.start_run(period.code, stamp)
    report = IngestReport(period.code, 0, 0)
    return _Batch(source, ledger, run_id, discover(folder, report.ignored), by_file, by_unit,
                  ledger.known_hashes(period.code, province), ledger.pending(period.code, province), report)


def _record(batch: _Batch, results: list, now: dt.datetime, stamp: str) -> list:
    """Records every file new to the project's ledger as pending, in one transaction, before
    anything is judged. Returns what is pending, in receipt order, each with what was read of it."""
    settings, period, ledger = batch.source.settings, batch.source.period, batch.ledger
    received, new_hashes, by_sha = [], set(), {}
    for result in results:
        if result.left is not None:
            continue
        if result.sha is None:
            batch.report.skipped.append((result.name, result.why))
            continue
        if result.sha in batch.known or result.sha in new_hashes:
            continue  # the same content again (perhaps under another name): nothing new
        new_hashes.add(result.sha)
        by_sha[result.sha] = result
        register = batch.by_file.get(result.name) or batch.by_file.get(Path(result.name).name)
        receipt = (register[0].isoformat(), "so-den") if register else (now.date().isoformat(), "first_seen")
        received.append(Received(result.sha, result.size, result.name, result.archived, stamp, *receipt))
    ledger.record_received(period.code, batch.run_id, received, settings.province_code)
    batch.report.files_seen, batch.report.files_new = len(batch.files), len(received)
    left = {r.left: r for r in results if r.left is not None}
    pending = ledger.pending(period.code, settings.province_code)
    return [(row, left.get(row["id"]) or by_sha[row["sha256"]]) for row in pending
            if row["id"] in left or row["sha256"] in by_sha]


def _judge(batch: _Batch, judged: list, stamp: str) -> None:
    """Stores each file's verdict in the project's ledger, each whole or not at all (committed a
    group of files at a time: `Ledger.judging`)."""
    sent = _workbook_units(batch, judged)
    with batch.ledger.judging():
        for row, result in judged:
            try:
                _judge_one(batch, row, result, stamp, sent)
            except BaocaoError:
                raise
            except Exception as exc:  # a verdict the ledger refuses: say which file, never a bare traceback
                raise IngestError(f"không ghi được kết quả kiểm tra tệp {row['original_name']} vào sổ cái "
                                  f"({type(exc).__name__}: {exc})") from exc


def _workbook_units(batch: _Batch, judged: list) -> dict:
    """Who sent a workbook this period (in the ledger or in this run), and, in this run, the unit
    of the workbooks of each folder and of each file name without its extension: what ties a
    signed scan to a unit."""
    units = {r["unit_id"] for r in batch.ledger.submissions(batch.source.period.code, batch.source.settings.province_code)
             if r["unit_id"] and r["format"] in FORMATS}
    by_folder: dict[str, set] = {}
    by_stem: dict[str, str] = {}
    for _row, result in judged:
        unit = result.identity.unit_id if result.identity is not None else None
        if unit:
            units.add(unit)
            path = Path(result.name)
            by_folder.setdefault(path.parent.as_posix(), set()).add(unit)
            by_stem[(path.parent / path.stem).as_posix().lower()] = unit
    folders = {folder: next(iter(us)) for folder, us in by_folder.items() if len(us) == 1 and folder != "."}
    return {"units": units, "folders": folders, "stems": by_stem}


def _attachment_verdict(batch: _Batch, result: "Read", sent: dict) -> dict:
    """A PDF or an image: the signed copy of a unit's workbook (kept beside it, never a version),
    or, alone, a report received that no program can read: the unit has sent, and is asked for
    its Excel file."""
    path = Path(result.name)
    unit = (sent["stems"].get((path.parent / path.stem).as_posix().lower()) or result.attachment_unit
            or sent["folders"].get(path.parent.as_posix()))
    what = "PDF" if result.attachment == "pdf" else "ảnh chụp"
    verdict = dict(unit_id=unit, identified_by="file_name" if unit else None, fmt=result.attachment,
                   template_version=None, tasks=[], indicators=[])
    if unit and unit in sent["units"]:
        return {**verdict, "outcome": ACCEPTED, "findings": [], "attachment": True}
    if unit:
        message = (f"Đã nhận bản {what} báo cáo của đơn vị (bản ký, đóng dấu) nhưng chưa có tệp Excel: số liệu không đọc "
                   "được từ bản này. Hãy gửi kèm tệp biểu mẫu Excel đã điền (giữ nguyên bản ký để lưu).")
        rule = rules.EXCEL_FILE_MISSING
    else:
        message = (f"Tệp là {what}, không phải bảng tính, và không rõ của đơn vị nào (tên tệp, thư mục không ghi "
                   "đơn vị): hãy gửi tệp biểu mẫu Excel đã điền; bản ký nên đặt tên có tên đơn vị.")
        rule = rules.NOT_A_SPREADSHEET
    return {**verdict, "outcome": REJECTED,
            "findings": [finding(FileRef(unit, result.name), "", "", "", rule, ERROR, message)]}


def _judge_one(batch: _Batch, row, result: "Read", stamp: str, sent: dict) -> None:
    names = batch.source.registry.name_of
    item = result.item
    if result.attachment:
        verdict = _attachment_verdict(batch, result, sent)
    elif item is None:
        verdict = dict(unit_id=None, identified_by=None, fmt=None, template_version=None,
                       outcome=REJECTED, findings=result.findings, tasks=[], indicators=[])
    else:
        ident = result.identity
        findings = ident.findings + item.findings
        verdict = dict(unit_id=ident.unit_id, identified_by=ident.identified_by,
                       fmt=item.workbook.format, template_version=ident.template_version,
                       outcome=_outcome(findings), findings=findings,
                       tasks=[] if item.blank else item.tasks,
                       indicators=[] if item.blank else item.indicators,
                       info=None if item.blank else item.info)
    receipt = None
    if row["receipt_source"] == "first_seen" and verdict["unit_id"] in batch.by_unit:
        first_seen_day = dt.date.fromisoformat(row["first_seen"][:10])
        days = sorted(batch.by_unit[verdict["unit_id"]])
        chosen = max((d for d in days if d <= first_seen_day), default=days[0])
        receipt = (chosen.isoformat(), "so-den")
    if result.name_controls:
        verdict["findings"] = [finding(FileRef(verdict["unit_id"], result.name), "", "", result.name,
                                       rules.CONTROL_CHARACTER, WARNING,
                                       f"Tên tệp có ký tự điều khiển ({', '.join(result.name_controls)}, thường do "
                                       "chép từ USB hoặc thư điện tử), đã bỏ khi ghi nhận: lần sau hãy đặt tên "
                                       "tệp chỉ gồm chữ và số."), *verdict["findings"]]
        verdict["outcome"] = verdict["outcome"] if verdict["outcome"] != ACCEPTED else WARNED
    version = batch.ledger.judge(row["id"], receipt=receipt, now=stamp, **verdict)
    batch.report.judged.append({**dict(row), **{k: v for k, v in verdict.items()
                                                if k not in ("tasks", "indicators", "info", "attachment", "findings")},
                                "findings": [asdict(f) for f in verdict["findings"]],   # plain data, as the ledger reads
                                "version": version, "unit_name": names.get(verdict["unit_id"], ""),
                                "receipt_date": receipt[0] if receipt else row["receipt_date"]})


def _same_unit_twice(items: list[Item]) -> None:
    by_unit: dict[str, list[Item]] = {}
    for item in items:
        if item.unit_id:
            by_unit.setdefault(item.unit_id, []).append(item)
    for unit_id, group in by_unit.items():
        if len(group) < 2:
            continue  # (same content twice is one file: deduplicated by hash before this)
        names = ", ".join(i.file for i in group)
        for item in group:
            item.findings.append(finding(item, "", "", item.file, rules.TWO_FILES_IN_BATCH, WARNING,
                                         f"Cùng lần nhận có {len(group)} tệp khác nhau của đơn vị này ({names}); "
                                         f"tệp nhận sau cùng ({group[-1].file}) được tính là bản mới nhất. "
                                         "Nếu không đúng, hãy xoá tệp thừa khỏi thư mục và gửi lại tệp đúng."))
