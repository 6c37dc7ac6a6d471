"""What each kind of message carries, built from the other stages' outputs: each unit its blank
template (distribute), its feedback workbook with a summary of its findings (send-feedback), and
the signed reminder letter to the units the audit addresses (send-reminders)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.reference.settings import Settings
from pipeline.common.errors import MailError
from pipeline.reference.periods import Period
from pipeline.common.text import nfc
from pipeline.reference.project import Project
from pipeline.audit.legend import MAIL_MERGE_CSV
from pipeline.audit.letter import letter_path
from pipeline.forms.templates import template_path, template_specs, write_templates
from pipeline.intake.feedback import FEEDBACK_DIR
from pipeline.intake.register import parse_date
from pipeline.store.ledger import latest_findings
from pipeline.common.filetypes import LETTER_SUFFIXES, SPREADSHEET_SUFFIXES
from pipeline.common.formatting import dmy
from pipeline.mail.links import LINKS_COLUMNS, write_links
from pipeline.mail.compose import Outgoing, recipients_from_registry



# ---------------------------------------------------------------------------------------------
# What each kind sends: plain lists of Outgoing, built from the other stages' outputs


def distribution(project: Project, period: Period, unit_id: str | None = None) -> list[Outgoing]:
    """Each expected unit with its own blank template, generating the templates that are missing."""
    settings, registry = project.settings, project.registry

    specs = template_specs(project, period, unit_id)
    paths = {s.unit_id: template_path(settings, period, s.unit_id, s.unit_name) for s in specs}
    if any(not p.is_file() for p in paths.values()):
        write_templates(project, period, unit_id)
    recipients = {r.unit_id: r for r in recipients_from_registry(registry, list(paths))}
    urls = {}
    if settings.web.public_url:   # each unit its own upload link (the same one at every run until revoked)
        urls = {row[LINKS_COLUMNS[0]]: row[LINKS_COLUMNS[3]]
                for row in write_links(project, period, settings.web.public_url).rows}
    return [Outgoing(recipients[uid], (path,), {"upload_url": urls[uid]} if uid in urls else {})
            for uid, path in paths.items()]


MAX_FINDINGS_IN_MAIL = 10


def feedback_folder(settings: Settings, period: Period) -> Path:
    """Where ingestion writes each unit's feedback workbook (`<period>_<unit id>_<slug>_phan-hoi.xlsx`)."""

    return settings.path("outputs") / period.code / FEEDBACK_DIR


def files_by_unit(folder: Path, unit_ids: list[str], suffixes=SPREADSHEET_SUFFIXES) -> dict[str, list[Path]]:
    """The files in `folder` whose name carries a unit's id as a separate token (`..._03405_...`)."""
    found: dict[str, list[Path]] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in suffixes:
            continue
        tokens = set(re.split(r"[_\s.()]+", path.stem))
        owners = [uid for uid in unit_ids if uid in tokens]
        if len(owners) == 1:
            found.setdefault(owners[0], []).append(path)
    return found


def findings_summary(settings: Settings, period: Period, unit_id: str) -> dict:
    """errors, warnings and the first findings of the unit's latest judged submission, from the
    ledger's `latest_submissions` and `findings` (empty when ingestion has not recorded any)."""
    findings = latest_findings(settings.path("ledger"), period.code, unit_id)
    return {"errors": sum(f["severity"] == "error" for f in findings),
            "warnings": sum(f["severity"] == "warning" for f in findings),
            "findings": findings[:MAX_FINDINGS_IN_MAIL], "more": max(0, len(findings) - MAX_FINDINGS_IN_MAIL)}


def feedback(project: Project, period: Period, folder: Path | None = None,
             unit_id: str | None = None) -> list[Outgoing]:
    """Each unit's feedback workbook(s) from `folder`, with a summary of its findings for the body."""
    settings, registry = project.settings, project.registry
    folder = folder or feedback_folder(settings, period)
    if not folder.is_dir():
        raise MailError(f"Không có thư mục kết quả kiểm tra {folder}: chạy nhập báo cáo (ingest) trước")
    ids = [unit_id] if unit_id else registry.ids
    if unit_id:
        registry.get(unit_id)
    files = files_by_unit(folder, ids)
    recipients = {r.unit_id: r for r in recipients_from_registry(registry, list(files))}
    return [Outgoing(recipients[uid], tuple(paths), findings_summary(settings, period, uid))
            for uid, paths in files.items()]


@dataclass(frozen=True)
class SignedLetter:
    """The signed, numbered công văn that goes out instead of the audit's draft."""

    path: Path
    number: str          # as the letter gives it: 123/SYT-NVY
    date: dt.date


