"""Ingestion of a period's submissions: discover, archive, record, identify, read, validate, store.

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
import gc
import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.common import clock
from pipeline.common.errors import BaocaoError, IngestError
from pipeline.common.filetypes import ATTACHMENT_SUFFIXES, FORMATS, OLE_MAGIC, SIGNATURES, ZIP_MAGIC
from pipeline.common.text import ascii_slug, fold, nfc, strip_controls
from pipeline.forms import layout
from pipeline.intake.consistency import load_rules, locked_texts
from pipeline.store.ledger import ACCEPTED, REJECTED, WARNED, Ledger, Received, run_lock, signed_scans
from pipeline.reference.periods import Period, plan_periods
from pipeline.intake.reader import MAX_FILE_BYTES, Unreadable, Workbook, defined_value, read_workbook
from pipeline.intake.register import REGISTER_NAME, read_register
from pipeline.intake.findings import ERROR, WARNING, finding
from pipeline.intake.validate import (Expectations, Item, check_across, check_schemas, extract, locate_sheets,
                                      read_findings)
from pipeline.reference.project import Project
from pipeline.reference.settings import Settings
from pipeline.reference.units import Registry
from pipeline.intake.feedback import write_check_report, write_unit_feedback
from pipeline.reference.catalogue import indicator_obligations
from pipeline.reference.obligations import obligations

ARCHIVE_DIR = "archive"
IDENTIFIED_BY_LABELS = {"metadata": "dữ liệu nhận diện của biểu mẫu", "sheet": "trang Thông tin",
                        "file_name": "tên tệp"}
_PROGRESS_FROM = 30   # files; below this a batch takes less than a moment


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


def submissions_dir(settings, period: Period) -> Path:
    return settings.path("submissions") / period.code


# What operating systems and office programs leave in every folder they show: never a report.
SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db", "icon\r", ".directory"})
LOCK_FILE_BYTES = 4096   # Office's owner file (~$name.xlsx) is 162-165 bytes


def discover(folder: Path, ignored: list | None = None) -> list[Path]:
    """Every candidate file under the period folder, in a stable order. What is left out (the
    register, hidden files, operating-system files, Office's lock files, empty files) is added to
    `ignored` as (name, why), when given."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*"), key=lambda p: p.relative_to(folder).as_posix()):
        relative = path.relative_to(folder)
        if not path.is_file() or relative.as_posix() == REGISTER_NAME:
            continue
        why = _not_a_report(path, relative)
        if why:
            if ignored is not None:
                ignored.append((relative.as_posix(), why))
            continue
        found.append(path)
    return found


def _not_a_report(path: Path, relative: Path) -> str | None:
    name = path.name
    if name.lower() in SYSTEM_FILES:
        return "tệp của hệ điều hành"
    if name.startswith((".~lock.", "~$")):
        # a lock file is a few hundred bytes and not a workbook; a real workbook named ~$... is read
        try:
            size = path.stat().st_size
            head = path.open("rb").read(8) if size else b""
        except OSError:
            return None
        if size <= LOCK_FILE_BYTES and not head.startswith((ZIP_MAGIC, OLE_MAGIC)):
            return "tệp khoá của Office/LibreOffice (tệp đang mở)"
        return None
    if any(part.startswith(".") for part in relative.parts):
        return "tệp ẩn"
    try:
        if path.stat().st_size == 0:
            return "tệp rỗng (0 byte)"
    except OSError:
        return None
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def received_content(path: Path) -> tuple[str, int, bytes | None]:
    """A received file's sha256, its size and, when it could be a template (not empty, not too
    large to hold in memory), its bytes: read once for the hash, the archived copy and the reader."""
    size = path.stat().st_size
    if 0 < size <= MAX_FILE_BYTES:
        data = path.read_bytes()
        return hashlib.sha256(data).hexdigest(), len(data), data
    return sha256_of(path), size, None


