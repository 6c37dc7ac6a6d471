"""What a period's summary report says, as plain data: consolidation, the audit's submission status,
the options, the narrative, the appendices' rows, the by-unit grids and the charts.

The narrative (`report_context`) is plain data, shared by the Word and the HTML renderers: lists of
Vietnamese sentences assembled from what the units reported, each figure and each difficulty or
proposal attributed to the units that gave it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.audit.status import LATE, ON_TIME, rates
from pipeline.report.consolidate import (DONE, IN_PROGRESS, NO_LEAD_REPORT, NOT_APPLICABLE, NOT_STARTED, PROVINCIAL,
                                  Consolidation, clean_text, consolidate, comparison_periods,
                                  is_missing, read_ledger)
from pipeline.common.errors import BaocaoError
from pipeline.reference.matrix import LEAD
from pipeline.reference.periods import Period, TimeframeKind
from pipeline.common.text import fold
from pipeline.reference.units import COMMUNE
from pipeline.common.formatting import dmy, vn_number, vn_percent
from pipeline.reference.project import Project
from pipeline.audit.status import KIND_LABELS, STATUS_LABELS
from pipeline.audit.status import submission_status
from pipeline.common.clock import today
from pipeline.common.errors import ConfigError
from pipeline.common.io_csv import read_text_table
from pipeline.store.lock import locked_note

SIGNING_LINE = "……………………"      # no [report] signer_name: a dotted line to sign by hand


def report_name(period: Period) -> str:
    """`bao-cao-6-thang-dau-nam-2026`, `bao-cao-nam-2026`."""
    return f"bao-cao-6-thang-dau-nam-{period.year}" if not period.is_annual else f"bao-cao-nam-{period.year}"


def output_dir(settings, period: Period) -> Path:
    return settings.path("outputs") / period.code


def report_timestamp(period: Period) -> dt.datetime:
    """The documents' creation time: fixed per period (the cut-off), so that the bytes depend on
    the data only."""
    return dt.datetime.combine(period.cutoff, dt.time(0, 0))


@dataclass(frozen=True)
class ReportOptions:
    """What the report's first and last lines say: [document] (the letterhead, shared with the
    reminder letter) and [report] in inputs/config.toml, as pipeline/reference/settings.py loaded them."""

    parent_body: str
    issuing_body: str
    place: str
    symbol: str
    recipients: tuple[str, ...]
    signer_title: str
    signer_subtitle: str
    signer_name: str
    chart_indicators: tuple[str, ...]
    min_completeness: float

    @classmethod
    def from_settings(cls, settings) -> "ReportOptions":
        doc, report = settings.document, settings.report
        return cls(
            parent_body=doc.parent_body, issuing_body=doc.issuing_body, place=doc.place,
            symbol=report.symbol, recipients=report.recipients, signer_title=report.signer_title,
            signer_subtitle=report.signer_subtitle, signer_name=report.signer_name or SIGNING_LINE,
            chart_indicators=report.chart_indicators, min_completeness=report.min_completeness,
        )

    def recipient_lines(self) -> list[str]:
        """"- Bộ Y tế (b/c);" ... "- Lưu: VT, NVY." as under "Nơi nhận"."""
        return [f"- {r}{'.' if n == len(self.recipients) - 1 else ';'}" for n, r in enumerate(self.recipients)]


# ---------------------------------------------------------------- gathering the data

@dataclass(frozen=True)
class ReportData:
    settings: object
    registry: object
    matrix: object
    catalogue: object
    period: Period
    as_of: dt.date
    consolidation: Consolidation
    status: pd.DataFrame          # pipeline.audit.status.submission_status
    rates: object                 # pipeline.audit.status.Rates
    options: ReportOptions
    draft: bool = False           # forced below [report] min_completeness: "DỰ THẢO" on the first page
    # the officer's own words (read_officer_text: the file, its sections, warnings), read once
    officer: tuple = (None, {}, [])
    # from the ledger, read here so that the renderings read nothing but this and templates/:
    locked: str = ""              # store.lock.locked_note: the first half's figures come from a locked period
    signed: dict = dataclasses.field(default_factory=dict)   # intake.receive.signed_copies: unit id -> scans

    @functools.cached_property
    def grid(self) -> tuple[list[str], dict, dict]:
        """grid_cells of the consolidation, built once for the Word and the HTML renderings."""
        return grid_cells(self.consolidation, self.registry)


class TooFewReports(BaocaoError):
    """Fewer units than [report] min_completeness have an accepted report: no report without --force."""


def completeness_check(rates_, options: ReportOptions, period: Period) -> str | None:
    """None when enough units reported; else the one Vietnamese line that stops the report."""
    if rates_.completeness >= options.min_completeness:
        return None
    command = (f"make semiannual PERIOD={period.code} FORCE=1" if not period.is_annual
               else f"make annual YEAR={period.year} FORCE=1")
    return (f"Mới có {rates_.accepted}/{rates_.expected} cơ quan, đơn vị gửi báo cáo đạt yêu cầu "
            f"({vn_percent(rates_.completeness)}, dưới mức tối thiểu {vn_percent(options.min_completeness)}): chưa lập "
            f"báo cáo {period.label}; để lập bản DỰ THẢO: {command} (hoặc thêm --force).")


def gather(project: Project, period: Period, as_of: dt.date | None = None,
           force: bool = False) -> ReportData:
    """The period's data; stops (TooFewReports) below [report] min_completeness unless `force`,
    which marks the report as a draft. The completeness is the audit's own (submission_status)."""
    settings, registry, matrix, catalogue = project.settings, project.registry, project.matrix, project.catalogue

    as_of = as_of or today(settings)
    options = ReportOptions.from_settings(settings)
    status = submission_status(project, period, as_of)
    rated = rates(status)
    stop = completeness_check(rated, options, period)
    if stop and not force:
        raise TooFewReports(stop)
    data = read_ledger(settings.path("ledger"), comparison_periods(period), settings.province_code)
    consolidation = consolidate(matrix, registry, catalogue, period, data)
    from pipeline.intake.receive import signed_copies

    return ReportData(settings, registry, matrix, catalogue, period, as_of, consolidation, status, rated, options,
                      draft=stop is not None, officer=read_officer_text(settings, period),
                      locked=locked_note(settings, period), signed=signed_copies(settings, period.code))


