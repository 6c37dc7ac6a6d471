"""Several provinces ingested in one run (`ingest OTHERS...`, `ingest_many`), into one ledger they
share: each province's files are recorded as its own, judged once, listed only in its own check
report and audit; the ledger is the same as when the provinces ingest one after the other. And a
ledger written before provinces were recorded (schema version 1) is upgraded in place."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3

import openpyxl
import pytest
from click.testing import CliRunner

from bench.national import province_root
from pipeline.audit.status import unidentified_files
from pipeline.common.clock import today
from pipeline.cli.main import cli
from pipeline.intake.ingest import Source, ingest_many
from pipeline.intake.receive import archive_file, received_content
from pipeline.store.ledger import Ledger, Received

from filling import Kit

pytestmark = pytest.mark.slow   # two provinces ingested

PROVINCES = {12: "Lai Châu", 11: "Điện Biên"}
NOW = dt.datetime(2026, 6, 16, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def _country(base) -> dict[int, Kit]:
    """Per province: its Health department and two communes filled, a third commune's file with an
    error, and a file nobody can identify (`rong-<code>.xlsx`, not a workbook)."""
    ledger = base / "ministry" / "ledger.sqlite"
    kits = {}
    for code, name in PROVINCES.items():
        kit = kits[code] = Kit.load(province_root(base, code, name, ledger))
        communes = kit.registry.communes()["id"].tolist()
        for unit_id in (f"{code}-SYT", communes[0], communes[1]):
            _, wb = kit.filled(unit_id)
            kit.save(wb, f"bao-cao-{unit_id}.xlsx")
        _, wb = kit.filled(communes[2])
        wb["Chỉ tiêu"]["E5"] = -3
        kit.save(wb, f"bao-cao-{communes[2]}.xlsx")
        (kit.folder / f"rong-{code}.xlsx").write_bytes(b"khong phai bang tinh")
    return kits


def _rows(db_path) -> dict:
    with sqlite3.connect(db_path) as db:
        return {
            "submissions": db.execute("SELECT province, original_name, unit_id, outcome, errors, warnings, version, "
                                      "is_current FROM submissions ORDER BY province, original_name").fetchall(),
            "findings": db.execute("SELECT f.file, f.unit_id, f.cell, f.rule, f.message FROM findings f "
                                   "ORDER BY f.file, f.rule, f.cell").fetchall(),
            "values": db.execute("SELECT unit_id, code, value FROM indicator_values ORDER BY unit_id, code").fetchall(),
        }


def test_one_run_for_two_provinces_keeps_each_province_apart(tmp_path):
    kits = _country(tmp_path / "together")
    lai_chau, dien_bien = kits[12], kits[11]
    result = CliRunner().invoke(cli, ["--root", str(lai_chau.root), "ingest", "--period", "2026S1", "--no-progress",
                                      str(dien_bien.root)])
    assert result.exit_code == 0, result.output
    assert "== Lai Châu" in result.output and "== Điện Biên" in result.output
    assert result.output.count("5 tệp trong thư mục, 5 tệp mới; đã kiểm tra 5 tệp") == 2

    ledger = lai_chau.settings.path("ledger")
    assert ledger == dien_bien.settings.path("ledger")
    rows = _rows(ledger)
    assert [(p, name) for p, name, *_ in rows["submissions"]] == [
        (code, path.name) for code in sorted(kits) for path in sorted(kits[code].folder.iterdir())]
    assert sorted(outcome for *_, outcome, _e, _w, _v, _c in rows["submissions"]).count("rejected") == 4

    for code, kit in kits.items():
        # the check report and the audit's unidentified files name the province's own files only
        book = openpyxl.load_workbook(kit.settings.path("outputs") / "2026S1" / "kiem-tra.xlsx", read_only=True)
        listed = {row[2] for row in book["Tổng hợp"].iter_rows(min_row=2, values_only=True) if row[2]}
        assert listed == {name for p, name, *_ in rows["submissions"] if p == code}
        # (as of the province's day, by which the receipts are dated: past 17:00 UTC it is tomorrow in Vietnam)
        assert unidentified_files(ledger, "2026S1", today(kit.settings), code) == [f"rong-{code}.xlsx"]
        # each province's feedback for its own rejected commune
        feedback = list((kit.settings.path("outputs") / "2026S1" / "phan-hoi").glob("*.xlsx"))
        commune = kit.registry.communes()["id"].tolist()[2]
        assert any(commune in f.name for f in feedback)

    # the same files ingested one province after the other leave the same ledger
    apart = _country(tmp_path / "apart")
    for kit in apart.values():
        kit.ingest(progress=False)
    assert _rows(apart[12].settings.path("ledger")) == rows


def test_a_folder_named_twice_is_ingested_once(tmp_path):
    kits = _country(tmp_path)
    lai_chau = kits[12]
    root = str(lai_chau.root)
    result = CliRunner().invoke(cli, ["--root", root, "ingest", "--period", "2026S1", "--no-progress", root,
                                      str(lai_chau.root / ".." / lai_chau.root.name)])
    assert result.exit_code == 0, result.output
    assert "==" not in result.output   # one province: no per-province headings
    assert "5 tệp trong thư mục, 5 tệp mới; đã kiểm tra 5 tệp" in result.output
    with sqlite3.connect(lai_chau.settings.path("ledger")) as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT sha256) FROM submissions").fetchone() == (5, 5)


def test_a_province_does_not_judge_what_another_left_pending(tmp_path):
    kits = _country(tmp_path)
    lai_chau, dien_bien = kits[12], kits[11]
    # a run of Điện Biên killed after recording one file, before judging it
    path = dien_bien.folder / "bao-cao-11-SYT.xlsx"
    sha, size, data = received_content(path)
    archived = archive_file(dien_bien.settings.path("outputs"), path, sha, data)
    with Ledger(dien_bien.settings.path("ledger")) as ledger:
        run = ledger.start_run("2026S1", NOW.isoformat())
        ledger.record_received("2026S1", run, [Received(sha, size, path.name, archived, NOW.isoformat(),
                                                        "2026-06-16", "first_seen")], 11)

    [report] = ingest_many([Source(lai_chau.project, lai_chau.period)], now=NOW, progress=False)
    assert {j["original_name"] for j in report.judged} == {p.name for p in lai_chau.folder.iterdir()}
    with Ledger(dien_bien.settings.path("ledger")) as ledger:
        assert [r["original_name"] for r in ledger.pending("2026S1", 11)] == ["bao-cao-11-SYT.xlsx"]
        assert ledger.pending("2026S1", 12) == []

    report = dien_bien.ingest(now=NOW, progress=False)   # Điện Biên's next run judges it, once
    assert sorted(j["original_name"] for j in report.judged) == sorted(p.name for p in dien_bien.folder.iterdir())
    assert [j["version"] for j in report.judged if j["original_name"] == "bao-cao-11-SYT.xlsx"] == [1]


V1_SUBMISSIONS = """
CREATE TABLE submissions (
    id INTEGER PRIMARY KEY, period TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    original_name TEXT NOT NULL, archive_path TEXT NOT NULL, first_seen TEXT NOT NULL, receipt_date TEXT NOT NULL,
    receipt_source TEXT NOT NULL, run_id INTEGER, format TEXT, unit_id TEXT, identified_by TEXT,
    template_version TEXT, version INTEGER, outcome TEXT NOT NULL DEFAULT 'pending', errors INTEGER NOT NULL DEFAULT 0,
    warnings INTEGER NOT NULL DEFAULT 0, superseded INTEGER NOT NULL DEFAULT 0, is_current INTEGER NOT NULL DEFAULT 0,
    judged_at TEXT, UNIQUE (period, sha256), UNIQUE (period, unit_id, version))
