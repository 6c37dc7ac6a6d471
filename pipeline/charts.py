"""The report's charts (matplotlib, Agg): task status by group, an indicator by commune, and
completeness by kind of unit. Each chart is PNG bytes, put in the Word report and (base64) in the
HTML page. Byte-stable: no software or date in the metadata, the DejaVu font matplotlib ships (it
has every Vietnamese letter and is the same on every machine).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.figure import Figure  # noqa: E402

from pipeline.consolidate import (DONE, IN_PROGRESS, NO_LEAD_REPORT, NOT_APPLICABLE, NOT_STARTED,  # noqa: E402
                                  vn_number)

_STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
STATUS_COLOURS = {DONE: "#2e7d32", IN_PROGRESS: "#1565c0", NOT_STARTED: "#f9a825", NOT_APPLICABLE: "#9e9e9e",
                  NO_LEAD_REPORT: "#c62828"}
SUBMISSION_COLOURS = {"on_time": "#2e7d32", "late": "#f9a825", "rejected": "#ef6c00", "not_yet_received": "#90a4ae",
                      "missing": "#c62828"}


@dataclass(frozen=True)
class Chart:
    title: str
    png: bytes


def _render(figure: Figure, title: str) -> Chart:
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=150, metadata={"Software": None})
    plt.close(figure)
    return Chart(title, png.getvalue())


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines)


def _stacked_bars(figure, axes, names, series, xlabel: str, skip_empty: bool = False) -> None:
    """Horizontal bars stacked left to right, one (label, colour, counts) per series, counts written
    inside their segment; the legend below."""
    left = [0] * len(names)
    for label, colour, counts in series:
        if skip_empty and not any(counts):
            continue
        bars = axes.barh(names, counts, left=left, color=colour, label=label, height=0.6)
        for bar, count in zip(bars, counts):
            if count:
                axes.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2, str(count),
                          ha="center", va="center", color="white", fontsize=8, fontweight="bold")
        left = [a + b for a, b in zip(left, counts)]
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    axes.xaxis.get_major_locator().set_params(integer=True)
    figure.legend(ncols=5, loc="lower center", frameon=False, fontsize=7.5, handlelength=1.2, columnspacing=1.0)


def task_status_by_group(groups) -> Chart:
    """Stacked horizontal bars: per task group, its tasks by overall status."""
    title = "Tình trạng thực hiện nhiệm vụ theo nhóm"
    with plt.rc_context(_STYLE):
        height = 0.55 * len(groups) + 1.4
        figure, axes = plt.subplots(figsize=(7.0, height))
        # fixed margins rather than a layout engine: half the drawing time, and the same bytes
        figure.subplots_adjust(left=0.33, right=0.97, top=1 - 0.15 / height, bottom=1.05 / height)
        labels = [_wrap(f"{g.group_id}. {g.group_title}", 34) for g in groups.itertuples(index=False)]
        series = [(status, colour, groups[status].tolist()) for status, colour in STATUS_COLOURS.items()]
        _stacked_bars(figure, axes, labels, series, "Số nhiệm vụ")
        return _render(figure, title)


def indicator_by_commune(values, indicator, short_names: dict[str, str]) -> Chart:
    """Columns: one indicator's value in each commune that owes it, in the registry's order;
    a commune that did not report it is marked "chưa BC" in red."""
    title = f"{indicator.name} ({indicator.unit_of_measure}) theo xã, phường"
    rows = values[(values["code"] == indicator.code) & (values["unit_kind"] == "commune")]
    with plt.rc_context(_STYLE):
        figure, axes = plt.subplots(figsize=(10.0, 3.8))
        figure.subplots_adjust(left=0.06, right=0.99, top=0.97, bottom=0.26)
        names = [short_names.get(r.unit_id, r.unit_name) for r in rows.itertuples(index=False)]
        numbers = [0 if math.isnan(r.value) else r.value for r in rows.itertuples(index=False)]
        bars = axes.bar(range(len(names)), numbers, color="#1565c0", width=0.7)
        for bar, row in zip(bars, rows.itertuples(index=False)):
            missing = math.isnan(row.value)
            axes.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), "chưa BC" if missing else vn_number(row.value),
                      ha="center", va="bottom", rotation=90 if missing or len(names) > 20 else 0, fontsize=7,
                      color="#c62828" if missing else "black")
        axes.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
        axes.set_xlim(-0.6, len(names) - 0.4)
        axes.margins(y=0.18)
        axes.set_ylabel(indicator.unit_of_measure)
        if indicator.value_type != "decimal":
            axes.yaxis.get_major_locator().set_params(integer=True)
        return _render(figure, title)


def completeness_by_kind(status, labels: dict[str, str], kind_labels: dict[str, str]) -> Chart:
    """Stacked horizontal bars: departments, communes and all units by submission status
    (the audit's classification)."""
    title = "Tình hình gửi báo cáo theo loại đơn vị"
    groups = [(label, status[status["kind"] == kind]) for kind, label in kind_labels.items()]
    groups = [(label, part) for label, part in groups if len(part)] + [("Tổng số", status)]
    with plt.rc_context(_STYLE):
        height = 0.5 * len(groups) + 1.3
        figure, axes = plt.subplots(figsize=(7.0, height))
        figure.subplots_adjust(left=0.17, right=0.97, top=1 - 0.15 / height, bottom=1.05 / height)
        names = [label for label, _ in groups]
        series = [(labels[key], colour, [int((part["status"] == key).sum()) for _, part in groups])
                  for key, colour in SUBMISSION_COLOURS.items()]
        _stacked_bars(figure, axes, names, series, "Số đơn vị", skip_empty=True)
        return _render(figure, title)
