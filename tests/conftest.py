"""Shared fixtures: the project's real settings, and a throwaway copy of the project to edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.config import load_settings
from pipeline.matrix import load_matrix
from pipeline.units import load_registry

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


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the project's data (inputs/, schemas/, templates/) in a fresh folder, to edit freely."""
    root = tmp_path / "project"
    for folder in ("inputs", "schemas", "templates"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.py", "submissions"))
    (root / "inputs" / "submissions").mkdir()
    (root / "outputs").mkdir()
    return root
