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
