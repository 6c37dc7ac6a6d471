"""The command line: readable tables, one-line errors with exit code 2, never a traceback."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
import shutil
import stat
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from pipeline.cli import vi as cli_vi
from pipeline.cli.main import cli

from conftest import PROJECT_ROOT


def run(*args, root=PROJECT_ROOT):
    return CliRunner().invoke(cli, ["--root", str(root), *args], prog_name="python -m pipeline")


def test_matrix_command_lists_resolved_leads():
    result = run("matrix")
    assert result.exit_code == 0, result.output
    line = next(l for l in result.output.splitlines() if l.strip().startswith("4.5"))
    assert "Công an tỉnh" in line
    assert "38 xã/phường" in next(l for l in result.output.splitlines() if l.strip().startswith("1.5b"))


def test_units_command():
    result = run("units")
    assert result.exit_code == 0
    assert "Xã Tả Lèng" in result.output and "8 sở, ngành; 38 xã/phường." in result.output


def test_obligations_for_one_unit():
    result = run("obligations", "--period", "2026S1", "--unit", "03405")
    assert result.exit_code == 0, result.output
    assert "5.4" in result.output and "chủ trì" in result.output
    assert "hạn nộp 18/06/2026: 1 đơn vị, 16 dòng nhiệm vụ" in result.output


@pytest.mark.parametrize("args, message", [
    (["obligations", "--period", "2026S3"], "Mã kỳ báo cáo không hợp lệ: '2026S3'"),
    (["obligations", "--period", "2026S1", "--unit", "99999"], "Không có đơn vị mã '99999'"),
])
def test_errors_are_one_line_and_exit_2(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert result.output.strip().startswith("Lỗi: ")
    assert message in result.output
    assert "Traceback" not in result.output


def test_broken_matrix_file_is_a_readable_error(project):
    (project / "inputs" / "assignment_matrix.csv").write_bytes("id,task\n1.1,x\n".encode("utf-8"))
    result = run("matrix", root=project)
    assert result.exit_code == 2
    assert "thiếu cột" in result.output


def test_runs_as_a_module_with_vietnamese_output():
    proc = subprocess.run([sys.executable, "-m", "pipeline", "--root", str(PROJECT_ROOT), "obligations",
                           "--period", "2026", "--unit", "03388"], capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr
    assert "Phường Đoàn Kết" in proc.stdout


def test_module_error_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "pipeline", "--root", str(PROJECT_ROOT), "obligations",
                           "--period", "abc"], capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- every word in Vietnamese

_ENGLISH_FROM_CLICK = ("Usage:", "Options:", "Commands:", "Show this message and exit", "[required]", "[default",
                       "Positional arguments", "Error:", "Try '")
_ENGLISH_METAVARS = re.compile(r"\b(TEXT|INTEGER|FLOAT|DIRECTORY|FILE|PATH|OPTIONS|COMMAND|ARGS)\b")
_ENGLISH_WORDS = {"the", "and", "of", "for", "with", "from", "this", "that", "is", "are", "by", "each", "every",
                  "when", "only", "which", "without", "default", "show", "writes", "write", "option", "period",
                  "folder", "file", "files", "deliver", "again", "already", "message", "day", "year", "unit's"}
_VIETNAMESE_LETTER = re.compile("[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]", re.I)


def _commands():
    """Every command path: the group itself and each command, including those added later."""
    ctx = click.Context(cli)
    return [()] + [(name,) for name in cli.list_commands(ctx)]


def _is_vietnamese(text: str) -> bool:
    """Vietnamese letters, and no English word outside examples, options, file names and paths."""
    prose = re.sub(r"\S*[/._<>\[\]-]\S*", " ", re.sub(r"Ví dụ:.*", "", text))
    words = set(re.findall(r"[A-Za-z']+", prose.lower()))
    return bool(_VIETNAMESE_LETTER.search(text)) and not (words & _ENGLISH_WORDS)


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "cli")
def test_help_of_every_command_is_vietnamese(path):
    result = run(*path, "--help")
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith(f"Cách dùng: python -m pipeline {' '.join(path)}".rstrip())
    assert "Tùy chọn:" in text and "Xem hướng dẫn này rồi thoát." in text
    assert not [e for e in _ENGLISH_FROM_CLICK if e in text], text
    assert not _ENGLISH_METAVARS.search(text), text
    command = cli if not path else cli.get_command(click.Context(cli), path[0])
    assert _is_vietnamese(command.help or ""), f"{path}: {command.help!r}"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help and _is_vietnamese(param.help), f"{' '.join(path)} {param.opts}: {param.help!r}"


def test_group_help_lists_commands_in_vietnamese():
    result = CliRunner().invoke(cli, ["--help"])
    assert "Các lệnh:" in result.output and "Tiếp nhận và kiểm tra các tệp" in result.output


@pytest.mark.parametrize("args, message", [
    (["audit", "--period", "2026S1", "--as-of", "31/06/2026"],
     "Ngày không hợp lệ: 31/06/2026 (tháng 6 năm 2026 không có ngày 31), ở tùy chọn --as-of."),
    (["audit", "--period", "2026S1", "--as-of", "20/13/2026"], "Ngày không hợp lệ: 20/13/2026 (không có tháng 13"),
    (["audit", "--period", "2026S1", "--new-deadline", "mai"], "Ngày không hợp lệ: mai (ghi dạng ngày/tháng/năm"),
    (["annual", "--year", "2026S1"], "Năm không hợp lệ: '2026S1' (ghi bốn chữ số, ví dụ 2026; báo cáo 6 tháng dùng: "
                                     "python -m pipeline semiannual --period 2026S1)"),
    (["semiannual"], "Thiếu tùy chọn --period (ví dụ --period 2026S1). Xem: python -m pipeline semiannual --help"),
    (["semiannual", "--period"], "Tùy chọn --period cần một giá trị (ví dụ --period 2026S1)."),
    (["report"], "Không có lệnh 'report'. Có phải: semiannual, annual?"),
    (["semiannul", "--period", "2026S1"], "Không có lệnh 'semiannul'. Có phải: semiannual"),
    (["ingest", "--perod", "2026S1"], "Lệnh python -m pipeline ingest không có tùy chọn --perod. Có phải: --period?"),
    (["audit", "--history=yes"], "Tùy chọn --history không nhận giá trị: chỉ ghi --history."),
    (["units", "Tả Lèng"], "Thừa đối số: Tả Lèng"),
    (["obligations", "--period", "2026S3"], "Mã kỳ báo cáo không hợp lệ: '2026S3'"),
    (["rollup", "--period", "2026S1", "khong-co-thu-muc-nay"], "Không có thư mục khong-co-thu-muc-nay"),
    ([], "Thiếu tên lệnh."),
])
def test_command_line_mistakes_are_one_vietnamese_line(args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Lỗi: ") and result.output.count("\n") == 1, result.output
    assert message in result.output
    assert not [e for e in (*_ENGLISH_FROM_CLICK, "Cách dùng", "Traceback") if e in result.output], result.output


def test_a_mistake_is_one_line_on_stderr_of_the_real_program():
    proc = subprocess.run([sys.executable, "-m", "pipeline", "--root", str(PROJECT_ROOT), "audit", "--period",
                           "2026S1", "--as-of", "31/06/2026"], capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("Lỗi: Ngày không hợp lệ: 31/06/2026") and proc.stderr.count("\n") == 1


@pytest.mark.parametrize("typed, day", [
    ("20/06/2026", dt.date(2026, 6, 20)), ("2026-06-20", dt.date(2026, 6, 20)), ("5/6/2026", dt.date(2026, 6, 5)),
    ("05-06-2026", dt.date(2026, 6, 5)), ("29/02/2028", dt.date(2028, 2, 29)),
])
def test_dates_typed_the_vietnamese_way(typed, day):
    ctx = cli.get_command(click.Context(cli), "audit").make_context("audit", ["--as-of", typed])
    assert ctx.params["as_of"].date() == day


@pytest.mark.parametrize("typed, code", [(" 2026s1 ", "2026S1"), ("2026", "2026")])
def test_period_codes_forgive_case_and_spaces(typed, code):
    ctx = cli.get_command(click.Context(cli), "semiannual").make_context("semiannual", ["--period", typed])
    assert ctx.params["period_code"] == code


# ---------------------------------------------------------------- units named as people name them

@pytest.mark.parametrize("typed, unit_id", [
    ("03405", "03405"), ("3405", "03405"), ("12-syt", "12-SYT"), ("12-SYT", "12-SYT"), ("Tả Lèng", "03405"),
    ("ta leng", "03405"), ("xã Tả Lèng", "03405"), ("UBND xã Tả Lèng", "03405"), ("TA LENG", "03405"),
    ("Xã Tả Lèng", "03405"), ("sở y tế", "12-SYT"), ("syt", "12-SYT"), ("Cong an tinh", "12-CA"),
    ("phuong doan ket", "03388"), ("3388", "03388"),
])
def test_a_unit_is_resolved_by_code_or_name(registry, typed, unit_id):
    assert registry.resolve(typed) == unit_id


@pytest.mark.parametrize("typed, message, suggested", [
    ("Nậm", "'Nậm' có thể là nhiều đơn vị. Có phải: ", ["03434 Xã Nậm Hàng", "03517 Xã Nậm Tăm", "03613 Xã Nậm Sỏ"]),
    ("muong", "'muong' có thể là nhiều đơn vị. Có phải: ", ["03445 Xã Mường Tè", "03637 Xã Mường Kim"]),
    ("ta lenh", "Không có đơn vị 'ta lenh' trong danh sách đơn vị báo cáo. Có phải: ", ["03405 Xã Tả Lèng"]),
    ("Hà Nội", "Không có đơn vị 'Hà Nội' trong danh sách đơn vị báo cáo. Xem danh sách: python -m pipeline units", []),
    ("99999", "Không có đơn vị mã '99999'", []),
])
def test_an_ambiguous_or_unknown_unit_lists_the_closest(registry, typed, message, suggested):
    from pipeline.common.errors import UnknownUnitError

    with pytest.raises(UnknownUnitError) as caught:
        registry.resolve(typed)
    text = str(caught.value)
    assert text.startswith(message) and "\n" not in text
    assert all(s in text for s in suggested), text


@pytest.mark.parametrize("command", [
    ["obligations", "--period", "2026S1", "--unit"], ["templates", "--period", "2026S1", "--unit"],
    ["history", "--period", "2026S1", "--unit"], ["distribute", "--period", "2026S1", "--unit"],
    ["send-feedback", "--period", "2026S1", "--unit"], ["send-reminders", "--period", "2026S1", "--unit"],
])
def test_every_unit_option_resolves_names(command):
    ok = run("obligations", "--period", "2026S1", "--unit", "ta leng")
    assert ok.exit_code == 0 and "Xã Tả Lèng" in ok.output, ok.output
    result = run(*command, "Nậm")
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert result.output.startswith("Lỗi: 'Nậm' có thể là nhiều đơn vị. Có phải: 03434 Xã Nậm Hàng")


def test_every_unit_option_uses_the_resolver():
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        for param in cli.get_command(ctx, name).params:
            if "--unit" in getattr(param, "opts", ()):
                assert isinstance(param.type, cli_vi.UnitType), f"{name} --unit"


# ---------------------------------------------------------------- where the project is

def test_commands_run_from_a_subfolder_of_the_project(project, monkeypatch):
    monkeypatch.delenv("BAOCAO_ROOT", raising=False)
    for folder in (project / "inputs", project / "inputs" / "submissions", project):
        monkeypatch.chdir(folder)
        result = CliRunner().invoke(cli, ["obligations", "--period", "2026S1", "--unit", "3405"])
        assert result.exit_code == 0, result.output
        assert "1 đơn vị, 16 dòng nhiệm vụ" in result.output


def test_root_option_still_overrides(project, tmp_path, monkeypatch):
    monkeypatch.delenv("BAOCAO_ROOT", raising=False)
    (project / "inputs" / "config.toml").write_text("[province]\ncode = 99\n", encoding="utf-8")
    monkeypatch.chdir(project / "inputs")
    assert CliRunner().invoke(cli, ["units"]).exit_code == 2           # this project's settings are broken
    result = CliRunner().invoke(cli, ["--root", str(PROJECT_ROOT), "units"])
    assert result.exit_code == 0 and "38 xã/phường" in result.output


def test_outside_any_project_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("BAOCAO_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["units"])
    assert result.exit_code == 2 and "Không tìm thấy tệp cấu hình" in result.output


# ---------------------------------------------------------------- run outside the environment

_WITHOUT = ("import runpy, sys; sys.modules[{module!r}] = None; sys.argv = ['pipeline', '--root', {root!r}, 'units']; "
            "runpy.run_module('pipeline', run_name='__main__')")


@pytest.mark.parametrize("module", ["pandas", "click"])
def test_missing_library_says_to_use_the_environment(module):
    proc = subprocess.run([sys.executable, "-c", _WITHOUT.format(module=module, root=str(PROJECT_ROOT))],
                          capture_output=True, text=True, encoding="utf-8", cwd=PROJECT_ROOT)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"Lỗi: Thiếu thư viện {module}: ")
    assert "make units" in proc.stderr and r".venv\Scripts\python -m pipeline" in proc.stderr


def test_system_python_without_the_libraries():
    import shutil

    system = shutil.which("python3", path="/usr/bin:/bin")
    if system is None or subprocess.run([system, "-c", "import click"], capture_output=True).returncode == 0:
        pytest.skip("no system Python without click on this machine")
    proc = subprocess.run([system, "-m", "pipeline", "units"], capture_output=True, text=True, encoding="utf-8",
                          cwd=PROJECT_ROOT)
    assert proc.returncode == 2 and proc.stderr.startswith("Lỗi: Thiếu thư viện click: ")


# ---------------------------------------------------------------- ingest of a missing folder

def test_ingest_of_a_missing_period_folder_writes_nothing(project):
    result = run("ingest", "--period", "2027S1", root=project)
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    expected = project / "inputs" / "submissions" / "2027S1"
    assert result.output.startswith(f"Lỗi: Không có thư mục {expected}: kỳ 2027S1 chưa có tệp nào.")
    assert list((project / "outputs").iterdir()) == []


# ---------------------------------------------------------------- file modes

@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664)])
def test_outputs_follow_the_umask_and_the_archive_is_read_only(project, umask, mode):
    old = os.umask(umask)
    try:
        assert run("templates", "--period", "2026S1", "--unit", "03405", root=project).exit_code == 0
        template = project / "outputs" / "templates" / "2026S1" / "2026S1_03405_xa-ta-leng.xlsx"
        folder = project / "inputs" / "submissions" / "2026S1"
        folder.mkdir(parents=True)
        shutil.copy(template, folder / "ta-leng.xlsx")
        result = run("ingest", "--period", "2026S1", "--no-progress", root=project)
        assert result.exit_code == 0, result.output
    finally:
        os.umask(old)
    outputs = project / "outputs"
    written = [template, template.parent / "danh-sach-bieu-mau.csv", outputs / "2026S1" / "kiem-tra.xlsx",
               *(outputs / "2026S1" / "phan-hoi").iterdir()]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in written} == {p.name: mode for p in written}
    archived = [p for p in (outputs / "archive").rglob("*") if p.is_file()]
    assert archived and all(stat.S_IMODE(p.stat().st_mode) == 0o444 for p in archived)


# ---------------------------------------------------------------- dry runs before the mailbox is set

def test_dry_run_before_the_mailbox_is_configured(project, monkeypatch):
    monkeypatch.delenv("BAOCAO_SMTP_PASSWORD", raising=False)
    contacts = project / "inputs" / "commune_contacts.csv"
    text = contacts.read_text(encoding="utf-8-sig").replace("03405,Xã Tả Lèng,,,,", "03405,Xã Tả Lèng,,ta-leng@example.vn,,")
    contacts.write_text(text, encoding="utf-8-sig")
    result = run("distribute", "--period", "2026S1", "--unit", "ta leng", root=project)
    assert result.exit_code == 0, result.output
    assert ("Trước khi gửi thật (--send): điền [mail] from_address, [mail] smtp_host trong inputs/config.toml; "
            "đặt mật khẩu hộp thư vào biến môi trường BAOCAO_SMTP_PASSWORD.") in result.output
    [draft] = (project / "outputs" / "mail" / "2026S1" / "distribute").glob("*.eml")
    message = email.message_from_bytes(draft.read_bytes(), policy=email.policy.default)
    assert message["From"].addresses[0].addr_spec == "chua-khai-bao-dia-chi-gui@example.invalid"
    assert message["To"].addresses[0].addr_spec == "ta-leng@example.vn"
    refused = run("distribute", "--period", "2026S1", "--unit", "03405", "--send", root=project)
    assert refused.exit_code == 2 and "Chưa khai báo địa chỉ gửi: điền [mail] from_address" in refused.output


# ---------------------------------------------------------------- make

@pytest.mark.parametrize("target, variable", [
    ("semiannual", "PERIOD"), ("annual", "YEAR"), ("ingest", "PERIOD"), ("templates", "PERIOD"),
    ("obligations", "PERIOD"), ("distribute", "PERIOD"), ("send-feedback", "PERIOD"), ("send-reminders", "PERIOD"),
    ("collect", "PERIOD"), ("history", "PERIOD"),
])
def test_make_without_its_variable_says_which_in_one_line(target, variable):
    proc = subprocess.run(["make", "-n", target], cwd=PROJECT_ROOT, capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode == 2 and "python -m pipeline" not in proc.stdout
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert f"Thiếu biến {variable}: ghi thêm, ví dụ make {target} {variable}=" in proc.stderr


def test_make_history_names_the_unit_variable_too():
    proc = subprocess.run(["make", "-n", "history", "PERIOD=2026S1"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          encoding="utf-8")
    assert proc.returncode == 2 and "Thiếu biến UNIT: ghi thêm, ví dụ make history UNIT=03405" in proc.stderr


def test_make_help_is_vietnamese():
    proc = subprocess.run(["make", "--no-print-directory", "help"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          encoding="utf-8")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    targets = re.findall(r"^([a-z-]+):", (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    shown = {line.split()[1] for line in lines if line.startswith("make ")}
    assert set(targets) - {"help", "install"} <= shown
    assert all(_is_vietnamese(line.split("  ", 1)[1]) for line in lines if line.startswith("make ")), lines