def archive_file(outputs: Path, source: Path, sha: str, data: bytes | None = None) -> str:
    """Copies `source` (whose content is `data`, when already read) into the content-addressed
    archive (idempotent); the path relative to outputs."""
    suffix = source.suffix.lower() if source.suffix.lower().lstrip(".") in (*FORMATS, *ATTACHMENT_SUFFIXES) else ".bin"
    relative = Path(ARCHIVE_DIR) / sha[:2] / f"{sha}{suffix}"
    target = outputs / relative
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            if data is None:
                os.close(fd)
                shutil.copyfile(source, tmp)
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
            os.chmod(tmp, 0o444)  # the evidence: readable by everyone, changed by no one
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return relative.as_posix()


def signed_copies(settings, period_code: str) -> dict[str, list[str]]:
    """unit id -> the names of the signed scans (PDF, images) kept beside its workbook this period."""
    out: dict[str, list[str]] = {}
    for unit_id, name in signed_scans(settings.path("ledger"), period_code, settings.province_code):
        out.setdefault(unit_id, []).append(name)
    return out


# ---------------------------------------------------------------- what is owed

def build_expectations(project: Project, period: Period, ledger: Ledger | None) -> Expectations:
    settings, registry, matrix, catalogue = project.settings, project.registry, project.matrix, project.catalogue

    owed = obligations(matrix, registry, period)
    tasks: dict[str, list] = {}
    # (.tolist(): walking a pandas string column value by value is many times slower)
    for unit_id, task_id, role in zip(owed["unit_id"].tolist(), owed["task_id"].tolist(), owed["role"].tolist()):
        tasks.setdefault(unit_id, []).append((task_id, layout.ROLES.get(role, role)))
    codes = catalogue.indicators["code"].tolist()
    value_types = dict(zip(codes, catalogue.indicators["value_type"].tolist()))
    order = {code: n for n, code in enumerate(codes)}
    indicators: dict[str, list] = {}
    ind = indicator_obligations(catalogue, registry, period)
    for unit_id, code in sorted(zip(ind["unit_id"].tolist(), ind["code"].tolist()), key=lambda uc: order[uc[1]]):
        indicators.setdefault(unit_id, []).append((code, value_types[code]))
    exp = Expectations(period.code, tasks, indicators, load_rules(settings.root / "schemas"))
    exp.locked = locked_texts(owed, catalogue.indicators)
    # (a blank max_value: validate's DEFAULT_MAX_VALUE)
    exp.ceilings = {code: float(ceiling) for code, ceiling in zip(codes, catalogue.indicators["max_value"].tolist())
                    if str(ceiling or "").strip()}
    if ledger is not None:
        earlier_periods = [p.code for p in plan_periods(settings) if p < period and p.kind is period.kind]
        for row in ledger.earlier_values(sorted(tasks), earlier_periods):
            exp.earlier.setdefault((row["unit_id"], row["code"]), []).append((row["period"], row["value"]))
    return exp


# ---------------------------------------------------------------- who sent it

@dataclass
class Identity:
    unit_id: str | None
    identified_by: str | None
    template_version: str | None
    findings: list[dict]


def read_metadata(workbook: Workbook) -> dict[str, str]:
    """The hidden sheet's key/value rows, else the defined names; untrusted."""
    meta: dict[str, str] = {}
    sheet = next((s for name, s in workbook.sheets.items() if fold(name) == fold(layout.SHEET_META)), None)
    if sheet is not None:
        for row in sheet.rows:
            if len(row) >= 2 and str(row[0]).strip() in layout.META_KEYS and str(row[1]).strip():
                meta[str(row[0]).strip()] = nfc(str(row[1]))
    for key in layout.META_KEYS:
        if key not in meta:
            value = defined_value(workbook, layout.DEFINED_NAME_PREFIX + key)
            if value:
                meta[key] = nfc(value)
    return meta


_PERIOD_IN_LABEL = re.compile(r"\((\d{4}(?:S1)?)\)")


def _sheet_period(label: str) -> str | None:
    """`6 tháng đầu năm 2026 (2026S1)` -> 2026S1; the words alone are understood too."""
    match = _PERIOD_IN_LABEL.search(label)
    if match:
        return match.group(1).upper()
    words = ascii_slug(label).replace("-", " ")
    match = re.search(r"6 thang dau nam (\d{4})", words)
    if match:
        return f"{match.group(1)}S1"
    match = re.search(r"nam (\d{4})", words)
    return match.group(1) if match else None


