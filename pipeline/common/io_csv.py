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


def validate_table(frame, schema, messages, path: Path):
    """Runs a pandera schema lazily; all failures become one ConfigError listing every line."""
    import pandera.pandas as pa

    # late: the schemas bring pandera, which only validation needs
    from schemas._messages import failure_lines

    try:
        return schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        lines = failure_lines(exc.failure_cases, str(path.name), messages)
        raise ConfigError("\n".join(lines)) from exc
