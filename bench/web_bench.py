"""A unit's upload to its verdict page, timed through the real server for a 46-unit province
(issue 19, target under 1 s on the 2-core machine).

    python -m bench.web_bench [--repeat 5]

A throwaway copy of the project under outputs/bench/web/ (the demo's data: every unit's template
filled as the demo fills it, 45 of the 46 already ingested), the web application served by uvicorn
on a loopback port, and one commune posting its file on its own link with httpx: the time from
the request to the verdict page received (the upload, saving, the register, the whole `ingest`
stage with its check report and feedback, the redirect and the page). Each repeat sends new bytes
(one value changed), so each is a new version judged in full. Prints the best and median times;
asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNIT = "03405"
TARGET_SECONDS = 1.0


def prepare(workspace: Path):
    from pipeline.cli.demo import fill_period, prepare_workspace
    from pipeline.forms.templates import write_templates
    from pipeline.intake.ingest import ingest
    from pipeline.intake.register import append_receipts
    from pipeline.reference.project import Project
    from pipeline.mail.links import write_links

    prepare_workspace(ROOT, workspace)
    p = Project(workspace)
    period = p.period("2026S1")
    write_templates(p, period)
    receipts, _ = fill_period(p, period, receipts_start=dt.date(2026, 6, 1))
    folder = p.settings.path("submissions") / period.code
    own = folder / receipts.pop(UNIT).file_name   # this unit's file is sent through its page instead
    data = own.read_bytes()
    own.unlink()
    append_receipts(folder, list(receipts.values()))
    ingest(p, period)
    links = write_links(p, period, "http://127.0.0.1")
    path = next(r["Đường dẫn nộp báo cáo"] for r in links.rows if r["Mã đơn vị"] == UNIT).removeprefix("http://127.0.0.1")
    return p, path, data


def variant(data: bytes, n: int) -> bytes:
    """The same workbook with its first indicator value changed: new bytes, a new version."""
    from openpyxl import load_workbook

    from pipeline.forms import layout

    wb = load_workbook(io.BytesIO(data))
    wb[layout.SHEET_INDICATORS][f"E{layout.INDICATORS_FIRST_ROW}"] = 100 + n
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def main() -> None:
    import re

    import httpx

    from pipeline.web.app import create_app
    from pipeline.web.security import OfficerGate
    from pipeline.web.server import ServerThread
    from pipeline.web.settings import WebSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    project, path, data = prepare(ROOT / "outputs" / "bench" / "web")
    files = [variant(data, n) for n in range(args.repeat)]
    times = []
    with ServerThread(create_app(project, WebSettings(), gate=OfficerGate(""))) as server, \
            httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)
        for content in files:
            start = time.perf_counter()
            page = client.post(path, data={"csrf": csrf}, files={"tep": ("bao-cao.xlsx", content)})
            times.append(time.perf_counter() - start)
            assert "Kết quả kiểm tra" in page.text, page.text[:500]
    best, median = min(times), statistics.median(times)
    print(f"{'what':58} {'best':>7} {'median':>7}  target")
    print(f"{'unit upload -> verdict page (46-unit province, real server)':58} {best:6.2f}s {median:6.2f}s  "
          f"< {TARGET_SECONDS:.0f} s: {'met' if best < TARGET_SECONDS else 'MISSED'}")


if __name__ == "__main__":
    main()
