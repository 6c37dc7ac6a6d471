"""What a period received: the files under inputs/submissions/<period>/ that are reports (system,
lock and empty files aside), their content hashes, their untouched archive copies, their receipt
dates from the register so-den.csv, and the signed scans beside them."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from pipeline.common.filetypes import ATTACHMENT_SUFFIXES, FORMATS, OLE_MAGIC, ZIP_MAGIC
from pipeline.store.ledger import signed_scans
from pipeline.reference.periods import Period
from pipeline.intake.reader import MAX_FILE_BYTES
from pipeline.intake.register import REGISTER_NAME, read_register

ARCHIVE_DIR = "archive"


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


def receipts_by_file_and_unit(folder: Path, registry):
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
