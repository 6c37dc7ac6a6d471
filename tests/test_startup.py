"""A command pays only for what it uses: listing units imports no validation, chart, Word or
spreadsheet library, and a list checked once is not checked again until it changes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.common.errors import ConfigError
from pipeline.common.io_csv import MEMO_NAME
from pipeline.reference.settings import load_settings
from pipeline.reference.units import load_registry

from conftest import PROJECT_ROOT

HEAVY = ("pandera", "matplotlib", "docx", "docxtpl", "openpyxl", "xlsxwriter")


def _imported(project, *args: str) -> set[str]:
    """The top-level packages a fresh `python -m pipeline ARGS` imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "pipeline", "--root", str(project), *args],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, check=True)
    return {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in proc.stderr.splitlines()
            if line.startswith("import time:")}


def test_units_imports_no_heavy_library(project):
    _imported(project, "units")          # the first run checks the lists and remembers they passed
    assert (project / "outputs" / MEMO_NAME).is_file()
    assert not _imported(project, "units") & set(HEAVY)


def test_a_list_edited_after_it_passed_is_checked_again(project):
    settings = load_settings(project)
    load_registry(settings)
    path = project / "inputs" / "departments.csv"
    text = path.read_text(encoding="utf-8-sig")
    path.write_text(text.replace("12-SYT", "12-syt", 1), encoding="utf-8-sig")
    with pytest.raises(ConfigError, match="departments.csv"):
        load_registry(settings)


def test_units_lists_the_units_without_pandas(project):
    """Issue 20: once the lists passed, `units` runs on plain rows (no pandas, no numpy)."""
    _imported(project, "units")
    code = ("import atexit, runpy, sys; sys.argv = ['pipeline', '--root', {root!r}, 'units']\n"
            "atexit.register(lambda: print('LOADED', *sorted(m for m in ('pandas', 'numpy', 'pandera')\n"
            "                                                if m in sys.modules)))\n"
            "runpy.run_module('pipeline', run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code.format(root=str(project))], capture_output=True, text=True,
                          encoding="utf-8", cwd=PROJECT_ROOT, check=True)
    lines = proc.stdout.splitlines()
    assert lines[-1] == "LOADED"
    assert lines[0].split() == ["Mã", "Tên", "đơn", "vị", "Loại", "Từ", "kỳ", "Email"]
    assert any(line.startswith("12-SYT") and "Sở Y tế" in line and "sở, ngành" in line for line in lines)
    assert any(line.startswith("03405") and "Xã Tả Lèng" in line and "xã/phường" in line for line in lines)
    assert lines[-2] == "8 sở, ngành; 38 xã/phường."


def test_the_registry_from_rows_is_the_registry_from_pandas(project):
    """`units` (built lazily from the rows) has the columns, dtypes and index it had when the
    registry was assembled with pandas; a registry built from a DataFrame keeps it."""
    import pandas as pd

    from pipeline.reference.units import UNIT_COLUMNS, Registry

    registry = load_registry(load_settings(project))
    units = registry.units
    assert list(units.columns) == UNIT_COLUMNS and isinstance(units.index, pd.RangeIndex)
    assert units["province_code"].dtype == "int64" and units["aliases"].dtype == object
    assert all(pd.api.types.is_string_dtype(units[c]) for c in UNIT_COLUMNS if c not in ("aliases", "province_code"))
    assert units.loc[units["id"] == "12-SYT", "aliases"].iloc[0] == ("SYT",)
    assert registry.get("03405")["name"] == registry.unit("03405").name == "Xã Tả Lèng"
    assert registry.count("department") == len(registry.departments()) == 8
    edited = units.copy()
    edited.loc[edited["id"] == "12-SYT", "active_from"] = "2027S1"
    again = Registry(units=edited)
    assert again.units is edited and again.unit("12-SYT").active_from == "2027S1"
    assert again.ids == registry.ids and again.resolve("ta leng") == "03405"


# ---------------------------------------------------------------- the end of a command

def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, encoding="utf-8",
                          cwd=PROJECT_ROOT, **kwargs)


