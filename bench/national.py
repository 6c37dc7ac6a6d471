"""A national synthetic setting: every province of the official list as its own project.

Each province gets a copy of this project's inputs with its own province code and its own
departments (`NN-SYT`, ...), so that unit ids stay unique across the country. Used by the
benchmarks; built once under outputs/bench/ and reused. With `ledger`, every copy writes to that
one ledger file (`[files] ledger` in its config.toml): the ministry's single ledger.
"""

from __future__ import annotations

import csv
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.reference.project import Project

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ProvinceProject:
    code: int
    name: str
    root: Path
    settings: object
    registry: object
    matrix: object
    catalogue: object

    @property
    def project(self) -> Project:
        return Project.of(self.settings, self.registry, self.matrix, self.catalogue)


def _write_config(root: Path, code: int, name: str, ledger: Path | None) -> None:
    """This project's current settings and report templates, with the province's code, name and ledger."""
    config = (PROJECT_ROOT / "inputs" / "config.toml").read_text(encoding="utf-8")
    config = config.replace("code = 12 ", f"code = {code} ", 1).replace('name = "Lai Châu"', f'name = "{name}"', 1)
    value = ledger.resolve().as_posix() if ledger else "outputs/ledger.sqlite"
    config = re.sub(r'(?m)^ledger = ".*"$', lambda _: f'ledger = "{value}"', config, count=1)
    path = root / "inputs" / "config.toml"
    if not path.is_file() or path.read_text(encoding="utf-8") != config:
        path.write_text(config, encoding="utf-8")
    shutil.copytree(PROJECT_ROOT / "templates", root / "templates", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))


def province_root(base: Path, code: int, name: str, ledger: Path | None = None) -> Path:
    """The province's project folder `base/pNN`, created from this project's data on first use;
    its settings and report templates are always this project's current ones."""
    root = base / f"p{code:02d}"
    if not (root / "inputs" / "departments.csv").is_file():
        _create(root)
    _write_config(root, code, name, ledger)
    return root


def _create(root: Path) -> None:
    code = int(root.name[1:])
    for folder in ("inputs", "schemas"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.py", "__pycache__", "submissions"))
    (root / "inputs" / "submissions").mkdir(exist_ok=True)
    dept_path = root / "inputs" / "departments.csv"
    with dept_path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["id"] = f"{code:02d}-" + row["id"].split("-", 1)[1]
    with dept_path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    (root / "inputs" / "commune_contacts.csv").unlink(missing_ok=True)  # official list, no contacts


def province_projects(base: Path, only: list[int] | None = None, ledger: Path | None = None) -> list[ProvinceProject]:
    """One loaded project per province (34), created under `base` on first use; with `ledger`,
    all writing to that one ledger file, else each to its own outputs/ledger.sqlite."""
    from vietnam_provinces import Province

    from pipeline.reference.catalogue import load_catalogue
    from pipeline.reference.settings import load_settings
    from pipeline.reference.matrix import load_matrix
    from pipeline.reference.units import load_registry

    projects = []
    for province in sorted(Province.iter_all(), key=lambda p: int(p.code)):
        code = int(province.code)
        if only and code not in only:
            continue
        root = province_root(base, code, province.name, ledger)
        settings = load_settings(root)
        registry = load_registry(settings)
        matrix = load_matrix(settings, registry)
        projects.append(ProvinceProject(code, province.name, root, settings, registry, matrix,
                                        load_catalogue(settings, matrix, registry)))
    return projects
