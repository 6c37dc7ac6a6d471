"""Every command that judges a period sees every file that has arrived (issue 16, point 1), and
the one clock (point 6): 44 of the 46 units' files sit in the period folder, none ingested; the
audit after the deadline ingests them first and addresses exactly the 2 units that sent nothing.
The clock is the province's: the machine is set to UTC and the instant is moved, not the code."""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.common import clock
from pipeline.cli.main import cli

from filling import Kit
from test_audit_scenario import letter_text

SILENT = ("12-STP", "03388")          # Sở Tư pháp, Phường Đoàn Kết: send nothing
UTC = dt.timezone.utc


@pytest.fixture
def utc_machine(monkeypatch):
    """The machine's local zone is UTC (a server), whatever this one is set to."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def at(monkeypatch, instant: dt.datetime) -> None:
    """The system clock reads `instant` (the clock's one source)."""
    monkeypatch.setattr(clock, "_utc_now", lambda: instant.astimezone(UTC))


@pytest.fixture(scope="module")
def folder_of_44(tmp_path_factory):
    """A project whose 2026S1 folder holds the filled files of every unit but two, none ingested."""
    from conftest import copy_project_data

    root = copy_project_data(tmp_path_factory.mktemp("first") / "project")
    kit = Kit.load(root)
    from pipeline.reference.obligations import expected_units

    expected = expected_units(kit.matrix, kit.registry, kit.period)["id"].tolist()
    assert len(expected) == 46
    for unit in expected:
        if unit not in SILENT:
            _spec, wb = kit.filled(unit)
            kit.save(wb, f"{unit}.xlsx")
    return root


def invoke(root, *args):
    return CliRunner().invoke(cli, ["--root", str(root), *args])


def test_no_ingest_refuses_while_44_files_wait(folder_of_44, tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(folder_of_44, root)
    result = invoke(root, "audit", "--period", "2026S1", "--as-of", "2026-06-20", "--no-ingest")
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "44 tệp mới" in lines[0] and "chưa được tiếp nhận" in lines[0], result.output
    assert not (root / "outputs" / "2026S1" / "tinh-hinh-nop-bao-cao.csv").exists()
    for command in (["semiannual", "--period", "2026S1"], ["history", "--period", "2026S1", "--unit", "03405"],
                    ["send-feedback", "--period", "2026S1"], ["send-reminders", "--period", "2026S1"]):
        refused = invoke(root, *command, "--no-ingest")
        assert refused.exit_code != 0 and "44 tệp mới" in refused.output, (command, refused.output)


def test_audit_ingests_first_and_addresses_only_the_two_silent_units(folder_of_44, monkeypatch, utc_machine):
    at(monkeypatch, dt.datetime(2026, 6, 17, 10, 0, tzinfo=UTC))   # the files came before the deadline
    result = invoke(folder_of_44, "audit", "--period", "2026S1", "--as-of", "2026-06-20")
    assert result.exit_code == 0, result.output
    assert "44 tệp trong thư mục, 44 tệp mới" in result.output   # the ingest summary line, as `ingest` prints it
    folder = folder_of_44 / "outputs" / "2026S1"
    lines, _text = letter_text(folder / "cong-van-don-doc-2026S1.docx")
    assert lines == ["- Sở Tư pháp;", "- UBND phường Đoàn Kết."]
    frame = pd.read_csv(folder / "tinh-hinh-nop-bao-cao.csv", dtype=str, encoding="utf-8-sig")
    assert set(frame.loc[frame["Gửi công văn đôn đốc"] == "có", "Mã đơn vị"]) == set(SILENT)
    # and now nothing waits: --no-ingest goes on
    again = invoke(folder_of_44, "audit", "--period", "2026S1", "--as-of", "2026-06-20", "--no-ingest")
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("vietnam_time, status, days_late", [
    (dt.datetime(2026, 6, 18, 23, 30), "on_time", None),   # 16:30 UTC on the deadline day
    (dt.datetime(2026, 6, 19, 0, 30), "late", 1),          # 17:30 UTC, still 18/6 on the machine
])
def test_the_receipt_day_is_vietnams_on_a_utc_machine(project, monkeypatch, utc_machine, vietnam_time, status,
                                                      days_late):
    from zoneinfo import ZoneInfo

    from pipeline.audit.status import submission_status
    from pipeline.intake.ingest import ingest

    kit = Kit.load(project)
    assert kit.period.deadline == dt.date(2026, 6, 18)
    _spec, wb = kit.filled("03405")
    kit.save(wb, "ta-leng.xlsx")
    instant = vietnam_time.replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    at(monkeypatch, instant)
    assert dt.datetime.fromtimestamp(instant.timestamp()).date() == dt.date(2026, 6, 18)   # the machine's day
    ingest(kit.project, kit.period, progress=False)
    row = submission_status(kit.project, kit.period).set_index("unit_id").loc["03405"]
    assert row["status"] == status
    assert (None if pd.isna(row["days_late"]) else row["days_late"]) == days_late
    assert row["receipt_date"] == vietnam_time.date()


def test_the_zone_is_configured_in_one_place(project):
    from pipeline.reference.settings import load_settings
    from pipeline.common.errors import ConfigError

    config = project / "inputs" / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('timezone = "Asia/Ho_Chi_Minh"', 'timezone = "Asia/Bangkok"', 1), encoding="utf-8")
    settings = load_settings(project)
    assert settings.timezone == "Asia/Bangkok" and settings.mail.timezone == "Asia/Bangkok"
    config.write_text(text.replace('timezone = "Asia/Ho_Chi_Minh"', 'timezone = "Mars/Olympus"', 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        load_settings(project)