def test_a_command_ends_with_its_exit_code_all_its_output_and_its_exit_handlers(project, tmp_path):
    """The process ends without the interpreter's teardown (pipeline.cli.main.exit_now), yet as
    a normal exit would: every line printed (into a file too, where output is buffered), the exit
    code of the command, the atexit handlers run."""
    listed = _run("-m", "pipeline", "--root", str(project), "units")
    assert listed.returncode == 0 and listed.stdout.rstrip().endswith("8 sở, ngành; 38 xã/phường.")
    assert len(listed.stdout.splitlines()) == 46 + 4
    into = tmp_path / "units.txt"
    with into.open("w", encoding="utf-8") as out:
        subprocess.run([sys.executable, "-m", "pipeline", "--root", str(project), "units"], stdout=out,
                       cwd=PROJECT_ROOT, check=True)
    assert into.read_text(encoding="utf-8") == listed.stdout
    wrong = _run("-m", "pipeline", "--root", str(project), "khong-co-lenh")
    assert wrong.returncode == 2 and "Không có lệnh" in wrong.stderr
    bad_period = _run("-m", "pipeline", "--root", str(project), "obligations", "--period", "2026S3")
    assert bad_period.returncode == 2 and bad_period.stderr.strip()
    marker = tmp_path / "atexit.txt"
    code = ("import atexit, pathlib, runpy, sys\n"
            f"atexit.register(lambda: pathlib.Path({str(marker)!r}).write_text('ran'))\n"
            f"sys.argv = ['pipeline', '--root', {str(project)!r}, 'units']\n"
            "runpy.run_module('pipeline', run_name='__main__')")
    assert _run("-c", code).returncode == 0 and marker.read_text() == "ran"


def test_a_profiler_still_gets_its_results(project, tmp_path):
    """Under cProfile (the README's profiling commands) the normal exit is taken, so that the
    profiler writes its results."""
    stats = tmp_path / "units.prof"
    done = _run("-m", "cProfile", "-o", str(stats), "-m", "pipeline", "--root", str(project), "units")
    assert done.returncode == 0 and stats.stat().st_size > 0


def test_the_quick_end_is_taken_beside_a_daemon_thread_not_beside_a_working_one(monkeypatch):
    """tqdm's monitor (a daemon thread, which a normal exit does not wait for either) leaves the
    quick end on; a thread still working (the web server's jobs) keeps the normal exit, which
    waits for it."""
    import atexit
    import os
    import threading

    from pipeline.cli import main as entry

    ended = []
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: ended.append("atexit"))   # (not this test run's own)

    def fake_exit(status):
        ended.append(status)
        raise SystemExit(status)
    monkeypatch.setattr(os, "_exit", fake_exit)
    monkeypatch.setattr(sys, "gettrace", lambda: None)
    monkeypatch.setattr(sys, "getprofile", lambda: None)
    release = threading.Event()
    for daemon in (True, False):
        thread = threading.Thread(target=release.wait, daemon=daemon)
        thread.start()
        try:
            if daemon:
                with pytest.raises(SystemExit):
                    entry.exit_now(3)
                assert ended == ["atexit", 3]
            else:
                entry.exit_now(0)   # returns: the normal exit will wait for the thread
                assert ended == ["atexit", 3]
        finally:
            release.set()
            thread.join()
            release.clear()


PROBE = ("import sys\nfrom pipeline.intake.examine import _progress_bar\n"
         "bar = _progress_bar(int(sys.argv[1]), {'-': None, 'y': True, 'n': False}[sys.argv[2]])\n"
         "print(type(bar).__name__, 'tqdm' in sys.modules)")


@pytest.mark.parametrize("files, progress, shown", [(46, "-", "_NoBar False"), (46, "n", "_NoBar False"),
                                                    (3, "y", "tqdm True")])
def test_ingestion_imports_tqdm_only_for_a_bar_it_may_show(files, progress, shown):
    """Off a terminal (a scheduled task, the web application, a pipe) no bar, and tqdm is not
    imported; asked for (`--progress`), it is, whatever the batch."""
    proc = subprocess.run([sys.executable, "-c", PROBE, str(files), progress], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, check=True)
    assert proc.stdout.split() == shown.split()


def test_on_a_terminal_a_large_batch_has_a_bar_and_a_small_one_none(monkeypatch):
    from pipeline.intake import examine

    class Terminal:
        def isatty(self):
            return True

        def write(self, text):
            return len(text)

        def flush(self):
            pass
    monkeypatch.setattr(sys, "stderr", Terminal())
    large, small = examine._progress_bar(examine._PROGRESS_FROM, None), examine._progress_bar(3, None)
    try:
        assert type(large).__name__ == "tqdm" and type(small).__name__ == "_NoBar"
    finally:
        large.close()
