"""Consolidation: the accepted submissions of a period merged against the assignment matrix.

Reads the ledger's views `current_task_reports` and `current_indicator_values` (the current
accepted version of each unit), and returns plain DataFrames for the renderers:

- per task and unit owed (`contributions`): every lead and partner the matrix names, with what it
  reported, or "Chưa báo cáo" when it sent nothing for the task;
- per task (`tasks`): the overall status, decided by the leads only (see `overall_status`);
- per task group (`groups`): tasks counted by overall status, the share completed;
- per indicator and unit (`values`): every value owed, blank where not reported, with provenance;
- per indicator (`indicators`): the province total, the departments' and the communes' subtotals,
  the units that reported it out of the units owing it. The catalogue's `province_total` says how
  the province figure is formed: `sum` adds every unit; `provincial` takes the provincial units'
  figure (the police's count already covers the communes) and shows the communes' sum beside it
  as "trong đó";
- for the annual report (`comparison`): the first half (the same year's S1), the second half
  (flow indicators only: a stock is a count at the cut-off and does not add up over time),
  computed unit by unit (year minus first half) over the units that reported both; the previous
  year where the ledger has it;
- data-quality `findings` for the officer (never for the signed report): a unit's figure for the
  year below its first half, a figure above the catalogue's plausibility ceiling (`max_value`);
- difficulties and proposals (`remarks`), the same text from several units gathered once and
  attributed to each of them.

Flow and stock alike add up across units within one period (the units cover disjoint areas or
duties); they differ across periods only. Totals are exact: Python integers (which cannot
overflow) for integer indicators, `decimal.Decimal` for decimal ones (`exact_sum`); NaN marks
"no figure".
"""

from __future__ import annotations

import math
import re
from itertools import compress
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.forms import layout
from pipeline.reference.catalogue import Catalogue, indicator_obligations
from pipeline.store.ledger import current_rows
from pipeline.reference.matrix import LEAD, PARTNER, Matrix
from pipeline.reference.obligations import obligations
from pipeline.reference.periods import Period, TimeframeKind
from pipeline.common.text import fold
from pipeline.reference.units import COMMUNE, Registry
from pipeline.common.text import nfc
from pipeline.common.formatting import vn_number
from pipeline.report.statuses import (DONE, IN_PROGRESS, NO_LEAD_REPORT, NOT_APPLICABLE, NOT_STARTED,  # noqa: F401
                                      TASK_STATUSES)

NOT_REPORTED = "Chưa báo cáo"
FLOW, STOCK = "flow", "stock"
SUM, PROVINCIAL = "sum", "provincial"   # the catalogue's province_total rules

_STATUS_BY_KEY = {fold(s): s for s in layout.STATUSES}
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean_text(value) -> str:
    """A unit's text as every output shows it: NFC, no characters XML forbids, spaces folded.
    Never interpreted: a leading `=` stays a character (each writer stores it as text)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = unicodedata.normalize("NFC", str(value))
    # (split and join: what a \s+ substitution and a strip do, the same white space, three times faster)
    return " ".join(_XML_ILLEGAL.sub(" ", text).split())


def _map_text(column: pd.Series, function) -> pd.Series:
    """`column.map(function)` for a column of text, each distinct text computed once and without
    pandas' access per element (the units send the same words over and over): the same values
    and the same dtype (pandas infers it from the results; an empty column keeps its own)."""
    if not len(column):
        return column.copy()
    memo: dict[str, object] = {}
    results = np.empty(len(column), dtype=object)
    for n, value in enumerate(column.tolist()):
        if type(value) is not str:   # (1, 1.0 and True are one dict key, not one text)
            results[n] = function(value)
        elif value in memo:
            results[n] = memo[value]
        else:
            results[n] = memo[value] = function(value)
    return pd.Series(results, index=column.index, name=column.name)


def _task_status(value) -> str | None:
    """A task's status as the reports show it: one of the template's statuses whatever its case,
    spacing or tone placement, else the unit's own words; None when blank."""
    if isinstance(value, str) and value.strip():
        return _STATUS_BY_KEY.get(fold(value), clean_text(value))
    return None


# ---------------------------------------------------------------- reading the ledger

