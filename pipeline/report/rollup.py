"""The national roll-up: the ministry's view of every province's completeness and indicator totals.

Each province is a project of its own (its matrix, its units, its settings); their ledgers may be
one file (the ministry's: unit ids are unique across provinces, communes by their official codes,
departments as `NN-XXX`) or one each. `rollup(...)` reads each distinct ledger once and returns:

- `completeness`: one row per province and a national row `Toàn quốc`, with the audit's own
  figures (`audit.classify` and `audit.rates`: expected, accepted, on time, late, rejected,
  missing, completeness, timeliness), overall and for communes alone;
- `indicators`: one row per province and indicator asked in the period, the total over the units
  that owe it (the same sum as the province report's appendix II), how many units owe and reported
  it; and a national row per indicator summing the provinces.

Indicators add up across units within a period whatever their aggregation (units cover disjoint
areas), so the national total of an indicator is the sum of the provinces' totals.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from itertools import compress
from pathlib import Path

import pandas as pd

from pipeline.reference.periods import Period
from pipeline.audit.status import classify, rates
from pipeline.audit.status import read_receipts
from pipeline.common.clock import today
from pipeline.reference.catalogue import indicator_obligations
from pipeline.reference.obligations import expected_units
from pipeline.reference.units import COMMUNE
from pipeline.report.consolidate import PROVINCIAL, float_sum
from pipeline.report.consolidate import read_ledger

NATIONAL = "Toàn quốc"
_NO_FIGURE = [math.nan]   # a unit owing an indicator that it did not report
_NOTHING: dict = {}       # the figures of a unit that reported none (never written to)
COMPLETENESS_COLUMNS = ["province_code", "province", "expected", "received", "accepted", "on_time", "late",
                        "with_warnings", "rejected", "not_yet_received", "missing", "completeness", "timeliness",
                        "communes_expected", "communes_accepted", "communes_completeness"]
INDICATOR_COLUMNS = ["province_code", "province", "code", "name", "unit_of_measure", "aggregation", "total",
                     "units_owed", "units_reported"]


@dataclass(frozen=True)
class ProvinceData:
    """What the roll-up needs of one province's project."""

    code: int
    name: str
    ledger: Path
    registry: object
    matrix: object
    catalogue: object

    @classmethod
    def of(cls, settings, registry, matrix, catalogue, ledger: Path | None = None) -> "ProvinceData":
        return cls(settings.province_code, settings.province_name, ledger or settings.path("ledger"),
                   registry, matrix, catalogue)


@dataclass(frozen=True)
class Rollup:
    period: str
    completeness: pd.DataFrame   # COMPLETENESS_COLUMNS, the provinces by code then `Toàn quốc` (code 0)
    indicators: pd.DataFrame     # INDICATOR_COLUMNS, per province and indicator, then `Toàn quốc` rows
    status: pd.DataFrame         # audit.STATUS_COLUMNS + province_code: every expected unit of the country