# ---------------------------------------------------------------- the narrative

SECTIONS = {  # the officer's headings in inputs/bao-cao/<period>.md -> the context key they replace
    "Tình hình chung": "situation",
    "Đánh giá chung": "assessment",
    "Phương hướng, nhiệm vụ": "next_steps",
    "Đề xuất, kiến nghị": "proposals",
}
THEMES_NAME = "bao-cao-chu-de.csv"
HIGHER_BODIES = (  # addressees above the Department: a unit's proposal to them may be forwarded
    ("UBND tỉnh", ("ubnd tỉnh", "ủy ban nhân dân tỉnh", "uỷ ban nhân dân tỉnh")),
    ("HĐND tỉnh", ("hđnd tỉnh", "hội đồng nhân dân tỉnh")),
    ("Bộ Y tế", ("bộ y tế",)),
    ("Bộ Công an", ("bộ công an",)),
    ("Chính phủ", ("chính phủ",)),
)
MAX_NAMED = 3       # at most this many names in one sentence of the body; beyond, a count


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?;:…" else text + "."


def _names_list(names: list[str]) -> str:
    return ", ".join(names)


def _p(text: str) -> dict:
    return {"kind": "p", "text": text}


def _bullet(text: str) -> dict:
    return {"kind": "p", "text": f"- {_sentence(text)}"}


def _heading(text: str) -> dict:
    return {"kind": "heading", "text": text}


def next_period_label(period: Period) -> str:
    return f"6 tháng cuối năm {period.year}" if not period.is_annual else f"năm {period.year + 1}"


def task_short_name(text: str) -> str:
    """The name a task goes by in the body: the matrix's task text, without its final stop, a
    ": Với cấp xã" tail turned into "(cấp xã)"."""
    text = text.strip().rstrip(" .")
    if ": " in text:
        head, tail = text.split(": ", 1)
        tail = re.sub(r"^(với|đối với)\s+", "", tail.strip(), flags=re.IGNORECASE)
        text = f"{head} ({_lower_first(tail)})"
    return text


def _few(names: list[str], noun: str = "nhiệm vụ") -> str:
    """"A, B, C" or "A, B, C và 4 nhiệm vụ khác"."""
    if len(names) <= MAX_NAMED + 1:
        return "; ".join(names)
    return "; ".join(names[:MAX_NAMED]) + f" và {len(names) - MAX_NAMED} {noun} khác"


def _figure_phrase(ind) -> str:
    """"số buổi truyền thông trực tiếp tại cộng đồng: 245 buổi", with "trong đó" for a figure taken from
    the provincial unit."""
    decimal = ind.value_type == "decimal"
    text = f"{_lower_first(ind.name)}: {vn_number(ind.total, decimal)} {ind.unit_of_measure}"
    if ind.province_total == PROVINCIAL and not is_missing(ind.communes):
        text += f" (trong đó cấp xã: {vn_number(ind.communes, decimal)})"
    return text


def _example(mine: list[dict]) -> str:
    """One named example of what was done: the lead department's words, else the first unit that
    reported the task done; its first clause, at most about 160 characters."""
    def usable(c):
        return c["reported"] and c["results"] and c["status"] in (DONE, IN_PROGRESS)

    chosen = ([c for c in mine if usable(c) and c["role"] == LEAD and c["unit_kind"] != COMMUNE]
              or [c for c in mine if usable(c) and c["status"] == DONE] or [c for c in mine if usable(c)])
    if not chosen:
        return ""
    c = chosen[0]
    text = c["results"].split(";")[0].strip().rstrip(".")
    if len(text) > 160:
        text = text[:157].rsplit(" ", 1)[0] + "…"
    return f"{c['unit_name']}: {_lower_first(text)}"


def _task_line(t, mine: list[dict], related: list, leads: str) -> str:
    """One task in section II: its short name, who leads, what the units did (counted), its key
    figures (`related`: its indicators' rows), one named example."""
    status_phrase = {DONE: "đã hoàn thành", IN_PROGRESS: "đang triển khai", NOT_STARTED: "chưa triển khai",
                     NOT_APPLICABLE: "không phát sinh trong kỳ",
                     NO_LEAD_REPORT: "cơ quan chủ trì chưa báo cáo"}.get(t.status, _lower_first(t.status))
    line = f"{task_short_name(t.task)} ({leads} chủ trì): {status_phrase}"
    if len(mine) > 3:
        active = [c for c in mine if c["reported"] and c["status"] in (DONE, IN_PROGRESS)]
        done = [c for c in active if c["status"] == DONE]
        sent = [c for c in mine if c["reported"]]
        line += (f"; {len(active)}/{len(mine)} cơ quan, đơn vị được giao đã triển khai"
                 + (f" ({len(done)} đã hoàn thành)" if done else "")
                 + (f", {len(mine) - len(sent)} chưa báo cáo" if len(sent) < len(mine) else ""))
    figures = [_figure_phrase(ind) for ind in related if not is_missing(ind.total)]
    if figures:
        line += "; kết quả: " + "; ".join(figures)
    example = _example(mine)
    if example:
        line += f". Tiêu biểu: {example}"
    return _sentence(line)


