"""A run killed in the middle (a subprocess and SIGKILL) leaves the ledger consistent; the next run
finishes the job with nothing lost and nothing counted twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from pipeline.reference.catalogue import load_catalogue
from pipeline.reference.settings import load_settings
from pipeline.reference.matrix import load_matrix
from pipeline.reference.periods import parse_period
from pipeline.reference.units import load_registry

from conftest import PROJECT_ROOT
from filling import Kit

# The child runs the real CLI; the patch only decides when it dies. In "judge" mode verdicts are
# committed two files at a time and it dies while writing the KILL_AT-th file's verdict, after
# writing part of it: the verdicts of its group (the file itself, and the one before when KILL_AT
# is even) are lost, those of the groups before are kept. In "archive" mode it dies after
# archiving KILL_AT - 1 files, before any is recorded.
CHILD = textwrap.dedent("""
    import os, signal, sys
    root, mode, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    import pipeline.intake.ingest as ingest
    from pipeline.store import ledger
    calls = {"n": 0}
    if mode == "judge":
        ledger.GROUP_COMMIT = 2   # verdicts committed two files at a time
        real = ledger.Ledger.judge
        def judge(self, submission_id, **kwargs):
            calls["n"] += 1
            if calls["n"] == kill_at:
                if not self.db.in_transaction:
                    self.db.execute("BEGIN IMMEDIATE")
                self.db.execute("UPDATE submissions SET outcome = 'accepted', unit_id = 'X', version = 1 WHERE id = ?",
                                (submission_id,))
                self.db.execute("INSERT INTO findings (submission_id, period, file, rule, severity, message) "
                                "VALUES (?, '2026S1', 'x', 'half-written', 'error', 'x')", (submission_id,))
                os.kill(os.getpid(), signal.SIGKILL)
            return real(self, submission_id, **kwargs)
        ledger.Ledger.judge = judge
    else:
        real = ingest.archive_file
        def archive_file(*args):
            calls["n"] += 1
            if calls["n"] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args)
        ingest.archive_file = archive_file
    from pipeline.cli.main import main
    sys.argv = ["pipeline", "--root", root, "ingest", "--period", "2026S1", "--no-progress"]
    main()
""")

UNITS = ["12-SYT", "12-CA", "03388", "03390", "03405"]


def _kit(root) -> Kit:
    settings = load_settings(root)
    registry = load_registry(settings)
    matrix = load_matrix(settings, registry)
    return Kit(root, settings, registry, matrix, load_catalogue(settings, matrix, registry),
               parse_period("2026S1", settings))


def _batch(kit: Kit) -> int:
    for n, unit in enumerate(UNITS):
        spec, wb = kit.filled(unit)
        if n == 1:
            wb["Chỉ tiêu"]["E5"] = "nhiều"   # one rejected file
        kit.save(wb, f"{n:02d}_{unit}.xlsx")
    (kit.folder / "99_rong.xlsx").write_bytes(b"not a workbook")  # one unreadable
    return len(UNITS) + 1


def _state(db_path):
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        subs = db.execute("SELECT original_name, outcome, unit_id, version, is_current FROM submissions "
                          "ORDER BY original_name").fetchall()
        findings = db.execute("SELECT s.original_name, f.rule FROM findings f JOIN submissions s ON s.id = f.submission_id "
                              "ORDER BY s.original_name, f.id").fetchall()
        values = db.execute("SELECT COUNT(*) FROM indicator_values").fetchone()[0]
        orphans = db.execute("SELECT COUNT(*) FROM findings f JOIN submissions s ON s.id = f.submission_id "
                             "WHERE s.outcome = 'pending'").fetchone()[0]
    return subs, findings, values, orphans


@pytest.mark.parametrize("mode, kill_at", [("judge", 3), ("judge", 4), ("archive", 4)])
def test_killed_run_leaves_a_consistent_ledger_and_the_rerun_completes(project, tmp_path, mode, kill_at):
    kit = _kit(project)
    files = _batch(kit)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(project), mode, str(kill_at)],
                          capture_output=True, text=True, env=env, cwd=str(PROJECT_ROOT), timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr

    db_path = kit.settings.path("ledger")
    subs, findings, _values, orphans = _state(db_path)
    assert orphans == 0 and not any(rule == "half-written" for _f, rule in findings)
    if mode == "judge":
        judged = [s for s in subs if s[1] != "pending"]
        # all recorded; the two files of the first group judged, the rest pending
        assert len(subs) == files and len(judged) == 2
        assert all(s[2] is None and s[3] is None for s in subs if s[1] == "pending")
    else:
        assert subs == []   # died before recording: nothing half-recorded

    report = kit.ingest()   # the rerun
    assert report.files_seen == files
    subs, findings, values, orphans = _state(db_path)
    assert len(subs) == files and all(s[1] != "pending" for s in subs)
    assert sorted(s[3] for s in subs if s[2]) == [1] * len(UNITS)   # one version each, none counted twice

    # the same batch ingested in one uninterrupted run gives the same ledger
    control_root = tmp_path / "control"
    import shutil

    for folder in ("inputs", "schemas"):
        shutil.copytree(project / folder, control_root / folder)
    (control_root / "outputs").mkdir()
    control = _kit(control_root)
    control.ingest()
    assert _state(control.settings.path("ledger")) == (subs, findings, values, 0)
