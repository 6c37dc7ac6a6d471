"""Ingestion of a period's submissions: discover, archive, record, identify, read, validate, store.

`ingest(...)` takes every file under `inputs/submissions/<period>/` (any name, subfolders too;
the register so-den.csv, hidden files and office lock files aside) and, in this order:

1. archives each new file untouched under `outputs/archive/<sha256[:2]>/<sha256><suffix>` and
   records it in the ledger as `pending`, all in one transaction, before judging anything. A file
   whose content the ledger already has for the period is skipped (re-ingesting is a no-op);
2. reads every pending file from its archived copy (python-calamine, see reader.py); a file that is
   not a readable workbook becomes a finding, never a stop;
3. identifies its unit and period from the metadata, falling back on the "Thông tin" sheet and on
   the file name (and says which it used); conflicts are findings;
4. validates the whole batch at once (validate.py), then stores each file's verdict, findings and
   values in one transaction per file, so a run killed half-way leaves the ledger consistent and
   the next run judges what is still pending.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import layout
from pipeline.ledger import ACCEPTED, PENDING, REJECTED, WARNED, Ledger, Received
from pipeline.periods import Period, plan_periods
from pipeline.reader import FORMATS, Unreadable, Workbook, defined_value, read_workbook
from pipeline.register import REGISTER_NAME, read_register
from pipeline.text import ascii_slug, fold, nfc
from pipeline.validate import (ERROR, WARNING, Expectations, Item, extract, finding, load_plausibility, locate_sheets,
                               validate_batch)

ARCHIVE_DIR = "archive"
OUTCOME_LABELS = {ACCEPTED: "Chấp nhận", WARNED: "Chấp nhận (có cảnh báo)", REJECTED: "Không chấp nhận",
                  PENDING: "Chưa kiểm tra"}
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


def submissions_dir(settings, period: Period) -> Path:
    return settings.path("submissions") / period.code


def discover(folder: Path) -> list[Path]:
    """Every candidate file under the period folder, in a stable order."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue  # hidden files, LibreOffice's .~lock.x.xlsx#
        if path.name.startswith("~$") or not path.is_file():
            continue  # Excel's owner file of an open workbook
        if relative.as_posix() == REGISTER_NAME:
            continue
        found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_file(outputs: Path, source: Path, sha: str) -> str:
    """Copies `source` into the content-addressed archive (idempotent); the path relative to outputs."""
    suffix = source.suffix.lower() if source.suffix.lower().lstrip(".") in FORMATS else ".bin"
    relative = Path(ARCHIVE_DIR) / sha[:2] / f"{sha}{suffix}"
    target = outputs / relative
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return relative.as_posix()


# ---------------------------------------------------------------- what is owed

def build_expectations(settings, registry, matrix, catalogue, period: Period, ledger: Ledger | None) -> Expectations:
    from pipeline.catalogue import indicator_obligations
    from pipeline.obligations import obligations

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
    plausibility = load_plausibility(settings.root / "schemas" / "plausibility.csv")
    exp = Expectations(period.code, tasks, indicators, plausibility)
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
        add("file_name_other_unit", WARNING,
            f"Tên tệp gợi ý đơn vị {file_unit} ({names[file_unit]}) nhưng nội dung là của {unit_id} ({names[unit_id]}): "
            "hãy kiểm tra đơn vị đã gửi đúng tệp chưa.", value=item.file)
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


def ingest(settings, registry, matrix, catalogue, period: Period, *, now: dt.datetime | None = None,
           progress: bool | None = None, write_outputs: bool = True) -> IngestReport:
    """Ingests what is new in the period's folder; see the module docstring."""
    now = (now or dt.datetime.now().astimezone()).replace(microsecond=0)
    stamp = now.isoformat()
    folder = submissions_dir(settings, period)
    outputs = settings.path("outputs")
    by_file, by_unit = _receipts(folder, registry)
    files = discover(folder)
    with Ledger(settings.path("ledger")) as ledger:
        run_id = ledger.start_run(period.code, stamp)
        known = ledger.known_hashes(period.code)
        received, batch_hashes, report_skipped = [], set(), []
        for path in files:
            try:
                sha = sha256_of(path)
            except OSError as exc:  # locked by another program, no permission: next run will try again
                report_skipped.append((path.relative_to(folder).as_posix(), exc.strerror or str(exc)))
                continue
            if sha in known or sha in batch_hashes:
                continue  # the same content again (perhaps under another name): nothing new
            batch_hashes.add(sha)
            relative = path.relative_to(folder).as_posix()
            register = by_file.get(relative) or by_file.get(path.name)
            receipt = (register[0].isoformat(), "so-den") if register else (now.date().isoformat(), "first_seen")
            received.append(Received(sha, path.stat().st_size, relative, archive_file(outputs, path, sha), stamp,
                                     *receipt))
        ledger.record_received(period.code, run_id, received)

        pending = ledger.pending(period.code)
        report = IngestReport(period.code, len(files), len(received), skipped=report_skipped)
        if pending:
            exp = build_expectations(settings, registry, matrix, catalogue, period, ledger)
            items, identities, unreadable, extracted = _read_all(pending, outputs, Directory.of(registry), exp, period,
                                                                 by_file, progress)
            validate_batch([i for i in items if i.sheets], exp, extracted)
            _same_unit_twice(items, identities)
            names = registry.units.set_index("id")["name"]
            items_by_key = {i.key: i for i in items}
            for row in pending:
                key = row["id"]
                item = items_by_key.get(key)
                if item is None:
                    findings = unreadable[key]
                    verdict = dict(unit_id=None, identified_by=None, fmt=None, template_version=None,
                                   outcome=REJECTED, findings=findings, tasks=[], indicators=[])
                else:
                    ident = identities[key]
                    findings = ident.findings + item.findings
                    verdict = dict(unit_id=ident.unit_id, identified_by=ident.identified_by,
                                   fmt=item.workbook.format, template_version=ident.template_version,
                                   outcome=_outcome(findings), findings=findings,
                                   tasks=[] if item.blank else item.tasks,
                                   indicators=[] if item.blank else item.indicators,
                                   info=None if item.blank else item.info)
                receipt = None
                if row["receipt_source"] == "first_seen" and verdict["unit_id"] in by_unit:
                    first_seen_day = dt.date.fromisoformat(row["first_seen"][:10])
                    days = sorted(by_unit[verdict["unit_id"]])
                    chosen = max((d for d in days if d <= first_seen_day), default=days[0])
                    receipt = (chosen.isoformat(), "so-den")
                version = ledger.judge(key, receipt=receipt, now=stamp, **verdict)
                report.judged.append({**dict(row), **{k: v for k, v in verdict.items() if k not in ("tasks", "indicators", "info")},
                                      "version": version, "unit_name": names.get(verdict["unit_id"], ""),
                                      "receipt_date": receipt[0] if receipt else row["receipt_date"]})
        ledger.finish_run(run_id, dt.datetime.now().astimezone().replace(microsecond=0).isoformat(),
                          len(files), len(received))
        if write_outputs:
            from pipeline.feedback import write_check_report, write_unit_feedback

            report.check_report = write_check_report(settings, ledger, period, registry)
            report.feedback_files = write_unit_feedback(settings, ledger, period, registry,
                                                        [j["id"] for j in report.judged])
    return report


