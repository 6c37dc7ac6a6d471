"""Time to generate every template of a period: Lai Châu, then all 34 provinces (3,321 communes).

    python -m bench.templates_bench [--period 2026S1] [--province-only]

Prints a table; writes nothing but the templates themselves (under outputs/bench/).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from pathlib import Path

from bench.national import PROJECT_ROOT, province_projects


def _peak_rss_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", default="2026S1")
    parser.add_argument("--province-only", action="store_true", help="skip the national run")
    args = parser.parse_args()

    from pipeline.periods import parse_period

    base = PROJECT_ROOT / "outputs" / "bench" / "national"
    rows = []

    started = time.perf_counter()
    [lai_chau] = province_projects(base, only=[12])
    shutil.rmtree(lai_chau.root / "outputs", ignore_errors=True)
    setup = time.perf_counter() - started
    from pipeline.templates import template_specs, templates_dir, write_template_files, write_templates

    period = parse_period(args.period, lai_chau.settings)
    t0, c0 = time.perf_counter(), time.process_time()
    written = write_templates(lai_chau.settings, lai_chau.registry, lai_chau.matrix, lai_chau.catalogue, period)
    rows.append(("Lai Châu", len(written), time.perf_counter() - t0, time.process_time() - c0))

    if not args.province_only:
        projects = province_projects(base)
        t0, c0 = time.perf_counter(), time.process_time()
        # one pool over the whole country rather than one per province
        jobs = []
        for project in projects:
            shutil.rmtree(project.root / "outputs" / "templates", ignore_errors=True)
            period = parse_period(args.period, project.settings)
            folder = templates_dir(project.settings, period)
            folder.mkdir(parents=True)
            specs = template_specs(project.settings, project.registry, project.matrix, project.catalogue, period)
            jobs.extend((spec, folder) for spec in specs)
        specs_done = time.perf_counter() - t0
        write_template_files(jobs, workers=os.cpu_count())
        rows.append((f"national ({len(projects)} provinces)", len(jobs), time.perf_counter() - t0, time.process_time() - c0))
        print(f"(national: building the {len(jobs)} specs took {specs_done:.2f} s)")

    print(f"Template generation, period {args.period}, {os.cpu_count()} cores (setting up Lai Châu: {setup:.2f} s)")
    print(f"{'set':<28} {'workbooks':>9} {'wall s':>8} {'cpu s (main)':>12} {'ms/workbook':>12}")
    for name, count, wall, cpu in rows:
        print(f"{name:<28} {count:>9} {wall:>8.2f} {cpu:>12.2f} {1000 * wall / count:>12.1f}")
    print(f"peak RSS: {_peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