_LETTER_DATES = (   # day first, the Vietnamese way; then ISO; then 20062026
    (re.compile(r"(?<!\d)(\d{1,2})[.\-_ ](\d{1,2})[.\-_ ](\d{4})(?!\d)"), "dmy"),
    (re.compile(r"(?<!\d)(\d{4})[.\-_](\d{1,2})[.\-_](\d{1,2})(?!\d)"), "ymd"),
    (re.compile(r"ng[aà]y\s*(\d{1,2})\s*th[aá]ng\s*(\d{1,2})\s*n[aă]m\s*(\d{4})", re.IGNORECASE), "dmy"),
    (re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{4})(?!\d)"), "dmy"),
)
# the number, and the issuing code after it in capitals: 123-SYT-NVY -> 123/SYT-NVY
_LETTER_NUMBER = re.compile(r"(?<![\d])(\d{1,5})(?![\d])(?:[-_ ]+((?:[A-ZĐ][A-ZĐ0-9]+)(?:[-_][A-ZĐ][A-ZĐ0-9]*)*))?")


def letter_reference(name: str) -> tuple[str, dt.date | None]:
    """(number, date) of a letter read from its file name, forgivingly: `123-SYT-NVY 20-06-2026.pdf`
    -> ('123/SYT-NVY', 20/06/2026); `CV 123 ngay 20.6.2026.pdf` -> ('123', 20/06/2026); '' and None
    for what the name does not give."""
    stem = nfc(Path(name).stem)
    day = None
    for pattern, order in _LETTER_DATES:
        match = pattern.search(stem)
        if not match:
            continue
        a, b, c = (int(g) for g in match.groups())
        try:
            day = dt.date(c, b, a) if order == "dmy" else dt.date(a, b, c)
        except ValueError:
            continue
        stem = stem[:match.start()] + " " + stem[match.end():]
        break
    match = _LETTER_NUMBER.search(stem)
    number = ""
    if match:
        number = match.group(1) + (f"/{match.group(2).replace('_', '-')}" if match.group(2) else "")
    return number, day


def signed_letter(path: Path, number: str | None = None, day: dt.date | None = None) -> SignedLetter:
    """The signed letter given on the command line, its number and date from `number`/`day` or else
    from its file name; one clear line for what is missing."""
    if path.suffix.lower() not in LETTER_SUFFIXES:
        raise MailError(f"Công văn đã ký {path.name} phải là tệp PDF hoặc DOCX (bản scan có chữ ký, dấu)")
    if not path.is_file():
        raise MailError(f"Không tìm thấy công văn đã ký {path}")
    found_number, found_day = letter_reference(path.name)
    number, day = nfc(number or "").strip() or found_number, day or found_day
    missing = [what for what, value in (("số (--so 123/SYT-NVY)", number), ("ngày (--ngay 20/06/2026)", day))
               if not value]
    if missing:
        raise MailError(f"Không đọc được {' và '.join(missing)} của công văn từ tên tệp {path.name}: ghi rõ bằng "
                        f"{', '.join(m[m.index('(') + 1:-1] for m in missing)}, hoặc đặt tên tệp như "
                        f"\"123-SYT-NVY 20-06-2026.pdf\"")
    return SignedLetter(path, number, day)


def reminders(registry, letter: Path | SignedLetter, unit_ids: list[str], statuses: dict[str, str] | None = None,
              new_deadline: dt.date | None = None) -> list[Outgoing]:
    """The reminder letter to each unit it addresses (`statuses`: unit id -> missing | rejected):
    the signed letter, its number and date in the message, or the audit's draft (a path)."""
    signed = letter if isinstance(letter, SignedLetter) else None
    letter = signed.path if signed else letter
    if not letter.is_file():
        raise MailError(f"Không tìm thấy công văn đôn đốc {letter}: chạy kiểm tra tình hình nộp (audit) trước")
    statuses = statuses or {}
    extra = {"new_deadline": dmy(new_deadline) if new_deadline else "",
             "letter_number": signed.number if signed else "",
             "letter_date": dmy(signed.date) if signed else ""}
    return [Outgoing(r, (letter,), {**extra, "status": statuses.get(r.unit_id, "")})
            for r in recipients_from_registry(registry, unit_ids)]


def reminder_letter_path(settings: Settings, period: Period) -> Path:

    return letter_path(settings, period)


@dataclass(frozen=True)
class AuditAddressees:
    unit_ids: list[str]
    statuses: dict[str, str]        # unit id -> the audit's status code (missing, rejected, ...)
    new_deadline: dt.date | None


def audit_addressees(settings: Settings, period: Period) -> AuditAddressees:
    """The units the last audit addressed its letter to, read from the audit's mail-merge CSV
    (`outputs/<period>/tinh-hinh-nop-bao-cao.csv`), written in the same run as the letter, so the
    list and the letter always agree."""
    import csv

    path = settings.path("outputs") / period.code / MAIL_MERGE_CSV
    if not path.is_file():
        raise MailError(f"Chưa có kết quả kiểm tra tình hình nộp kỳ {period.code} ({path}): chạy "
                        f"make audit PERIOD={period.code} trước, hoặc ghi rõ đơn vị bằng --unit")
    ids, statuses, deadline = [], {}, None
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if nfc(row.get("Gửi công văn đôn đốc") or "").lower() != "có":
                continue
            uid = nfc(row.get("Mã đơn vị") or "")
            ids.append(uid)
            statuses[uid] = nfc(row.get("Mã tình trạng") or "")
            try:
                deadline = parse_date(row.get("Hạn nộp mới") or "")
            except ValueError:
                pass
    return AuditAddressees(ids, statuses, deadline)
