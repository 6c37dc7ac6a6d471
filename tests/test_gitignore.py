"""A project folder keeps the units' data out of git (issue 16, point 8): its .gitignore, and the one
the demo writes into the project folder it creates, ignore inputs/submissions/, outputs/ and the ledger."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from pipeline.cli.demo import PROJECT_GITIGNORE

from conftest import PROJECT_ROOT

DATA = ["inputs/submissions/2026S1/03405.xlsx", "inputs/submissions/2026S1/gui SYT/so-den.csv",
        "outputs/ledger.sqlite", "outputs/ledger.sqlite-wal", "outputs/2026S1/bao-cao-6-thang-dau-nam-2026.docx",
        "outputs/archive/ab/abcd.xlsx", "du-lieu/ledger.sqlite"]
KEPT = ["inputs/submissions/.gitkeep", "inputs/config.toml", "inputs/assignment_matrix.csv", "outputs/.gitkeep",
        "schemas/indicators.csv", "pipeline/cli/commands.py"]


def ignored(folder, paths: list[str]) -> set[str]:
    proc = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=folder, capture_output=True, text=True)
    return set(proc.stdout.split("\n")) - {""}


@pytest.mark.parametrize("text", [(PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8"), PROJECT_GITIGNORE],
                         ids=["project", "demo workspace"])
def test_the_data_is_ignored_and_the_code_is_not(tmp_path, text):
    if shutil.which("git") is None:
        pytest.skip("!!! git is not installed: the .gitignore was NOT checked")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(text, encoding="utf-8")
    assert ignored(tmp_path, DATA) == set(DATA)
    assert ignored(tmp_path, KEPT) == set()


def test_the_demo_writes_it(tmp_path):
    from pipeline.cli.demo import prepare_workspace

    workspace = prepare_workspace(PROJECT_ROOT, tmp_path / "demo")
    assert (workspace / ".gitignore").read_text(encoding="utf-8") == PROJECT_GITIGNORE
