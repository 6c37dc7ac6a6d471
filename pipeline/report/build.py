"""The summary report of a period written: the Word, Excel and HTML files rendered in memory from
the model (`pipeline.report.model`), then written into `outputs/<period>/`.

`build_reports(...)` renders every file in memory first and then writes each one atomically
(temporary file + rename), so a run that fails or is killed leaves the previous files intact.
The same ledger, settings and as-of day give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from pipeline.reference.periods import Period
from pipeline.store.ledger import LedgerError
from pipeline.store.lock import LockState, compare_issued, lock_state, remember_build
from pipeline.report import reuse
from pipeline.report.model import (ReportData, chart, chart_keys, charts, gather, output_dir, report_context,
                                   report_name)
from pipeline.reference.project import Project


@dataclass(frozen=True)
class Outputs:
    word: Path
    excel: Path
    html: Path
    data: ReportData


def render_all(data: ReportData, beside=None) -> dict[str, bytes]:
    """Every output file's name and bytes, rendered in memory. `beside`: a second process already
    started (`_beside`), else one is started here where the system allows it."""
    from pipeline.report.excel import excel_bytes

    name = report_name(data.period)
    with (nullcontext(beside) if beside is not None else _beside()) as pool:
        if pool is None:
            from pipeline.report.html import html_text
            from pipeline.report.word import word_bytes

            context, pictures = report_context(data), charts(data)
            html = html_text(data, context, pictures).encode("utf-8")
            xlsx = excel_bytes(data, context)
        else:
            # The second process imports matplotlib (it has, when it was started early), draws
            # the charts in the report's order, sending each as it is drawn, then writes the HTML
            # page; this one meanwhile writes the Excel workbook (which needs no chart) and the
            # Word report, which waits for a chart only when it reaches it. Neither imports what
            # the other uses.
            pool.submit(_in_worker, "data", data)
            pictures = _Drawn({key: pool.submit(_in_worker, "chart", key) for key in chart_keys(data)})
            context = report_context(data)
            page = pool.submit(_in_worker, "html", context)   # (with this narrative: not made again there)
            xlsx = excel_bytes(data, context)
            from pipeline.report.word import word_bytes

        word = word_bytes(data, context, pictures)
        if pool is not None:
            html = page.result()
    return {f"{name}.docx": word, f"tong-hop-{data.period.code}.xlsx": xlsx, f"{name}.html": html}


@contextmanager
def _beside():
    """A second process for part of the rendering (it imports matplotlib at once), where there are
    several cores and the system can fork (not Windows) and this is the main thread (not a job of
    the web server, beside whose other threads a fork may copy a lock held for ever); else None,
    and the caller renders everything in this process."""
    import multiprocessing
    import os
    import threading
    from concurrent.futures import ProcessPoolExecutor

    if ((os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods()
            or threading.current_thread() is not threading.main_thread()):
        yield None
        return
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    try:
        pool.submit(_in_worker, "start")
        yield pool
    except BaseException:
        # (the rendering failed or was interrupted: the second process's work is not waited for)
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


class _Drawn(Mapping):
    """The charts by key as the second process sends them, each waited for when first asked for."""

    def __init__(self, futures: dict):
        self._futures = futures

    def __getitem__(self, key: str):
        return self._futures[key].result()

    def __iter__(self):
        return iter(self._futures)

    def __len__(self):
        return len(self._futures)


_WORKER: dict = {}   # in the second process (one, so its jobs run in order): the data, the charts drawn


def _in_worker(what: str, given=None):
    """In the second process: the imports; the data (`given`); one chart (`given`: its key); then
    the HTML page (`given`: the narrative)."""
    if what == "start":
        from pipeline.report import charts as _  # noqa: F401  matplotlib, before the data comes
        return None
    if what == "data":
        _WORKER["data"], _WORKER["charts"] = given, {}
        return None
    if what == "chart":
        _WORKER["charts"][given] = drawn = chart(_WORKER["data"], given)
        return drawn
    from pipeline.report.html import html_text

    return html_text(_WORKER.pop("data"), given, _WORKER.pop("charts")).encode("utf-8")


def build_reports(project: Project, period: Period, as_of: dt.date | None = None,
                  force: bool = False) -> Outputs:
    """Consolidates the period and writes its reports into outputs/<period>/ (see the module docstring).
    Stops with TooFewReports below [report] min_completeness unless `force` (a draft)."""
    settings = project.settings

    from pipeline.common.issued import write_issued

    kept_in = reuse.cache_dir(settings, period.code)
    # Nothing kept for the period: it will be rendered, so the second process starts now and
    # imports matplotlib while the figures are gathered (else it starts once a rendering is needed).
    with (_beside() if not reuse.kept(kept_in) else nullcontext()) as early:
        data = gather(project, period, as_of, force)
        key = reuse.render_key(data)
        files = reuse.load(kept_in, key)   # nothing changed since the last run: its files
        rendered = files is None
        if rendered:
            files = render_all(data, early)
    folder = output_dir(settings, period)
    written = {name: write_issued(folder / name, content, settings.path("outputs")) for name, content in files.items()}
    if rendered:
        # kept under the key of what was rendered: not when a template, the code or the fonts
        # changed while it rendered (the key before no longer says what these bytes come from);
        # without a key before (matplotlib's font list not built yet), the first chart built it
        after = reuse.render_key(data)
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


def report_period(project: Project, period: Period, as_of: dt.date | None = None, force: bool = False) -> ReportRun:
    """The period's reports, lock-aware: a locked period is rebuilt as of its lock's day and
    compared with the issued files; otherwise the build is recorded (what `lock` will lock)."""
    settings = project.settings
    lock = lock_state(settings, period)
    day = lock.report_as_of() if lock is not None else as_of
    out = build_reports(project, period, day, force)
    files = [out.word, out.excel, out.html]
    not_recorded = None
    if lock is None:   # (a locked period's figures are the lock's; a rebuild is not a new issue)
        try:
            remember_build(settings, period, out.data.as_of, files)
        except LedgerError as exc:   # a read-only ledger: the reports are written, the build is not recorded
            not_recorded = str(exc)
    return ReportRun(out, lock, not_recorded, compare_issued(lock, files) if lock is not None else None)
