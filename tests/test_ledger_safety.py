"""The ledger is never written when it must not be: a damaged page or a read-only file or folder
stops every command with one Vietnamese line, exit 2, the file byte for byte as it was; two
ingestions at once claim each new file once."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing

import pytest
from click.testing import CliRunner

from pipeline.cli.main import cli

from conftest import PROJECT_ROOT
from filling import Kit

pytestmark = pytest.mark.slow   # ingestions in several processes at once

UNITS = ["12-SYT", "12-CA", "03388", "03390", "03405"]


def run(project, *args):
    return CliRunner().invoke(cli, ["--root", str(project), *args])


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line_exit_2(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output and "không mong đợi" not in result.output
    return lines[0]


@pytest.fixture
def ingested(project):
    """A project with a real ledger: five units' files ingested."""
    kit = Kit.load(project)
    for n, unit in enumerate(UNITS):
        kit.save(kit.filled(unit)[1], f"{n:02d}_{unit}.xlsx")
    result = run(project, "ingest", "--period", "2026S1", "--no-progress")
    assert result.exit_code == 0, result.output
    return project


def _damage(ledger) -> None:
    """Overwrites one page in the middle of the file (a bad sector, a torn copy)."""
    with closing(sqlite3.connect(ledger)) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
    assert not (ledger.parent / "ledger.sqlite-wal").exists()
    assert pages > 4
    data = bytearray(ledger.read_bytes())
    start = page_size * (pages // 2)
    data[start:start + page_size] = bytes((i * 37 + 11) % 256 for i in range(page_size))
    ledger.write_bytes(bytes(data))


@pytest.mark.parametrize("command", [
    ["ingest", "--period", "2026S1", "--no-progress"],
    ["audit", "--period", "2026S1", "--as-of", "2026-06-30"],
    ["history", "--unit", "03405", "--period", "2026S1"],
    ["semiannual", "--period", "2026S1"],
])
def test_a_damaged_ledger_stops_every_command_and_is_not_touched(ingested, command):
    ledger = ingested / "outputs" / "ledger.sqlite"
    _damage(ledger)
    before = _sha(ledger)
    Kit.load(ingested).save(Kit.load(ingested).filled("03390")[1], "new.xlsx")   # something to write
    line = _one_line_exit_2(run(ingested, *command))
    assert line.startswith("Lỗi: Sổ cái") and "bị hỏng" in line and "sao lưu" in line, line
    assert _sha(ledger) == before
    assert not (ingested / "outputs" / "ledger.sqlite-wal").exists()


def test_a_file_that_is_not_a_database_is_refused(project):
    ledger = project / "outputs" / "ledger.sqlite"
    ledger.parent.mkdir(parents=True, exist_ok=True)
    ledger.write_bytes(b"PK\x03\x04 this is a zip, copied over the ledger by mistake" * 100)
    (project / "inputs" / "submissions" / "2026S1").mkdir(parents=True, exist_ok=True)
    before = _sha(ledger)
    line = _one_line_exit_2(run(project, "ingest", "--period", "2026S1", "--no-progress"))
    assert "bị hỏng" in line
    assert _sha(ledger) == before


def test_a_read_only_ledger_file_stops_writing_commands_and_reads_still_work(ingested):
    """chmod 0444: even an administrator (tests run as root in CI, where chmod does not stop a
    write) gets the refusal, because the permission bits are read, not only os.access."""
    ledger = ingested / "outputs" / "ledger.sqlite"
    Kit.load(ingested).save(Kit.load(ingested).filled("03390")[1], "new.xlsx")
    os.chmod(ledger, 0o444)
    try:
        before = _sha(ledger)
        line = _one_line_exit_2(run(ingested, "ingest", "--period", "2026S1", "--no-progress"))
        assert "chỉ đọc" in line and str(ledger) in line, line
        assert _sha(ledger) == before
        # reading is what a read-only ledger is for (history would ingest the new file first)
        (ingested / "inputs" / "submissions" / "2026S1" / "new.xlsx").unlink()
        result = run(ingested, "history", "--unit", "03405", "--period", "2026S1")
        assert result.exit_code == 0, result.output
        assert "1 bản đã nhận" in result.output
        assert _sha(ledger) == before
    finally:
        os.chmod(ledger, 0o644)


def test_a_read_only_folder_stops_writing_commands_and_reads_still_work(ingested):
    outputs = ingested / "outputs"
    ledger = outputs / "ledger.sqlite"
    Kit.load(ingested).save(Kit.load(ingested).filled("03390")[1], "new.xlsx")
    names_before = sorted(p.name for p in outputs.iterdir())
    before = _sha(ledger)
    mode = stat.S_IMODE(outputs.stat().st_mode)
    os.chmod(outputs, 0o555)
    try:
        line = _one_line_exit_2(run(ingested, "ingest", "--period", "2026S1", "--no-progress"))
        assert "chỉ đọc" in line, line
        (ingested / "inputs" / "submissions" / "2026S1" / "new.xlsx").unlink()
        result = run(ingested, "history", "--unit", "03405", "--period", "2026S1")
        assert result.exit_code == 0, result.output
        assert "1 bản đã nhận" in result.output
    finally:
        os.chmod(outputs, mode)
    assert _sha(ledger) == before
    assert sorted(p.name for p in outputs.iterdir()) == names_before


def test_reading_commands_open_the_ledger_read_only(ingested):
    """audit and history read the ledger without writing a byte of it (nor creating a WAL)."""
    ledger = ingested / "outputs" / "ledger.sqlite"
    before = _sha(ledger)
    for command in (["audit", "--period", "2026S1", "--as-of", "2026-06-30"],
                    ["history", "--unit", "03405", "--period", "2026S1"]):
        result = run(ingested, *command)
        assert result.exit_code == 0, result.output
        assert _sha(ledger) == before, command


CHILD = """
import sys
from pipeline.cli.main import main
sys.argv = ["pipeline", "--root", sys.argv[1], "ingest", "--period", "2026S1", "--no-progress"]
main()
"""


def test_two_ingestions_at_once_claim_each_file_once(project):
    kit = Kit.load(project)
    units = kit.registry.ids
    for unit in units:
        kit.save(kit.filled(unit)[1], f"{unit}.xlsx")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(project)], cwd=PROJECT_ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [child.communicate(timeout=900) for child in children]
    assert [c.returncode for c in children] == [0, 0], outputs
    assert not any("Traceback" in out + err for out, err in outputs)
    with sqlite3.connect(project / "outputs" / "ledger.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        runs = db.execute("SELECT files_seen, files_new, finished_at IS NOT NULL FROM runs ORDER BY id").fetchall()
        submissions = db.execute("SELECT COUNT(*), COUNT(DISTINCT sha256) FROM submissions").fetchone()
    assert len(runs) == 2 and all(done for _seen, _new, done in runs)
    assert sum(new for _seen, new, _done in runs) == len(units)
    assert sorted(new for _seen, new, _done in runs) == [0, len(units)]
    assert tuple(submissions) == (len(units), len(units))
    # the one that waited said so, in Vietnamese, on stderr
    waited = [err for _out, err in outputs if "đang chờ" in err]
    assert len(waited) == 1, outputs


@pytest.mark.parametrize("error, start", [
    ("attempt to write a readonly database", "Sổ cái chỉ đọc"),
    ("database is locked", "Sổ cái đang bị một chương trình khác khóa"),
    ("database disk image is malformed", "Sổ cái bị hỏng"),
    ("disk I/O error", "Không đọc, ghi được sổ cái"),
    ("no such column: x", None),          # not the ledger's state: a bug, reported as unexpected
])
def test_a_ledger_failing_mid_command_is_one_vietnamese_line(error, start):
    from pipeline.store.ledger import ledger_failure

    line = ledger_failure(sqlite3.OperationalError(error))
    assert (line is None) if start is None else (line.startswith(start) and error in line)


def test_a_report_from_a_read_only_ledger_is_written_and_says_it_cannot_be_locked(ingested):
    """Reading is enough for a report: with nothing new to ingest, a read-only ledger gives the
    reports, and the one build record it cannot write is a line, not a failure."""
    ledger = ingested / "outputs" / "ledger.sqlite"
    os.chmod(ledger, 0o444)
    try:
        before = _sha(ledger)
        result = run(ingested, "semiannual", "--period", "2026S1", "--force", "--as-of", "2026-06-30")
        assert result.exit_code == 0, result.output
        assert "chưa khoá kỳ theo bản này được" in result.output
        assert (ingested / "outputs" / "2026S1" / "bao-cao-6-thang-dau-nam-2026.docx").is_file()
        assert _sha(ledger) == before
    finally:
        os.chmod(ledger, 0o644)


def test_history_reads_a_ledger_written_before_period_locks(ingested):
    ledger = ingested / "outputs" / "ledger.sqlite"
    with closing(sqlite3.connect(ledger)) as db:   # what a ledger of the previous release lacks
        for table in ("lock_exceptions", "lock_files", "lock_events", "period_locks"):
            db.execute(f"DROP TABLE {table}")
        db.commit()
    os.chmod(ledger, 0o444)   # read only: history must not need to upgrade it
    try:
        result = run(ingested, "history", "--unit", "03405", "--period", "2026S1")
        assert result.exit_code == 0, result.output
        assert "1 bản đã nhận" in result.output
    finally:
        os.chmod(ledger, 0o644)


HOLDER = """
import sys, time
from pathlib import Path
from pipeline.store.ledger import run_lock
with run_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _hold(ledger, seconds: float) -> subprocess.Popen:
    """Another process holding the run lock of `ledger` for `seconds` (once it printed "held")."""
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(ledger), str(seconds)], cwd=PROJECT_ROOT,
                             env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_run_waits_for_the_lock_says_so_and_goes_on(tmp_path, capsys):
    from pipeline.store.ledger import run_lock

    ledger = tmp_path / "ledger.sqlite"
    child = _hold(ledger, 1.5)
    with run_lock(ledger):
        assert child.poll() is not None   # got it only once the other run had ended
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.sqlite.lock"]   # no journal beside it
    assert "Một lần chạy khác đang ghi sổ cái" in capsys.readouterr().err
    child.wait()
    assert (tmp_path / "ledger.sqlite.lock").stat().st_size == 0


def test_a_run_stops_with_one_line_after_the_wait_and_a_killed_holder_frees_the_lock(tmp_path, monkeypatch):
    from pipeline.store import ledger as module
    from pipeline.store.ledger import LedgerError

    ledger = tmp_path / "ledger.sqlite"
    child = _hold(ledger, 600)
    try:
        monkeypatch.setattr(module, "LOCK_WAIT_SECONDS", 0.3)
        with pytest.raises(LedgerError, match="vẫn đang được một lần chạy khác ghi"):
            with module.run_lock(ledger):
                pass
    finally:
        child.kill()   # a run killed however it ends: the OS releases its lock
        child.wait()
    with module.run_lock(ledger):
        pass


def test_two_threads_of_one_process_take_the_lock_in_turn(tmp_path, monkeypatch):
    """The web application's jobs are threads: the lock holds between them too."""
    import threading

    from pipeline.store import ledger as module
    from pipeline.store.ledger import LedgerError

    ledger = tmp_path / "ledger.sqlite"
    held, release, outcome = threading.Event(), threading.Event(), []

    def holder():
        with module.run_lock(ledger):
            held.set()
            release.wait(10)
    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    monkeypatch.setattr(module, "LOCK_WAIT_SECONDS", 0.3)
    try:
        with module.run_lock(ledger):
            outcome.append("taken while held")
    except LedgerError:
        outcome.append("refused")
    release.set()
    thread.join()
    with module.run_lock(ledger):
        outcome.append("taken once released")
    assert outcome == ["refused", "taken once released"]


def test_a_lock_file_something_else_wrote_is_one_line(tmp_path):
    from pipeline.store.ledger import LedgerError, run_lock

    ledger = tmp_path / "ledger.sqlite"
    (tmp_path / "ledger.sqlite.lock").write_bytes(b"not a lock" * 100)
    with pytest.raises(LedgerError, match="Tệp khóa .* bị hỏng"):
        with run_lock(ledger):
            pass