def read_ledgers(provinces: list[ProvinceData], period_code: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Receipts (audit.RECEIPT_COLUMNS) and current accepted indicator values of the period, from
    every distinct ledger the provinces write to, each read once."""

    receipts, values = [], []
    for path in dict.fromkeys(p.ledger.resolve() for p in provinces):
        receipts.append(read_receipts(path, [period_code]))
        values.append(read_ledger(path, [period_code]).values)
    return (pd.concat(receipts, ignore_index=True) if receipts else pd.DataFrame(),
            pd.concat(values, ignore_index=True) if values else pd.DataFrame())


def rollup(provinces: list[ProvinceData], period: Period, as_of: dt.date | None = None,
           receipts: pd.DataFrame | None = None, values: pd.DataFrame | None = None,
           statuses: dict[int, pd.DataFrame] | None = None) -> Rollup:
    """The roll-up of `period` as of `as_of` (default today); `receipts` and `values` as
    `read_ledgers` returns them (read here when not given); `statuses`: provinces' submission
    status already computed (`audit.submission_status` as of the same day), by province code."""

    as_of = as_of or today(provinces[0].settings if provinces else None)
    if receipts is None or values is None:
        receipts, values = read_ledgers(provinces, period.code)
    reported = _figures_by_unit(values)   # the country's, read once
    frames, completeness, indicators = [], [], []
    for province in sorted(provinces, key=lambda p: p.code):
        status = (statuses or {}).get(province.code)
        if status is None:   # (classify keeps the receipts of this province's units)
            status = classify(expected_units(province.matrix, province.registry, period), receipts, period, as_of)
        status = status.assign(province_code=province.code)
        frames.append(status)
        completeness.append(_rates_row(province.code, province.name, status, rates, COMMUNE))

        # per indicator, in the order of the units owing it, their figures (NaN for none) and the
        # figures the total counts. The catalogue's province rule, as in the province's own report:
        # "provincial" counts the provincial units only (their figure covers the communes')
        catalogue, kind_of = province.catalogue, province.registry.kind_of
        rules = dict(zip(catalogue.indicators["code"].tolist(), catalogue.indicators["province_total"].tolist()))
        provincial = {code for code, rule in rules.items() if rule == PROVINCIAL}
        figures_of: dict[str, list[float]] = {}
        counted_of: dict[str, list[float]] = {}
        owing = indicator_obligations(catalogue, province.registry, period)
        for code, unit_id in zip(owing["code"].tolist(), owing["unit_id"].tolist()):
            figure = reported.get(unit_id, _NOTHING).get(code, math.nan)
            figures = figure if type(figure) is list else [figure]
            figures_of.setdefault(code, []).extend(figures)
            left_out = code in provincial and kind_of.get(unit_id) == COMMUNE
            counted_of.setdefault(code, []).extend(_NO_FIGURE * len(figures) if left_out else figures)
        asked = catalogue.asked(period)
        for code, name, unit_of_measure, aggregation in zip(
                *(asked[c].tolist() for c in ("code", "name", "unit_of_measure", "aggregation"))):
            figures = figures_of.get(code, [])
            indicators.append({
                "province_code": province.code, "province": province.name, "code": code, "name": name,
                "unit_of_measure": unit_of_measure, "aggregation": aggregation,
                "total": float_sum(counted_of[code]) if code in counted_of else math.nan,
                "units_owed": len(figures), "units_reported": sum(1 for v in figures if not math.isnan(v)),
            })

    status = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(status):
        completeness.append(_rates_row(0, NATIONAL, status, rates, COMMUNE))
    completeness = pd.DataFrame(completeness, columns=COMPLETENESS_COLUMNS)
    indicators = pd.DataFrame(indicators, columns=INDICATOR_COLUMNS)
    if len(indicators):
        national = indicators.groupby("code", sort=False).agg(
            name=("name", "first"), unit_of_measure=("unit_of_measure", "first"),
            aggregation=("aggregation", "first"), total=("total", lambda v: float(v.sum(min_count=1))),
            units_owed=("units_owed", "sum"), units_reported=("units_reported", "sum")).reset_index()
        national = national.assign(province_code=0, province=NATIONAL)[INDICATOR_COLUMNS]
        indicators = pd.concat([indicators, national], ignore_index=True)
    return Rollup(period.code, completeness, indicators, status)


def _figures_by_unit(values: pd.DataFrame) -> dict[str, dict[str, float | list[float]]]:
    """The reported figures (`values` rows with a value) by unit, then indicator: the figure, or the
    list of a unit's figures for an indicator given more than once (rows of several periods), in
    order, as a join keeps them. (Nested dicts of floats: a key and a list for each of the country's
    65,000 figures cost more in garbage collection than the roll-up itself.)"""
    figures: dict[str, dict] = {}
    if not len(values):
        return figures
    rows = zip(values["unit_id"].tolist(), values["code"].tolist(), values["value"].tolist())
    for unit_id, code, value in compress(rows, values["value"].notna().tolist()):
        mine = figures.get(unit_id)
        if mine is None:
            mine = figures[unit_id] = {}
        if code in mine:
            earlier = mine[code]
            mine[code] = [*(earlier if type(earlier) is list else [earlier]), value]
        else:
            mine[code] = value
    return figures


def _rates_row(code: int, name: str, status: pd.DataFrame, rates, commune_kind: str) -> dict:
    counted = status[["status", "versions", "with_warnings"]]   # (what rates reads: a narrower copy to filter)
    overall = rates(counted)
    communes = rates(counted[status["kind"] == commune_kind])
    return {"province_code": code, "province": name,
            **{k: v for k, v in overall.as_dict().items() if k in COMPLETENESS_COLUMNS},
            "communes_expected": communes.expected, "communes_accepted": communes.accepted,
            "communes_completeness": communes.completeness}


def indicator_table(result: Rollup) -> pd.DataFrame:
    """Indicators as rows, provinces as columns (the national total last): the ministry's table."""
    table = result.indicators.pivot(index="code", columns="province", values="total")
    return table.reindex(index=list(dict.fromkeys(result.indicators["code"])),
                         columns=list(dict.fromkeys(result.indicators["province"])))
