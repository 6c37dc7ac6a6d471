"""The command line: readable tables, one-line errors with exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from pipeline.cli import cli

from conftest import PROJECT_ROOT


def run(*args, root=PROJECT_ROOT):
    return CliRunner().invoke(cli, ["--root", str(root), *args])


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
