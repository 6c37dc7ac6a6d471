"""The indicator catalogue: which statistical indicators each unit reports in a period."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.reference.settings import Settings
from pipeline.common.errors import ConfigError
from pipeline.reference.matrix import AgencyResolver, Matrix, load_collectives
from pipeline.reference.obligations import is_active
from pipeline.reference.periods import Period
from pipeline.reference.units import Registry
from pipeline.common.io_csv import read_text_rows, validate_rows

CATALOGUE_COLUMNS = ["code", "name", "unit_of_measure", "tasks", "reporters", "aggregation", "value_type", "asked_in",
                     "max_value", "province_total"]


@dataclass(frozen=True)
class Catalogue:
    """`indicators`: CATALOGUE_COLUMNS, `tasks` normalised to "2.1; 2.6", in the file's order.
    `reporters`: code, unit_id: who reports each indicator."""

    indicators: pd.DataFrame
    reporters: pd.DataFrame

    def asked(self, period: Period) -> pd.DataFrame:
        """The indicators asked in `period` (annual-only ones are left out of the first half)."""
        return self.indicators[self.indicators["asked_in"].eq("all") | period.is_annual]

    def codes_by_unit(self) -> dict[str, set[str]]:
        return self.reporters.groupby("unit_id")["code"].agg(set).to_dict()

    def for_unit(self, unit_id: str, period: Period) -> pd.DataFrame:
        """The indicators `unit_id` reports in `period`, in catalogue order."""
        asked = self.asked(period)
        return asked[asked["code"].isin(self.codes_by_unit().get(unit_id, set()))].reset_index(drop=True)


def load_catalogue(settings: Settings, matrix: Matrix, registry: Registry) -> Catalogue:

    path = settings.path("indicators")
    frame = validate_rows(read_text_rows(path, CATALOGUE_COLUMNS, optional=("max_value",)),
                          "schemas.catalogue:IndicatorCatalogueSchema", "schemas.catalogue:MESSAGES",
                          memo=settings.path("outputs")).frame()
    task_ids = set(matrix.tasks["id"])
    resolver = AgencyResolver(registry, load_collectives(settings))
    errors, reporters = [], []
    for n, row in enumerate(frame.itertuples(index=False), start=2):
        tasks = [t.strip() for t in row.tasks.split(";") if t.strip()]
        for task in tasks:
            if task not in task_ids:
                errors.append(f"{path.name}, dòng {n}, chỉ tiêu {row.code}: nhiệm vụ {task} không có trong biểu phân công")
        targets, unknown = resolver.split(row.reporters.replace(";", ","))
        for piece in unknown:
            errors.append(f"{path.name}, dòng {n}, chỉ tiêu {row.code}: không nhận ra đơn vị báo cáo {piece!r}")
        units = [u for t in targets for u in resolver.unit_ids(t)]
        if not units and not unknown:
            errors.append(f"{path.name}, dòng {n}, chỉ tiêu {row.code}: cột reporters không chỉ định đơn vị nào")
        reporters.extend({"code": row.code, "unit_id": u} for u in dict.fromkeys(units))
    if errors:
        raise ConfigError("\n".join(errors))
    frame = frame.assign(tasks=frame["tasks"].map(lambda s: "; ".join(t.strip() for t in s.split(";") if t.strip())))
    return Catalogue(indicators=frame.reset_index(drop=True),
                     reporters=pd.DataFrame(reporters, columns=["code", "unit_id"]))


def indicator_obligations(catalogue: Catalogue, registry: Registry, period: Period) -> pd.DataFrame:
    """code, unit_id for every indicator an active unit reports in `period`."""
    active = registry.units.loc[registry.units["active_from"].map(lambda a: is_active(a, period)), "id"]
    asked = set(catalogue.asked(period)["code"])
    frame = catalogue.reporters
    return frame[frame["unit_id"].isin(set(active)) & frame["code"].isin(asked)].reset_index(drop=True)
