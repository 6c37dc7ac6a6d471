"""A large batch is read by a pool of forked processes: the ledger it leaves is the same, finding
for finding and value for value, as reading every file in the one process."""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
from contextlib import contextmanager

import pytest

import pipeline.intake.ingest as ingest_module

from conftest import PROJECT_ROOT
from filling import Kit

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="the pool forks (elsewhere files are read in one process)")


def _kit(root) -> Kit:
    for folder in ("inputs", "schemas", "templates"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.py", "submissions"))
    return Kit.load(root)


def _ledger_rows(kit: Kit) -> dict:
    with sqlite3.connect(kit.settings.path("ledger")) as db:
        return {
            "submissions": db.execute("SELECT original_name, unit_id, identified_by, outcome, errors, warnings, "
                                      "version, is_current FROM submissions ORDER BY original_name").fetchall(),
            "findings": db.execute("SELECT file, unit_id, sheet, cell, value, rule, severity, message FROM findings "
                                   "ORDER BY file, id").fetchall(),
            "values": db.execute("SELECT unit_id, code, value, raw, note, sheet, cell FROM indicator_values "
                                 "ORDER BY unit_id, code").fetchall(),
            "tasks": db.execute("SELECT unit_id, task_id, status, results, quantity FROM task_reports "
                                "ORDER BY unit_id, task_id").fetchall(),
        }


def test_pool_and_one_process_record_the_same(tmp_path, monkeypatch):
    pooled, alone = _kit(tmp_path / "pooled"), _kit(tmp_path / "alone")
    units = pooled.registry.ids
    for n, unit_id in enumerate(units):
        _, wb = pooled.filled(unit_id)
        if n % 7 == 3:
            wb["Chỉ tiêu"]["E5"] = -2          # an error
        if n % 7 == 5:
            wb["Chỉ tiêu"]["E6"] = "12 người"  # a warning
        for kit in (pooled, alone):
            kit.save(wb, f"bao-cao-{unit_id}.xlsx")
    for kit in (pooled, alone):
        (kit.folder / "ghi-chu.xlsx").write_bytes(b"not a workbook")
    assert len(units) + 1 >= ingest_module._POOL_FROM   # the batch is large enough for the pool

    pools = []
    original = ingest_module._reader_pool

    @contextmanager
    def spy(files, context):
        with original(files, context) as pool:
            pools.append(pool)
            yield pool

    monkeypatch.setattr(ingest_module, "_reader_pool", spy)
    pooled.ingest(progress=False)
    monkeypatch.setattr(ingest_module, "_IN_PROCESS", True)
    alone.ingest(progress=False)
    assert pools[0] is not None and pools[1] is None

    a, b = _ledger_rows(pooled), _ledger_rows(alone)
    assert a == b
    # each file has its own verdict: the batch's one schema call puts every failure on its file
    outcome = {row[0]: row[3] for row in a["submissions"]}
    for n, unit_id in enumerate(units):
        expected = {3: "rejected", 5: "accepted_with_warnings"}.get(n % 7, "accepted")
        assert outcome[f"bao-cao-{unit_id}.xlsx"] == expected, unit_id
    assert outcome["ghi-chu.xlsx"] == "rejected"
    negative = {row[0] for row in a["findings"] if row[5] == "negative"}
    assert negative == {f"bao-cao-{u}.xlsx" for n, u in enumerate(units) if n % 7 == 3}
    assert len(a["values"]) > 500
