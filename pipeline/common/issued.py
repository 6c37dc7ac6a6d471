"""The Word files we issue are never written over once the officer edited them: the SHA-256 of
every .docx written is recorded in `outputs/.ban-da-ghi.json`, and a file whose bytes are not the
ones recorded gets a new `…-ban-N.docx` beside it (`write_issued`). No Word library here: a rerun
that only writes the kept reports back (pipeline/report/reuse.py) imports none."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from pipeline.common.atomic import write_bytes

RECORD_NAME = ".ban-da-ghi.json"   # in the outputs folder: the SHA-256 of every .docx we wrote


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _load_record(path: Path) -> dict:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def draft_path(path: Path, number: int) -> Path:
    """`bao-cao-nam-2026.docx` → `bao-cao-nam-2026-ban-2.docx` (number 1: the path itself)."""
    return path if number == 1 else path.with_name(f"{path.stem}-ban-{number}{path.suffix}")


def write_issued(path: Path, data: bytes, outputs: Path) -> Path:
    """Writes `data` to `path` atomically and returns where it went. A .docx already there whose
    bytes are not the ones we last wrote to it (the officer edited it in Word, or it predates this
    record) is never overwritten: the new draft goes to the first `…-ban-N.docx` that is free or
    still ours. The SHA-256 of what is written is recorded in `outputs`/.ban-da-ghi.json."""
    if path.suffix.lower() != ".docx":
        write_bytes(path, data)
        return path
    record_path = outputs / RECORD_NAME
    record = _load_record(record_path)
    number = 1
    while True:
        target = draft_path(path, number)
        key = target.relative_to(outputs).as_posix() if target.is_relative_to(outputs) else str(target)
        if not target.exists():
            break
        current = _sha256(target.read_bytes())
        if current == record.get(key) or current == _sha256(data):
            break
        number += 1
    write_bytes(target, data)
    record[key] = _sha256(data)
    write_bytes(record_path, (json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode())
    return target


_DRAFT = re.compile(r"^(?P<stem>.+)-ban-(?P<number>[0-9]+)$")


def kept_edits_notice(written: Path) -> str | None:
    """The line that tells the officer their edited document was kept, when `written` is a new
    draft beside it; else None."""
    match = _DRAFT.match(written.stem)
    if match is None:
        return None
    original = written.with_name(match["stem"] + written.suffix)
    return (f"Tệp {original.name} đã được sửa sau khi tạo nên được giữ nguyên; "
            f"bản mới ghi vào {written.name}.")
