"""The reminder letter (công văn đôn đốc): its settings, the new deadline, whom it addresses, and
the letter rendered from the officer's Word template, dated the audit day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.audit.status import (MISSING, NOT_YET, REJECTED)
from pipeline.common.docx_finish import Properties, finished_bytes
from pipeline.common.errors import ConfigError
from pipeline.reference.periods import Period
from pipeline.common.text import fold
from pipeline.reference.units import COMMUNE
from pipeline.common.formatting import dmy, date_text, vn_date
from pipeline.audit.legend import AuditError

# ---------------------------------------------------------------- the letter's settings

@dataclass(frozen=True)
class LetterSettings:
    """What the reminder letter needs of the settings: [document] and [audit] in
    inputs/config.toml, as pipeline/config.py loaded them, and the standing unit of [province]."""

    parent_body: str
    issuing_body: str
    place: str
    standing_unit: str
    symbol: str
    recipients: tuple[str, ...]
    contact_text: str
    new_deadline_days: int
    include_standing_unit: bool
    group_communes_from: int

    @classmethod
    def from_settings(cls, settings) -> "LetterSettings":
        doc, audit = settings.document, settings.audit
        return cls(
            parent_body=doc.parent_body, issuing_body=doc.issuing_body, place=doc.place,
            standing_unit=settings.standing_unit,
            symbol=audit.letter_symbol,
            recipients=audit.letter_recipients,
            contact_text=audit.contact_text,
            new_deadline_days=audit.new_deadline_days,
            include_standing_unit=audit.include_standing_unit,
            group_communes_from=audit.group_communes_from,
        )


def default_new_deadline(as_of: dt.date, days: int) -> dt.date:
    """`days` after the audit day, moved to the Monday when it falls on a weekend."""
    day = as_of + dt.timedelta(days=days)
    return day + dt.timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)


def resolve_new_deadline(period: Period, as_of: dt.date, new_deadline: dt.date | None, letter: LetterSettings) -> dt.date:
    """The deadline the letter sets: the original one while it has not passed; after it, the
    officer's `--new-deadline`, else [audit] new_deadline_days after the audit day."""
    if as_of <= period.deadline:
        return period.deadline
    if new_deadline is None:
        return default_new_deadline(as_of, letter.new_deadline_days)
    if new_deadline <= as_of:
        raise AuditError(f"Hạn nộp mới {dmy(new_deadline)} phải sau ngày kiểm tra {dmy(as_of)}.")
    return new_deadline


def addressee_name(unit) -> str:
    """How the letter addresses a unit: a department by its name, a commune by its People's Committee."""
    if unit["kind"] == COMMUNE:
        name = unit["unit_name"]
        return f"UBND {name[:1].lower()}{name[1:]}"
    return unit["unit_name"]


def addressee_lines(addressed: pd.DataFrame, group_communes_from: int) -> list[str]:
    """The "Kính gửi:" lines: each department; each commune, or, from `group_communes_from` communes
    on (0: never), one line "UBND các xã, phường: Đoàn Kết, Bình Lư, ..." as officers write it."""
    lines = [addressee_name(u) for _, u in addressed[addressed["kind"] != COMMUNE].iterrows()]
    communes = addressed[addressed["kind"] == COMMUNE]
    if not group_communes_from or len(communes) < group_communes_from:
        return lines + [addressee_name(u) for _, u in communes.iterrows()]
    parts = [name.split(" ", 1) if " " in name else ["", name] for name in communes["unit_name"]]
    divisions = {division.lower() for division, _ in parts}
    label = "xã" if divisions == {"xã"} else "phường" if divisions == {"phường"} else "xã, phường"
    return lines + [f"UBND các {label}: {', '.join(short for _, short in parts)}"]


def letter_addressees(status: pd.DataFrame, letter: LetterSettings) -> pd.DataFrame:
    """The rows the letter addresses: every unit without an accepted report (missing, not yet
    received, rejected), except the standing unit itself, which does not write to itself."""
    wanted = status[status["needs_reminder"]]
    if not letter.include_standing_unit:
        own = fold(letter.standing_unit)
        wanted = wanted[~wanted["unit_name"].map(fold).eq(own) & ~wanted["short_name"].map(fold).eq(own)]
    return wanted


# ---------------------------------------------------------------- the letter

def letter_context(settings, period: Period, addressed: pd.DataFrame, as_of: dt.date, new_deadline: dt.date,
                   letter: LetterSettings) -> dict:
    recipients = [f"- {r}" for r in letter.recipients]
    recipients = [r + ("." if n == len(recipients) - 1 else ";") for n, r in enumerate(recipients)]
    return {
        "parent_body": letter.parent_body,
        "issuing_body": letter.issuing_body,
        "place": letter.place,
        "date_text": date_text(as_of),
        "symbol": letter.symbol,
        "period_label": period.label,
        "period_code": period.code,
        "window_text": f"ngày {vn_date(period.window_start)} đến ngày {vn_date(period.cutoff)}",
        "deadline_text": vn_date(period.deadline),
        "new_deadline_text": vn_date(new_deadline),
        "overdue": as_of > period.deadline,
        "has_missing": bool(addressed["status"].isin([MISSING, NOT_YET]).any()),
        "has_rejected": bool((addressed["status"] == REJECTED).any()),
        "standing_unit": letter.standing_unit,
        "addressees": addressee_lines(addressed, letter.group_communes_from),
        "recipients": recipients,
        "contact_text": letter.contact_text,
        "plan_years": f"{settings.plan_first_year}-{settings.plan_last_year}",
        "province_name": settings.province_name,
    }


def render_letter(template: Path, context: dict, as_of: dt.date) -> bytes:
    """The letter as reproducible .docx bytes (autoescaped, a missing variable fails loudly)."""
    from docxtpl import DocxTemplate
    from jinja2 import Environment, StrictUndefined
    from jinja2.exceptions import TemplateError

    if not template.is_file():
        raise ConfigError(f"Không tìm thấy mẫu công văn {template} (tạo lại: python -m scripts.word_templates)")
    document = DocxTemplate(template)
    try:
        document.render(context, jinja_env=Environment(undefined=StrictUndefined, autoescape=True), autoescape=True)
    except TemplateError as exc:
        raise ConfigError(f"Mẫu công văn {template.name} có lỗi: {exc}") from exc
    return finished_bytes(document, Properties(
        f"Công văn đôn đốc gửi báo cáo kết quả thực hiện công tác phòng, chống mại dâm {context['period_label']}",
        f"Kế hoạch phòng, chống mại dâm giai đoạn {context['plan_years']} tỉnh {context['province_name']}",
        context["standing_unit"], dt.datetime.combine(as_of, dt.time())))



def letter_path(settings, period: Period) -> Path:
    return settings.path("outputs") / period.code / f"cong-van-don-doc-{period.code}.docx"