"""


def test_a_version_1_ledger_is_upgraded_and_its_files_belong_to_every_province(tmp_path):
    from pipeline.store.ledger import _SCHEMA

    path = tmp_path / "ledger.sqlite"
    findings_table = _SCHEMA[_SCHEMA.index("CREATE TABLE IF NOT EXISTS findings"):]
    with sqlite3.connect(path) as db:
        db.execute(V1_SUBMISSIONS)
        db.execute(findings_table[:findings_table.index(";")])
        for n, outcome in ((1, "pending"), (2, "rejected")):
            db.execute("INSERT INTO submissions (period, sha256, size, original_name, archive_path, first_seen, "
                       f"receipt_date, receipt_source, outcome) VALUES ('2026S1', 'sha{n}', 1, 'cu{n}.xlsx', "
                       f"'archive/sh/sha{n}.xlsx', '2026-06-10', '2026-06-10', 'first_seen', '{outcome}')")
        db.execute("INSERT INTO findings (submission_id, period, file, rule, severity, message) "
                   "VALUES (2, '2026S1', 'cu2.xlsx', 'empty_file', 'error', 'Tệp rỗng')")
        db.execute("PRAGMA user_version=1")
    with Ledger(path) as ledger:
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == 2
        assert [r["original_name"] for r in ledger.pending("2026S1", 12)] == ["cu1.xlsx"]
        assert [r["original_name"] for r in ledger.pending("2026S1", 11)] == ["cu1.xlsx"]
        assert ledger.pending("2026S1", 12)[0]["province"] is None
        assert [(f["original_name"], f["rule"]) for f in ledger.findings("2026S1", province=12)] == [
            ("cu2.xlsx", "empty_file")]
        assert ledger.known_hashes("2026S1", 11) == {"sha1", "sha2"}
        # the same content received by two provinces is recorded for each
        run = ledger.start_run("2026S1", NOW.isoformat())
        for province in (11, 12):
            ledger.record_received("2026S1", run, [Received("same", 1, "rong.xlsx", "archive/sa/same.xlsx",
                                                          NOW.isoformat(), "2026-06-16", "first_seen")], province)
        rows = ledger.db.execute("SELECT province FROM submissions WHERE sha256 = 'same' ORDER BY 1")
        assert [tuple(r) for r in rows] == [(11,), (12,)]


@pytest.mark.parametrize("version", [3, 99])
def test_a_ledger_from_a_newer_program_is_refused(tmp_path, version):
    from pipeline.common.errors import ConfigError

    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={version}")
    with pytest.raises(ConfigError, match="phiên bản cấu trúc"):
        Ledger(path)


def test_an_archive_folder_removed_while_the_process_runs_is_made_again(tmp_path):
    """A long-running process (the web server) whose archive folder was removed meanwhile makes it
    again."""
    outputs = tmp_path / "outputs"
    source = tmp_path / "bao-cao.xlsx"
    source.write_bytes(b"PK\x03\x04 not really a workbook")
    sha, _size, data = received_content(source)
    first = archive_file(outputs, source, sha, data)
    shutil.rmtree(outputs / "archive")
    assert archive_file(outputs, source, sha, data) == first
    assert (outputs / first).read_bytes() == source.read_bytes()


def test_a_province_reads_only_its_own_rows_from_the_shared_ledger(tmp_path):
    """The figures of a province's report come from its own files only: the annual comparison adds
    every row of an indicator, so another province's rows in the shared ledger would count."""
    from pipeline.report.consolidate import read_ledger
    from pipeline.report.model import gather

    kits = _country(tmp_path)
    for kit in kits.values():
        kit.ingest(now=NOW, progress=False)
    lai_chau, dien_bien = kits[12], kits[11]
    ledger = lai_chau.settings.path("ledger")
    assert ledger == dien_bien.settings.path("ledger")
    everyone = set(read_ledger(ledger, ["2026S1"]).values["unit_id"])
    ours = set(read_ledger(ledger, ["2026S1"], 12).values["unit_id"])
    assert ours and ours <= set(lai_chau.registry.ids) and everyone - ours
    assert everyone - ours <= set(dien_bien.registry.ids)
    data = gather(lai_chau.project, lai_chau.period, force=True)
    assert set(data.consolidation.values.loc[data.consolidation.values["reported"], "unit_id"]) == ours


