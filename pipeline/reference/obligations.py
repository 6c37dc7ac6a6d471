"""Who owes what in a period: the tasks each unit reports on, and the units expected to report."""

from __future__ import annotations

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
    active = registry.units[registry.units["active_from"].map(lambda a: is_active(a, period))]
    if unit_id is not None:
        registry.get(unit_id)  # raises for an unknown unit
        active = active[active["id"] == unit_id]
    frame = matrix.assignments.merge(active[["id"]], left_on="unit_id", right_on="id").drop(columns="id")
    frame = frame.merge(
        matrix.tasks[["id", "group_id", "task", "product", "timeframe", "timeframe_kind"]],
        left_on="task_id", right_on="id",
    ).drop(columns="id")
    due = {kind: is_due(TimeframeKind(kind), period) for kind in frame["timeframe_kind"].unique()}
    frame["due"] = frame["timeframe_kind"].map(due).astype(bool)
    unit_order = {uid: i for i, uid in enumerate(registry.ids)}
    task_order = {tid: i for i, tid in enumerate(matrix.tasks["id"])}
    frame = frame.assign(_u=frame["unit_id"].map(unit_order), _t=frame["task_id"].map(task_order))
    return frame.sort_values(["_u", "_t"], ignore_index=True)[OBLIGATION_COLUMNS]


def expected_units(matrix: Matrix, registry: Registry, period: Period) -> pd.DataFrame:
    """The registry rows of every unit that owes a report this period, with its task counts."""
    owed = obligations(matrix, registry, period)
    counts = owed.groupby("unit_id").agg(
        tasks=("task_id", "size"), lead_tasks=("role", lambda r: int((r == LEAD).sum())))
    units = registry.units.merge(counts, left_on="id", right_index=True)
    return units.reset_index(drop=True)
