"""The project: one province's settings, reporting units, assignment matrix and indicator catalogue,
each loaded once, on first use, and kept for the run.

Every stage takes a `Project` (and the period it works on) instead of the four loaded parts; the
command line, the demo, the web application, the tests and the benchmark all build it the same
way, `Project(root)`. A part that is already loaded (a test's edited registry, a national
benchmark's province) is handed over with `Project.of(...)`.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.reference.periods import Period, parse_period
from pipeline.reference.settings import Settings, find_root, load_settings

if TYPE_CHECKING:
    from pipeline.reference.catalogue import Catalogue
    from pipeline.reference.matrix import Matrix
    from pipeline.reference.units import Registry


class Project:
    """One province's reference data, loaded lazily (so `--help` stays fast) and once."""

    def __init__(self, root: Path | None = None, verbose: bool = False):
        self.root = root if root is not None else find_root()
        self.verbose = verbose

    @classmethod
    def of(cls, settings: Settings, registry: Registry | None = None, matrix: Matrix | None = None,
           catalogue: Catalogue | None = None) -> "Project":
        """A project around parts already loaded; the missing ones load from `settings` on use."""
        project = cls(settings.root)
        project.__dict__["settings"] = settings
        for name, part in (("registry", registry), ("matrix", matrix), ("catalogue", catalogue)):
            if part is not None:
                project.__dict__[name] = part
        return project

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.root)

    # The loaders are imported when first needed: they bring pandas and pandera, which a command
    # that needs only the settings (or only `--help`) does not pay for.
    @cached_property
    def registry(self) -> Registry:
        from pipeline.reference.units import load_registry

        return load_registry(self.settings)

    @cached_property
    def matrix(self) -> Matrix:
        from pipeline.reference.matrix import load_matrix

        return load_matrix(self.settings, self.registry)

    @cached_property
    def catalogue(self) -> Catalogue:
        from pipeline.reference.catalogue import load_catalogue

        return load_catalogue(self.settings, self.matrix, self.registry)

    def period(self, code: str) -> Period:
        return parse_period(code, self.settings)

    def path(self, key: str) -> Path:
        """A folder or file of `[files]` in inputs/config.toml (see Settings.path)."""
        return self.settings.path(key)
