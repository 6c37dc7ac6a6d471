"""The HTML page of the report: one self-contained file (styles inline, charts as base64 PNG,
nothing fetched from the network), printable on A4. Rendered from `templates/bao-cao.html.j2`
with autoescape and StrictUndefined.
"""

from __future__ import annotations

import base64

from pipeline.common.errors import BaocaoError
from pipeline.report.model import indicator_blocks
from pipeline.common.formatting import vn_number

TEMPLATE_NAME = "bao-cao.html.j2"


def html_text(data, context: dict, pictures: dict) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, UndefinedError

    folder = data.settings.root / "templates"
    if not (folder / TEMPLATE_NAME).is_file():
        raise BaocaoError(f"Không tìm thấy mẫu trang HTML {folder / TEMPLATE_NAME}")
    env = Environment(loader=FileSystemLoader(str(folder)), undefined=StrictUndefined, autoescape=True,
                      keep_trailing_newline=True)
    k = data.consolidation
    units, values, owed = data.grid
    names = dict(zip(data.registry.units["id"], data.registry.units["name"]))
    decimal = dict(zip(k.indicators["code"], k.indicators["value_type"] == "decimal"))
    column = {name: dict(zip(k.indicators["code"], k.indicators[name].to_numpy()))
              for name in ("name", "unit_of_measure", "total")}
    grid = []
    for block in indicator_blocks(k.indicators["code"].tolist()):
        owing = [u for u in units if any(owed[u][c] for c in block)]
        if not owing:
            continue
        grid.append({
            "codes": [{"code": c, "name": column["name"][c], "unit_of_measure": column["unit_of_measure"][c]}
                      for c in block],
            "rows": [{"name": names[u], "cells": [(vn_number(values[u][c], decimal[c]) if owed[u][c] else "-")
                                                  for c in block]} for u in owing],
            "totals": [vn_number(column["total"][c], decimal[c]) for c in block],
        })
    charts = {key: {"title": chart.title, "src": "data:image/png;base64," + base64.b64encode(chart.png).decode("ascii")}
              for key, chart in pictures.items()}
    by_commune = [charts[key] for key in pictures if key.startswith("commune:")]
    try:
        return env.get_template(TEMPLATE_NAME).render(**context, grid=grid, charts=charts, commune_charts=by_commune,
                                                      contributions=_contributions(k))
    except UndefinedError as exc:
        raise BaocaoError(f"Mẫu trang HTML {TEMPLATE_NAME} dùng biến không có trong dữ liệu báo cáo: {exc}") from exc
    except TemplateError as exc:
        raise BaocaoError(f"Mẫu trang HTML {TEMPLATE_NAME} có thẻ {{{{ }}}} hoặc {{% %}} viết sai: {exc}") from exc


def _contributions(k) -> list[dict]:

    rows = []
    for c in k.contributions.itertuples(index=False):
        rows.append({"task_id": c.task_id, "unit": c.unit_name, "role": c.role, "status": c.status,
                     "reported": bool(c.reported), "results": c.results, "quantity": vn_number(c.quantity),
                     "documents": c.documents, "difficulties": c.difficulties, "proposals": c.proposals})
    return rows
