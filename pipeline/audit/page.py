"""The history page (lich-su-nop-bao-cao.html): the units x periods grid as a self-contained
HTML file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from pipeline.common.atomic import write_bytes
from pipeline.audit.status import (LATE, MISSING, REJECTED, History, status_label)
from pipeline.common.formatting import dmy, fixed_percent
from pipeline.audit.terminal import history_cell
from pipeline.audit.legend import FILLS, HISTORY_PAGE, HISTORY_TEMPLATE, LEGEND

# ---------------------------------------------------------------- the history page

def history_page(settings, history: History, as_of: dt.date, templates: Path) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(str(templates)), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
                      trim_blocks=True, lstrip_blocks=True)
    grid, days = history.grid("status"), history.grid("days_late")
    counts = history.unit_counts()
    labels = {p: r["label"] for p, r in zip(history.periods, history.rates.to_dict("records"))}
    rows = []
    for unit in history.units.itertuples(index=False):
        cells = []
        for p in history.periods:
            s = grid.at[unit.id, p]
            known = isinstance(s, str)
            cells.append({"status": s if known else "none", "text": history_cell(s, days.at[unit.id, p]),
                          "title": status_label(s, None if pd.isna(days.at[unit.id, p]) else int(days.at[unit.id, p]))
                          if known else "Không phải báo cáo kỳ này"})
        c = counts.loc[unit.id]
        rows.append({"id": unit.id, "name": unit.name, "cells": cells, "late": int(c[LATE]),
                     "missing": int(c[MISSING] + c[REJECTED]), "expected": int(c["expected"])})
    rates_rows = [{"period": r["period"], "label": r["label"], "deadline": dmy(r["deadline"]),
                   "expected": r["expected"], "accepted": r["accepted"], "on_time": r["on_time"],
                   "completeness": fixed_percent(r["completeness"]), "timeliness": fixed_percent(r["timeliness"])}
                  for r in history.rates.to_dict("records")]
    return env.get_template(HISTORY_TEMPLATE).render(
        province_name=settings.province_name, standing_unit=settings.standing_unit, as_of=dmy(as_of),
        periods=[{"code": p, "label": labels[p]} for p in history.periods], rows=rows, rates=rates_rows,
        legend=[{"status": s or "none", "symbol": sym, "text": text} for s, sym, text in LEGEND],
        fills={**FILLS, "none": "FFFFFF"})



def write_history_page(settings, history: History, as_of: dt.date) -> Path:
    path = settings.path("outputs") / HISTORY_PAGE
    html = history_page(settings, history, as_of, settings.root / "templates")
    write_bytes(path, html.encode("utf-8"))
    return path
