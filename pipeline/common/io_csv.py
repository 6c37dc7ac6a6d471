"""Reading the officer's CSV files: UTF-8 with or without the BOM Excel writes, every cell as text."""

from __future__ import annotations

import functools

from dataclasses import dataclass
from pathlib import Path

from pipeline.common.errors import ConfigError
from pipeline.common.text import nfc


@dataclass(frozen=True)
class TextTable:
    """A CSV file's cells as plain text, without pandas: what `read_text_table` gives, as rows."""

    path: Path
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def records(self) -> list[dict[str, str]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def frame(self):
        """The DataFrame `read_text_table` gives for the same file (text columns, a RangeIndex)."""
        import pandas as pd

        return pd.DataFrame({c: pd.Series([row[n] for row in self.rows], dtype=str)
                             for n, c in enumerate(self.columns)}, columns=list(self.columns))


def read_text_rows(path: Path, columns: list[str], optional: tuple[str, ...] = ()) -> TextTable:
    """`read_text_table` without pandas (the csv module): the same cells, NFC text, the same errors.

    As pandas reads it: the BOM Excel writes is dropped, blank lines are skipped, a short line's
    missing cells are blank, "NA" or "null" stay text; a header cell that is blank becomes
    `Unnamed: <n>` and a repeated one `<name>.1` (so both are reported as columns not used). A line
    with more cells than the header is an unreadable file (pandas misreads a first such line as
    the row labels)."""
    import csv

    if not path.is_file():
        raise ConfigError(f"Không tìm thấy tệp {path}")
    def rows(strict: bool) -> list[list[str]]:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [row for row in csv.reader(handle, strict=strict)
                    if row and not (len(row) == 1 and not row[0].strip())]

    try:
        try:
            lines = rows(strict=True)
        except csv.Error as exc:
            # a quote left open runs to the end of the file, swallowing every line after it (the
            # units they name would vanish): refused, as pandas refused it. Other slips pandas
            # reads its way (`"Sở"Y tế` is `SởY tế`), and so does the lenient reader.
            if "unexpected end of data" in str(exc):
                raise ConfigError(f"Tệp {path} không đọc được: có dấu ngoặc kép \" mở mà không đóng "
                                  f"(mọi dòng sau nó bị gộp vào một ô)") from exc
            lines = rows(strict=False)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Tệp {path} không phải UTF-8: khi lưu từ Excel hãy chọn 'CSV UTF-8'") from exc
    except csv.Error as exc:
        raise ConfigError(f"Tệp {path} không đọc được: {exc}") from exc
    if not lines:
        raise ConfigError(f"Tệp {path} không đọc được: No columns to parse from file")
    header, body = _header_names(lines[0]), lines[1:]
    for n, row in enumerate(body, start=2):
        if len(row) > len(header):
            raise ConfigError(f"Tệp {path} không đọc được: dòng {n} có {len(row)} ô, "
                              f"nhiều hơn {len(header)} cột của dòng tiêu đề")
    header = [nfc(c) for c in header]
    width = len(header)
    cells = [row + [""] * (width - len(row)) for row in body]
    for column in optional:
        if column not in header:
            header.append(column)
            cells = [row + [""] for row in cells]
    missing = [c for c in columns if c not in header]
    if missing:
        raise ConfigError(f"Tệp {path} thiếu cột: {', '.join(missing)}")
    extra = [c for c in header if c not in columns]
    if extra:
        raise ConfigError(f"Tệp {path} có cột không dùng đến: {', '.join(extra)}")
    where = [header.index(c) for c in columns]
    return TextTable(path, tuple(columns), tuple(tuple(nfc(row[i]) for i in where) for row in cells))


def read_text_table(path: Path, columns: list[str], optional: tuple[str, ...] = ()):
    """`read_text_rows` as a DataFrame of NFC strings with exactly `columns` (missing optional
    columns come blank)."""
    return read_text_rows(path, columns, optional).frame()


def _header_names(cells: list[str]) -> list[str]:
    """pandas' column names: a blank one is `Unnamed: <n>`, a repeated one gets `.1`, `.2`."""
    names: list[str] = []
    for n, cell in enumerate(cells):
        name = cell if cell != "" else f"Unnamed: {n}"
        base, k = name, 0
        while name in names:
            k += 1
            name = f"{base}.{k}"
        names.append(name)
    return names


def validate_rows(table: TextTable, schema: str, messages: str, memo: Path | None = None) -> TextTable:
    """`validate_table` for a `TextTable`. With `memo` (a folder the project writes, outputs/), a
    table that passed this schema unchanged once is recognised from its rows: no DataFrame is built
    and neither pandas nor pandera is imported while its content, its columns, the schema's source
    and pandas' and pandera's versions stay the same (the commands that only read the officer's
    lists, `units` or the report's rerun, never pay for pandera)."""
    key = _rows_memo_key(table, schema) if memo is not None else None
    if key is not None and key in _memo_read(memo):
        return table
    frame = table.frame()
    validated = validate_table(frame, schema, messages, table.path)
    if _unchanged(frame, validated):
        if key is not None:
            _memo_add(memo, key)
        return table
    return TextTable(table.path, tuple(validated.columns),
                     tuple(tuple(row) for row in validated.itertuples(index=False)))


def validate_table(frame, schema: str, messages: str, path: Path):
    """Runs the pandera schema `schema` ("module:Name"; failures explained with the dict
    `messages`, "module:NAME") lazily over `frame`; all failures become one ConfigError listing
    every line. (The officer's lists go through `validate_rows`, which remembers what passed.)"""
    import importlib

    import pandera.pandas as pa

    # late: the schemas bring pandera, which only validation needs
    from schemas._messages import failure_lines

    module, name = schema.split(":")
    try:
        return getattr(importlib.import_module(module), name).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        module, name = messages.split(":")
        lines = failure_lines(exc.failure_cases, str(path.name), getattr(importlib.import_module(module), name))
        raise ConfigError("\n".join(lines)) from exc


MEMO_NAME = ".bang-da-kiem-tra.json"   # in outputs/: tables that passed their schema (a cache; safe to delete)
_MEMO_KEEP = 64


def _rows_memo_key(table: TextTable, schema: str) -> str:
    """A hash of the rows and columns, the schema's source file and pandas' and pandera's versions
    (read from their metadata: neither is imported)."""
    import hashlib
    import importlib.util
    import json

    spec = importlib.util.find_spec(schema.split(":")[0])
    digest = hashlib.sha256()
    for part in ("rows-1", schema, *_validating_versions()):
        digest.update(part.encode("utf-8") + b"\0")
    digest.update(Path(spec.origin).read_bytes() if spec and spec.origin else b"")
    digest.update(b"\0" + json.dumps([table.columns, table.rows], ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _validating_versions() -> tuple[str, str]:
    """pandera's and pandas' installed versions, read from their metadata once per process (a
    lookup walks every installed distribution; a national run keys ~140 tables)."""
    from importlib import metadata

    return metadata.version("pandera"), metadata.version("pandas")


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