_META_CELL = {key: f"B{layout.META_FIRST_ROW + n}" for n, key in enumerate(layout.META_KEYS)}
_INFO_CELL = {key: f"{layout.INFO_VALUE_COLUMN}{row}" for row, key, *_ in layout.INFO_FIELDS}


@dataclass(frozen=True)
class Directory:
    """The registry as identification reads it, built once per run."""

    registry: object
    ids: frozenset
    names: dict
    slugs: tuple   # (unit id, "-slug-") for every name and short name

    @classmethod
    def of(cls, registry) -> "Directory":
        units = registry.units
        slugs = tuple((uid, f"-{ascii_slug(label)}-") for uid, name, short in
                      zip(units["id"], units["name"], units["short_name"]) for label in {name, short} if label)
        return cls(registry, frozenset(units["id"]), dict(zip(units["id"], units["name"])), slugs)

    def unit_in_file_name(self, name: str) -> str | None:
        hits = {token for token in re.findall(r"\d{2}-[A-Z0-9]+|\d{5}", name.upper()) if token in self.ids}
        if len(hits) == 1:
            return hits.pop()
        slug = f"-{ascii_slug(Path(name).stem)}-"
        hits = {uid for uid, label in self.slugs if label in slug}
        return hits.pop() if len(hits) == 1 else None


