"""Small plain-text views shared by the CLI (tables the officer reads in the terminal)."""

from __future__ import annotations

import pandas as pd

from pipeline.reference.matrix import LEAD, PARTNER, Matrix
from pipeline.reference.units import COMMUNE, Registry


def describe_units(unit_ids: list[str], registry: Registry) -> str:
    """`Sở Y tế, 38 xã/phường`: departments by short name, communes counted."""
    units = registry.units.set_index("id").loc[unit_ids]
    names = units[units["kind"] != COMMUNE]["short_name"].tolist()
    communes = int((units["kind"] == COMMUNE).sum())
    if communes:
        names.append(f"{communes} xã/phường")
    return ", ".join(names)


def matrix_table(matrix: Matrix, registry: Registry) -> pd.DataFrame:
    rows = []
    for task in matrix.tasks.itertuples(index=False):
        mine = matrix.assignments[matrix.assignments["task_id"] == task.id]
        rows.append({
            "Mã": task.id,
            "Chủ trì": describe_units(mine[mine["role"] == LEAD]["unit_id"].tolist(), registry),
            "Phối hợp": describe_units(mine[mine["role"] == PARTNER]["unit_id"].tolist(), registry),
            "Thời gian": task.timeframe,
            "Nhiệm vụ": task.task[:60] + ("…" if len(task.task) > 60 else ""),
        })
    return pd.DataFrame(rows)
