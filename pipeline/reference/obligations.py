"""Who owes what in a period: the tasks each unit reports on, and the units expected to report."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from pipeline.reference.matrix import LEAD, Matrix
from pipeline.reference.periods import Period, TimeframeKind, is_due
from pipeline.reference.units import Registry

OBLIGATION_COLUMNS = ["unit_id", "task_id", "role", "group_id", "task", "product", "timeframe", "due"]


def is_active(active_from: str, period: Period) -> bool:
    """A unit added to the registry mid-plan owes reports only from the period it was added."""
    if not active_from:
        return True
    year = int(active_from[:4])
    start = (year, 0 if active_from.upper().endswith("S1") else 1)
    return start <= period.sort_key


def obligations(matrix: Matrix, registry: Registry, period: Period, unit_id: str | None = None) -> pd.DataFrame:
    """One row per (unit, task) the unit reports on this period, in registry then plan order.

    `due` is False for an annual task in the first half: it is reported as progress, not yet due.
    """
    units = registry.units
    active = {u for u, a in zip(units["id"].tolist(), units["active_from"].tolist()) if is_active(a, period)}
    if unit_id is not None:
        registry.get(unit_id)  # raises for an unknown unit
        active &= {unit_id}
    # the matrix joined with the active units and the plan's tasks over plain lists (two merges and
    # a sort cost more than the rest of a province's audit): (unit's place, task's place, matrix
    # row) of each assignment of an active unit, sorted; unit ids and task ids are unique (schemas/)
    unit_order = {uid: i for i, uid in enumerate(registry.ids)}
    task_order = {tid: i for i, tid in enumerate(matrix.tasks["id"].tolist())}
    assigned = zip(matrix.assignments["unit_id"].tolist(), matrix.assignments["task_id"].tolist())
    owed = sorted((unit_order[u], task_order[t], row) for row, (u, t) in enumerate(assigned)
                  if u in active and t in task_order)
    frame = matrix.assignments.take([row for _, _, row in owed])[["unit_id", "task_id", "role"]].reset_index(drop=True)
    chosen = matrix.tasks.take([task for _, task, _ in owed]).reset_index(drop=True)
    for column in ("group_id", "task", "product", "timeframe"):
        frame[column] = chosen[column]
    kinds = chosen["timeframe_kind"].tolist()
    due = {kind: is_due(TimeframeKind(kind), period) for kind in dict.fromkeys(kinds)}
    frame["due"] = pd.Series([due[kind] for kind in kinds], index=frame.index, dtype=bool)
    return frame[OBLIGATION_COLUMNS]


def expected_units(matrix: Matrix, registry: Registry, period: Period) -> pd.DataFrame:
    """The registry rows of every unit that owes a report this period, with its task counts."""
    owed = obligations(matrix, registry, period)
    # counted over plain lists: a groupby calling a Python function per unit cost more than the rest
    tasks = Counter(owed["unit_id"].tolist())
    leads = Counter(u for u, role in zip(owed["unit_id"].tolist(), owed["role"].tolist()) if role == LEAD)
    units = registry.units[registry.units["id"].isin(tasks.keys())]
    ids = units["id"].tolist()
    return units.assign(tasks=pd.Series([tasks[u] for u in ids], index=units.index, dtype="int64"),
                        lead_tasks=pd.Series([leads[u] for u in ids], index=units.index, dtype="int64")
                        ).reset_index(drop=True)
