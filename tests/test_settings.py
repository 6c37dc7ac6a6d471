"""The one settings loader (pipeline/config.py): every section of inputs/config.toml, strictly.

Each problem is one Vietnamese line naming the key and its line in the file. The cases start from
the bundled inputs/config.toml and change one thing in it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest

from pipeline.reference.settings import SECTIONS, Settings, load_settings
from pipeline.common.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED = (PROJECT_ROOT / "inputs" / "config.toml").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "inputs").mkdir(exist_ok=True)
    (tmp_path / "inputs" / "config.toml").write_text(text, encoding="utf-8")
    return tmp_path


def _line_of(text: str, start: str) -> int:
    """The number of the one line of `text` that starts with `start`."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start)]
    assert len(found) == 1, (start, found)
    return found[0]


def _problem(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as err:
        load_settings(_write(tmp_path, text))
    message = str(err.value)
    assert "\n" not in message
    return message


def _replace_line(text: str, start: str, new: str) -> str:
    lines = text.splitlines(keepends=True)
    n = _line_of(text, start) - 1
    lines[n] = new + "\n"
    return "".join(lines)


def test_the_bundled_configuration_loads():
    settings = load_settings(PROJECT_ROOT)
    assert isinstance(settings, Settings)
    assert (settings.province.code, settings.province.name, settings.timezone) == (12, "Lai Châu", "Asia/Ho_Chi_Minh")
    assert (settings.plan.first_year, settings.plan.last_year) == (2026, 2030)
    assert settings.mail.smtp_port == 587 and settings.mail.smtp_auth is True and settings.mail.max_attachment_mb == 20.0
    assert settings.audit.include_standing_unit is False and settings.audit.letter_recipients[0] == "Như trên"
    assert settings.report.chart_indicators == ("TT01", "XL06") and settings.report.min_completeness == 0.5
    assert settings.document.issuing_body == "SỞ Y TẾ"
    assert settings.path("ledger") == PROJECT_ROOT / "outputs" / "ledger.sqlite"


def test_every_section_of_the_bundled_file_is_declared():
    sections = [line.strip()[1:-1] for line in BUNDLED.splitlines() if line.startswith("[")]
    assert sorted(sections) == sorted(SECTIONS)


# One key of each section whose value the cases make wrong: (section, key line as written, wrong line).
WRONG_TYPE = {
    "province": ("code = 12 ", 'code = "12"', "một số nguyên"),
    "plan": ("first_year = ", 'first_year = "2026"', "một số nguyên"),
    "deadlines": ("days_after_cutoff = ", "days_after_cutoff = 4.5", "một số nguyên"),
    "files": ("ledger = ", "ledger = 5", "chữ đặt trong ngoặc kép"),
    "mail": ("smtp_port = ", 'smtp_port = "587"', "một số nguyên"),
    "document": ("place = ", "place = [1]", "chữ đặt trong ngoặc kép"),
    "audit": ("include_standing_unit = ", 'include_standing_unit = "false"', "true hoặc false"),
    "report": ("min_completeness = ", 'min_completeness = "0.5"', "một số"),
}


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_an_unknown_key_names_the_key_and_its_line(tmp_path, section):
    header = _line_of(BUNDLED, f"[{section}]")
    lines = BUNDLED.splitlines(keepends=True)
    text = "".join(lines[:header] + ["khoa_la = 1\n"] + lines[header:])
    message = _problem(tmp_path, text)
    assert message.startswith(f"inputs/config.toml, dòng {header + 1}: [{section}] có khóa không biết: khoa_la"), message


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_a_wrong_type_names_the_key_and_its_line(tmp_path, section):
    start, wrong, wanted = WRONG_TYPE[section]
    text = _replace_line(BUNDLED, start, wrong)
    key = start.split("=")[0].strip()
    message = _problem(tmp_path, text)
    assert message.startswith(f"inputs/config.toml, dòng {_line_of(text, wrong)}: [{section}] {key} = "), message
    assert wanted in message


REQUIRED = {"province": ["code", "name"], "plan": ["first_year", "last_year"]}


def test_only_the_province_and_its_plan_are_required():
    """Every other key has a default; a section gaining a required key adds its case to REQUIRED."""
    required = {name: [f.name for f in dataclasses.fields(schema)
                       if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
                for name, schema in SECTIONS.items()}
    assert {name: keys for name, keys in required.items() if keys} == REQUIRED


@pytest.mark.parametrize("section, key", [(s, k) for s, keys in REQUIRED.items() for k in keys])
def test_a_missing_required_key_names_the_key_and_the_section_line(tmp_path, section, key):
    text = _replace_line(BUNDLED, f"{key} = ", "")
    message = _problem(tmp_path, text)
    assert message == f"inputs/config.toml, dòng {_line_of(text, f'[{section}]')}: [{section}] thiếu khóa {key} (bắt buộc)"


@pytest.mark.parametrize("section", sorted(REQUIRED))
def test_a_missing_required_section_is_not_a_silent_default(tmp_path, section):
    """No [province]: not Lai Châu by default, but a line saying what to write."""
    lines = BUNDLED.splitlines(keepends=True)
    start = _line_of(BUNDLED, f"[{section}]") - 1
    end = next(n for n in range(start + 1, len(lines)) if lines[n].startswith("["))
    message = _problem(tmp_path, "".join(lines[:start] + lines[end:]))
    assert message == f"inputs/config.toml: thiếu mục [{section}] (phải có {', '.join(REQUIRED[section])})"


def test_an_unknown_section_names_its_line(tmp_path):
    text = BUNDLED + "\n[bao_cao]\nsymbol = \"X\"\n"
    assert _problem(tmp_path, text).startswith(
        f"inputs/config.toml, dòng {_line_of(text, '[bao_cao]')}: mục [bao_cao] không có trong cấu hình")


@pytest.mark.parametrize("start, wrong, says", [
    ("smtp_security = ", 'smtp_security = "ssl"', "chỉ dùng starttls, tls hoặc none"),
    ("max_attachments = ", "max_attachments = 0", "phải từ 1 trở lên"),
    ("new_deadline_days = ", "new_deadline_days = 0", "phải từ 1 trở lên"),
    ("group_communes_from = ", "group_communes_from = -1", "không âm"),
    ("min_completeness = ", "min_completeness = 1.5", "từ 0 đến 1"),
    ("timezone = ", 'timezone = "Mars/Olympus"', "không phải múi giờ hợp lệ"),
    ("last_year = ", "last_year = 2020", "phải từ first_year"),
])
def test_a_value_out_of_range_names_the_key_and_its_line(tmp_path, start, wrong, says):
    text = _replace_line(BUNDLED, start, wrong)
    message = _problem(tmp_path, text)
    assert message.startswith(f"inputs/config.toml, dòng {_line_of(text, wrong)}: "), message
    assert start.split("=")[0].strip() in message and says in message


def test_deadline_overrides_are_period_codes_with_dates(tmp_path):
    text = BUNDLED.replace('# "2026S1" = "2026-06-19"', '"2026S1" = "2026-06-19"\n"2027" = 2027-12-20')
    settings = load_settings(_write(tmp_path, text))
    assert settings.deadline_overrides == {"2026S1": dt.date(2026, 6, 19), "2027": dt.date(2027, 12, 20)}
    text = BUNDLED.replace('# "2026S1" = "2026-06-19"', '"2026S1" = "19/06/2026"')
    message = _problem(tmp_path, text)
    line = _line_of(text, '"2026S1"')
    assert message.startswith(f'inputs/config.toml, dòng {line}: [deadlines] "2026S1"'), message


def test_strings_are_nfc_and_lists_drop_blank_entries(tmp_path):
    decomposed = "Lai Cha\u0302u"
    text = (BUNDLED.replace('name = "Lai Châu"', f'name = "{decomposed}"')
            .replace('letter_recipients = ["Như trên",', 'letter_recipients = ["  ", "Như trên",'))
    settings = load_settings(_write(tmp_path, text))
    assert settings.province_name == "Lai Châu" and settings.audit.letter_recipients[0] == "Như trên"


def test_the_older_mail_timezone_is_still_read(tmp_path):
    text = (BUNDLED.replace('timezone = "Asia/Ho_Chi_Minh"', "")
            .replace('imap_folder = "INBOX"', 'imap_folder = "INBOX"\ntimezone = "Asia/Bangkok"'))
    settings = load_settings(_write(tmp_path, text))
    assert settings.timezone == settings.mail.timezone == "Asia/Bangkok"


def test_a_copy_of_the_project_loads_the_same(tmp_path):
    shutil.copytree(PROJECT_ROOT / "inputs", tmp_path / "inputs", ignore=shutil.ignore_patterns("submissions"))
    here, there = load_settings(PROJECT_ROOT), load_settings(tmp_path)
    assert dataclasses.replace(here, root=tmp_path) == there