def identify(item: Item, workbook: Workbook, directory: Directory, exp: Expectations, period: Period,
             register_unit: str | None) -> Identity:
    ids, names, registry = directory.ids, directory.names, directory.registry
    findings: list[dict] = []
    meta = read_metadata(workbook)
    meta_unit = meta.get("unit_id")
    meta_period = (meta.get("period") or "").upper() or None
    version = meta.get("template_version")

    sheet_unit = sheet_period = None
    sheet_label = ""
    if layout.SHEET_INFO in item.sheets:
        info = item.sheets[layout.SHEET_INFO].sheet
        value_col = layout.INFO_VALUE_COLUMN
        rows = {key: r for r, key, *_ in layout.INFO_FIELDS}
        typed_id = nfc(str(info.cell(rows["unit_id"], value_col)))
        sheet_label = nfc(str(info.cell(rows["unit_name"], value_col)))
        sheet_unit = typed_id if typed_id in ids else registry.find_by_name(sheet_label)
        sheet_period = _sheet_period(nfc(str(info.cell(rows["period_label"], value_col))))
    file_unit = directory.unit_in_file_name(item.file)

    def add(rule, severity, message, sheet="", cell="", value=""):
        findings.append(finding(item, sheet, cell, value, rule, severity, message))

    if version and version != layout.TEMPLATE_VERSION:
        add("template_version", ERROR,
            f"Tệp dùng biểu mẫu phiên bản {version}, kỳ này dùng phiên bản {layout.TEMPLATE_VERSION}: hãy chép số liệu "
            "sang biểu mẫu mới đã gửi cho đơn vị.", layout.SHEET_META, _META_CELL["template_version"], version)

    unit_id = identified_by = None
    meta_known = meta_unit in ids
    if meta_known and sheet_unit and meta_unit != sheet_unit:
        add("unit_conflict", ERROR,
            f"Tệp mâu thuẫn về đơn vị: dữ liệu nhận diện là {meta_unit} ({names[meta_unit]}) nhưng trang Thông tin ghi "
            f"{sheet_unit} ({names[sheet_unit]}). Không xác định được đơn vị: hãy dùng đúng biểu mẫu của đơn vị.",
            layout.SHEET_INFO, _INFO_CELL["unit_name"], sheet_label)
    elif meta_known and (meta.get("fingerprint") == exp.fingerprint(meta_unit)
                         # the fingerprint is what the unit owes this period: it cannot match a file of
                         # another period, an older template or a unit not expected (each an error below)
                         or meta_period != period.code or version != layout.TEMPLATE_VERSION
                         or meta_unit not in exp.tasks):
        unit_id, identified_by = meta_unit, "metadata"
    elif sheet_unit:
        unit_id, identified_by = sheet_unit, "sheet"
        why = ("không có dữ liệu nhận diện (trang ẩn _meta bị xoá hoặc tệp được chép sang tệp mới)" if not meta
               else "dữ liệu nhận diện không khớp với biểu mẫu đã phát (có thể đã bị sửa)")
        add("identified_by_sheet", WARNING,
            f"Tệp {why}; đã xác định đơn vị theo trang Thông tin: {sheet_unit} ({names[sheet_unit]}).",
            layout.SHEET_INFO, _INFO_CELL["unit_name"], sheet_label)
    elif file_unit:
        unit_id, identified_by = file_unit, "file_name"
        add("identified_by_file_name", WARNING,
            f"Tệp không có dữ liệu nhận diện và trang Thông tin không ghi đơn vị; đã xác định đơn vị theo tên tệp: "
            f"{file_unit} ({names[file_unit]}). Hãy kiểm tra lại.", value=item.file)
    elif meta_unit and not meta_known:
        add("unit_unknown", ERROR, f"Mã đơn vị {meta_unit} trong tệp không có trong danh sách đơn vị báo cáo.",
            layout.SHEET_META, _META_CELL["unit_id"], meta_unit)
    elif not any(f["rule"] == "unit_conflict" for f in findings):
        add("unit_unknown", ERROR, "Không xác định được đơn vị gửi tệp (không có dữ liệu nhận diện, trang Thông tin "
                                   "và tên tệp không ghi đơn vị): hãy dùng biểu mẫu đã phát cho đơn vị.")

    found_period = meta_period or sheet_period
    if meta_period and sheet_period and meta_period != sheet_period:
        add("period_conflict", ERROR,
            f"Tệp mâu thuẫn về kỳ báo cáo: dữ liệu nhận diện là kỳ {meta_period}, trang Thông tin ghi kỳ {sheet_period}.",
            layout.SHEET_INFO, _INFO_CELL["period_label"], sheet_period)
    elif found_period and found_period != period.code:
        add("period_conflict", ERROR,
            f"Tệp là báo cáo kỳ {found_period} nhưng nằm trong thư mục kỳ {period.code}: hãy chuyển tệp sang thư mục "
            f"inputs/submissions/{found_period}/ (nếu đơn vị gửi nhầm kỳ, đề nghị gửi lại biểu mẫu kỳ {period.code}).",
            layout.SHEET_INFO, _INFO_CELL["period_label"], found_period)

    if unit_id and register_unit and register_unit != unit_id:
        add("unit_conflict", ERROR,
            f"Sổ công văn đến ghi tệp này của {register_unit} ({names.get(register_unit, '')}) nhưng nội dung tệp là của "
            f"{unit_id} ({names[unit_id]}): hãy kiểm tra lại.", value=item.file)
        unit_id = identified_by = None
    if unit_id and unit_id not in exp.tasks:
        add("unit_not_expected", ERROR,
            f"Đơn vị {unit_id} ({names[unit_id]}) không phải báo cáo kỳ {period.code}.", value=unit_id)
    if unit_id and file_unit and file_unit != unit_id and identified_by != "file_name":
        # the workbook's identity wins, but a file that may be another unit's figures in this unit's
        # template never replaces this unit's accepted figures: the officer asks the sender first
        add("file_name_other_unit", ERROR,
            f"Tên tệp ghi đơn vị {file_unit} ({names[file_unit]}) nhưng biểu mẫu là của {unit_id} ({names[unit_id]}): "
            f"tệp được ghi nhận cho {names[unit_id]} nhưng không được dùng. Nếu đây là báo cáo của {names[file_unit]}, "
            f"hãy điền vào biểu mẫu của {names[file_unit]}; nếu là của {names[unit_id]}, hãy đặt lại tên tệp rồi gửi "
            "lại.", value=item.file)
    return Identity(unit_id, identified_by, version, findings)