TASK_REPORT_COLUMNS = ["unit_id", "period", "task_id", "status", "results", "quantity", "documents",
                       "difficulties", "proposals", "sheet", "row", "file", "version", "receipt_date"]
VALUE_COLUMNS = ["unit_id", "period", "code", "value", "raw", "note", "sheet", "cell", "file", "version",
                 "receipt_date"]


@dataclass(frozen=True)
class LedgerData:
    """What consolidation reads from the ledger: current accepted task rows and indicator values."""

    task_reports: pd.DataFrame   # TASK_REPORT_COLUMNS
    values: pd.DataFrame         # VALUE_COLUMNS


def read_ledger(path: Path, periods: list[str], province: int | None = None) -> LedgerData:
    """The current accepted rows of these periods, in a stable order; with `province`, that
    province's only (a ledger several provinces share holds the others' too, which no figure of
    this one may count: the annual comparison's totals add every row of an indicator). A ledger
    that does not exist yet reads as empty (nothing received), and is not created."""
    if not path.is_file() or not periods:
        return LedgerData(pd.DataFrame(columns=TASK_REPORT_COLUMNS), pd.DataFrame(columns=VALUE_COLUMNS))
    tasks, values = current_rows(path, periods, TASK_REPORT_COLUMNS, VALUE_COLUMNS, province)   # read only, checked
    values["value"] = pd.to_numeric(values["value"], errors="coerce").astype(float)
    tasks["quantity"] = pd.to_numeric(tasks["quantity"], errors="coerce").astype(float)
    return LedgerData(tasks, values)


def comparison_periods(period: Period) -> list[str]:
    """The periods a report reads: itself, and for the annual report its first half and the year before."""
    if period.is_annual:
        return [period.code, f"{period.year}S1", str(period.year - 1)]
    return [period.code]


# ---------------------------------------------------------------- the result

@dataclass(frozen=True)
class Consolidation:
    period: Period
    contributions: pd.DataFrame
    tasks: pd.DataFrame
    groups: pd.DataFrame
    values: pd.DataFrame
    indicators: pd.DataFrame
    comparison: pd.DataFrame      # empty for the semi-annual report
    findings: pd.DataFrame        # kind, code, unit_id, unit_name, message
    remarks: pd.DataFrame         # kind (difficulties / proposals), text, units, unit_ids, tasks
    provenance: pd.DataFrame      # every figure: what, unit, value, file, sheet, cell, version, receipt date


def overall_status(lead_statuses: list[str | None], leads_owed: int) -> str:
    """A task's status from its leads' reports (partners contribute, leads answer for the task):
    done when every lead reported it done; in progress when any lead reported it done or under way;
    not applicable when every lead that reported says so; not started otherwise; and "no report"
    when no lead has reported."""
    reported = [s for s in lead_statuses if s]
    if not reported:
        return NO_LEAD_REPORT
    if len(reported) == leads_owed and all(s == DONE for s in reported):
        return DONE
    if any(s in (DONE, IN_PROGRESS) for s in reported):
        return IN_PROGRESS
    if all(s == NOT_APPLICABLE for s in reported):
        return NOT_APPLICABLE
    return NOT_STARTED


def consolidate(matrix: Matrix, registry: Registry, catalogue: Catalogue, period: Period,
                data: LedgerData) -> Consolidation:
    unit_order = {uid: n for n, uid in enumerate(registry.ids)}
    contributions = _contributions(matrix, registry, period, data.task_reports)
    tasks = _tasks(matrix, contributions, registry)
    groups = _groups(tasks)
    values = _values(catalogue, registry, period, data.values)
    indicators = _indicators(catalogue, period, values)
    if period.is_annual:
        comparison, findings = _comparison(catalogue, period, data.values, registry.units.set_index("id"))
    else:
        comparison, findings = pd.DataFrame(columns=COMPARISON_COLUMNS), pd.DataFrame(columns=FINDING_COLUMNS)
    implausible = _implausible(catalogue, period, values)
    if implausible:
        findings = pd.concat([findings, pd.DataFrame(implausible, columns=FINDING_COLUMNS)], ignore_index=True)
    task_order = {tid: n for n, tid in enumerate(matrix.tasks["id"].tolist())}
    remarks = _remarks(contributions, unit_order, task_order)
    provenance = _provenance(contributions, values)
    return Consolidation(period, contributions, tasks, groups, values, indicators, comparison, findings,
                         remarks, provenance)


