"""The summary report of a period: consolidation, the audit's submission status, the narrative,
then the Word, Excel and HTML files written into `outputs/<period>/`.

`build_reports(...)` renders every file in memory first and then writes each one atomically
(temporary file + rename), so a run that fails or is killed leaves the previous files intact.
The same ledger, settings and as-of day give byte-identical files.

The narrative (`report_context`) is plain data, shared by the Word and the HTML renderers: lists of
Vietnamese sentences assembled from what the units reported, each figure and each difficulty or
proposal attributed to the units that gave it.
"""

from __future__ import annotations

import datetime as dt
import math
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.consolidate import (DONE, IN_PROGRESS, NO_LEAD_REPORT, NOT_APPLICABLE, NOT_STARTED,
                                  TASK_STATUSES, Consolidation, consolidate, comparison_periods, read_ledger,
                                  vn_number, vn_percent)
from pipeline.matrix import LEAD
from pipeline.periods import Period, TimeframeKind
from pipeline.units import COMMUNE

DEFAULT_RECIPIENTS = ("Bộ Y tế (b/c)", "UBND tỉnh (b/c)", "Các sở, ngành tỉnh", "UBND các xã, phường", "Lưu: VT, NVY")


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
    """[document] (the letterhead, shared with the reminder letter) and [report] in
    inputs/config.toml, with defaults from [province]."""

    parent_body: str
    issuing_body: str
    place: str
    symbol: str = "BC-SYT"
    recipients: tuple[str, ...] = DEFAULT_RECIPIENTS
    signer_title: str = "KT. GIÁM ĐỐC"
    signer_subtitle: str = "PHÓ GIÁM ĐỐC"
    signer_name: str = "……………………"
    chart_indicators: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings) -> "ReportOptions":
        from pipeline.errors import ConfigError

        doc = dict(getattr(settings, "document", {}) or {})
        raw = dict(getattr(settings, "report", {}) or {})
        lists = {}
        for key in ("recipients", "chart_indicators"):
            value = raw.get(key, list(getattr(cls, key)))
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f'[report] {key} phải là danh sách, ví dụ ["Bộ Y tế (b/c)", "Lưu: VT"]')
            lists[key] = tuple(v.strip() for v in value if v.strip())
        return cls(
            parent_body=str(doc.get("parent_body", settings.parent_body)),
            issuing_body=str(doc.get("issuing_body", settings.standing_unit.upper())),
            place=str(doc.get("place", settings.province_name)),
            symbol=str(raw.get("symbol") or cls.symbol),
            signer_title=str(raw.get("signer_title") or cls.signer_title),
            signer_subtitle=str(raw.get("signer_subtitle", cls.signer_subtitle)),
            signer_name=str(raw.get("signer_name") or cls.signer_name),
            **lists,
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
    status: pd.DataFrame          # pipeline.audit.submission_status
    rates: object                 # pipeline.audit.Rates
    options: ReportOptions


def gather(settings, registry, matrix, catalogue, period: Period, as_of: dt.date | None = None) -> ReportData:
    from pipeline.audit import rates, submission_status
    from pipeline.clock import today

    as_of = as_of or today(settings)
    data = read_ledger(settings.path("ledger"), comparison_periods(period))
    consolidation = consolidate(matrix, registry, catalogue, period, data)
    status = submission_status(settings, registry, matrix, period, as_of)
    return ReportData(settings, registry, matrix, catalogue, period, as_of, consolidation, status, rates(status),
                      ReportOptions.from_settings(settings))


# ---------------------------------------------------------------- the narrative

def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?;:…" else text + "."


def _count_phrase(counts: dict[str, int], order=TASK_STATUSES) -> str:
    parts = [f"{counts[s]} {_lower_first(s)}" for s in order if counts.get(s)]
    return ", ".join(parts)


def _names_list(names: list[str]) -> str:
    return ", ".join(names)


def _attributed(text: str, units: list[str], tasks: list[str] | None = None) -> str:
    """"Thiếu kinh phí (Xã A, Xã B; nhiệm vụ 1.1)." — a unit's words, then who said it."""
    source = _names_list(units) + (f"; nhiệm vụ {', '.join(tasks)}" if tasks else "")
    return f"{text.rstrip(' .;')} ({source})."


def next_period_label(period: Period) -> str:
    return f"6 tháng cuối năm {period.year}" if not period.is_annual else f"năm {period.year + 1}"


def _figure_line(ind, values: pd.DataFrame) -> str:
    mine = values[(values["code"] == ind.code) & values["reported"]]
    decimal = ind.value_type == "decimal"
    parts = [f"{r.unit_name}: {vn_number(r.value, decimal)}" for r in mine.itertuples(index=False)
             if r.unit_kind != COMMUNE]
    communes = mine[mine["unit_kind"] == COMMUNE]
    if len(communes):
        parts.append(f"các xã, phường: {vn_number(ind.communes, decimal)}")
    total = vn_number(ind.total, decimal) if not math.isnan(ind.total) else "chưa có số liệu"
    detail = f" ({'; '.join(parts)}; {ind.units_reported}/{ind.units_owed} đơn vị báo cáo)" if parts else \
        f" ({ind.units_reported}/{ind.units_owed} đơn vị báo cáo)"
    return f"- {ind.name}: {total}{' ' + ind.unit_of_measure if not math.isnan(ind.total) else ''}{detail}."


def _task_lines(mine: list[dict]) -> list[str]:
    """What the leads, then the partners, reported on one task (rows of `contributions`): each
    department by name, the communes counted with up to three distinct examples, and who owed a
    report and sent none."""
    lines = []
    for role in (LEAD, "phối hợp"):
        part = [c for c in mine if c["role"] == role]
        for c in part:
            if c["unit_kind"] == COMMUNE or not c["reported"]:
                continue
            line = f"+ {c['unit_name']} ({role}): {_lower_first(c['status'])}."
            if c["results"]:
                line += " " + _sentence(c["results"])
            if c["documents"]:
                line += f" Văn bản: {_sentence(c['documents'])}"
            if not math.isnan(c["quantity"]):
                line += f" Số lượng sản phẩm: {vn_number(c['quantity'])}."
            lines.append(line)
        communes = [c for c in part if c["unit_kind"] == COMMUNE]
        sent = [c for c in communes if c["reported"]]
        if communes:
            counts: dict[str, int] = {}
            for c in sent:
                counts[c["status"]] = counts.get(c["status"], 0) + 1
            line = (f"+ UBND cấp xã ({role}): {len(sent)}/{len(communes)} xã, phường đã báo cáo"
                    + (f" ({_count_phrase(counts, (DONE, IN_PROGRESS, NOT_STARTED, NOT_APPLICABLE))})" if counts else ""))
            quantities = [c["quantity"] for c in sent if not math.isnan(c["quantity"])]
            if quantities:
                line += f"; tổng số lượng sản phẩm: {vn_number(sum(quantities))}"
            lines.append(line + ".")
            seen = set()
            for c in sent:
                if c["results"] and c["results"] not in seen and len(seen) < 3:
                    seen.add(c["results"])
                    lines.append(f"+ {c['unit_name']} ({role}): {_sentence(c['results'])}")
    missing = [c["unit_name"] for c in mine if not c["reported"]]
    if missing:
        lines.append(f"+ Chưa báo cáo: {_names_list(missing)}.")
    return lines


def report_context(data: ReportData) -> dict:
    """Everything the Word template and the HTML page show, as strings and lists of strings."""
    from pipeline.lock import locked_note

    s, period, k, options = data.settings, data.period, data.consolidation, data.options
    r = data.rates
    tasks, groups, indicators = k.tasks, k.groups, k.indicators
    counts = tasks["status"].value_counts().to_dict()
    not_due = tasks[~tasks["due"] & (tasks["status"] != DONE)]

    overview = (f"Theo Biểu phân công thực hiện Kế hoạch, kỳ báo cáo có {len(tasks)} nhiệm vụ: "
                f"{_count_phrase(counts)}.")
    if len(not_due):
        overview += (f" {len(not_due)} nhiệm vụ thực hiện hằng năm chưa đến hạn hoàn thành trong kỳ này "
                     f"({', '.join(not_due['task_id'])}).")

    by_task: dict[str, list[dict]] = {}
    for row in k.contributions.to_dict("records"):
        by_task.setdefault(row["task_id"], []).append(row)
    group_items = []
    for n, g in enumerate(groups.itertuples(index=False), start=1):
        mine = tasks[tasks["group_id"] == g.group_id]
        g_counts = mine["status"].value_counts().to_dict()
        items = []
        for t in mine.itertuples(index=False):
            status = _lower_first(t.status) + ("" if t.due or t.status == DONE else ", chưa đến hạn")
            items.append({"heading": f"- Nhiệm vụ {t.task_id}: {t.task.rstrip(' .')} (chủ trì: {t.leads}; tình trạng: {status}).",
                          "lines": _task_lines(by_task[t.task_id]) if t.task_id in by_task else []})
        task_ids = set(mine["task_id"])
        related = indicators[indicators["tasks"].map(lambda ts: bool(set(x.strip() for x in ts.split(";") if x) & task_ids))]
        if n == len(groups):  # indicators tied to no task (the budget) close the last group
            related = pd.concat([related, indicators[indicators["tasks"].str.strip() == ""]])
        group_items.append({
            "number": n, "title": g.group_title,
            "progress": f"Nhóm có {g.tasks} nhiệm vụ: {_count_phrase(g_counts)}; tỷ lệ hoàn thành {vn_percent(g.done_share)}.",
            "tasks": items,
            "figures": [_figure_line(ind, k.values) for ind in related.itertuples(index=False)],
        })

    status = data.status
    from pipeline.audit import MISSING, NOT_YET, REJECTED

    strengths = [
        f"- {r.accepted}/{r.expected} cơ quan, đơn vị đã gửi báo cáo đạt yêu cầu (tỷ lệ {vn_percent(r.completeness)}), "
        f"trong đó {r.on_time} đơn vị gửi đúng hạn (tỷ lệ {vn_percent(r.timeliness)}).",
    ]
    done = tasks[tasks["status"] == DONE]
    if len(done):
        strengths.append(f"- {len(done)}/{len(tasks)} nhiệm vụ đã hoàn thành: {', '.join(done['task_id'])}.")
    going = tasks[tasks["status"] == IN_PROGRESS]
    if len(going):
        strengths.append(f"- {len(going)} nhiệm vụ đang được triển khai: {', '.join(going['task_id'])}.")

    weaknesses = []
    owing = status[status["status"].isin([MISSING, NOT_YET, REJECTED])]
    if len(owing):
        weaknesses.append(f"- {len(owing)} cơ quan, đơn vị chưa gửi báo cáo hoặc báo cáo chưa đạt yêu cầu "
                          f"(tính đến ngày {data.as_of:%d/%m/%Y}): {_names_list(owing['unit_name'].tolist())}.")
    for label, st in (("chưa triển khai", NOT_STARTED), ("chưa có báo cáo của cơ quan chủ trì", NO_LEAD_REPORT)):
        part = tasks[tasks["status"] == st]
        if len(part):
            weaknesses.append(f"- {len(part)} nhiệm vụ {label}: {', '.join(part['task_id'])}.")
    for f in k.findings.itertuples(index=False):
        weaknesses.append(f"- {f.message}")
    difficulties = k.remarks[k.remarks["kind"] == "difficulties"]
    if len(difficulties):
        weaknesses.append("- Khó khăn, vướng mắc do các cơ quan, đơn vị nêu:")
        for d in difficulties.itertuples(index=False):
            weaknesses.append(f"+ {_attributed(d.text, list(d.units), list(d.tasks))}")
    if not weaknesses:
        weaknesses.append("- Các cơ quan, đơn vị không nêu khó khăn, vướng mắc trong kỳ báo cáo.")

    next_tasks = []
    next_label = next_period_label(period)
    kinds = dict(zip(data.matrix.tasks["id"], data.matrix.tasks["timeframe_kind"]))
    for t in tasks.itertuples(index=False):
        kind = kinds[t.task_id]
        if t.status == DONE and kind == TimeframeKind.ANNUAL.value and not period.is_annual:
            continue
        verb = "Tiếp tục thực hiện" if t.status in (DONE, IN_PROGRESS) else "Triển khai"
        next_tasks.append(f"- {verb} nhiệm vụ {t.task_id}: {_lower_first(t.task.rstrip(' .'))} (chủ trì: {t.leads}).")

    proposals = [f"- {_attributed(p.text, list(p.units))}"
                 for p in k.remarks[k.remarks["kind"] == "proposals"].itertuples(index=False)]
    if not proposals:
        proposals = ["- Các cơ quan, đơn vị không có đề xuất, kiến nghị trong kỳ báo cáo."]

    comparison_lines = []
    if period.is_annual:
        for c in k.comparison.itertuples(index=False):
            if math.isnan(c.annual) and math.isnan(c.first_half):
                continue
            decimal = c.value_type == "decimal"
            figure = vn_number(c.annual, decimal) or "chưa có số liệu"
            if c.aggregation == "flow":
                line = f"- {c.name}: cả năm {figure} {c.unit_of_measure}"
            else:  # a stock is a count at the cut-off, not a sum over the year
                line = f"- {c.name}: đến ngày {period.cutoff:%d/%m/%Y} có {figure} {c.unit_of_measure}"
            if not math.isnan(c.first_half):
                line += f"; 6 tháng đầu năm {vn_number(c.first_half, decimal)}"
            if not math.isnan(c.second_half):
                line += f", 6 tháng cuối năm {vn_number(c.second_half, decimal)}"
            if not math.isnan(c.previous_year):
                line += f"; năm {period.year - 1}: {vn_number(c.previous_year, decimal)}"
                if not math.isnan(c.change_vs_previous):
                    sign = "tăng" if c.change_vs_previous >= 0 else "giảm"
                    line += f" ({sign} {vn_percent(abs(c.change_vs_previous))})"
            comparison_lines.append(line + ".")
        if not any(not math.isnan(c.previous_year) for c in k.comparison.itertuples(index=False)):
            comparison_lines.append(f"- Chưa có số liệu năm {period.year - 1} để so sánh với cùng kỳ năm trước.")

    reported_units = int(r.accepted)
    locked = locked_note(s, period)
    appendix_reference = (f"(Kèm theo Báo cáo số …/{options.symbol} ngày … tháng … năm {period.year} "
                          f"của {s.standing_unit})")
    return {
        "parent_body": options.parent_body,
        "issuing_body": options.issuing_body,
        "place": options.place,
        "date_text": f"ngày …… tháng …… năm {period.year}",
        "symbol": options.symbol,
        "title_line": f"Kết quả thực hiện công tác phòng, chống mại dâm {period.label}",
        "period_label": period.label,
        "intro": (f"Thực hiện Kế hoạch phòng, chống mại dâm giai đoạn {s.plan_first_year}-{s.plan_last_year} "
                  f"trên địa bàn tỉnh {s.province_name}, trên cơ sở báo cáo của {reported_units}/{r.expected} cơ quan, "
                  f"đơn vị (số liệu từ ngày {period.window_start:%d/%m/%Y} đến ngày {period.cutoff:%d/%m/%Y}), "
                  f"{s.standing_unit} báo cáo kết quả thực hiện công tác phòng, chống mại dâm {period.label} như sau:"),
        "overview": overview,
        "groups": group_items,
        "annual": period.is_annual,
        "comparison_lines": comparison_lines,
        "strengths": strengths,
        "weaknesses": weaknesses,
        "next_period_label": next_label,
        "next_tasks": next_tasks,
        "proposals": proposals,
        "closing": (f"Trên đây là báo cáo kết quả thực hiện công tác phòng, chống mại dâm {period.label} "
                    f"của {s.standing_unit} tỉnh {s.province_name}./."),
        "recipients": options.recipient_lines(),
        "signer_title": options.signer_title,
        "signer_subtitle": options.signer_subtitle,
        "signer_name": options.signer_name,
        "appendix_reference": appendix_reference,
        "appendix1": appendix1_rows(k),
        "appendix2": appendix2_rows(k),
        "appendix2_compare": appendix2_compare_rows(k),
        "compare_note": ("6 tháng cuối năm = cả năm trừ 6 tháng đầu năm, chỉ tính cho chỉ tiêu cộng dồn theo kỳ; "
                         "chỉ tiêu thời điểm (số hiện có tại ngày chốt số liệu) không tính."
                         + (" " + locked if locked else "")),
        "locked_note": locked,   # the first half's figures come from a locked period (pipeline/lock.py)
        "by_unit_title": f"{3 if period.is_annual else 2}. Số liệu theo cơ quan, đơn vị",
        "by_unit_note": ("Ô trống: đơn vị chưa báo cáo chỉ tiêu; dấu «-»: đơn vị không phải báo cáo chỉ tiêu. "
                         "Tên chỉ tiêu theo mã xem tại mục 1."),
        "submission_summary": submission_summary(data),
        "appendix3": appendix3_rows(data),
    }


def submission_summary(data: ReportData) -> str:
    r = data.rates
    return (f"Tính đến ngày {data.as_of:%d/%m/%Y} (hạn gửi báo cáo {data.period.deadline:%d/%m/%Y}): {r.expected} cơ quan, "
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
    rows = []
    for n, i in enumerate(k.indicators.itertuples(index=False), start=1):
        decimal = i.value_type == "decimal"
        rows.append({"no": n, "code": i.code, "name": i.name, "unit_of_measure": i.unit_of_measure,
                     "total": vn_number(i.total, decimal), "departments": vn_number(i.departments, decimal),
                     "communes": vn_number(i.communes, decimal), "reporting": f"{i.units_reported}/{i.units_owed}"})
    return rows


def appendix2_compare_rows(k: Consolidation) -> list[dict]:
    rows = []
    for c in k.comparison.itertuples(index=False):
        decimal = c.value_type == "decimal"
        change = ""
        if not math.isnan(c.change_vs_previous):
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
        receipt = u.receipt_date.strftime("%d/%m/%Y") if isinstance(u.receipt_date, dt.date) else ""
        rows.append({"no": n, "unit_id": u.unit_id, "name": u.unit_name, "receipt": receipt, "status": u.status_label,
                     "status_key": u.status, "versions": int(u.versions), "file": u.file if isinstance(u.file, str) else ""})
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

def charts(data: ReportData, part: str | None = None) -> dict:
    """The charts by key: `task_status`, `commune:<code>` for each indicator charted by commune,
    `completeness` (the audit's statuses), in the order the report shows them. `part`: only the
    commune charts ("communes") or only the others ("others")."""
    from pipeline import charts as ch
    from pipeline.audit import KIND_LABELS, STATUS_LABELS

    k = data.consolidation
    out = {}
    if part != "communes":
        out["task_status"] = ch.task_status_by_group(k.groups)
    if part != "others":
        short = data.registry.units.set_index("id")["short_name"].to_dict()
        for indicator in chart_indicators(data):
            out[f"commune:{indicator.code}"] = ch.indicator_by_commune(k.values, indicator, short)
    if part != "communes":
        out["completeness"] = ch.completeness_by_kind(data.status, STATUS_LABELS, KIND_LABELS)
    return out


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


@dataclass(frozen=True)
class Outputs:
    word: Path
    excel: Path
    html: Path
    data: ReportData


def render_all(data: ReportData) -> dict[str, bytes]:
    """Every output file's name and bytes, rendered in memory."""
    from pipeline.report_excel import excel_bytes
    from pipeline.report_html import html_text
    from pipeline.report_word import word_bytes

    from pipeline import charts as _  # noqa: F401  (imported once, before a worker is forked)

    name = report_name(data.period)
    with _beside(data) as pool:
        if pool is None:
            context, pictures, xlsx = report_context(data), charts(data), None
        else:
            # on a second core: the commune charts, then the Excel file (which needs no chart);
            # here meanwhile: the narrative and the other charts
            communes, excel = pool.submit(_in_worker, "communes"), pool.submit(_in_worker, "excel")
            context, others = report_context(data), charts(data, "others")
            pictures = {"task_status": others["task_status"], **communes.result(),
                        "completeness": others["completeness"]}
        word = word_bytes(data, context, pictures)
        html = html_text(data, context, pictures).encode("utf-8")
        xlsx = excel.result() if pool is not None else excel_bytes(data)
    return {f"{name}.docx": word, f"tong-hop-{data.period.code}.xlsx": xlsx, f"{name}.html": html}


_FORKED_DATA = None   # what the forked worker inherits from the parent (no pickling of frames)


@contextmanager
def _beside(data):
    """A forked process for part of the rendering, where there are several cores and the system
    can fork (not Windows); else None, and the caller renders everything in this process."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    global _FORKED_DATA
    if (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    _FORKED_DATA = data
    try:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
            yield pool
    finally:
        _FORKED_DATA = None


def _in_worker(what: str):
    from pipeline.report_excel import excel_bytes

    return excel_bytes(_FORKED_DATA) if what == "excel" else charts(_FORKED_DATA, "communes")


def build_reports(settings, registry, matrix, catalogue, period: Period, as_of: dt.date | None = None) -> Outputs:
    """Consolidates the period and writes its reports into outputs/<period>/ (see the module docstring)."""
    from pipeline.atomic import write_bytes

    data = gather(settings, registry, matrix, catalogue, period, as_of)
    files = render_all(data)
    folder = output_dir(settings, period)
    for name, content in files.items():
        write_bytes(folder / name, content)
    name = report_name(period)
    return Outputs(folder / f"{name}.docx", folder / f"tong-hop-{period.code}.xlsx", folder / f"{name}.html", data)
