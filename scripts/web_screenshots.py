"""Pictures of the web pages for the README and the user guide: the officer's overview and a unit's
verdict page, taken in Chromium (Playwright, the system's browser) from a demo province.

    python -m scripts.web_screenshots          # writes docs/images/web-tong-quan.png, web-don-vi-ket-qua.png

A throwaway workspace (outputs/web-screenshots/, the demo's data, the clock set to 20/06/2026): most
units' files already ingested, two units missing, then one commune uploads a file with mistakes on
its own page.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
NOW = dt.datetime(2026, 6, 20, 2, 30, tzinfo=dt.timezone.utc)   # 09:30 in Lai Châu, after the deadline
UNIT = "03405"   # Xã Tả Lèng: uploads a file with mistakes


def build_workspace(workspace: Path):
    from openpyxl import load_workbook

    from pipeline.cli.demo import fill_period, fill_workbook, indicator_values, prepare_workspace, unit_rng
    from pipeline.common import clock
    from pipeline.forms import layout
    from pipeline.forms.templates import template_path, template_specs, write_templates
    from pipeline.intake.ingest import ingest
    from pipeline.intake.register import append_receipts
    from pipeline.reference.project import Project
    from pipeline.mail.links import write_links

    clock._utc_now = lambda: NOW   # the pictures show the same day each time
    prepare_workspace(ROOT, workspace)
    project = Project(workspace)
    p = project
    period = p.period("2026S1")
    write_templates(p, period)
    receipts, _typed = fill_period(p, period,
                                   never_send={UNIT, "03388", "03390"}, late={"03394": dt.date(2026, 6, 19)},
                                   receipts_start=dt.date(2026, 6, 1))
    append_receipts(p.settings.path("submissions") / period.code, list(receipts.values()))
    ingest(p, period)
    links = write_links(p, period, "http://127.0.0.1")
    url = next(r["Đường dẫn nộp báo cáo"] for r in links.rows if r["Mã đơn vị"] == UNIT).removeprefix("http://127.0.0.1")
    spec = template_specs(p, period, UNIT)[0]
    wb = load_workbook(template_path(p.settings, period, UNIT, spec.unit_name))
    rng = unit_rng(UNIT, period.code)
    fill_workbook(wb, spec, is_commune=True, rng=rng, report_date=dt.date(2026, 6, 19),
                  values=indicator_values(spec, True, rng, None, dict(zip(p.catalogue.indicators["code"],
                                                                          p.catalogue.indicators["aggregation"]))))
    wb[layout.SHEET_INDICATORS][f"E{layout.INDICATORS_FIRST_ROW}"] = "nhiều"   # a word in a number cell
    wb[layout.SHEET_TASKS][f"E{layout.TASKS_FIRST_ROW}"] = "Hoàn thành"        # "done" with no results
    wb[layout.SHEET_TASKS][f"F{layout.TASKS_FIRST_ROW}"] = None
    broken = workspace / "ta-leng-bao-cao.xlsx"
    wb.save(broken)
    return project, url, broken


def main() -> None:
    from playwright.sync_api import sync_playwright

    from pipeline.web.app import create_app
    from pipeline.web.security import OfficerGate
    from pipeline.web.server import ServerThread
    from pipeline.web.settings import WebSettings

    workspace = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "outputs" / "web-screenshots"
    project, url, broken = build_workspace(workspace)
    IMAGES.mkdir(parents=True, exist_ok=True)
    with ServerThread(create_app(project, WebSettings(), gate=OfficerGate(""))) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(server.url + url)
        page.set_input_files("input[name=tep]", str(broken))
        page.click("text=Gửi báo cáo")
        page.wait_for_selector("#ket-qua")
        page.screenshot(path=str(IMAGES / "web-don-vi-ket-qua.png"), full_page=True)
        page.goto(server.url + "/can-bo?ky=2026S1")
        page.screenshot(path=str(IMAGES / "web-tong-quan.png"), clip={"x": 0, "y": 0, "width": 1100, "height": 900})
        browser.close()
    for name in ("web-don-vi-ket-qua.png", "web-tong-quan.png"):
        print(f"wrote {(IMAGES / name).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