def _addressee(text: str, standing_unit: str) -> str | None:
    """Who a unit's proposal asks: a higher body's name (HIGHER_BODIES), or None for the Department
    itself (named, or no addressee: a unit's report is addressed to the Department)."""
    key = fold(text)
    first = None
    for name, phrases in HIGHER_BODIES:
        for phrase in phrases:
            at = key.find(fold(phrase))
            if at >= 0 and (first is None or at < first[0]):
                first = (at, name)
    mine = key.find(fold(standing_unit))
    if first is None or (mine >= 0 and mine < first[0]):
        return None
    return first[1]


def _forwarded_request(text: str, addressee: str) -> str:
    """"Đề nghị UBND tỉnh bố trí kinh phí …" -> "bố trí kinh phí …" (what is asked of the addressee)."""
    phrases = dict(HIGHER_BODIES)[addressee]
    key = text.lower()
    for phrase in phrases:
        at = key.find(phrase)
        if at >= 0:
            return text[at + len(phrase):].strip(" :,.;")
    return text.strip(" .;")


def load_themes(settings) -> pd.DataFrame:
    """templates/bao-cao-chu-de.csv: theme (a cause, as section III says it), keywords (`;`-separated,
    matched in units' difficulties and proposals; `*` = always), addressee and proposal (the
    Department's own proposal when units raise the theme; blank: none)."""

    return read_text_table(settings.root / "templates" / THEMES_NAME, ["theme", "keywords", "addressee", "proposal"])


def _theme_of(text: str, themes: pd.DataFrame) -> int | None:
    key = fold(text)
    for n, row in enumerate(themes.itertuples(index=False)):
        words = [fold(w) for w in row.keywords.split(";") if w.strip() and w.strip() != "*"]
        if any(w in key for w in words):
            return n
    return None


def _themes_raised(remarks: pd.DataFrame, themes: pd.DataFrame, kinds: tuple[str, ...]) -> tuple[dict, set]:
    """Theme number -> the set of units that raised it; and the units whose remark matched no theme."""
    raised: dict[int, set] = {}
    other: set = set()
    for r in remarks[remarks["kind"].isin(kinds)].itertuples(index=False):
        n = _theme_of(r.text, themes)
        (raised.setdefault(n, set()) if n is not None else other).update(r.unit_ids)
    return raised, other


def _units_phrase(unit_ids, registry) -> str:
    """"5 cơ quan, đơn vị" / "3 xã, phường": counted, never a list of names."""
    ids = list(unit_ids)
    kinds = registry.kind_of
    communes = sum(1 for u in ids if kinds.get(u) == COMMUNE)
    if communes == len(ids):
        return f"{communes} xã, phường"
    return f"{len(ids)} cơ quan, đơn vị"


def _situation(data: ReportData) -> list[dict]:
    s, period, r, k = data.settings, data.period, data.rates, data.consolidation
    kinds = k.tasks["timeframe_kind"].value_counts().to_dict()
    parts = [f"{kinds[key]} nhiệm vụ {label}" for key, label in (
        (TimeframeKind.ONGOING.value, "thường xuyên"), (TimeframeKind.ANNUAL.value, "thực hiện hằng năm"),
        (TimeframeKind.PLAN.value, f"theo lộ trình giai đoạn {s.plan_first_year}-{s.plan_last_year}"),
        (TimeframeKind.SEMIANNUAL.value, "thực hiện theo kỳ báo cáo")) if kinds.get(key)]
    items = [_p(f"Thực hiện Kế hoạch phòng, chống mại dâm giai đoạn {s.plan_first_year}-{s.plan_last_year} trên "
                f"địa bàn tỉnh {s.province_name}, trong {period.label} các sở, ngành và UBND các xã, phường tiếp tục "
                f"triển khai {len(k.tasks)} nhiệm vụ theo Biểu phân công ({', '.join(parts)}).")]
    status = data.status
    by_kind = {kind: rates(status[status["kind"] == kind]) for kind in ("department", COMMUNE)
               if (status["kind"] == kind).any()}
    detail = "; ".join(f"{x.accepted}/{x.expected} {'sở, ngành' if kind == 'department' else 'xã, phường'}"
                       for kind, x in by_kind.items())
    text = (f"Tính đến ngày {dmy(data.as_of)}, {r.accepted}/{r.expected} cơ quan, đơn vị ({detail}) đã gửi báo "
            f"cáo đạt yêu cầu, trong đó {r.on_time} đơn vị gửi đúng hạn, {r.late} đơn vị gửi muộn")
    owing = status[~status["status"].isin([ON_TIME, LATE])]
    if len(owing):
        names = owing["unit_name"].tolist()
        who = f" ({_names_list(names)})" if len(names) <= MAX_NAMED else ""
        text += f"; {len(owing)} đơn vị chưa gửi báo cáo hoặc báo cáo chưa đạt yêu cầu{who}"
    items.append(_p(text + f". Số liệu báo cáo tính từ ngày {dmy(period.window_start)} đến ngày "
                           f"{dmy(period.cutoff)}; tình hình gửi báo cáo của từng đơn vị tại Phụ lục III."))
    return items


def _progress(g: dict) -> str:
    """A group's progress: on track, not started, no lead report; done only for tasks due once."""
    text = f"Nhóm có {g['tasks']} nhiệm vụ: {g['on_track']} nhiệm vụ đang triển khai hoặc đã hoàn thành"
    for status, label in ((NOT_STARTED, "chưa triển khai"), (NO_LEAD_REPORT, "cơ quan chủ trì chưa báo cáo"),
                          (NOT_APPLICABLE, "không phát sinh trong kỳ")):
        if g[status]:
            text += f", {g[status]} nhiệm vụ {label}"
    if g["due_once"]:
        text += f"; {g['due_once_done']}/{g['due_once']} nhiệm vụ thực hiện hằng năm đã hoàn thành"
    return text + "."


