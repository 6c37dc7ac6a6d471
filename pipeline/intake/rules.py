"""The rules a finding can break, named for people: each rule code's short Vietnamese title.

The titles are data (`schemas/rules.csv`: `code,title`), so the officer can reword them. A code
the catalogue does not know yet shows as OTHER_RULE rather than as an internal code.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

OTHER_RULE = "Quy tắc khác"
CATALOGUE = Path(__file__).resolve().parents[2] / "schemas" / "rules.csv"


@functools.lru_cache(maxsize=8)
def rule_titles(path: Path = CATALOGUE) -> dict[str, str]:
    """code -> title, from the catalogue at `path` (UTF-8, with or without Excel's BOM)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return {row["code"].strip(): row["title"].strip() for row in csv.DictReader(handle) if row.get("code")}


def rule_title(code: str, settings=None) -> str:
    """The title of rule `code`; from the project's own schemas/rules.csv when it has one."""
    path = _catalogue_of(settings.root) if settings is not None else CATALOGUE
    return rule_titles(path).get(code, OTHER_RULE)


@functools.lru_cache(maxsize=8)
def _catalogue_of(root: Path) -> Path:
    own = root / "schemas" / "rules.csv"
    return own if own.is_file() else CATALOGUE
