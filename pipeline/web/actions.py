"""What the pages do, as calls to the same stage functions the command line calls: receive a file
(saved under a generated name, then the ingest stage), templates, audit, report. One writer at a
time: a lock of this server around every stage that writes, and the ledger's own run lock (taken
by the ingest stage) against the command line running beside the server."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
import threading
import zipfile
from dataclasses import dataclass

from pipeline.common import clock
from pipeline.common.atomic import write_bytes
from pipeline.common.errors import BaocaoError
from pipeline.intake.ingest import ingest, submissions_dir
from pipeline.store.ledger import Ledger, submission_by_sha, submission_findings
from pipeline.common.filetypes import FORMATS, OLE_MAGIC, ZIP_MAGIC
from pipeline.intake.register import Receipt, append_receipts
from pipeline.common.text import ascii_slug

WRITER = threading.Lock()   # one stage writing at a time in this server
WEB_FOLDER = "web"          # under inputs/submissions/<period>/: the files received through the pages


class UploadRefused(BaocaoError):
    """An upload that is not a spreadsheet ingestion reads: nothing of it is kept."""


def check_spreadsheet(name: str, head: bytes) -> str:
    """The suffix to save the file under (xlsx, xlsm, xls, ods), from its name and checked against its
    first bytes; raises UploadRefused for anything else (an .exe renamed .xlsx, a PDF, ...)."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in FORMATS:
        raise UploadRefused(f"Chỉ nhận bảng tính ({', '.join('.' + f for f in FORMATS)}); tệp đã chọn không phải "
                            "bảng tính. Không có gì được lưu.")
    magic = OLE_MAGIC if suffix == "xls" else ZIP_MAGIC
    if not head.startswith(magic) and not (suffix == "xls" and head.startswith(ZIP_MAGIC)):
        raise UploadRefused(f"Tệp có đuôi .{suffix} nhưng nội dung không phải bảng tính (có thể đã bị đổi tên "
                            "hoặc bị hỏng). Không có gì được lưu.")
    return suffix


def _stamp(settings) -> str:
    return clock.now(settings).strftime("%Y%m%dT%H%M%S")


def save_received(settings, period, data: bytes, suffix: str, label: str) -> str:
    """Writes a received file into the period's folder under a generated name (never the name the
    browser sent); returns its name relative to that folder."""
    name = f"{WEB_FOLDER}/{label}_{_stamp(settings)}_{secrets.token_hex(4)}.{suffix}"
    write_bytes(submissions_dir(settings, period) / name, data)
    return name


@dataclass(frozen=True)
class Verdict:
    submission: dict | None   # the ledger's row for the file (None: not judged, e.g. an empty file)
    findings: list[dict]
    new: bool                 # False when the same bytes had been received before


def _verdict_of(settings, period, sha: str, new: bool) -> Verdict:
    with Ledger(settings.path("ledger"), readonly=True) as ledger:
        row = submission_by_sha(ledger, period.code, settings.province_code, sha)
        if row is None:
            return Verdict(None, [], new)
        return Verdict(dict(row), [dict(f) for f in submission_findings(ledger, row["id"])], new)


def receive_unit_file(project, period, unit_id: str, data: bytes, suffix: str) -> Verdict:
    """A unit's upload: saved, entered in the register as that unit's (so a file of another unit's
    template is a conflict, never counted for the other unit), then ingested like every file."""
    settings = project.settings
    sha = hashlib.sha256(data).hexdigest()
    with WRITER:
        known = _known(settings, period, sha)
        if not known:
            name = save_received(settings, period, data, suffix, unit_id)
            append_receipts(submissions_dir(settings, period),
                            [Receipt(name, unit_id, clock.today(settings), "", "Nộp qua trang web")])
        ingest(project, period)
    return _verdict_of(settings, period, sha, not known)