def _leads_text(t, matrix) -> str:
    """Who leads a task, as short as the matrix says it when several units lead ("Các sở, ngành; UBND
    cấp xã"), else by name."""
    if t.leads_owed <= 2:
        return t.leads
    raw = matrix.tasks.set_index("id").loc[t.task_id, "lead"]
    return str(raw).replace(";", ",")


def _groups_section(data: ReportData) -> tuple[str, list[dict]]:
    k = data.consolidation
    tasks, indicators = k.tasks, k.indicators
    on_track = int(tasks["status"].isin([DONE, IN_PROGRESS]).sum())
    once = tasks[tasks["timeframe_kind"] == TimeframeKind.ANNUAL.value]
    overview = (f"Trong {len(tasks)} nhiệm vụ của kỳ báo cáo, {on_track} nhiệm vụ đang triển khai hoặc đã hoàn thành"
                + (f", {int((tasks['status'] == NOT_STARTED).sum())} nhiệm vụ chưa triển khai"
                   if (tasks["status"] == NOT_STARTED).any() else "")
                + (f", {int((tasks['status'] == NO_LEAD_REPORT).sum())} nhiệm vụ cơ quan chủ trì chưa báo cáo"
                   if (tasks["status"] == NO_LEAD_REPORT).any() else "")
                + (f"; {int((once['status'] == DONE).sum())}/{len(once)} nhiệm vụ thực hiện hằng năm đã hoàn thành"
                   if len(once) else "")
                + ". Nhiệm vụ thường xuyên và nhiệm vụ theo lộ trình giai đoạn được đánh giá theo tiến độ, không tính "
                  "tỷ lệ hoàn thành (Biểu đồ 1, Phụ lục I). Kết quả cụ thể theo từng nhóm nhiệm vụ:")
    by_task: dict[str, list[dict]] = {}
    for row in k.contributions.to_dict("records"):
        by_task.setdefault(row["task_id"], []).append(row)
    # each indicator with the tasks it belongs to, in the catalogue's order
    tied = [(i, {x.strip() for x in i.tasks.split(";") if x.strip()}) for i in indicators.itertuples(index=False)]
    shown: set[str] = set()   # an indicator tied to several tasks is given once, under the first
    groups = []
    task_rows = list(tasks.itertuples(index=False))
    for n, g in enumerate(k.groups.to_dict("records"), start=1):
        lines = []
        for t in (t for t in task_rows if t.group_id == g["group_id"]):
            related = [i for i, ts in tied if t.task_id in ts and i.code not in shown]
            shown.update(i.code for i in related)
            lines.append(f"- {_task_line(t, by_task.get(t.task_id, []), related, _leads_text(t, data.matrix))}")
        if n == len(k.groups):  # indicators tied to no task (the budget) close the last group
            figures = [_figure_phrase(i) for i, ts in tied if not ts and not is_missing(i.total)]
            if figures:
                lines.append(f"- Số liệu chung: {'; '.join(figures)}.")
        groups.append({"number": n, "title": g["group_title"], "progress": _progress(g), "tasks": lines})
    return overview, groups


def _comparison_lines(data: ReportData) -> list[str]:
    period, k = data.period, data.consolidation
    if not period.is_annual:
        return []
    c = k.comparison
    flows = c[c["aggregation"] == "flow"]
    lines = []
    with_half = flows[flows["second_half"].map(lambda v: not is_missing(v))]
    if len(with_half):
        up = sum(1 for r in with_half.itertuples(index=False) if r.second_half > r.first_half)
        lines.append(f"- So với 6 tháng đầu năm: {up}/{len(with_half)} chỉ tiêu cộng dồn có kết quả 6 tháng cuối năm "
                     f"cao hơn 6 tháng đầu năm (6 tháng cuối năm tính theo từng đơn vị có báo cáo cả hai kỳ).")
    before = c[c["previous_year"].map(lambda v: not is_missing(v))]
    if len(before):
        up = sum(1 for r in before.itertuples(index=False) if not is_missing(r.annual) and r.annual > r.previous_year)
        down = sum(1 for r in before.itertuples(index=False) if not is_missing(r.annual) and r.annual < r.previous_year)
        lines.append(f"- So với năm {period.year - 1}: {up} chỉ tiêu tăng, {down} chỉ tiêu giảm "
                     f"(trên {len(before)} chỉ tiêu có số liệu cả hai năm).")
    else:
        lines.append(f"- Chưa có số liệu năm {period.year - 1} để so sánh với cùng kỳ năm trước.")
    lines.append("- Số liệu từng chỉ tiêu: 6 tháng đầu năm, 6 tháng cuối năm, cả năm và năm trước tại Phụ lục II.")
    return lines


def _notable(data: ReportData) -> list[str]:
    """Up to three key figures: the charted indicators first, then the flows most units reported."""
    ind = data.consolidation.indicators
    usable = ind[ind["total"].map(lambda v: not is_missing(v) and v > 0) & (ind["value_type"] == "integer")]
    wanted = [c for c in data.options.chart_indicators if c in set(usable["code"])]
    rest = usable[~usable["code"].isin(wanted) & (usable["aggregation"] == "flow")].sort_values(
        "units_reported", ascending=False, kind="stable")
    codes = (wanted + rest["code"].tolist())[:3]
    chosen = usable.set_index("code").loc[codes].reset_index() if codes else usable.iloc[0:0]
    return [_figure_phrase(i) for i in chosen.itertuples(index=False)]


