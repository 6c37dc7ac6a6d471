"""Time to consolidate and render one province's reports (Lai Châu: 46 units), per step.

    python -m bench.report_bench [--repeat 3]

Builds a workspace once under outputs/bench/report/ (templates filled with the demo data, both
periods ingested; not timed), then times, for the semi-annual and the annual report: reading the
ledger and consolidating, the audit's submission status, the narrative, the charts, the Word,
Excel and HTML files, and writing them. Prints a table (best of --repeat runs); asserts nothing.
Target: under 3 s per report on a 2-core machine, start-up aside.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from pipeline.reference.project import Project

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = PROJECT_ROOT / "outputs" / "bench" / "report"
STAMP = ".bench-ready"


def prepare(workspace: Path):
    """The workspace with both periods filled and ingested (reused when already there)."""
    from pipeline.reference.catalogue import load_catalogue
    from pipeline.reference.settings import load_settings
    from pipeline.cli.demo import fill_period, prepare_workspace
    from pipeline.intake.ingest import ingest
    from pipeline.reference.matrix import load_matrix
    from pipeline.reference.periods import parse_period
    from pipeline.forms.templates import write_templates
    from pipeline.reference.units import load_registry

    if not (workspace / STAMP).is_file():
        print("(filling and ingesting the province's workbooks once; reused by later runs)", flush=True)
        prepare_workspace(PROJECT_ROOT, workspace)
    else:  # the data stays; the report templates and settings are always the project's current ones
        import shutil

        shutil.copytree(PROJECT_ROOT / "templates", workspace / "templates", dirs_exist_ok=True)
        shutil.copy2(PROJECT_ROOT / "inputs" / "config.toml", workspace / "inputs" / "config.toml")
    settings = load_settings(workspace)
    registry = load_registry(settings)
    matrix = load_matrix(settings, registry)
    catalogue = load_catalogue(settings, matrix, registry)
    project = Project.of(settings, registry, matrix, catalogue)
    s1, year = parse_period("2026S1", settings), parse_period("2026", settings)
    if not (workspace / STAMP).is_file():
        values = None
        for period in (s1, year):
            write_templates(project, period)
            _, typed = fill_period(project, period, first_half_values=values,
                                   receipts_start=period.cutoff - dt.timedelta(days=3))
            values = typed
            ingest(project, period, progress=False, write_outputs=False)
        (workspace / STAMP).write_text("built by bench/report_bench.py\n")
    return settings, registry, matrix, catalogue, (s1, year)


def measure(settings, registry, matrix, catalogue, period) -> dict[str, float]:
    from pipeline.report import model as report
    from pipeline.common.atomic import write_bytes
    from pipeline.audit.status import rates, submission_status
    from pipeline.report.consolidate import comparison_periods, consolidate, read_ledger
    from pipeline.report.excel import excel_bytes
    from pipeline.report.html import html_text
    from pipeline.report.word import word_bytes

    as_of = dt.date.today()
    project = Project.of(settings, registry, matrix, catalogue)
    times = {}
    t = time.perf_counter()
    data = read_ledger(settings.path("ledger"), comparison_periods(period))
    k = consolidate(matrix, registry, catalogue, period, data)
    times["consolidate (ledger -> frames)"] = time.perf_counter() - t
    t = time.perf_counter()
    status = submission_status(project, period, as_of)
    times["submission status (audit)"] = time.perf_counter() - t
    gathered = report.ReportData(settings, registry, matrix, catalogue, period, as_of, k, status, rates(status),
                                 report.ReportOptions.from_settings(settings))
    t = time.perf_counter()
    context = report.report_context(gathered)
    times["narrative"] = time.perf_counter() - t
    t = time.perf_counter()
    pictures = report.charts(gathered)
    times["charts (PNG)"] = time.perf_counter() - t
    t = time.perf_counter()
    files = {"docx": word_bytes(gathered, context, pictures)}
    times["Word (docxtpl)"] = time.perf_counter() - t
    t = time.perf_counter()
    files["xlsx"] = excel_bytes(gathered)
    times["Excel (openpyxl)"] = time.perf_counter() - t
    t = time.perf_counter()
    files["html"] = html_text(gathered, context, pictures).encode("utf-8")
    times["HTML (Jinja2)"] = time.perf_counter() - t
    t = time.perf_counter()
    folder = report.output_dir(settings, period)
    for suffix, content in files.items():
        write_bytes(folder / f"{report.report_name(period)}.{suffix}", content)
    times["write (atomic)"] = time.perf_counter() - t
    times["total"] = sum(times.values())
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per report; the best is shown")
    args = parser.parse_args()

    t = time.perf_counter()
    import matplotlib  # noqa: F401  the start-up the officer pays once per command
    import pandas  # noqa: F401

    import pipeline.report.build  # noqa: F401
    startup = time.perf_counter() - t
    settings, registry, matrix, catalogue, periods = prepare(WORKSPACE)
    results = {}
    for period in periods:
        runs = [measure(settings, registry, matrix, catalogue, period) for _ in range(max(1, args.repeat))]
        results[period.code] = {step: min(r[step] for r in runs) for step in runs[0]}
    print(f"\nLai Châu, {len(registry.units)} units; start-up (imports) {startup:.2f} s, not included below")
    print(f"{'step':34} " + " ".join(f"{code:>9}" for code in results))
    for step in next(iter(results.values())):
        print(f"{step:34} " + " ".join(f"{results[code][step]:8.2f}s" for code in results))


if __name__ == "__main__":
    main()
