"""A national synthetic setting: every province of the official list as its own project.

Each province gets a copy of this project's inputs with its own province code and its own
departments (`NN-SYT`, ...), so that unit ids stay unique across the country. Used by the
benchmarks; built once under outputs/bench/ and reused.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

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


def _province_root(base: Path, code: int, name: str) -> Path:
    root = base / f"p{code:02d}"
    if (root / "inputs" / "config.toml").is_file():
        return root
    for folder in ("inputs", "schemas", "templates"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.py", "__pycache__", "submissions"))
    (root / "inputs" / "submissions").mkdir(exist_ok=True)
    config = (root / "inputs" / "config.toml").read_text(encoding="utf-8")
    config = config.replace("code = 12 ", f"code = {code} ", 1).replace('name = "Lai Châu"', f'name = "{name}"', 1)
    (root / "inputs" / "config.toml").write_text(config, encoding="utf-8")
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
    return root


def province_projects(base: Path, only: list[int] | None = None) -> list[ProvinceProject]:
    """One loaded project per province (34), created under `base` on first use."""
    from vietnam_provinces import Province

    from pipeline.catalogue import load_catalogue
    from pipeline.config import load_settings
    from pipeline.matrix import load_matrix
    from pipeline.units import load_registry

    projects = []
    for province in sorted(Province.iter_all(), key=lambda p: int(p.code)):
        code = int(province.code)
        if only and code not in only:
            continue
        root = _province_root(base, code, province.name)
        settings = load_settings(root)
        registry = load_registry(settings)
        matrix = load_matrix(settings, registry)
        projects.append(ProvinceProject(code, province.name, root, settings, registry, matrix,
                                        load_catalogue(settings, matrix, registry)))
    return projects