def _assessment(data: ReportData, themes: pd.DataFrame) -> list[dict]:
    k, r, status = data.consolidation, data.rates, data.status
    tasks = k.tasks
    named = {t.task_id: _lower_first(task_short_name(t.task)) for t in tasks.itertuples(index=False)}
    items = [_heading("1. Ưu điểm, kết quả nổi bật")]
    on_track = tasks[tasks["status"].isin([DONE, IN_PROGRESS])]
    items.append(_bullet(f"Các sở, ngành và UBND các xã, phường đã quan tâm triển khai Kế hoạch; {len(on_track)}/"
                         f"{len(tasks)} nhiệm vụ đang triển khai hoặc đã hoàn thành, các nhiệm vụ thường xuyên được "
                         f"duy trì"))
    done = tasks[(tasks["status"] == DONE) & (tasks["timeframe_kind"] == TimeframeKind.ANNUAL.value)]
    if len(done):
        items.append(_bullet(f"Đã hoàn thành {len(done)} nhiệm vụ thực hiện hằng năm: "
                             f"{_few([named[t] for t in done['task_id']])}"))
    notable = _notable(data)
    if notable:
        items.append(_bullet("Một số kết quả nổi bật: " + "; ".join(notable)))
    if r.expected and r.on_time / r.expected >= 0.8:
        items.append(_bullet(f"Chế độ thông tin, báo cáo được thực hiện nghiêm túc: {r.on_time}/{r.expected} cơ quan, "
                             f"đơn vị gửi báo cáo đúng hạn"))

    items.append(_heading("2. Tồn tại, hạn chế"))
    weak = []
    for st, label in ((NOT_STARTED, "chưa triển khai"), (NO_LEAD_REPORT, "cơ quan chủ trì chưa báo cáo kết quả")):
        part = tasks[tasks["status"] == st]
        if len(part):
            weak.append(_bullet(f"{len(part)} nhiệm vụ {label}: {_few([named[t] for t in part['task_id']])}"))
    c = k.contributions
    lagging = c[(c["unit_kind"] == COMMUNE) & c["reported"] & (c["status"] == NOT_STARTED)]["unit_id"].nunique()
    communes = c[c["unit_kind"] == COMMUNE]["unit_id"].nunique()
    if lagging:
        weak.append(_bullet(f"{lagging}/{communes} xã, phường còn nhiệm vụ được giao chưa triển khai"))
    owing = status[~status["status"].isin([ON_TIME, LATE])]
    if len(owing) or r.late:
        parts = ([f"{len(owing)} cơ quan, đơn vị chưa gửi báo cáo hoặc báo cáo chưa đạt yêu cầu"] if len(owing) else []) \
            + ([f"{r.late} đơn vị gửi muộn"] if r.late else [])
        weak.append(_bullet(f"Chế độ báo cáo chưa nghiêm: {', '.join(parts)}"))
    items.extend(weak or [_bullet("Không có tồn tại, hạn chế đáng kể trong kỳ báo cáo")])

    items.append(_heading("3. Nguyên nhân"))
    raised, other = _themes_raised(k.remarks, themes, ("difficulties",))
    causes = sorted(((n, units) for n, units in raised.items() if themes.iloc[n]["theme"]),
                    key=lambda pair: (-len(pair[1]), pair[0]))
    for n, units in causes:
        items.append(_bullet(f"{themes.iloc[n]['theme']} ({_units_phrase(units, data.registry)} nêu)"))
    if other:
        items.append(_bullet(f"Các khó khăn, vướng mắc khác ({_units_phrase(other, data.registry)} nêu) được tổng hợp "
                             f"tại bảng tổng hợp kèm theo"))
    if not causes and not other:
        items.append(_bullet("Các cơ quan, đơn vị không nêu khó khăn, vướng mắc trong kỳ báo cáo"))
    return items


def _next_steps(data: ReportData) -> list[dict]:
    s, period, k = data.settings, data.period, data.consolidation
    tasks = k.tasks
    items = []
    ongoing = tasks[tasks["timeframe_kind"] != TimeframeKind.ANNUAL.value]
    items.append(_bullet(f"Tiếp tục duy trì {len(ongoing)} nhiệm vụ thường xuyên và theo lộ trình giai đoạn "
                         f"{s.plan_first_year}-{s.plan_last_year}, bảo đảm tiến độ của Kế hoạch"))
    behind = tasks[tasks["status"].isin([NOT_STARTED, NO_LEAD_REPORT])]
    for t in behind.itertuples(index=False):
        items.append(_bullet(f"Khẩn trương triển khai nhiệm vụ {_lower_first(task_short_name(t.task))} "
                             f"(chủ trì: {_leads_text(t, data.matrix)})"))
    due = tasks[(tasks["timeframe_kind"] == TimeframeKind.ANNUAL.value) & (tasks["status"] == IN_PROGRESS)]
    if len(due):
        names = "; ".join(_lower_first(task_short_name(t)) for t in due["task"])
        if not period.is_annual:
            items.append(_bullet(f"Hoàn thành trong năm {period.year} các nhiệm vụ thực hiện hằng năm còn đang triển "
                                 f"khai ({len(due)} nhiệm vụ): {names}"))
        else:
            items.append(_bullet(f"Khẩn trương hoàn thành các nhiệm vụ thực hiện hằng năm chưa hoàn thành trong năm "
                                 f"{period.year} ({len(due)} nhiệm vụ): {names}"))
    if (~data.status["status"].isin([ON_TIME, LATE])).any():
        items.append(_bullet("Đôn đốc các cơ quan, đơn vị thực hiện đầy đủ, đúng hạn chế độ báo cáo"))
    return items


