"""Shared fixtures: the project's real settings, and a throwaway copy of the project to edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.reference.settings import load_settings
from pipeline.reference.matrix import load_matrix
from pipeline.reference.units import load_registry

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEED = PROJECT_ROOT.parent / "shared" / "seeds" / "000_9771f4c775dbbc8a.txt"


@pytest.fixture(scope="session")
def settings():
    return load_settings(PROJECT_ROOT)


@pytest.fixture(scope="session")
def registry(settings):
    return load_registry(settings)


@pytest.fixture(scope="session")
def matrix(settings, registry):
    return load_matrix(settings, registry)


def copy_project_data(root: Path) -> Path:
    """A copy of the project's data (inputs/, schemas/, templates/) in `root`, with empty
    inputs/submissions/ and outputs/: a project to edit freely."""
    for folder in ("inputs", "schemas", "templates"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.py", "submissions"))
    (root / "inputs" / "submissions").mkdir()
    (root / "outputs").mkdir()
    return root


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the project's data (inputs/, schemas/, templates/) in a fresh folder, to edit freely."""
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