# ---------------------------------------------------------------- the run

def _receipts(folder: Path, registry):
    by_file, by_unit = {}, {}
    for receipt in read_register(folder):
        if receipt.file_name:
            unit = (receipt.unit if receipt.unit in set(registry.ids) else registry.find_by_name(receipt.unit)) \
                if receipt.unit else None
            by_file[receipt.file_name] = (receipt.received, unit)
            by_file.setdefault(Path(receipt.file_name).name, (receipt.received, unit))
        elif receipt.unit:
            unit = receipt.unit if receipt.unit in set(registry.ids) else registry.find_by_name(receipt.unit)
            if unit:
                by_unit.setdefault(unit, []).append(receipt.received)
    return by_file, by_unit


def _outcome(findings: list[dict]) -> str:
    if any(f["severity"] == ERROR for f in findings):
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
    over all their rows."""
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
        results = _read_all(jobs, contexts, progress)

        by_batch: dict[int, list[_Read]] = {}
        for result in results:
            by_batch.setdefault(result.batch, []).append(result)
        to_judge = {n: _record(batch, by_batch.get(n, []), now, stamp) for n, batch in enumerate(batches)}
        check_schemas([r.item for judged in to_judge.values() for _row, r in judged if r.item and r.item.sheets],
                      {r.key: r.extracted for judged in to_judge.values() for _row, r in judged
                       if r.extracted is not None})
        for n, batch in enumerate(batches):
            items = [r.item for _row, r in to_judge[n] if r.item is not None]
            if batch.expectations is not None:
                check_across([i for i in items if i.sheets], batch.expectations)
            _same_unit_twice(items)
            _judge(batch, to_judge[n], stamp)
            batch.ledger.finish_run(batch.run_id, clock.now(batch.source.settings).isoformat(),
                                    len(batch.files), batch.report.files_new)
            if write_outputs:

                s = batch.source
                batch.report.check_report = write_check_report(s.settings, batch.ledger, s.period, s.registry)
                batch.report.feedback_files = write_unit_feedback(s.settings, batch.ledger, s.period, s.registry,
                                                                  [j["id"] for j in batch.report.judged])
    return [batch.report for batch in batches]


def _start(source: Source, ledger: Ledger, stamp: str) -> _Batch:
    """The run's start for one project: its files, its register of receipts, its run id, what its
    ledger already has and what a killed run left pending."""
    period, province = source.period, source.settings.province_code
    folder = submissions_dir(source.settings, period)
    by_file, by_unit = _receipts(folder, source.registry)
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


def _attachment_verdict(batch: _Batch, result: "_Read", sent: dict) -> dict:
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
        rule = "excel_file_missing"
    else:
        message = (f"Tệp là {what}, không phải bảng tính, và không rõ của đơn vị nào (tên tệp, thư mục không ghi "
                   "đơn vị): hãy gửi tệp biểu mẫu Excel đã điền; bản ký nên đặt tên có tên đơn vị.")
        rule = "not_a_spreadsheet"
    return {**verdict, "outcome": REJECTED,
            "findings": [{"unit_id": unit, "file": result.name, "sheet": "", "cell": "", "value": "", "rule": rule,
                          "severity": ERROR, "message": message}]}


def _judge_one(batch: _Batch, row, result: "_Read", stamp: str, sent: dict) -> None:
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
        verdict["findings"] = [{"unit_id": verdict["unit_id"], "file": result.name, "sheet": "", "cell": "",
                                "value": result.name, "rule": "control_character", "severity": WARNING,
                                "message": f"Tên tệp có ký tự điều khiển ({', '.join(result.name_controls)}, thường do "
                                           "chép từ USB hoặc thư điện tử), đã bỏ khi ghi nhận: lần sau hãy đặt tên "
                                           "tệp chỉ gồm chữ và số."}, *verdict["findings"]]
        verdict["outcome"] = verdict["outcome"] if verdict["outcome"] != ACCEPTED else WARNED
    version = batch.ledger.judge(row["id"], receipt=receipt, now=stamp, **verdict)
    batch.report.judged.append({**dict(row), **{k: v for k, v in verdict.items()
                                                if k not in ("tasks", "indicators", "info", "attachment")},
                                "version": version, "unit_name": names.get(verdict["unit_id"], ""),
                                "receipt_date": receipt[0] if receipt else row["receipt_date"]})


@dataclass
class _Read:
    """One file of the run: hashed and archived (a file found) and read, identified and its cells
    extracted; or the findings of a file that could not be read."""

    key: int                  # unique in the run
    batch: int                # which project
    name: str                 # the path under the period folder, as the ledger records it
    left: int | None = None   # the ledger id of a file a killed run left pending (read from the archive)
    sha: str | None = None    # a file found: its content's hash (None: it could not be opened)
    size: int = 0
    archived: str | None = None
    why: str = ""             # why it could not be opened
    item: Item | None = None
    identity: Identity | None = None
    extracted: object = None  # validate.Extracted, when the item has sheets
    findings: list = field(default_factory=list)
    attachment: str | None = None       # 'pdf' or 'image': a scan kept beside a workbook, not read
    attachment_unit: str | None = None  # the unit its name, folder or register row names
    name_controls: list = field(default_factory=list)   # control characters removed from its name


READ_SECONDS = 20          # a file still being read after this long is rejected (a damaged .xls can loop)
WORKER_MEMORY = 1 << 30    # the address space a reading process may add to what it inherits
_IN_PROCESS = False        # read in this process (tests comparing with the reading processes set it)


def _read_all(jobs: list, contexts: list, progress) -> list[_Read]:
    """Every job of the run: each file received (hashed, archived), then read, identified and its
    cells extracted in reading processes (forked), so that whatever one file does to its reader (a
    panic, a crash, all the memory, an endless loop) ends with that file rejected and the others
    read. A small batch is received here and read in one process; a large one is received and read
    in the pool, in parallel (a file whose reader died is received again here: archiving is
    idempotent). Results come in job order."""
    from tqdm import tqdm

    if len(jobs) >= _POOL_FROM:
        work = [(job, None) for job in jobs]
    else:
        work = [(job, _receive(job, contexts)) for job in jobs]
    bar = tqdm(total=len(work), desc="Đọc tệp", unit="tệp", delay=1.0, leave=False,
               disable=(not progress) if progress is not None else (len(work) < _PROGRESS_FROM or None))
    read = _examine_all(work, contexts, bar)
    bar.close()
    return [read[job[0]] for job in jobs]


def _receive(job, contexts: list) -> tuple["_Read", Path | None, bytes | None]:
    """One job's file hashed and archived untouched (the bytes read once serve the hash, the archived
    copy and the reading); with what the reader needs (its path, its bytes), or None, None when it
    is not to be read (the ledger has its content, or it could not be opened)."""
    key, batch, outputs, path, name, left = job
    known = contexts[batch][4]
    name, found = strip_controls(unicodedata.normalize("NFC", name))
    name = re.sub(r"[\r\n]+", " ", name) if found else name   # (a line break in a name: a space)
    result = _Read(key, batch, name, left, name_controls=found)
    if left is not None:   # read from its archived copy
        try:
            return result, None, path.read_bytes() if 0 < path.stat().st_size <= MAX_FILE_BYTES else None
        except OSError:
            return result, path, None
    try:
        sha, size, data = received_content(path)
    except OSError as exc:  # locked by another program, no permission: the next run tries again
        result.why = exc.strerror or str(exc)
        return result, None, None
    result.sha, result.size = sha, size
    result.archived = archive_file(outputs, path, sha, data)
    if sha in known:
        return result, None, None   # nothing new: not read again
    return result, (path if data is None else None), data


_CONTEXTS: list | None = None   # what a forked reader needs, per project, inherited from the parent


def _examine_all(work: list, contexts: list, bar) -> dict[int, "_Read"]:
    out: dict[int, _Read] = {}
    with _reader_pool(len(work), contexts) as pool:
        if pool is None:
            for job, received in work:
                out[job[0]] = _work(job, received, contexts)
                bar.update()
            return out
        size = max(8, len(work) // 128)
        pending = {pool.submit(_work_in_worker, work[i:i + size]) for i in range(0, len(work), size)}
        while pending:
            done, pending = wait(pending, timeout=READ_SECONDS, return_when=FIRST_COMPLETED)
            if not done:
                break   # a reader has been stuck on one file too long
            for future in done:
                try:
                    for result in future.result():
                        out[result.key] = result
                        bar.update()
                except Exception:  # noqa: BLE001 - a reading process died: its files are read one by one below
                    pass
        if pending or len(out) < len(work):
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.kill()
            pool.shutdown(wait=False, cancel_futures=True)
        for job, received in work:   # (_CONTEXTS is set by _reader_pool for the child _examine_alone forks)
            if job[0] not in out:
                result, path, data = received or _receive(job, contexts)
                out[job[0]] = (_examine_alone(result, path, data) if path is not None or data is not None
                               else result)
                bar.update()
    return out


def _work(job, received, contexts: list) -> "_Read":
    """One job: received (unless it was), then examined if there is anything to read."""
    result, path, data = received or _receive(job, contexts)
    if path is None and data is None:
        return result   # known already, or could not be opened
    return _examine(result, path, data, contexts)


def _work_in_worker(chunk: list) -> list["_Read"]:
    return [_work(job, received, _CONTEXTS) for job, received in chunk]


_POOL_FROM = 40   # files; below this one reading process, above one per core


@contextmanager
def _reader_pool(files: int, contexts: list):
    """A pool of forked reading processes (one below _POOL_FROM files, else one per core) where the
    system can fork (not Windows, where a worker would start by importing everything again); else
    None, and files are read in this process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _CONTEXTS
    if not files or _IN_PROCESS or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    workers = 1 if files < _POOL_FROM else max(1, min(os.cpu_count() or 1, files // 20))
    _CONTEXTS = contexts
    # Objects that exist before the fork are left out of the workers' garbage collections: a
    # collection would otherwise walk (and so copy) the whole inherited heap of pandas and pandera.
    gc.freeze()
    try:
        # (a worker that dies breaks the pool with an error, where multiprocessing.Pool would hang)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                 initializer=_limit_memory) as pool:
            yield pool
    finally:
        gc.unfreeze()
        _CONTEXTS = None


def _limit_memory() -> None:
    """A reading process may use WORKER_MEMORY more than it inherited: a file that asks for more
    fails its reader (or kills this process), not the machine. What a dying reader prints (Rust's
    "memory allocation of … bytes failed") is not for the officer's terminal: the file's finding
    says it."""
    import faulthandler

    faulthandler.disable()   # (when a test runner enabled it: its dump goes to the terminal too)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        pass
    try:
        import resource

        with open("/proc/self/statm") as handle:
            used = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = used + WORKER_MEMORY
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        if soft == resource.RLIM_INFINITY or limit < soft:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        pass


def _examine_alone(result: "_Read", path, data) -> "_Read":
    """One file read in a process of its own, given READ_SECONDS: if it dies or does not finish,
    the file is rejected with a finding that says so."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_examine_and_send, args=(result, path, data, sender), daemon=True)
    process.start()
    sender.close()
    rule = "read_timeout"
    try:
        if receiver.poll(READ_SECONDS):
            try:
                return receiver.recv()
            except Exception:  # noqa: BLE001 - the process died before sending its result
                rule = "reader_crashed"
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
    message = (f"Đọc tệp quá {READ_SECONDS} giây chưa xong (tệp bị hỏng hoặc có cấu trúc bất thường) nên tệp không "
               "được đọc" if rule == "read_timeout" else
               "Tệp làm chương trình đọc bảng tính dừng đột ngột (tệp bị hỏng hoặc đòi quá nhiều bộ nhớ) nên tệp "
               "không được đọc")
    result.findings = [{"unit_id": None, "file": result.name, "sheet": "", "cell": "", "value": "", "rule": rule,
                        "severity": ERROR, "message": message + ": hãy mở lại tệp bằng Excel hoặc LibreOffice, lưu "
                                                                "lại rồi gửi."}]
    return result


def _examine_and_send(result, path, data, sender) -> None:
    _limit_memory()
    try:
        out = _examine(result, path, data, _CONTEXTS)
    except BaseException as exc:  # noqa: BLE001 - whatever it is, the parent hears of it
        result.findings = [unexpected(result.name, exc)]
        out = result
    sender.send(out)
    sender.close()


def _examine(result: "_Read", path: Path | None, data: bytes | None, contexts: list) -> "_Read":
    """One file read, identified and its cells extracted; anything it raises (a Rust panic is a
    BaseException, which cannot even be sent back from a reading process) becomes a finding."""
    try:
        return _examine_file(result, path, data, contexts)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - a file we did not foresee must not stop the batch
        result.item = result.identity = result.extracted = None
        result.findings = [unexpected(result.name, exc)]
        return result


def _examine_file(result: "_Read", path: Path | None, data: bytes | None, contexts: list) -> "_Read":
    directory, exp, period, by_file, _known = contexts[result.batch]
    name = result.name
    head = data[:8] if data is not None else b""
    kind = next((k for magic, k in SIGNATURES if head.startswith(magic)), None)
    if kind is not None:   # a signed scan or a photo: kept beside the unit's workbook, not read
        result.attachment = kind
        register = by_file.get(name) or by_file.get(Path(name).name)
        result.attachment_unit = (register[1] if register and register[1] else None) or _unit_of_name(directory, name)
        return result
    try:
        workbook = read_workbook(Path(name) if data is not None else path,
                                 skip=(layout.SHEET_GUIDE, layout.SHEET_LISTS), data=data)  # no data in those two
    except Unreadable as exc:
        result.findings = [{"unit_id": None, "file": name, "sheet": "", "cell": "", "value": "",
                            "rule": exc.rule, "severity": ERROR, "message": exc.message}]
        return result
    item = Item(key=result.key, file=name, unit_id=None, workbook=workbook, sheets={})
    try:
        item.sheets, sheet_findings = locate_sheets(workbook, item)
        register = by_file.get(name) or by_file.get(Path(name).name)
        ident = identify(item, workbook, directory, exp, period, register[1] if register else None)
    except Exception as exc:  # noqa: BLE001 - a file we did not foresee must not stop the batch
        result.findings = [unexpected(name, exc)]
        return result
    item.unit_id = ident.unit_id
    for f in (*ident.findings, *sheet_findings):
        f["unit_id"] = ident.unit_id
    item.findings.extend(sheet_findings)
    item.findings.extend(read_findings(item))
    result.extracted = extract(item, exp) if item.sheets else None
    result.item, result.identity = item.without_cells(), ident
    return result


def _unit_of_name(directory: "Directory", name: str) -> str | None:
    """The unit a file's name or, failing that, its folder names."""
    parts = Path(name).parts
    for part in (parts[-1], *reversed(parts[:-1])):
        unit = directory.unit_in_file_name(part)
        if unit:
            return unit
    return None


def unexpected(file: str, exc: Exception) -> dict:
    """The finding for a file that broke the reader in a way nobody foresaw (a bug to report)."""
    return {"unit_id": None, "file": file, "sheet": "", "cell": "", "value": "", "rule": "unexpected_error",
            "severity": ERROR, "message": f"Không xử lý được tệp do lỗi không lường trước ({type(exc).__name__}: "
                                          f"{exc}); hãy mở lại tệp bằng Excel, lưu lại rồi gửi, và báo lỗi này "
                                          "cho người quản trị phần mềm."}


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
            item.findings.append(finding(item, "", "", item.file, "two_files_in_batch", WARNING,
                                         f"Cùng lần nhận có {len(group)} tệp khác nhau của đơn vị này ({names}); "
                                         f"tệp nhận sau cùng ({group[-1].file}) được tính là bản mới nhất. "
                                         "Nếu không đúng, hãy xoá tệp thừa khỏi thư mục và gửi lại tệp đúng."))