def _known(settings, period, sha: str) -> bool:
    if not settings.path("ledger").is_file():
        return False
    with Ledger(settings.path("ledger"), readonly=True) as ledger:
        return submission_by_sha(ledger, period.code, settings.province_code, sha) is not None


def receive_officer_files(project, period, files: list[tuple[str, bytes]], progress=None) -> list[tuple[str, Verdict]]:
    """Files the officer dropped on the page (from a USB stick, the document system): each saved under
    a generated name keeping a plain-letters trace of its own, then one ingest run for them all."""
    settings = project.settings
    kept = []
    with WRITER:
        for original, data in files:
            suffix = check_spreadsheet(original, data[:8])
            sha = hashlib.sha256(data).hexdigest()
            if not _known(settings, period, sha):
                label = "can-bo-" + (ascii_slug(original.rsplit(".", 1)[0])[:60] or "tep")
                save_received(settings, period, data, suffix, label)
            kept.append((original, sha))
        if progress:
            progress(f"Đã lưu {len(kept)} tệp; đang kiểm tra...")
        ingest(project, period)
    return [(original, _verdict_of(settings, period, sha, True)) for original, sha in kept]


def ingest_waiting(project, period) -> None:
    """What every judging command does first: ingest what is new (the audit stage's own function)."""
    from pipeline.audit.status import ingest_waiting as ingest_new, waiting_files

    if waiting_files(project.settings, period):
        with WRITER:
            ingest_new(project, period)


def issue_links(project, period, base_url: str, revoke: list[str] = ()):
    """The `links` command's work: every unit's live link for the period, `revoke` re-issued."""
    from pipeline.mail.links import write_links

    with WRITER:
        return write_links(project, period, base_url, list(revoke))


def make_templates(project, period, unit_id: str | None = None) -> list[dict]:
    from pipeline.forms.templates import write_templates

    with WRITER:
        return write_templates(project, period, unit_id)


def templates_zip(project, period) -> bytes:
    """Every template of the period and the list, in one zip (fixed entry times: same bytes each time)."""
    from pipeline.common.atomic import FIXED_ZIP_TIME
    from pipeline.forms.templates import templates_dir

    buffer = io.BytesIO()
    folder = templates_dir(project.settings, period)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.glob("*")) if folder.is_dir() else []:
            if path.is_file() and not path.name.startswith("."):
                archive.writestr(zipfile.ZipInfo(path.name, FIXED_ZIP_TIME), path.read_bytes())
    return buffer.getvalue()


def run_audit(project, period, as_of: dt.date | None = None):
    """The audit command's work: status per unit, then the workbook, the mail-merge CSV and the letter."""
    from pipeline.audit.status import submission_status
    from pipeline.audit.outputs import write_audit
    from pipeline.store.lock import lock_state

    ingest_waiting(project, period)
    day = as_of or clock.today(project.settings)
    status = submission_status(project, period, day)
    lock = lock_state(project.settings, period)
    if lock is not None:   # as the CLI: a unit whose file came after the lock is not reminded
        late = {r["unit_id"] for r in lock.after if r["unit_id"]}
        status.loc[status["unit_id"].isin(late), "needs_reminder"] = False
    with WRITER:
        return write_audit(project.settings, period, status, day)


def build_report(project, period, force: bool = False):
    """The semiannual/annual command's work: ingest what is new (both halves for the year), then the
    report stage's lock-aware build (`report_period`, which records the build)."""
    from pipeline.report.build import report_period

    periods = [period]
    if period.is_annual and submissions_dir(project.settings, period.first_half(project.settings)).is_dir():
        periods.insert(0, period.first_half(project.settings))
    for each in periods:
        ingest_waiting(project, each)
    with WRITER:
        return report_period(project, period, None, force)


def overview(project, period):
    """The audit's own computation for today, read only, and the files waiting."""
    from pipeline.audit.status import submission_status, waiting_files

    status = submission_status(project, period, clock.today(project.settings))
    return status, waiting_files(project.settings, period)
