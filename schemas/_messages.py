"""Turns pandera's failure cases into Vietnamese lines that name the file, the row and the column."""

from __future__ import annotations

import pandas as pd


def failure_lines(failure_cases: pd.DataFrame, file_label: str, messages: dict[str, dict[str, str]],
                  first_row: int = 2) -> list[str]:
    """One line per failure; `messages[column][check-prefix]` says what is wrong in Vietnamese.

    The frame's index is the 0-based data row; `first_row` is the spreadsheet row of the first record.
    """
    lines = []
    for case in failure_cases.itertuples(index=False):
        column = case.column if isinstance(case.column, str) else ""
        check = str(case.check)
        text = next(
            (msg for prefix, msg in messages.get(column, {}).items() if check.startswith(prefix)),
            f"không đạt kiểm tra {check}",
        )
        where = f"dòng {int(case.index) + first_row}" if pd.notna(case.index) else "toàn bảng"
        value = "" if pd.isna(case.failure_case) else f" (giá trị: {case.failure_case!r})"
        lines.append(f"{file_label}, {where}, cột {column or '-'}: {text}{value}")
    return lines
