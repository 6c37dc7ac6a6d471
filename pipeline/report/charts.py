"""The report's charts (matplotlib, Agg): task status by group, an indicator by commune, and
completeness by kind of unit. Each chart is PNG bytes, put in the Word report and (base64) in the
HTML page.

Each figure is drawn at the width it is printed at in the Word report (`Chart.width_cm`), so a
font size here is the printed size: no text under MIN_TEXT_PT. The font is the document's, Times
New Roman, else Liberation Serif (metrically the same; fonts-liberation2), else DejaVu Serif, the
first installed that has every Vietnamese letter. Byte-stable on a given machine: no software or
date in the metadata, fixed margins rather than a layout engine.
"""

from __future__ import annotations

import io
import logging
import math
from functools import lru_cache

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pipeline.common.formatting import vn_number
from pipeline.report.picture import Chart
from pipeline.report.statuses import DONE, IN_PROGRESS, NO_LEAD_REPORT, NOT_APPLICABLE, NOT_STARTED

FONT_CHOICES = ("Times New Roman", "Liberation Serif", "DejaVu Serif")
VIETNAMESE = "ẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹĐđƠơƯư"
MIN_TEXT_PT = 9.0        # the smallest text, as printed
TEXT_PT = 10.0
# the width each chart is printed at in the Word report (portrait body: 16 cm of text; landscape
# appendix: 25 cm, where the charts by commune are)
TASK_STATUS_CM = 15.0
COMMUNE_CM = 19.0
COMPLETENESS_CM = 16.0
CM = 1 / 2.54

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def chart_font() -> str:
    """The first of FONT_CHOICES installed with every Vietnamese letter. Where a family is
    installed twice (fonts-liberation 1.x, without Vietnamese, beside fonts-liberation2), the files
    without the letters are set aside for this process, since matplotlib would pick either."""
    from matplotlib import font_manager, ft2font

    letters = set(map(ord, VIETNAMESE))

    def covers(path: str) -> bool:
        try:
            return letters <= set(ft2font.FT2Font(path).get_charmap())
        except (OSError, RuntimeError):
            return False

    manager = font_manager.fontManager
    for family in FONT_CHOICES:
        entries = [f for f in manager.ttflist if f.name == family]
        lacking = [f for f in entries if not covers(f.fname)]
        if not entries or len(lacking) == len(entries):
            continue
        if lacking:
            manager.ttflist = [f for f in manager.ttflist if f not in lacking]
            if hasattr(manager, "_findfont_cached"):   # findfont's memo, which may hold a file just set aside
                manager._findfont_cached.cache_clear()
        if family not in FONT_CHOICES[:2]:
            log.warning("Không có phông Times New Roman hay Liberation Serif đủ chữ tiếng Việt: biểu đồ dùng %s "
                        "(cài gói fonts-liberation2 để có Liberation Serif).", family)
        return family
    log.warning("Không có phông nào đủ chữ tiếng Việt trong %s: biểu đồ dùng phông mặc định của matplotlib.",
                ", ".join(FONT_CHOICES))
    return "DejaVu Sans"


def _style() -> dict:
    return {
        "font.family": chart_font(),
        "font.size": TEXT_PT,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.fontsize": MIN_TEXT_PT,
        "xtick.labelsize": MIN_TEXT_PT,
        "ytick.labelsize": MIN_TEXT_PT,
    }


STATUS_COLOURS = {DONE: "#2e7d32", IN_PROGRESS: "#1565c0", NOT_STARTED: "#f9a825", NOT_APPLICABLE: "#9e9e9e",
                  NO_LEAD_REPORT: "#c62828"}
SUBMISSION_COLOURS = {"on_time": "#2e7d32", "late": "#f9a825", "rejected": "#ef6c00", "not_yet_received": "#90a4ae",
                      "missing": "#c62828"}


def warm_up() -> None:
    """What drawing a first chart costs once per process, paid beforehand (by the second process
    while it waits for the figures): the font chosen and its files opened, a small figure with
    text, bars and a legend drawn and encoded (the lazy imports and the caches that follow). The
    charts drawn after it are the same bytes: 0.47 s for Lai Châu's four instead of 0.67 s."""
    figure, axes = _figure(1.0, 1.0)
    with rc_context(_style()):
        axes.barh(["Đạt"], [1], color="#2e7d32", label="Đạt")
        axes.text(0.5, 0.5, "Tiếng Việt 1", fontsize=MIN_TEXT_PT, fontweight="bold")
        figure.legend(loc="lower center")
        figure.savefig(io.BytesIO(), format="png", dpi=20)


def _render(figure: Figure, title: str) -> Chart:
    png = io.BytesIO()
    width_cm = round(figure.get_figwidth() / CM, 2)
    figure.savefig(png, format="png", dpi=200, metadata={"Software": None})
    return Chart(title, png.getvalue(), width_cm)


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


