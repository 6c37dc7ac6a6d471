"""Time and peak memory to ingest a period: Lai Châu (~46 files), then all 34 provinces (3,321
communes and their departments), with the python-calamine reader and with an openpyxl-only reader
on the same files in the same run.

    python -m bench.ingest_bench [--period 2026S1] [--province-only]

The filled workbooks (the generator's templates filled with pipeline/cli/demo.py's figures) are built
once and cached in each benchmark province's inputs/submissions/<period>/ under outputs/bench/.
Each measurement runs in a fresh process (so its peak memory is its own) on an empty ledger and
archive, and includes writing kiem-tra.xlsx and the feedback workbooks. Prints a table; asserts
nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.measure import Clock, peak_mib, run_child
from bench.national import PROJECT_ROOT, province_projects

BASE = PROJECT_ROOT / "outputs" / "bench" / "national"
STAMP = ".filled"


# ---------------------------------------------------------------- the files

def _fill_one(job) -> None:
    from pipeline.cli.demo import fill_workbook, indicator_values, unit_rng
    from pipeline.forms.templates import build_workbook

    spec, is_commune, folder, report_date = job
    rng = unit_rng(spec.unit_id, spec.period_code)
    wb = build_workbook(spec)
    fill_workbook(wb, spec, is_commune=is_commune, rng=rng, report_date=report_date,
                  values=indicator_values(spec, is_commune, rng))
    wb.save(folder / f"bao-cao-{spec.unit_id}.xlsx")


def ensure_files(projects, period_code: str) -> None:
    from pipeline.reference.periods import parse_period
    from pipeline.forms.templates import template_specs

    jobs = []
    for project in projects:
        period = parse_period(period_code, project.settings)
        folder = project.settings.path("submissions") / period.code
        if (folder / STAMP).is_file():
            continue
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        communes = set(project.registry.communes()["id"])
        for spec in template_specs(project, period):
            jobs.append((spec, spec.unit_id in communes, folder, period.cutoff + dt.timedelta(days=2)))
    if jobs:
        print(f"(building {len(jobs)} filled workbooks once; cached for later runs)", flush=True)
        with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
            list(pool.map(_fill_one, jobs, chunksize=32))
        for project in projects:
            folder = project.settings.path("submissions") / period_code
            (folder / STAMP).write_text("filled by bench/ingest_bench.py\n")


# ---------------------------------------------------------------- an openpyxl-only reader, for comparison

def read_workbook_openpyxl(path: Path, skip=(), data: bytes | None = None):
    """The same Workbook as pipeline.intake.reader.read_workbook, read with openpyxl alone."""
    import io

    import openpyxl

    from pipeline.intake.reader import Sheet, Unreadable, Workbook, sniff

    fmt = sniff(path) if data is None else _format_of(data, path)
    if fmt not in ("xlsx", "xlsm"):
        raise Unreadable("corrupt_file", f"openpyxl cannot read .{fmt}")
    source = (lambda: path) if data is None else (lambda: io.BytesIO(data))
    values = openpyxl.load_workbook(source(), data_only=True)
    formulas = openpyxl.load_workbook(source(), data_only=False)
    sheets = {}
    for ws in (w for w in values.worksheets if w.title not in skip):
        rows = [["" if v is None else v for v in row] for row in ws.iter_rows(values_only=True)]
        sheet = Sheet(ws.title, rows, hidden=ws.sheet_state != "visible",
                      hidden_rows=[r for r, d in ws.row_dimensions.items() if d.hidden],
                      merged=[str(m) for m in ws.merged_cells.ranges])
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "e":
                    sheet.error_cells[cell.coordinate] = str(cell.value)
                elif cell.value is None and formulas[ws.title][cell.coordinate].data_type == "f":
                    sheet.uncached_formulas.append(cell.coordinate)
        sheets[ws.title] = sheet
    defined = {name: dn.attr_text for name, dn in values.defined_names.items()}
    return Workbook(path=path, format=fmt, sheet_names=values.sheetnames, sheets=sheets, defined_names=defined)


def _format_of(data: bytes, path: Path) -> str:
    from pipeline.intake.reader import _sniff

    fmt, archive = _sniff(data, path.suffix)
    if archive is not None:
        archive.close()
    return fmt


# ---------------------------------------------------------------- one measurement, in its own process

def empty_ledgers(projects, period_code: str) -> None:
    """An empty ledger and archive for each project (the templates benchmark's files stay)."""
    for project in projects:
        outputs = project.settings.path("outputs")
        shutil.rmtree(outputs / "archive", ignore_errors=True)
        shutil.rmtree(outputs / period_code, ignore_errors=True)
        ledger = project.settings.path("ledger")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{ledger}{suffix}").unlink(missing_ok=True)
    if hasattr(os, "sync"):
        os.sync()   # the deletions reach the disk now, not during the measurement that follows


def _measure(scope: str, reader: str, period_code: str) -> dict:
    t_import = time.perf_counter()
    import pandas  # noqa: F401  the start-up the officer pays once
    import pandera.pandas  # noqa: F401

    import pipeline.intake.ingest as ingest_module
    from pipeline.reference.periods import parse_period

    startup = time.perf_counter() - t_import
    if reader == "openpyxl":
        ingest_module.read_workbook = read_workbook_openpyxl
    projects = province_projects(BASE, only=[12] if scope == "province" else None)
    empty_ledgers(projects, period_code)
    sources = [ingest_module.Source(p.project, parse_period(period_code, p.settings))
               for p in projects]
    with Clock() as clock:
        reports = ingest_module.ingest_many(sources, progress=False)   # the provinces in one run
    files = sum(r.files_seen for r in reports)
    judged = sum(len(r.judged) for r in reports)
    rejected = sum(1 for r in reports for j in r.judged if j["outcome"] == "rejected")
    wall, cpu = clock.wall, clock.cpu
    peak = peak_mib()
    return {"scope": scope, "reader": reader, "files": files, "judged": judged, "rejected": rejected,
            "wall": wall, "cpu": cpu, "peak_mib": peak, "startup": startup}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", default="2026S1")
    parser.add_argument("--province-only", action="store_true", help="skip the national set")
    parser.add_argument("--measure", nargs=2, metavar=("SCOPE", "READER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(_measure(*args.measure, args.period)))
        return

    scopes = ["province"] + ([] if args.province_only else ["national"])
    ensure_files(province_projects(BASE, only=[12] if args.province_only else None), args.period)
    results = []
    for scope in scopes:
        for reader in ("calamine", "openpyxl"):
            results.append(run_child("bench.ingest_bench", "--period", args.period, "--measure", scope, reader))
            r = results[-1]
            print(f"  {scope} / {reader}: {r['wall']:.2f} s", file=sys.stderr, flush=True)

    print(f"Ingestion, period {args.period}, a pool of readers over the cores from 40 files; cpu s counts them "
          f"(start-up: import pandas + pandera "
          f"{results[0]['startup']:.2f} s, not counted)")
    print(f"{'set':<10} {'reader':<10} {'files':>6} {'rejected':>8} {'wall s':>8} {'cpu s':>8} {'ms/file':>8} "
          f"{'peak MiB':>9}")
    for r in results:
        print(f"{r['scope']:<10} {r['reader']:<10} {r['files']:>6} {r['rejected']:>8} {r['wall']:>8.2f} "
              f"{r['cpu']:>8.2f} {1000 * r['wall'] / max(r['files'], 1):>8.1f} {r['peak_mib']:>9.0f}")


if __name__ == "__main__":
    main()