def test_a_run_with_nothing_to_read_finishes_every_province(tmp_path):
    ledger = tmp_path / "ministry" / "ledger.sqlite"
    kits = [Kit.load(province_root(tmp_path, code, name, ledger)) for code, name in PROVINCES.items()]
    for kit in kits:
        kit.folder.mkdir(parents=True, exist_ok=True)
    reports = ingest_many([Source(k.project, k.period) for k in kits], now=NOW, progress=False)
    assert [(r.files_seen, r.files_new) for r in reports] == [(0, 0), (0, 0)]
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT COUNT(*), COUNT(finished_at) FROM runs").fetchone() == (2, 2)


def test_provinces_stored_a_wave_at_a_time_leave_the_same_ledger(tmp_path, monkeypatch):
    import pipeline.intake.ingest as ingest_module

    rows = {}
    for waves in ("one", "each"):
        kits = _country(tmp_path / waves)
        if waves == "each":   # every province stored as soon as it is read
            monkeypatch.setattr(ingest_module, "WAVE_FILES", 1)
        ingest_many([Source(k.project, k.period) for k in kits.values()], now=NOW, progress=False)
        rows[waves] = _rows(kits[12].settings.path("ledger"))
    assert rows["one"] == rows["each"] and rows["one"]["submissions"]