def _owed_with_reports(owed: pd.DataFrame, reported: pd.DataFrame, period: Period, keys: list[str],
                       registry: Registry) -> pd.DataFrame:
    """Every owed row, with what its unit reported for the period (NaN where nothing) and the unit's
    name and kind."""
    mine = reported[reported["period"] == period.code].drop(columns=["period"])
    frame = owed.merge(mine, on=keys, how="left")
    frame["unit_name"] = frame["unit_id"].map(registry.name_of)
    frame["unit_kind"] = frame["unit_id"].map(registry.kind_of)
    return frame


def _contributions(matrix: Matrix, registry: Registry, period: Period, reports: pd.DataFrame) -> pd.DataFrame:
    frame = _owed_with_reports(obligations(matrix, registry, period), reports, period, ["unit_id", "task_id"], registry)
    frame["reported"] = frame["file"].notna()
    status = _map_text(frame["status"], _task_status)
    frame["status"] = status.where(frame["reported"], NOT_REPORTED).fillna(NOT_REPORTED)
    for column in ("results", "documents", "difficulties", "proposals"):
        frame[column] = _map_text(frame[column], clean_text)
    frame["version"] = frame["version"].astype("Int64")
    frame["row"] = frame["row"].astype("Int64")
    for column in ("file", "sheet", "receipt_date"):
        frame[column] = frame[column].fillna("")
    return frame[["task_id", "group_id", "unit_id", "unit_name", "unit_kind", "role", "due", "reported", "status",
                  "results", "quantity", "documents", "difficulties", "proposals", "file", "sheet", "row",
                  "version", "receipt_date"]].reset_index(drop=True)


def describe(unit_ids: list[str], registry: Registry, communes_total: int | None = None) -> str:
    """Departments by name, communes counted ("Sở Y tế, UBND 38 xã, phường") so that a list of 38
    names does not drown a table cell; communes named when only a few."""
    names, kinds = registry.name_of, registry.kind_of
    parts = [names[u] for u in unit_ids if kinds[u] != COMMUNE]
    communes = [names[u] for u in unit_ids if kinds[u] == COMMUNE]
    if communes:
        if len(communes) <= 3:
            parts.extend(communes)
        elif communes_total and len(communes) == communes_total:
            parts.append(f"UBND {len(communes)} xã, phường")
        else:
            parts.append(f"{len(communes)} xã, phường")
    return ", ".join(parts)


TASK_COLUMNS = ["task_id", "group_id", "group_title", "task", "product", "timeframe", "timeframe_kind", "due", "status",
                "leads", "partners", "unnamed_partners", "leads_owed", "leads_reported", "partners_owed",
                "partners_reported", "reported_by", "not_reported", "not_reported_ids", "quantity"]


def _rows(frame: pd.DataFrame, columns: list[str], where: pd.Series | None = None):
    """The frame's rows as plain tuples of these columns (those `where` is true, when given):
    `itertuples` without pandas' access per element, nor a filtered copy of every column (each
    column read once, as a list)."""
    rows = zip(*(frame[c].tolist() for c in columns))
    return rows if where is None else compress(rows, where.tolist())


def _rows_by(frame: pd.DataFrame, key: str, columns: list[str]) -> dict[str, list[tuple]]:
    """The frame's rows as plain tuples (position, *columns), grouped by `key` in the frame's order:
    what a loop over a few hundred rows reads far faster than a boolean filter per group."""
    out: dict[str, list[tuple]] = {}
    for row in zip(range(len(frame)), *(frame[c].tolist() for c in [key, *columns])):
        out.setdefault(row[1], []).append((row[0], *row[2:]))
    return out


