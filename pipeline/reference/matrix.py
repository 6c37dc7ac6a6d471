"""The plan's assignment matrix: which unit leads and which partners each task.

Loads `inputs/assignment_matrix.csv`, validates it, and resolves the agency text of the lead and
partner columns into reporting-unit ids. Text that names no unit on purpose ("Các cơ quan liên
quan") is kept as text; text that matches nothing is an error, never a silent drop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from pipeline.reference.settings import Settings
from pipeline.common.errors import MatrixError
from pipeline.reference.periods import timeframe_kind
from pipeline.common.text import fold, nfc
from pipeline.reference.units import COMMUNE, DEPARTMENT, Registry
from pipeline.common.errors import ConfigError
from pipeline.common.io_csv import read_text_table
from pipeline.common.io_csv import read_text_rows, validate_rows

MATRIX_COLUMNS = ["id", "group_id", "group_title", "task", "lead", "partners", "timeframe", "product"]
LEAD = "chủ trì"
PARTNER = "phối hợp"

# A collective name means every commune, every department, or no unit in particular.
COMMUNES = "communes"
DEPARTMENTS = "departments"
NO_UNIT = "none"

_TOKEN = re.compile(r"[,;]|[^\s,;]+")
_SEPARATORS = {",", ";", fold("và")}


@dataclass(frozen=True)
class Matrix:
    """`tasks`: MATRIX_COLUMNS + timeframe_kind, in the plan's order.
    `assignments`: task_id, unit_id, role (chủ trì / phối hợp), one row per unit and task.
    `unnamed`: task_id, role, text for collective mentions that create no obligation."""

    tasks: pd.DataFrame
    assignments: pd.DataFrame
    unnamed: pd.DataFrame


@dataclass(frozen=True)
class _Target:
    kind: str  # "unit", COMMUNES, DEPARTMENTS or NO_UNIT
    value: str  # the unit id, or the phrase as written in the collective list


class AgencyResolver:
    """Splits agency text on `,` `;` and `và`, matching the longest known name first so that
    "Sở Văn hóa, Thể thao và Du lịch" stays one unit."""

    def __init__(self, registry: Registry, collectives: pd.DataFrame):
        self.registry = registry
        phrases: dict[tuple[str, ...], _Target] = {}
        for row in registry.departments().itertuples(index=False):
            for name in (row.name, row.short_name, *row.aliases):
                if name:
                    phrases[_tokens(name)] = _Target("unit", row.id)
        for row in collectives.itertuples(index=False):
            phrases[_tokens(row.phrase)] = _Target(row.means, row.phrase)
        self._phrases = sorted(phrases.items(), key=lambda item: -len(item[0]))

    def split(self, text: str) -> tuple[list[_Target], list[str]]:
        """The targets named in `text`, and the pieces of text that matched nothing."""
        words = _TOKEN.findall(nfc(text))
        keys = [fold(w) for w in words]
        targets, unknown = [], []
        i = 0
        while i < len(keys):
            if keys[i] in _SEPARATORS:
                i += 1
                continue
            for phrase, target in self._phrases:
                if tuple(keys[i:i + len(phrase)]) == phrase:
                    targets.append(target)
                    i += len(phrase)
                    break
            else:
                j = i
                while j < len(keys) and keys[j] not in _SEPARATORS:
                    j += 1
                unknown.append(" ".join(words[i:j]))
                i = j
        return targets, unknown

    def unit_ids(self, target: _Target) -> list[str]:
        if target.kind == "unit":
            return [target.value]
        if target.kind == COMMUNES:
            return self.registry.ids_of(COMMUNE)
        if target.kind == DEPARTMENTS:
            return self.registry.ids_of(DEPARTMENT)
        return []


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(fold(w) for w in _TOKEN.findall(nfc(text)))


def load_collectives(settings: Settings) -> pd.DataFrame:

    path = settings.path("collective_names")
    frame = read_text_table(path, ["phrase", "means", "note"], optional=("note",))
    bad = frame[~frame["means"].isin([COMMUNES, DEPARTMENTS, NO_UNIT])]
    if not bad.empty:
        raise MatrixError(f"{path.name}: cột means chỉ nhận communes, departments hoặc none "
                          f"(dòng {', '.join(str(i + 2) for i in bad.index)})")
    return frame


def load_matrix(settings: Settings, registry: Registry) -> Matrix:

    path = settings.path("matrix")
    try:
        frame = validate_rows(read_text_rows(path, MATRIX_COLUMNS), "schemas.matrix:AssignmentMatrixSchema",
                              "schemas.matrix:MESSAGES", memo=settings.path("outputs")).frame()
    except ConfigError as exc:
        raise MatrixError(str(exc)) from exc
    frame = frame.assign(timeframe_kind=frame["timeframe"].map(lambda t: timeframe_kind(t).value))
    return resolve(frame, registry, load_collectives(settings), path.name)


def resolve(tasks: pd.DataFrame, registry: Registry, collectives: pd.DataFrame, label: str) -> Matrix:
    resolver = AgencyResolver(registry, collectives)
    assignments: dict[tuple[str, str], str] = {}
    unnamed, errors = [], []
    for row in tasks.itertuples(index=False):
        for role, text in ((LEAD, row.lead), (PARTNER, row.partners)):
            targets, unknown = resolver.split(text)
            for piece in unknown:
                column = "Cơ quan chủ trì" if role == LEAD else "Cơ quan phối hợp"
                errors.append(f"{label}, nhiệm vụ {row.id}, {column}: không nhận ra cơ quan {piece!r} "
                              f"(thêm vào inputs/departments.csv hoặc inputs/collective_names.csv)")
            if role == LEAD and targets and not any(resolver.unit_ids(t) for t in targets):
                errors.append(f"{label}, nhiệm vụ {row.id}: cơ quan chủ trì {text!r} không chỉ định đơn vị cụ thể nào")
            for target in targets:
                if target.kind == NO_UNIT:
                    unnamed.append({"task_id": row.id, "role": role, "text": target.value})
                for unit_id in resolver.unit_ids(target):
                    # a unit that leads a task and is also among its partners reports as lead
                    if assignments.get((row.id, unit_id)) != LEAD:
                        assignments[(row.id, unit_id)] = role
    if errors:
        raise MatrixError("\n".join(errors))
    order = {uid: i for i, uid in enumerate(registry.ids)}
    assignment_frame = pd.DataFrame(
        [{"task_id": t, "unit_id": u, "role": r} for (t, u), r in assignments.items()],
        columns=["task_id", "unit_id", "role"],
    )
    task_order = {tid: i for i, tid in enumerate(tasks["id"])}
    assignment_frame = assignment_frame.sort_values(
        ["task_id", "unit_id"], key=lambda s: s.map(task_order) if s.name == "task_id" else s.map(order),
        ignore_index=True)
    return Matrix(tasks=tasks.reset_index(drop=True), assignments=assignment_frame,
                  unnamed=pd.DataFrame(unnamed, columns=["task_id", "role", "text"]))