def _read_all(pending, outputs: Path, directory: Directory, exp: Expectations, period: Period, by_file, progress):
    """Reads, identifies and extracts the cells of every pending file: in a pool of forked processes
    over the cores for a large batch (that is most of ingestion's time), else here."""
    from tqdm import tqdm

    jobs = [(row["id"], row["archive_path"], row["original_name"]) for row in pending]
    show = progress if progress is not None else None
    context = (outputs, directory, exp, period, by_file)
    items, identities, unreadable, extracted = [], {}, {}, {}
    with _reader_pool(len(jobs), context) as pool:   # forked before the progress bar starts its thread
        bar = tqdm(total=len(jobs), desc="Đọc tệp", unit="tệp", delay=1.0, leave=False,
                   disable=(not show) if show is not None else (len(jobs) < _PROGRESS_FROM or None))
        results = pool.map(_read_in_worker, jobs, chunksize=8) if pool else (_read_one(job, *context) for job in jobs)
        for key, item, ident, outcome in results:
            bar.update()
            if item is None:
                unreadable[key] = outcome
            else:
                identities[key] = ident
                items.append(item)
                if outcome is not None:
                    extracted[key] = outcome
        bar.close()
    return items, identities, unreadable, extracted


_POOL_FROM = 40   # files; below this forking workers costs more than it saves
_CONTEXT: tuple | None = None   # what a forked reader needs, inherited from the parent


@contextmanager
def _reader_pool(files: int, context: tuple):
    """A pool of forked readers when the batch is large, there are several cores and the system can
    fork (not Windows, where a worker would start by importing everything again); else None."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _CONTEXT
    workers = min(os.cpu_count() or 1, files // 20)
    if files < _POOL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    _CONTEXT = context
    # Objects that exist before the fork are left out of the workers' garbage collections: a
    # collection would otherwise walk (and so copy) the whole inherited heap of pandas and pandera.
    gc.freeze()
    try:
        # (a worker that dies breaks the pool with an error, where multiprocessing.Pool would hang)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            yield pool
    finally:
        gc.unfreeze()
        _CONTEXT = None


def _read_in_worker(job):
    return _read_one(job, *_CONTEXT)


def _read_one(job, outputs: Path, directory: Directory, exp: Expectations, period: Period, by_file):
    """(key, item, identity, its extracted rows or None without sheets) for a file read and
    identified; (key, None, None, findings) for a file that could not be."""
    key, archive_path, name = job
    path = outputs / archive_path
    try:
        workbook = read_workbook(path, skip=(layout.SHEET_GUIDE, layout.SHEET_LISTS))  # no data there
    except Unreadable as exc:
        return key, None, None, [{"unit_id": None, "file": name, "sheet": "", "cell": "", "value": "",
                                  "rule": exc.rule, "severity": ERROR, "message": exc.message}]
    item = Item(key=key, file=name, unit_id=None, workbook=workbook, sheets={})
    try:
        item.sheets, sheet_findings = locate_sheets(workbook, item)
        register = by_file.get(name) or by_file.get(Path(name).name)
        ident = identify(item, workbook, directory, exp, period, register[1] if register else None)
    except Exception as exc:  # noqa: BLE001 - a file we did not foresee must not stop the batch
        return key, None, None, [unexpected(name, exc)]
    item.unit_id = ident.unit_id
    for f in (*ident.findings, *sheet_findings):
        f["unit_id"] = ident.unit_id
    item.findings.extend(sheet_findings)
    extracted = extract(item, exp) if item.sheets else None
    return key, item.without_cells(), ident, extracted


def unexpected(file: str, exc: Exception) -> dict:
    """The finding for a file that broke the reader in a way nobody foresaw (a bug to report)."""
    return {"unit_id": None, "file": file, "sheet": "", "cell": "", "value": "", "rule": "unexpected_error",
            "severity": ERROR, "message": f"Không xử lý được tệp do lỗi không lường trước ({type(exc).__name__}: "
                                          f"{exc}); hãy mở lại tệp bằng Excel, lưu lại rồi gửi, và báo lỗi này "
                                          "cho người quản trị phần mềm."}


def _same_unit_twice(items: list[Item], identities: dict[int, Identity]) -> None:
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
