"""Reading the officer's CSV files: UTF-8 with or without the BOM Excel writes, every cell as text."""

from __future__ import annotations

from pathlib import Path

from pipeline.common.errors import ConfigError
from pipeline.common.text import nfc


def read_text_table(path: Path, columns: list[str], optional: tuple[str, ...] = ()):
    """A DataFrame of NFC strings with exactly `columns` (missing optional columns come blank)."""
    import pandas as pd

    if not path.is_file():
        raise ConfigError(f"Không tìm thấy tệp {path}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Tệp {path} không phải UTF-8: khi lưu từ Excel hãy chọn 'CSV UTF-8'") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConfigError(f"Tệp {path} không đọc được: {exc}") from exc
    frame.columns = [nfc(str(c)) for c in frame.columns]
    for column in optional:
        if column not in frame.columns:
            frame[column] = ""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(f"Tệp {path} thiếu cột: {', '.join(missing)}")
    extra = [c for c in frame.columns if c not in columns]
    if extra:
        raise ConfigError(f"Tệp {path} có cột không dùng đến: {', '.join(extra)}")
    return frame[columns].map(nfc)


def validate_table(frame, schema: str, messages: str, path: Path, memo: Path | None = None):
    """Runs the pandera schema `schema` ("module:Name"; failures explained with the dict
    `messages`, "module:NAME") lazily over `frame`; all failures become one ConfigError listing
    every line.

    With `memo` (a folder the project writes, outputs/), a table that passed this schema once and
    came out unchanged is not checked again while neither its content nor the schema's source nor
    pandera's version changes: the commands that only read the officer's lists (`units`, the
    report's rerun) then never import pandera, which costs more than the command itself."""
    key = _memo_key(frame, schema) if memo is not None else None
    if key is not None and key in _memo_read(memo):
        return frame
    import importlib

    import pandera.pandas as pa

    # late: the schemas bring pandera, which only validation needs
    from schemas._messages import failure_lines

    module, name = schema.split(":")
    try:
        validated = getattr(importlib.import_module(module), name).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        module, name = messages.split(":")
        lines = failure_lines(exc.failure_cases, str(path.name), getattr(importlib.import_module(module), name))
        raise ConfigError("\n".join(lines)) from exc
    if key is not None and _unchanged(frame, validated):
        _memo_add(memo, key)
    return validated


MEMO_NAME = ".bang-da-kiem-tra.json"   # in outputs/: tables that passed their schema (a cache; safe to delete)
_MEMO_KEEP = 64


def _memo_key(frame, schema: str) -> str:
    """A hash of the table's content and dtypes, the schema's source file and pandera's version."""
    import hashlib
    import importlib.util
    from importlib import metadata

    spec = importlib.util.find_spec(schema.split(":")[0])
    digest = hashlib.sha256()
    for part in (schema, metadata.version("pandera"), "|".join(map(str, frame.dtypes)), "|".join(frame.columns)):
        digest.update(part.encode("utf-8") + b"\0")
    digest.update(Path(spec.origin).read_bytes() if spec and spec.origin else b"")
    digest.update(frame.to_csv(index=True).encode("utf-8"))
    return digest.hexdigest()


def _unchanged(frame, validated) -> bool:
    """True when validating changed nothing (no coercion): skipping it later gives the same frame."""
    return (validated.equals(frame) and list(validated.dtypes) == list(frame.dtypes)
            and list(validated.columns) == list(frame.columns) and validated.index.equals(frame.index))


def _memo_read(folder: Path) -> list[str]:
    import json

    try:
        keys = json.loads((folder / MEMO_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return keys if isinstance(keys, list) else []


def _memo_add(folder: Path, key: str) -> None:
    import json

    from pipeline.common.atomic import write_text

    if not folder.is_dir():
        return   # a cache never creates the project's outputs/ (a data-only folder stays as it is)
    keys = [k for k in _memo_read(folder) if k != key][-(_MEMO_KEEP - 1):] + [key]
    try:
        write_text(folder / MEMO_NAME, json.dumps(keys))
    except OSError:
        pass   # a read-only project: validated every time, as before