def _proposals(data: ReportData, themes: pd.DataFrame) -> list[dict]:
    """The Department's own proposals, addressed: from the themes units raised (difficulties and
    proposals), then units' proposals to higher bodies forwarded in synthesised form. A unit's
    proposal to the Department itself is the Department's to answer: not here (it stays in the
    Excel summary)."""
    k, standing = data.consolidation, data.settings.standing_unit
    raised, _ = _themes_raised(k.remarks, themes, ("difficulties", "proposals"))
    own: list[tuple[str, str]] = []
    for n, row in enumerate(themes.itertuples(index=False)):
        if row.proposal and row.addressee and (n in raised or row.keywords.strip() == "*"):
            own.append((row.addressee, row.proposal))
    order = {name: i for i, (name, _) in enumerate(HIGHER_BODIES)}
    own.sort(key=lambda pair: order.get(pair[0], len(order)))
    items = [_bullet(f"Đề nghị {addressee} {proposal}") for addressee, proposal in own]
    forwarded: dict[tuple[str, str], dict] = {}
    for r in k.remarks[k.remarks["kind"] == "proposals"].itertuples(index=False):
        addressee = _addressee(r.text, standing)
        if addressee is None:
            continue
        request = _forwarded_request(r.text, addressee)
        entry = forwarded.setdefault((addressee, fold(request)), {"request": request, "units": set()})
        entry["units"].update(r.unit_ids)
    for (addressee, _), entry in sorted(forwarded.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])):
        units = entry["units"]
        kinds = {data.registry.kind_of.get(u) for u in units}
        who = (data.registry.name_of[next(iter(units))] if len(units) == 1 else
               "Một số địa phương" if kinds == {COMMUNE} else "Một số cơ quan, đơn vị")
        items.append(_bullet(f"{who} đề nghị {addressee} {_lower_first(entry['request'])}"))
    return items or [_bullet("Không có đề xuất, kiến nghị trong kỳ báo cáo")]