def _stacked_bars(figure, axes, names, series, xlabel: str, columns: int) -> None:
    """Horizontal bars stacked left to right, one (label, colour, counts) per series, counts written
    inside their segment; the legend below in `columns` columns, without the series that count
    nothing."""
    left = [0] * len(names)
    shown = 0
    for label, colour, counts in series:
        if not any(counts):
            continue
        shown += 1
        bars = axes.barh(names, counts, left=left, color=colour, label=label, height=0.6)
        for bar, count in zip(bars, counts):
            if count:
                axes.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2, str(count),
                          ha="center", va="center", color="white", fontsize=MIN_TEXT_PT, fontweight="bold")
        left = [a + b for a, b in zip(left, counts)]
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    axes.xaxis.get_major_locator().set_params(integer=True)
    if shown:
        figure.legend(ncols=columns, loc="lower center", frameon=False, handlelength=1.2, columnspacing=1.2)


def _figure(width_in: float, height_in: float):
    """A figure drawn by Agg, with one axes: no pyplot (its import, a third of matplotlib's, and
    its registry of open figures are of no use to a file written once)."""
    figure = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(figure)
    return figure, figure.subplots()


def _stacked_figure(rows: int, legend_rows: int, width_cm: float, left_in: float):
    """A figure for stacked bars with margins fixed in inches (the same bytes every time): bars of
    0.42 in, room below for the axis label and the legend."""
    top_in, bottom_in = 0.1, 0.62 + 0.22 * legend_rows
    height = 0.42 * rows + top_in + bottom_in
    figure, axes = _figure(width_cm * CM, height)
    width = width_cm * CM
    figure.subplots_adjust(left=left_in / width, right=1 - 0.15 / width, top=1 - top_in / height,
                           bottom=bottom_in / height)
    return figure, axes


def task_status_by_group(groups: list[dict]) -> Chart:
    """Stacked horizontal bars: per task group (a dict of the consolidation's `groups` row), its
    tasks by overall status."""
    title = "Tình trạng thực hiện nhiệm vụ theo nhóm"
    with rc_context(_style()):
        series = [(status, colour, [g[status] for g in groups]) for status, colour in STATUS_COLOURS.items()]
        shown = sum(1 for _, _, counts in series if any(counts))
        figure, axes = _stacked_figure(len(groups), math.ceil(shown / 4), TASK_STATUS_CM, 2.2)
        labels = [_wrap(f"{g['group_id']}. {g['group_title']}", 30) for g in groups]
        _stacked_bars(figure, axes, labels, series, "Số nhiệm vụ", 4)
        return _render(figure, title)


def indicator_by_commune(rows: list[tuple], indicator: dict, short_names: dict[str, str]) -> Chart:
    """Columns: one indicator's (`code`, `name`, `unit_of_measure`, `value_type`) value in each
    commune that owes it (`rows`: unit id, unit name, value, in the registry's order); a commune
    that did not report it is marked "chưa BC" in red."""
    title = f"{indicator['name']} ({indicator['unit_of_measure']}) theo xã, phường"
    with rc_context(_style()):
        width, height = COMMUNE_CM * CM, 3.3
        figure, axes = _figure(width, height)
        figure.subplots_adjust(left=0.55 / width, right=1 - 0.1 / width, top=1 - 0.1 / height, bottom=1.05 / height)
        names = [short_names.get(unit_id, unit_name) for unit_id, unit_name, _ in rows]
        numbers = [0 if math.isnan(value) else value for _, _, value in rows]
        bars = axes.bar(range(len(names)), numbers, color="#1565c0", width=0.7)
        crowded = len(names) > 16
        for bar, (_, _, value) in zip(bars, rows):
            missing = math.isnan(value)
            axes.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), "chưa BC" if missing else vn_number(value),
                      ha="center", va="bottom", rotation=90 if missing or crowded else 0, fontsize=MIN_TEXT_PT,
                      color="#c62828" if missing else "black")
        axes.set_xticks(range(len(names)), names, rotation=90 if crowded else 45, ha="center" if crowded else "right")
        axes.set_xlim(-0.6, len(names) - 0.4)
        axes.margins(y=0.22)
        axes.set_ylabel(indicator["unit_of_measure"])
        if indicator["value_type"] != "decimal":
            axes.yaxis.get_major_locator().set_params(integer=True)
        return _render(figure, title)


def completeness_by_kind(status: list[tuple[str, str]], labels: dict[str, str], kind_labels: dict[str, str]) -> Chart:
    """Stacked horizontal bars: departments, communes and all units by submission status (the
    audit's classification; `status`: each unit's kind and status)."""
    title = "Tình hình gửi báo cáo theo loại đơn vị"
    groups = [(label, [s for k, s in status if k == kind]) for kind, label in kind_labels.items()]
    groups = [(label, part) for label, part in groups if len(part)] + [("Tổng số", [s for _, s in status])]
    with rc_context(_style()):
        names = [label for label, _ in groups]
        series = [(labels[key], colour, [part.count(key) for _, part in groups])
                  for key, colour in SUBMISSION_COLOURS.items()]
        shown = sum(1 for _, _, counts in series if any(counts))
        figure, axes = _stacked_figure(len(groups), math.ceil(shown / 3), COMPLETENESS_CM, 1.2)
        _stacked_bars(figure, axes, names, series, "Số đơn vị", 3)
        return _render(figure, title)
