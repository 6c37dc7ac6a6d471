"""Time to generate every template of a period: Lai Châu, then all 34 provinces (3,321 communes).

    python -m bench.templates_bench [--period 2026S1] [--province-only]

Prints a table; writes nothing but the templates themselves (under outputs/bench/).
"""

from __future__ import annotations

import argparse
import os
import shutil
import time

from bench.measure import peak_mib, workers_peak_mib
from bench.national import PROJECT_ROOT, province_projects


def generate(projects, period_code: str) -> int:
    """Every template of the period for these provinces, written afresh: one province as the
    officer's command does it, a whole country through one pool over every core rather than one
    pool per province. Returns the number of workbooks."""
    from pipeline.reference.periods import parse_period
    from pipeline.forms.templates import template_specs, templates_dir, write_template_files, write_templates

    if len(projects) == 1:
        [p] = projects
        shutil.rmtree(p.root / "outputs" / "templates", ignore_errors=True)
        return len(write_templates(p.project, parse_period(period_code, p.settings)))
    jobs = []
    for p in projects:
        shutil.rmtree(p.root / "outputs" / "templates", ignore_errors=True)
        period = parse_period(period_code, p.settings)
        folder = templates_dir(p.settings, period)
        folder.mkdir(parents=True)
        jobs.extend((spec, folder) for spec in template_specs(p.project, period))
    write_template_files(jobs, workers=os.cpu_count())
    return len(jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", default="2026S1")
    parser.add_argument("--province-only", action="store_true", help="skip the national run")
    args = parser.parse_args()

    base = PROJECT_ROOT / "outputs" / "bench" / "national"
    rows = []

    started = time.perf_counter()
    lai_chau = province_projects(base, only=[12])
    setup = time.perf_counter() - started
    t0, c0 = time.perf_counter(), time.process_time()
    count = generate(lai_chau, args.period)
    rows.append(("Lai Châu", count, time.perf_counter() - t0, time.process_time() - c0))

    if not args.province_only:
        projects = province_projects(base)
        t0, c0 = time.perf_counter(), time.process_time()
        count = generate(projects, args.period)
        rows.append((f"national ({len(projects)} provinces)", count, time.perf_counter() - t0,
                     time.process_time() - c0))

    print(f"Template generation, period {args.period}, {os.cpu_count()} cores (setting up Lai Châu: {setup:.2f} s)")
    print(f"{'set':<28} {'workbooks':>9} {'wall s':>8} {'cpu s (main)':>12} {'ms/workbook':>12}")
    for name, count, wall, cpu in rows:
        print(f"{name:<28} {count:>9} {wall:>8.2f} {cpu:>12.2f} {1000 * wall / count:>12.1f}")
    print(f"peak RSS: {peak_mib():.0f} MiB (main), {workers_peak_mib():.0f} MiB (largest pool worker)")


if __name__ == "__main__":
    main()