def read_officer_text(settings, period: Period) -> tuple[Path, dict[str, list[dict]], list[str]]:
    """inputs/bao-cao/<period>.md: the sections the officer wrote (context key -> paragraphs), and
    warnings for what could not be placed. A tiny strict reader: `## ` headings name a section of
    SECTIONS (a leading "I." … "V." is allowed), `### ` a sub-heading, `- ` or `* ` a bullet, blank
    lines separate paragraphs, the lines of one paragraph are joined."""
    import unicodedata

    path = settings.root / "inputs" / "bao-cao" / f"{period.code}.md"
    if not path.is_file():
        return path, {}, []
    try:
        text = unicodedata.normalize("NFC", path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Tệp {path} không phải UTF-8: hãy lưu lại với mã hóa UTF-8") from exc
    keys = {fold(name): key for name, key in SECTIONS.items()}
    sections: dict[str, list[dict]] = {}
    warnings: list[str] = []
    current: list[dict] | None = None
    paragraph: list[str] = []
    outside_warned = False

    def flush():
        if paragraph and current is not None:
            current.append(_p(" ".join(paragraph)))
        paragraph.clear()

    for n, raw in enumerate(text.splitlines(), start=1):
        line = clean_text(raw)
        if raw.startswith("## ") or raw.strip() == "##":
            flush()
            title = re.sub(r"^[IVX]+\.\s*", "", line[2:].strip()).strip(" :")
            key = keys.get(fold(title))
            if key is None:
                warnings.append(f"{path.name}, dòng {n}: tiêu đề «{title}» không phải một mục của báo cáo "
                                f"({', '.join(SECTIONS)}): nội dung bên dưới không được dùng.")
                current = None
            else:
                current = sections.setdefault(key, [])
            continue
        if current is None:
            if line and not outside_warned and not sections:
                outside_warned = True
                warnings.append(f"{path.name}, dòng {n}: nội dung trước tiêu đề ## đầu tiên không được dùng.")
            continue
        if raw.startswith("### "):
            flush()
            current.append(_heading(line[3:].strip()))
        elif re.match(r"^\s*[-*+]\s+", raw):
            flush()
            current.append(_p("- " + re.sub(r"^[-*+]\s+", "", line)))
        elif not line:
            flush()
        else:
            paragraph.append(line)
    flush()
    return path, {key: items for key, items in sections.items() if items}, warnings


def officer_text_line(data: "ReportData") -> str:
    """The one line `make semiannual` prints about the officer's own text."""
    path, sections, _ = data.officer
    shown = path.relative_to(data.settings.root) if path.is_relative_to(data.settings.root) else path
    if not path.is_file():
        return (f"Lời văn tự viết: chưa có {shown.as_posix()} (tạo tệp UTF-8 với các tiêu đề "
                f"{', '.join('## ' + s for s in SECTIONS)} để thay phần tự động của mục đó).")
    used = [name for name, key in SECTIONS.items() if key in sections]
    return (f"Lời văn tự viết: {shown.as_posix()} ("
            + (f"dùng cho mục {', '.join(used)}" if used else "chưa có mục nào được viết") + ").")


def report_context(data: ReportData) -> dict:
    """Everything the Word template and the HTML page show, as strings and lists of paragraphs
    ({"kind": "p" | "heading", "text"}): sections I, III, IV and V generated, each replaced by the
    officer's own words where inputs/bao-cao/<period>.md writes it; section II always generated."""

    s, period, k, options = data.settings, data.period, data.consolidation, data.options
    r = data.rates
    locked = data.locked   # the first half's figures come from a locked period
    themes = load_themes(s)
    _, officer, _ = data.officer
    overview, groups = _groups_section(data)
    generated = {"situation": _situation(data), "assessment": _assessment(data, themes),
                 "next_steps": _next_steps(data), "proposals": _proposals(data, themes)}
    sections = {key: officer.get(key, items) for key, items in generated.items()}
    appendix_reference = (f"(Kèm theo Báo cáo số …/{options.symbol} ngày … tháng … năm {period.year} "
                          f"của {s.standing_unit})")
    provincial = k.indicators[k.indicators["province_total"] == PROVINCIAL]["code"].tolist()
    rule_note = ("Toàn tỉnh: cộng số liệu của các cơ quan, đơn vị"
                 + (f"; riêng chỉ tiêu {', '.join(provincial)} lấy số của cơ quan cấp tỉnh (đã bao gồm địa bàn các xã, "
                    f"phường), số của các xã, phường ghi «trong đó»" if provincial else "") + ".")
    draft = data.draft
    return {
        "parent_body": options.parent_body,
        "issuing_body": options.issuing_body,
        "place": options.place,
        "date_text": f"ngày …… tháng …… năm {period.year}",
        "symbol": options.symbol,
        "draft": draft,
        "draft_note": (f"DỰ THẢO: mới có {r.accepted}/{r.expected} cơ quan, đơn vị gửi báo cáo đạt yêu cầu "
                       f"(tỷ lệ đầy đủ {vn_percent(r.completeness)}, dưới mức tối thiểu "
                       f"{vn_percent(options.min_completeness)}); số liệu chưa đủ để ban hành.") if draft else "",
        "title_line": f"Kết quả thực hiện công tác phòng, chống mại dâm {period.label}",
        "period_label": period.label,
        "situation": sections["situation"],
        "overview": overview,
        "groups": groups,
        "annual": period.is_annual,
        "comparison_lines": _comparison_lines(data),
        "assessment": sections["assessment"],
        "next_period_label": next_period_label(period),
        "next_steps": sections["next_steps"],
        "proposals": sections["proposals"],
        "closing": (f"Trên đây là báo cáo kết quả thực hiện công tác phòng, chống mại dâm {period.label} "
                    f"của {s.standing_unit} tỉnh {s.province_name}./."),
        "recipients": options.recipient_lines(),
        "signer_title": options.signer_title,
        "signer_subtitle": options.signer_subtitle,
        "signer_name": options.signer_name,
        "appendix_reference": appendix_reference,
        "appendix1": appendix1_rows(k),
        "appendix2": appendix2_rows(k),
        "appendix2_rule": rule_note,
        "appendix2_compare": appendix2_compare_rows(k),
        "compare_note": compare_note(k) + (" " + locked if locked else ""),
        "by_unit_title": f"{3 if period.is_annual else 2}. Số liệu theo cơ quan, đơn vị",
        "by_unit_note": ("Ô trống: đơn vị chưa báo cáo chỉ tiêu; dấu «-»: đơn vị không phải báo cáo chỉ tiêu. "
                         "Tên chỉ tiêu theo mã xem tại mục 1. " + rule_note),
        "submission_summary": submission_summary(data),
        "appendix3": appendix3_rows(data),
    }


def compare_note(k: Consolidation) -> str:
    left_out = sorted({name.strip() for names in k.comparison["second_half_left_out"] for name in str(names).split(",")
                       if name.strip()}) if len(k.comparison) else []
    note = ("6 tháng cuối năm = cả năm trừ 6 tháng đầu năm, tính theo từng đơn vị có báo cáo cả hai kỳ, chỉ cho chỉ tiêu "
            "cộng dồn theo kỳ; chỉ tiêu thời điểm (số hiện có tại ngày chốt số liệu) không tính.")
    if left_out:
        note += (f" Không tính vào 6 tháng cuối năm (không có báo cáo 6 tháng đầu năm): {_names_list(left_out)}.")
    return note


def submission_summary(data: ReportData) -> str:
    r = data.rates
    return (f"Tính đến ngày {dmy(data.as_of)} (hạn gửi báo cáo {dmy(data.period.deadline)}): {r.expected} cơ quan, "
            f"đơn vị phải báo cáo; {r.accepted} đơn vị đã gửi báo cáo đạt yêu cầu (tỷ lệ đầy đủ "
            f"{vn_percent(r.completeness)}), trong đó {r.on_time} đúng hạn (tỷ lệ đúng hạn {vn_percent(r.timeliness)}) "
            f"và {r.late} muộn; {r.rejected} đơn vị có báo cáo chưa đạt yêu cầu; "
            f"{r.missing + r.not_yet_received} đơn vị chưa gửi.")


def appendix1_rows(k: Consolidation) -> list[dict]:
    rows = []
    for t in k.tasks.itertuples(index=False):
        partners = ", ".join(p for p in (t.partners, t.unnamed_partners) if p)
        status = t.status + ("" if t.due or t.status == DONE else " (chưa đến hạn)")
        rows.append({"task_id": t.task_id, "task": t.task, "leads": t.leads, "partners": partners,
                     "timeframe": t.timeframe, "status": status, "reported_by": t.reported_by,
                     "not_reported": t.not_reported})
    return rows


def appendix2_rows(k: Consolidation) -> list[dict]:
    """The province table: under the `provincial` rule the total is the provincial units' figure and
    the communes' sum reads "trong đó …"."""
    rows = []
    for n, i in enumerate(k.indicators.itertuples(index=False), start=1):
        decimal = i.value_type == "decimal"
        communes = vn_number(i.communes, decimal)
        if i.province_total == PROVINCIAL and communes:
            communes = f"trong đó {communes}"
        rows.append({"no": n, "code": i.code, "name": i.name, "unit_of_measure": i.unit_of_measure,
                     "total": vn_number(i.total, decimal), "departments": vn_number(i.departments, decimal),
                     "communes": communes, "reporting": f"{i.units_reported}/{i.units_owed}",
                     "rule": "Số cấp tỉnh" if i.province_total == PROVINCIAL else "Cộng các đơn vị"})
    return rows


def appendix2_compare_rows(k: Consolidation) -> list[dict]:
    rows = []
    for c in k.comparison.itertuples(index=False):
        decimal = c.value_type == "decimal"
        change = ""
        if not is_missing(c.change_vs_previous):
            change = ("+" if c.change_vs_previous >= 0 else "−") + vn_percent(abs(c.change_vs_previous))
        rows.append({"code": c.code, "name": c.name, "unit_of_measure": c.unit_of_measure,
                     "first_half": vn_number(c.first_half, decimal),
                     "second_half": vn_number(c.second_half, decimal) if c.aggregation == "flow" else "-",
                     "annual": vn_number(c.annual, decimal), "previous_year": vn_number(c.previous_year, decimal),
                     "change": change})
    return rows


def appendix3_rows(data: ReportData) -> list[dict]:
    rows = []
    for n, u in enumerate(data.status.itertuples(index=False), start=1):
        receipt = dmy(u.receipt_date) if isinstance(u.receipt_date, dt.date) else ""
        rows.append({"no": n, "unit_id": u.unit_id, "name": u.unit_name, "receipt": receipt, "status": u.status_label,
                     "status_key": u.status, "versions": int(u.versions)})   # no file names in the signed report
    return rows


def unit_grid(k: Consolidation, registry) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Units (registry order; only those owing an indicator) × indicator codes: the values, and
    whether the unit owes each indicator."""
    codes = k.indicators["code"].tolist()
    unit_ids = [u for u in registry.ids if u in set(k.values["unit_id"])]
    values = k.values.pivot_table(index="unit_id", columns="code", values="value", aggfunc="first", dropna=False)
    values = values.reindex(index=unit_ids, columns=codes).astype(float)
    owed = (k.values.assign(one=True).pivot_table(index="unit_id", columns="code", values="one", aggfunc="any")
            .reindex(index=unit_ids, columns=codes).fillna(False).astype(bool))
    return values, owed


def grid_cells(k: Consolidation, registry) -> tuple[list[str], dict, dict]:
    """unit_grid as plain lookups, for the renderers' cell-by-cell loops (a `.loc` per cell costs
    more than the rest of the rendering): the units in order, unit -> code -> value, unit -> code
    -> whether the unit owes it. The values keep their types (numpy floats, NaN where not reported)."""
    values, owed = unit_grid(k, registry)
    codes = list(values.columns)
    value_rows = {u: dict(zip(codes, row)) for u, row in zip(values.index, values.to_numpy())}
    owed_rows = {u: dict(zip(codes, row)) for u, row in zip(owed.index, owed.to_numpy())}
    return list(values.index), value_rows, owed_rows


GRID_COLUMNS = 10   # indicators per block of the by-unit tables (landscape A4)


def indicator_blocks(codes: list[str]) -> list[list[str]]:
    """Indicator codes in blocks of at most GRID_COLUMNS, a block not splitting a family (TT, HT,
    ...) unless the family alone is too wide."""
    families: dict[str, list[str]] = {}
    for code in codes:
        families.setdefault(code.rstrip("0123456789"), []).append(code)
    blocks, current = [], []
    for family in families.values():
        while len(family) > GRID_COLUMNS:
            if current:
                blocks.append(current)
                current = []
            blocks.append(family[:GRID_COLUMNS])
            family = family[GRID_COLUMNS:]
        if len(current) + len(family) > GRID_COLUMNS:
            blocks.append(current)
            current = []
        current = current + family
    if current:
        blocks.append(current)
    if len(blocks) > 1 and len(blocks[-1]) <= 2 and len(blocks[-2]) + len(blocks[-1]) <= GRID_COLUMNS + 2:
        blocks[-2:] = [blocks[-2] + blocks[-1]]   # no table of one or two columns at the end
    return blocks


# ---------------------------------------------------------------- charts and writing

def charts(data: ReportData) -> dict:
    """The charts by key (`chart_keys`), in the order the report shows them."""
    return {key: chart(data, key) for key in chart_keys(data)}


def chart_keys(data: ReportData) -> list[str]:
    """`task_status`, `commune:<code>` for each indicator charted by commune, `completeness` (the
    audit's statuses): the charts in the order the report shows them."""
    return ["task_status", *[f"commune:{i.code}" for i in chart_indicators(data)], "completeness"]


def chart(data: ReportData, key: str):
    """One chart (`chart_keys`), drawn."""
    from pipeline.report.drawing import draw

    return draw(*chart_input(data, key))


def chart_input(data: ReportData, key: str) -> tuple[str, tuple]:
    """What drawing one chart (`chart_keys`) takes: the name of its function in
    pipeline.report.charts and its arguments as plain lists and dicts (what the chart process,
    which has no pandas, is sent)."""
    k = data.consolidation
    if key == "task_status":
        return "task_status_by_group", (k.groups.to_dict("records"),)
    if key == "completeness":
        return "completeness_by_kind", (list(zip(data.status["kind"].tolist(), data.status["status"].tolist())),
                                        STATUS_LABELS, KIND_LABELS)
    i = next(i for i in chart_indicators(data) if f"commune:{i.code}" == key)
    indicator = {"code": i.code, "name": i.name, "unit_of_measure": i.unit_of_measure, "value_type": i.value_type}
    values = k.values[(k.values["code"] == i.code) & (k.values["unit_kind"] == COMMUNE)]
    rows = list(zip(values["unit_id"].tolist(), values["unit_name"].tolist(), values["value"].tolist()))
    return "indicator_by_commune", (rows, indicator, {u.id: u.short_name for u in data.registry.rows})


def commune_charts(pictures: dict) -> list:
    return [chart for key, chart in pictures.items() if key.startswith("commune:")]


def chart_indicators(data: ReportData) -> list:
    """The indicators charted by commune: those of `[report] chart_indicators` that communes
    report this period (in that order), else the first commune indicator of the catalogue."""
    k = data.consolidation
    commune_codes = set(k.values.loc[k.values["unit_kind"] == COMMUNE, "code"])
    candidates = k.indicators[k.indicators["code"].isin(commune_codes)]
    wanted = [c for c in dict.fromkeys(data.options.chart_indicators) if c in commune_codes]
    if wanted:
        return list(candidates.set_index("code").loc[wanted].reset_index().itertuples(index=False))
    return list(candidates.head(1).itertuples(index=False))
