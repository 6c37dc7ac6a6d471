"""Filling the project's own templates the way a commune's clerk would, for the ingestion tests."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pipeline.forms import layout
from pipeline.forms.templates import build_workbook, template_specs
from pipeline.reference.project import Project

COMMUNE = "03405"       # Xã Tả Lèng
DEPARTMENT = "12-SYT"


@dataclass
class Kit:
    """A throwaway project, loaded, with helpers to make submissions for it."""

    root: Path
    settings: object
    registry: object
    matrix: object
    catalogue: object
    period: object

    @classmethod
    def load(cls, root: Path, period_code: str = "2026S1") -> "Kit":
        """The project at `root`, loaded."""
        from pipeline.reference.catalogue import load_catalogue
        from pipeline.reference.settings import load_settings
        from pipeline.reference.matrix import load_matrix
        from pipeline.reference.periods import parse_period
        from pipeline.reference.units import load_registry

        settings = load_settings(root)
        registry = load_registry(settings)
        matrix = load_matrix(settings, registry)
        return cls(root, settings, registry, matrix, load_catalogue(settings, matrix, registry),
                   parse_period(period_code, settings))

    @cached_property
    def project(self) -> Project:
        """The same parts as one Project, as the stages take them."""
        return Project.of(self.settings, self.registry, self.matrix, self.catalogue)

    @property
    def folder(self) -> Path:
        path = self.settings.path("submissions") / self.period.code
        path.mkdir(parents=True, exist_ok=True)
        return path

    def spec(self, unit_id: str, period=None):
        return template_specs(self.project, period or self.period,
                              unit_id)[0]

    def blank(self, unit_id: str, period=None):
        spec = self.spec(unit_id, period)
        return spec, build_workbook(spec)

    def filled(self, unit_id: str = COMMUNE, period=None, values: dict | None = None):
        """The unit's template filled in full: every task done with results, indicator i = 10 + i."""
        spec, wb = self.blank(unit_id, period)
        fill(wb, spec, values)
        return spec, wb

    def save(self, wb, name: str) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        wb.save(path)
        return path

    def ingest(self, **kwargs):
        from pipeline.intake.ingest import ingest

        kwargs.setdefault("now", dt.datetime(2026, 6, 16, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7))))
        return ingest(self.project, self.period, **kwargs)


def indicator_value(n: int) -> int:
    return 10 + n


def fill(wb, spec, values: dict | None = None) -> None:
    """Types what a clerk types: the info block, a status and results per task, a value per indicator.
    `values` overrides indicator values by code."""
    info = wb[layout.SHEET_INFO]
    info["B7"] = "Nguyễn Thị Hoa"
    info["B8"] = "0912 345 678"
    info["B9"] = dt.date(2026, 6, 15)
    info["B10"] = "Lò Văn Thắng"
    tasks = wb[layout.SHEET_TASKS]
    for n, task in enumerate(spec.tasks):
        row = layout.TASKS_FIRST_ROW + n
        tasks[f"E{row}"] = "Hoàn thành" if n % 2 == 0 else "Đang triển khai"
        tasks[f"F{row}"] = f"Đã triển khai nhiệm vụ {task['task_id']}: tổ chức 2 buổi tuyên truyền tại thôn."
        tasks[f"G{row}"] = 2
        tasks[f"H{row}"] = f"Kế hoạch số {n + 1}/KH-UBND"
    indicators = wb[layout.SHEET_INDICATORS]
    for n, (code, value) in enumerate(typed_values(spec, values).items()):
        indicators[f"E{layout.INDICATORS_FIRST_ROW + n}"] = value


def typed_values(spec, values: dict | None = None) -> dict:
    """code -> the value `fill` types: 10 + its position, 1 for the first of each plausibility pair
    (violations <= inspections, ...), `values` where given."""
    out = {i["code"]: indicator_value(n) for n, i in enumerate(spec.indicators)}
    for left, right in (("KT04", "KT03"), ("XL07", "XL06"), ("NL01", "NL02"), ("TT01", "TT02")):
        if left in out and right in out:
            out[left] = 1
    out.update(values or {})
    return out


def row_of(spec, code: str) -> int:
    return layout.INDICATORS_FIRST_ROW + [i["code"] for i in spec.indicators].index(code)


def task_row(spec, task_id: str) -> int:
    return layout.TASKS_FIRST_ROW + [t["task_id"] for t in spec.tasks].index(task_id)


def xlsx_bytes(wb) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
