"""The summary report of a period written: the Word, Excel and HTML files rendered in memory from
the model (`pipeline.report.model`), then written into `outputs/<period>/`.

`build_reports(...)` renders every file in memory first and then writes each one atomically
(temporary file + rename), so a run that fails or is killed leaves the previous files intact.
The same ledger, settings and as-of day give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from pipeline.common.forked import Forked
from pipeline.reference.periods import Period
from pipeline.store.ledger import LedgerError
from pipeline.store.lock import LockState, compare_issued, lock_state, remember_build
from pipeline.report import reuse
from pipeline.report.drawing import Beside, second_process
from pipeline.report.model import (ReportData, chart_input, chart_keys, charts, gather, output_dir, report_context,
                                   report_name)
from pipeline.reference.project import Project


@dataclass(frozen=True)
class Outputs:
    word: Path
    excel: Path
    html: Path
    data: ReportData


def render_all(data: ReportData, beside: Beside | None = None) -> dict[str, bytes]:
    """Every output file's name and bytes, rendered in memory. `beside`: the chart-drawing process
    already started (`second_process`, by the command at its start), else one is started here
    where the system allows it."""
    from pipeline.report.html import html_text

    name = report_name(data.period)
    with (nullcontext(beside) if beside is not None else second_process()) as helper:
        if helper is None:
            from pipeline.report.word import word_bytes

            context, pictures = report_context(data), charts(data)
            xlsx = excel_bytes(data, context)
            word = word_bytes(data, context, pictures)
        else:
            # The chart-drawing process has imported matplotlib (while this one ingested, or
            # gathered the figures); it is sent what each chart shows and sends each chart back as
            # it is drawn. A copy of this process, forked first (before the thread that sends),
            # writes the Excel workbook from the same narrative (it needs no chart), giving way on
            # the cores to the other two. This one writes the Word report, which waits for a
            # chart only when it reaches it, then the HTML page; it imports neither matplotlib
            # nor openpyxl.
            context = report_context(data)
            workbook = Forked(excel_bytes, data, context, nice=10)
            try:
                pictures = helper.draw({key: chart_input(data, key) for key in chart_keys(data)})
                from pipeline.report.word import word_bytes

                word = word_bytes(data, context, pictures)
                xlsx = workbook.result()
            except BaseException:
                workbook.cancel()
                raise
        html = html_text(data, context, pictures).encode("utf-8")
    return {f"{name}.docx": word, f"tong-hop-{data.period.code}.xlsx": xlsx, f"{name}.html": html}


def excel_bytes(data: ReportData, context: dict | None = None) -> bytes:
    """The summary workbook (pipeline/report/excel.py, imported here: openpyxl only where it is written)."""
    from pipeline.report.excel import excel_bytes as workbook

    return workbook(data, context)


def build_reports(project: Project, period: Period, as_of: dt.date | None = None,
                  force: bool = False, beside: Beside | None = None) -> Outputs:
    """Consolidates the period and writes its reports into outputs/<period>/ (see the module docstring).
    Stops with TooFewReports below [report] min_completeness unless `force` (a draft). `beside`: the
    second process for the rendering, started by the caller (the officer's command starts it before
    it ingests)."""
    settings = project.settings

    from pipeline.common.issued import write_issued

    kept_in = reuse.cache_dir(settings, period.code)
    # Nothing kept for the period: it will be rendered, so the second process starts now and
    # imports matplotlib while the figures are gathered (else it starts once a rendering is needed).
    with (nullcontext(beside) if beside is not None or reuse.kept(kept_in) else second_process()) as early:
        data = gather(project, period, as_of, force)
        pickled = reuse.data_content(data)
        key = reuse.render_key(data, pickled)
        files = reuse.load(kept_in, key)   # nothing changed since the last run: its files
        rendered = files is None
        if rendered:
            files = render_all(data, early)
        else:
            reuse.used(kept_in)
    folder = output_dir(settings, period)
    written = {name: write_issued(folder / name, content, settings.path("outputs")) for name, content in files.items()}
    if rendered:
        # kept under the key of what was rendered: not when a template, the code or the fonts
        # changed while it rendered (the key before no longer says what these bytes come from);
        # without a key before (matplotlib's font list not built yet), the first chart built it
        after = reuse.render_key(data, pickled)
        if key is None or after == key:
            reuse.save(kept_in, after, files)
    name = report_name(period)
    return Outputs(written[f"{name}.docx"], folder / f"tong-hop-{period.code}.xlsx", folder / f"{name}.html", data)


@dataclass(frozen=True)
class ReportRun:
    """A period's reports built as the officer's command builds them (see `report_period`)."""

    outputs: Outputs
    lock: LockState | None        # the period's lock: the reports were rebuilt from the figures as they were
    not_recorded: str | None      # why this build is not recorded in the ledger (a read-only ledger)
    changed: list[str] | None     # for a locked period, the files that differ from those issued


def report_period(project: Project, period: Period, as_of: dt.date | None = None, force: bool = False,
                  beside: Beside | None = None) -> ReportRun:
    """The period's reports, lock-aware: a locked period is rebuilt as of its lock's day and
    compared with the issued files; otherwise the build is recorded (what `lock` will lock).
    `beside`: as for `build_reports`."""
    settings = project.settings
    lock = lock_state(settings, period)
    day = lock.report_as_of() if lock is not None else as_of
    out = build_reports(project, period, day, force, beside)
    files = [out.word, out.excel, out.html]
    not_recorded = None
    if lock is None:   # (a locked period's figures are the lock's; a rebuild is not a new issue)
        try:
            remember_build(settings, period, out.data.as_of, files)
        except LedgerError as exc:   # a read-only ledger: the reports are written, the build is not recorded
            not_recorded = str(exc)
    return ReportRun(out, lock, not_recorded, compare_issued(lock, files) if lock is not None else None)
