"""The Word report, rendered from the editable template `templates/bao-cao.docx` with docxtpl.

Jinja2 runs with autoescape (a unit's `&` or `<` stays text and cannot break the XML) and
StrictUndefined (a variable the template names but the context lacks fails loudly). The officer
edits wording, letterhead, recipients and signer in Word; `python -m scripts.word_templates`
rebuilds the first draft.

The by-unit table of appendix II has as many columns as there are indicators, so its XML is
built here (`grid_xml`) and put in place of the template's `{{p by_unit }}` paragraph; the rest of
the layout lives in the template.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

from markupsafe import Markup

from pipeline.common.docx_finish import Properties, finished_bytes
from pipeline.common.errors import BaocaoError
from pipeline.report.model import indicator_blocks
from pipeline.report.model import report_timestamp
from pipeline.common.formatting import vn_number

TEMPLATE_NAME = "bao-cao.docx"


class TemplateError(BaocaoError):
    """The Word template is missing or names a variable the report does not provide."""


def template_path(settings):
    return settings.root / "templates" / TEMPLATE_NAME


def jinja_env():
    from jinja2 import Environment, StrictUndefined

    return Environment(undefined=StrictUndefined, autoescape=True)


def word_bytes(data, context: dict, pictures: Mapping) -> bytes:
    """The Word report. `pictures`: the charts by key, each looked up when the rendering reaches
    it (charts drawn in another process are waited for one by one: the template is read,
    prepared and rendered up to each meanwhile)."""
    from docx.shared import Cm
    from docxtpl import DocxTemplate, InlineImage
    from jinja2 import TemplateError as JinjaError, UndefinedError

    path = template_path(data.settings)
    if not path.is_file():
        raise TemplateError(f"Không tìm thấy mẫu báo cáo {path} (tạo lại bằng: python -m scripts.word_templates)")
    tpl = DocxTemplate(str(path))

    class Chart(InlineImage):
        """A chart put in when the rendering reaches it; at the width it was drawn for, so that
        its font sizes are the printed sizes."""

        def __init__(self, key: str):
            super().__init__(tpl, None)
            self.key = key

        def _insert_image(self):
            chart = pictures.get(self.key)
            if chart is None:
                return ""
            self.image_descriptor, self.width = io.BytesIO(chart.png), Cm(chart.width_cm)
            return super()._insert_image()

    commune_keys = [key for key in pictures if key.startswith("commune:")]

    class CommuneCharts(Sequence):
        """Charts 2, 3, ...: one per indicator charted by commune (their titles asked for only
        when the rendering reaches them)."""

        def __getitem__(self, index):
            n = range(len(commune_keys))[index]
            key = commune_keys[n]
            return {"image": Chart(key), "title": pictures[key].title, "number": 2 + n}

        def __len__(self):
            return len(commune_keys)

    context = {
        **context,
        "chart_task_status": Chart("task_status"),
        "chart_completeness": Chart("completeness"),
        "commune_charts": CommuneCharts(),
        "completeness_chart_number": 2 + len(commune_keys),   # the completeness chart last
        "by_unit": Markup(grid_xml(data)),
    }
    try:
        tpl.render(context, jinja_env=jinja_env(), autoescape=True)
    except UndefinedError as exc:
        raise TemplateError(f"Mẫu báo cáo {path.name} dùng biến không có trong dữ liệu báo cáo: {exc}") from exc
    except JinjaError as exc:  # a tag broken while editing the template in Word
        raise TemplateError(f"Mẫu báo cáo {path.name} có thẻ {{{{ }}}} hoặc {{% %}} viết sai: {exc}") from exc
    return finished_bytes(tpl, properties(data))


def properties(data) -> Properties:
    """The report's title, subject and author (the issuing body), dated at the period's cut-off."""

    s = data.settings
    title = f"Báo cáo kết quả thực hiện công tác phòng, chống mại dâm {data.period.label}"
    subject = f"Kế hoạch phòng, chống mại dâm giai đoạn {s.plan_first_year}-{s.plan_last_year} tỉnh {s.province_name}"
    return Properties(title, subject, s.standing_unit, report_timestamp(data.period))


_BORDERS = "".join(f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
                   for side in ("top", "left", "bottom", "right", "insideH", "insideV"))


def _cell_xml(text: str, width_twips: int, *, bold=False, align="right", span: int = 1) -> str:
    runs = []
    for n, line in enumerate(str(text).split("\n")):
        if n:
            runs.append("<w:r><w:br/></w:r>")
        props = '<w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:cs="Times New Roman"/>' \
                f'{"<w:b/>" if bold else ""}<w:sz w:val="19"/></w:rPr>'
        runs.append(f'<w:r>{props}<w:t xml:space="preserve">{escape(line)}</w:t></w:r>')
    grid_span = f'<w:gridSpan w:val="{span}"/>' if span > 1 else ""
    return (f'<w:tc><w:tcPr><w:tcW w:w="{width_twips}" w:type="dxa"/>{grid_span}</w:tcPr>'
            f'<w:p><w:pPr><w:spacing w:before="0" w:after="0" w:line="240" w:lineRule="auto"/>'
            f'<w:ind w:firstLine="0"/><w:jc w:val="{align}"/></w:pPr>{"".join(runs)}</w:p></w:tc>')


def grid_xml(data) -> str:
    """Appendix II's table of values by unit, as WordprocessingML: blocks of at most GRID_COLUMNS
    indicators, one row per unit owing any of them, the province total last; "-" where a unit does
    not owe the indicator, blank where it did not report it. Unit names are XML-escaped."""
    k = data.consolidation
    units, values, owed = data.grid
    column = {name: dict(zip(k.indicators["code"], k.indicators[name].to_numpy()))
              for name in ("value_type", "unit_of_measure", "total")}
    names = dict(zip(data.registry.units["id"], data.registry.units["name"]))
    usable = 25.2
    parts = []
    for n, block in enumerate(indicator_blocks(k.indicators["code"].tolist())):
        rows = [u for u in units if any(owed[u][code] for code in block)]
        if not rows:
            continue
        if parts:
            parts.append('<w:p><w:pPr><w:spacing w:before="0" w:after="120"/></w:pPr></w:p>')
        widths = [1.0, 5.4] + [min(2.2, (usable - 6.4) / len(block))] * len(block)
        twips = [round(w * 567) for w in widths]
        decimal = {code: column["value_type"][code] == "decimal" for code in block}
        xml = [f'<w:tbl><w:tblPr><w:tblW w:w="{sum(twips)}" w:type="dxa"/><w:jc w:val="center"/>'
               f'<w:tblBorders>{_BORDERS}</w:tblBorders><w:tblLayout w:type="fixed"/>'
               '<w:tblCellMar><w:left w:w="57" w:type="dxa"/><w:right w:w="57" w:type="dxa"/></w:tblCellMar>'
               '</w:tblPr><w:tblGrid>' + "".join(f'<w:gridCol w:w="{t}"/>' for t in twips) + '</w:tblGrid>']
        header = [_cell_xml("STT", twips[0], bold=True, align="center"),
                  _cell_xml("Cơ quan, đơn vị", twips[1], bold=True, align="center")]
        header += [_cell_xml(f"{code}\n({column['unit_of_measure'][code]})", twips[c + 2], bold=True,
                             align="center") for c, code in enumerate(block)]
        xml.append('<w:tr><w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>' + "".join(header) + "</w:tr>")
        for r, unit_id in enumerate(rows, start=1):
            cells = [_cell_xml(str(r), twips[0], align="center"), _cell_xml(names[unit_id], twips[1], align="left")]
            for c, code in enumerate(block):
                if not owed[unit_id][code]:
                    cells.append(_cell_xml("-", twips[c + 2], align="center"))
                else:
                    value = values[unit_id][code]
                    cells.append(_cell_xml("" if math.isnan(value) else vn_number(value, decimal[code]), twips[c + 2]))
            xml.append('<w:tr><w:trPr><w:cantSplit/></w:trPr>' + "".join(cells) + "</w:tr>")
        total = [_cell_xml("Toàn tỉnh", twips[0] + twips[1], bold=True, align="center", span=2)]
        total += [_cell_xml(vn_number(column["total"][code], decimal[code]), twips[c + 2], bold=True)
                  for c, code in enumerate(block)]
        xml.append('<w:tr><w:trPr><w:cantSplit/></w:trPr>' + "".join(total) + "</w:tr></w:tbl>")
        parts.append("".join(xml))
    return "".join(parts) or '<w:p/>'
