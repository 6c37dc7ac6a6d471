"""Shared fixtures: a frozen project to read, and a throwaway copy of it to edit.

The tests never read the officer's live `inputs/`: next year's matrix, units or settings would
break them. They read `tests/fixture_project/`, a frozen copy of the data as it was when the tests
were written (the matrix, the units, the settings, the indicator catalogue and its consistency
rules). What the tests take from the checkout is code: the modules, `templates/` (the documents'
placeholders change with the code that fills them) and `schemas/rules.csv` (the rule titles, whose
codes are the code's; the package's copy is used when a project has none). Only
`test_units_periods.py::test_the_live_inputs_load` reads the live `inputs/`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.reference.project import Project

PROJECT_ROOT = Path(__file__).resolve().parent.parent        # the checkout: code, templates, README
FIXTURE_PROJECT = Path(__file__).resolve().parent / "fixture_project"   # the frozen data: read, never write
SEED = PROJECT_ROOT.parent / "shared" / "seeds" / "000_9771f4c775dbbc8a.txt"


def pytest_collection_modifyitems(items):
    """A test that takes the `kit` fixture ingests real files into a ledger of its own (seconds,
    not milliseconds): it is slow, as are the modules marked so. `make test-fast` leaves them out."""
    for item in items:
        if "kit" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def fixture_project_stays_frozen():
    """The frozen project is read by every test: one that writes into it fails the session."""
    before = _listing(FIXTURE_PROJECT)
    yield
    after = _listing(FIXTURE_PROJECT)
    assert after == before, (f"a test wrote into {FIXTURE_PROJECT} (use the `project` fixture to edit): "
                             f"{sorted(set(after.items()) ^ set(before.items()))}")


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if "__pycache__" not in p.parts}


@pytest.fixture(scope="session")
def frozen_project(tmp_path_factory) -> Path:
    """One copy of the frozen project for the session, with templates: the `settings` fixture's
    root, and the source of the demo's workspace. Do not edit it (`project` is the one to edit)."""
    return copy_project_data(tmp_path_factory.mktemp("frozen") / "project")


@pytest.fixture(scope="session")
def frozen(frozen_project) -> Project:
    """The frozen project loaded once, as the stages take it (settings, units, matrix, catalogue)."""
    return Project(frozen_project)


@pytest.fixture(scope="session")
def settings(frozen):
    return frozen.settings


@pytest.fixture(scope="session")
def registry(frozen):
    return frozen.registry


@pytest.fixture(scope="session")
def matrix(frozen):
    return frozen.matrix


def copy_project_data(root: Path) -> Path:
    """A project to edit freely in `root`: the frozen data (inputs/, schemas/), the checkout's
    templates/, an empty inputs/submissions/ and outputs/. The one way tests make a project."""
    for folder in ("inputs", "schemas"):
        shutil.copytree(FIXTURE_PROJECT / folder, root / folder)
    shutil.copytree(PROJECT_ROOT / "templates", root / "templates", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "inputs" / "submissions").mkdir()
    (root / "outputs").mkdir()
    return root


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the frozen project (data, templates) in a fresh folder, to edit freely."""
    return copy_project_data(tmp_path / "project")


def soffice_convert(source: Path, target_format: str, out_dir: Path) -> Path:
    """Converts with headless LibreOffice, as a unit re-saving the file would; returns the new file.

    Each call gets its own LibreOffice profile so that parallel conversions do not collide.
    """
    import subprocess
    import tempfile

    binary = shutil.which("soffice") or shutil.which("libreoffice")
    if binary is None:
        pytest.skip("!!! LibreOffice (soffice) is not installed: `make test` installs it as root via "
                    "scripts/ensure_system_packages.sh; this LibreOffice round trip was NOT tested")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        proc = subprocess.run(
            [binary, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
             "--convert-to", target_format, "--outdir", str(out_dir), str(source)],
            capture_output=True, text=True, timeout=180)
    produced = out_dir / f"{source.stem}.{target_format.split(':')[0]}"
    assert produced.is_file(), f"LibreOffice did not convert {source.name}: {proc.stdout} {proc.stderr}"
    return produced