def _tasks(matrix: Matrix, contributions: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    communes_total = registry.count(COMMUNE)
    mentions: dict[str, dict[str, None]] = {}   # each task's collective mentions, once each, in order
    for task_id, text in _rows(matrix.unnamed, ["task_id", "text"]):
        mentions.setdefault(task_id, {})[text] = None
    unnamed = {task_id: ", ".join(texts) for task_id, texts in mentions.items()}
    # (position, role, reported, status, unit_id, unit_name, due) of each task's rows
    by_task = _rows_by(contributions, "task_id", ["role", "reported", "status", "unit_id", "unit_name", "due"])
    quantity = contributions["quantity"].tolist()
    rows = []
    for task_id, group_id, group_title, task, product, timeframe, timeframe_kind in _rows(
            matrix.tasks, ["id", "group_id", "group_title", "task", "product", "timeframe", "timeframe_kind"]):
        mine = by_task.get(task_id, [])
        leads, partners = [r for r in mine if r[1] == LEAD], [r for r in mine if r[1] == PARTNER]
        sent, missing = [r for r in mine if r[2]], [r for r in mine if not r[2]]
        rows.append({
            "task_id": task_id, "group_id": group_id, "group_title": group_title, "task": task,
            "product": product, "timeframe": timeframe, "timeframe_kind": timeframe_kind,
            "due": bool(mine[0][6]) if mine else True,
            "status": overall_status([r[3] if r[2] else None for r in leads], len(leads)),
            "leads": describe([r[4] for r in leads], registry, communes_total),
            "partners": describe([r[4] for r in partners], registry, communes_total),
            "unnamed_partners": unnamed.get(task_id, ""),
            "leads_owed": len(leads), "leads_reported": sum(1 for r in leads if r[2]),
            "partners_owed": len(partners), "partners_reported": sum(1 for r in partners if r[2]),
            "reported_by": describe([r[4] for r in sent], registry, communes_total),
            "not_reported": ", ".join(r[5] for r in missing),
            "not_reported_ids": tuple(r[4] for r in missing),
            "quantity": float_sum([quantity[r[0]] for r in sent]) if sent else math.nan,
        })
    return pd.DataFrame(rows, columns=TASK_COLUMNS)


GROUP_COLUMNS = ["group_id", "group_title", "tasks", *TASK_STATUSES, "on_track", "due_once", "due_once_done"]


def _groups(tasks: pd.DataFrame) -> pd.DataFrame:
    """Tasks counted by status; `on_track`: under way or done; `due_once`: tasks done once a year
    (the only ones a completion count means something for), `due_once_done` of them done."""
    groups: dict[tuple[str, str], dict] = {}   # in the order the groups first appear
    once = (tasks["timeframe_kind"] == TimeframeKind.ANNUAL.value).tolist()   # the only tasks that can be "done"
    for (group_id, title, status), annual in zip(_rows(tasks, ["group_id", "group_title", "status"]), once):
        row = groups.get((group_id, title))
        if row is None:
            row = groups[group_id, title] = {"group_id": group_id, "group_title": title, "tasks": 0,
                                             **dict.fromkeys(TASK_STATUSES, 0), "due_once": 0, "due_once_done": 0}
        row["tasks"] += 1
        if status in TASK_STATUSES:
            row[status] += 1
        if annual:
            row["due_once"] += 1
            row["due_once_done"] += status == DONE
    for row in groups.values():
        row["on_track"] = row[DONE] + row[IN_PROGRESS]
    return pd.DataFrame(list(groups.values()), columns=GROUP_COLUMNS)


VALUE_OUT_COLUMNS = ["code", "unit_id", "unit_name", "unit_kind", "reported", "value", "raw", "note", "file", "sheet",
                     "cell", "version", "receipt_date"]


def _values(catalogue: Catalogue, registry: Registry, period: Period, values: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator owed by a unit (catalogue order, then registry order); value NaN where
    the unit did not report it."""
    frame = _owed_with_reports(indicator_obligations(catalogue, registry, period), values, period, ["code", "unit_id"],
                               registry)
    frame["reported"] = frame["value"].notna()
    frame["note"] = _map_text(frame["note"], clean_text)
    frame["raw"] = _map_text(frame["raw"], clean_text)
    frame["version"] = frame["version"].astype("Int64")
    for column in ("file", "sheet", "cell", "receipt_date"):
        frame[column] = frame[column].fillna("")
    code_order = {c: n for n, c in enumerate(catalogue.indicators["code"])}
    unit_order = {u: n for n, u in enumerate(registry.ids)}
    frame = frame.assign(_c=frame["code"].map(code_order), _u=frame["unit_id"].map(unit_order))
    return frame.sort_values(["_c", "_u"], ignore_index=True)[VALUE_OUT_COLUMNS]


INDICATOR_COLUMNS = ["code", "name", "unit_of_measure", "tasks", "aggregation", "value_type", "province_total",
                     "total", "departments", "communes", "units_owed", "units_reported", "communes_owed",
                     "communes_reported"]
_NUMBER_COLUMNS = ("total", "departments", "communes", "annual", "first_half", "second_half", "previous_year")


def is_missing(value) -> bool:
    """No figure: None or NaN (an int or a Decimal is never missing)."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _finite(value) -> bool:
    if isinstance(value, int):
        return True
    if isinstance(value, Decimal):
        return value.is_finite()
    return math.isfinite(value)


def exact_sum(values, decimal: bool = False):
    """The sum of the figures given (missing and non-finite ones skipped), exactly: a Python int for an
    integer indicator (no overflow, however large: 1e308 twice is 2·10^308), a Decimal for a decimal
    one; NaN when there is no figure at all."""
    # (a float, the usual figure, is kept when finite: neither NaN nor infinite)
    figures = [v for v in values if (math.isfinite(v) if type(v) is float else not is_missing(v) and _finite(v))]
    if not figures:
        return math.nan
    if decimal:
        with localcontext() as context:
            context.prec = 400   # a sum of doubles stays exact (no rounding at 28 digits)
            return sum(v if isinstance(v, Decimal) else Decimal(v) if isinstance(v, int) else Decimal(repr(float(v)))
                       for v in figures)
    return sum(int(v.to_integral_value(ROUND_HALF_EVEN)) if isinstance(v, Decimal) else int(v) for v in figures)


def float_sum(figures: list[float]) -> float:
    """`pd.Series(figures, dtype=float).sum(min_count=1)` as a float, the same float bit for bit,
    without building a Series: numpy's pairwise sum with a zero in place of each NaN, as pandas
    does; NaN when there is no figure."""
    array = np.array(figures, dtype=np.float64)
    missing = np.isnan(array)
    if missing.all():
        return math.nan
    array[missing] = 0.0
    return float(array.sum())


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """A frame whose figure columns keep Python ints and Decimals as they are (object dtype)."""
    # (the figures never pass through pandas' own inference: pandas 2.2.0 turns a huge int into a
    # float and fails on one beyond a double)
    numbers = [c for c in _NUMBER_COLUMNS if c in columns]
    frame = pd.DataFrame([{k: v for k, v in r.items() if k not in numbers} for r in rows],
                         columns=[c for c in columns if c not in numbers])
    for column in numbers:
        frame[column] = pd.Series([r[column] for r in rows], index=frame.index, dtype=object)
    frame = frame[columns]
    return frame


def province_figure(rule: str, departments, communes, everyone):
    """The province figure by the catalogue's rule: `provincial` takes the provincial units' figure
    (their count already covers the communes), `sum` adds every unit."""
    return departments if rule == PROVINCIAL else everyone


def _indicators(catalogue: Catalogue, period: Period, values: pd.DataFrame) -> pd.DataFrame:
    # (position, unit_kind, value, reported) of each indicator's rows
    by_code = _rows_by(values, "code", ["unit_kind", "value", "reported"])
    rows = []
    for ind in catalogue.asked(period).itertuples(index=False):
        mine = by_code.get(ind.code, [])
        communes = [r for r in mine if r[1] == COMMUNE]
        departments = [r for r in mine if r[1] != COMMUNE]
        decimal = ind.value_type == "decimal"
        rule = ind.province_total or SUM
        dep = exact_sum([r[2] for r in departments], decimal)
        com = exact_sum([r[2] for r in communes], decimal)
        rows.append({
            "code": ind.code, "name": ind.name, "unit_of_measure": ind.unit_of_measure, "tasks": ind.tasks,
            "aggregation": ind.aggregation, "value_type": ind.value_type, "province_total": rule,
            "total": province_figure(rule, dep, com, exact_sum([r[2] for r in mine], decimal)), "departments": dep,
            "communes": com, "units_owed": len(mine), "units_reported": sum(1 for r in mine if r[3]),
            "communes_owed": len(communes), "communes_reported": sum(1 for r in communes if r[3]),
        })
    return _frame(rows, INDICATOR_COLUMNS)


COMPARISON_COLUMNS = ["code", "name", "unit_of_measure", "aggregation", "value_type", "province_total", "annual",
                      "first_half", "second_half", "previous_year", "change_vs_previous",
                      "second_half_left_out"]
FINDING_COLUMNS = ["kind", "code", "unit_id", "unit_name", "message"]


def _province_total(frame: pd.DataFrame, rule: str, decimal: bool, units: pd.DataFrame):
    """The province figure of one indicator and period from reported rows (unit_id, value)."""
    if rule == PROVINCIAL:
        frame = frame[frame["unit_id"].isin(set(units.index[units["kind"] != COMMUNE]))]
    return exact_sum(frame["value"].tolist(), decimal)


def _ratio(new, old) -> float:
    """(new - old) / old, in exact arithmetic first; NaN where there is no base."""
    if is_missing(new) or is_missing(old) or not old:
        return math.nan
    try:
        return float((Decimal(new) - Decimal(old)) / Decimal(old))
    except (ArithmeticError, ValueError, OverflowError):
        return math.nan


def _comparison(catalogue: Catalogue, period: Period, values: pd.DataFrame, units: pd.DataFrame):
    """The annual figures beside the first half and the previous year. The second half is computed
    unit by unit (a unit's year minus its first half) over the units that reported both, under the
    catalogue's province rule; the units that reported the year only are named in
    `second_half_left_out` (comma-separated). Findings (for the officer's check sheet): a unit's
    flow figure for the year below its first half (a cumulative figure cannot shrink)."""

    first, previous = f"{period.year}S1", str(period.year - 1)
    reported = values[values["value"].notna()]
    by_key = {key: frame for key, frame in reported.groupby(["period", "code"], sort=False)}
    empty = reported.iloc[0:0]
    rows, findings = [], []
    for ind in catalogue.asked(period).itertuples(index=False):
        decimal, rule = ind.value_type == "decimal", ind.province_total or SUM

        def total(code_period):
            return _province_total(by_key.get((code_period, ind.code), empty), rule, decimal, units)

        annual, half, before = total(period.code), total(first), total(previous)
        flow = ind.aggregation == FLOW
        year_rows = by_key.get((period.code, ind.code), empty)
        half_rows = by_key.get((first, ind.code), empty)
        if rule == PROVINCIAL:
            year_rows = year_rows[year_rows["unit_id"].isin(set(units.index[units["kind"] != COMMUNE]))]
        year_by_unit = dict(zip(year_rows["unit_id"], year_rows["value"]))
        half_by_unit = dict(zip(half_rows["unit_id"], half_rows["value"]))
        both = [u for u in year_by_unit if u in half_by_unit]
        left_out = [u for u in year_by_unit if u not in half_by_unit]
        second = math.nan
        if flow and both:
            second = exact_sum([year_by_unit[u] for u in both], decimal) - exact_sum([half_by_unit[u] for u in both],
                                                                                     decimal)
        rows.append({
            "code": ind.code, "name": ind.name, "unit_of_measure": ind.unit_of_measure,
            "aggregation": ind.aggregation, "value_type": ind.value_type, "province_total": rule,
            "annual": annual, "first_half": half, "second_half": second, "previous_year": before,
            "change_vs_previous": _ratio(annual, before),
            "second_half_left_out": ", ".join(units.loc[u, "name"] if u in units.index else u for u in left_out)
            if flow and not is_missing(half) else "",
        })
        if not flow:
            continue
        for unit_id in both:
            if year_by_unit[unit_id] < half_by_unit[unit_id]:
                name = units.loc[unit_id, "name"] if unit_id in units.index else unit_id
                findings.append({
                    "kind": "annual_below_first_half", "code": ind.code, "unit_id": unit_id, "unit_name": name,
                    "message": nfc(f"{name}: chỉ tiêu {ind.code} ({ind.name}) cả năm {period.year} là "
                                   f"{vn_number(year_by_unit[unit_id], decimal)}, thấp hơn 6 tháng đầu năm "
                                   f"({vn_number(half_by_unit[unit_id], decimal)}); số liệu cả năm là số cộng dồn, "
                                   f"cần kiểm tra lại."),
                })
    return _frame(rows, COMPARISON_COLUMNS), pd.DataFrame(findings, columns=FINDING_COLUMNS)


def _implausible(catalogue: Catalogue, period: Period, values: pd.DataFrame) -> list[dict]:
    """A unit's figure above the catalogue's plausibility ceiling (`max_value`): a finding to check."""

    ceilings = {c: int(m) for c, m in zip(catalogue.indicators["code"], catalogue.indicators["max_value"])
                if str(m).strip().isdigit()}
    names = dict(zip(catalogue.indicators["code"], catalogue.indicators["name"]))
    found = []
    for code, unit_id, unit_name, value in _rows(values, ["code", "unit_id", "unit_name", "value"], values["reported"]):
        ceiling = ceilings.get(code)
        if ceiling is not None and value > ceiling:
            found.append({"kind": "implausible", "code": code, "unit_id": unit_id, "unit_name": unit_name,
                          "message": nfc(f"{unit_name}: chỉ tiêu {code} ({names.get(code, '')}) kỳ {period.label} "
                                         f"là {vn_number(value)}, vượt mức hợp lý {vn_number(ceiling)}; "
                                         f"cần kiểm tra lại.")})
    return found


REMARK_COLUMNS = ["kind", "text", "units", "unit_ids", "tasks"]


def _remarks(contributions: pd.DataFrame, unit_order: dict[str, int], task_order: dict[str, int]) -> pd.DataFrame:
    """Difficulties and proposals, one row per distinct text (compared without case, tone placement
    or spacing), attributed to every unit that wrote it and the tasks it wrote it under."""
    rows = []
    for kind in ("difficulties", "proposals"):
        gathered: dict[str, dict] = {}
        for text, unit_id, unit_name, task_id in _rows(contributions, [kind, "unit_id", "unit_name", "task_id"]):
            if text == "":
                continue
            entry = gathered.setdefault(fold(text), {"kind": kind, "text": text, "unit_ids": [], "units": [], "tasks": []})
            if unit_id not in entry["unit_ids"]:
                entry["unit_ids"].append(unit_id)
                entry["units"].append(unit_name)
            if task_id not in entry["tasks"]:
                entry["tasks"].append(task_id)
        for entry in sorted(gathered.values(), key=lambda e: (min(unit_order[u] for u in e["unit_ids"]), e["text"])):
            units = sorted(zip(entry["unit_ids"], entry["units"]), key=lambda pair: unit_order[pair[0]])
            rows.append({**entry, "unit_ids": tuple(u for u, _ in units), "units": tuple(n for _, n in units),
                         "tasks": tuple(sorted(entry["tasks"], key=lambda t: task_order.get(t, len(task_order))))})
    return pd.DataFrame(rows, columns=REMARK_COLUMNS)


PROVENANCE_COLUMNS = ["what", "code_or_task", "unit_id", "unit_name", "value", "file", "sheet", "cell", "version",
                      "receipt_date"]


def _provenance(contributions: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Every figure the reports show, with the unit, file, sheet and cell it was read from."""
    figures = _rows(values, ["code", "unit_id", "unit_name", "value", "file", "sheet", "cell", "version", "receipt_date"],
                    values["reported"])
    rows = [("Chỉ tiêu", *figure) for figure in figures]
    quantity = layout.column(layout.TASK_COLUMNS, "quantity").letter
    counted = contributions["reported"] & contributions["quantity"].notna()
    quantities = _rows(contributions, ["task_id", "unit_id", "unit_name", "quantity", "file", "sheet", "row", "version",
                                       "receipt_date"], counted)
    rows += [("Số lượng sản phẩm nhiệm vụ", task_id, unit_id, unit_name, value, file, sheet, f"{quantity}{row}",
              version, receipt_date)
             for task_id, unit_id, unit_name, value, file, sheet, row, version, receipt_date in quantities]
    return pd.DataFrame(rows, columns=PROVENANCE_COLUMNS)   # (tuples in PROVENANCE_COLUMNS' order)
