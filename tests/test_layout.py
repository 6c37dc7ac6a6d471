"""The code's layout: imports run one way, from the command line down to the shared plumbing.

Every import of a project module is read from the source (module level and inside functions),
so a cycle hidden in a function body is caught as well as one at the top.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import PROJECT_ROOT

PACKAGES = ("pipeline", "schemas")
# The stages, from the bottom up: a subpackage imports only from those before it (and itself).
STAGES = ["common", "reference", "forms", "store", "intake", "audit", "report", "mail", "cli", "web"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((PROJECT_ROOT / package).rglob("*.py"))}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports anywhere in its body (`from a import b` counts as
    a.b when that is a module, else as a)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    found.discard(module_name(path))
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    # a package's __init__ is imported with any of its modules; it imports none of them here
    return {name: {m for m in imports_of(path, modules) if m not in PACKAGES}
            for name, path in modules.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "pipeline" and len(parts) > 2 else None


def test_no_import_cycle_between_project_modules():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_stages_import_only_downwards():
    wrong = []
    for module, targets in graph().items():
        here = stage_of(module)
        for target in targets:
            there = stage_of(target)
            if here and there and STAGES.index(there) > STAGES.index(here):
                wrong.append(f"{module} -> {target}")
    assert not wrong, "a stage imports one above it:\n" + "\n".join(sorted(wrong))


def test_every_module_is_in_a_stage_and_says_its_job():
    for name, path in project_modules().items():
        if name.startswith("pipeline.") and name != "pipeline.__main__":
            assert stage_of(name) in STAGES or name.count(".") == 1 and name.split(".")[1] in STAGES, name
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{path.relative_to(PROJECT_ROOT)} has no docstring saying its job"


# SQL as the code writes it (upper case keywords): a query, a write, a table or view definition
SQL = re.compile(r"\bSELECT\b.*?\bFROM\b|\bINSERT\s+(OR\s+[A-Z]+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|"
                 r"\bDELETE\s+FROM\b|\b(CREATE|DROP|ALTER)\s+(TABLE|VIEW|INDEX|UNIQUE\s+INDEX|TRIGGER)\b|"
                 r"\bPRAGMA\s+\w+", re.S)
DATABASE_CALLS = re.compile(r"sqlite3\.connect|\.execute(many|script)?\(|\bread_sql(_query|_table)?\(")


def strings_of(tree: ast.AST) -> list[str]:
    """Every string literal, an f-string with each replacement field as "{}" (so that
    f"SELECT {columns} FROM t" reads as one query)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            out.append("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(node.value)
    return out


def sql_spoken(path: Path) -> list[str]:
    """What in this file talks to the database: a connection or query call, or SQL in a string."""
    text = path.read_text(encoding="utf-8")
    found = [m.group(0) for m in DATABASE_CALLS.finditer(text)]
    found += [m.group(0)[:40] for s in strings_of(ast.parse(text)) for m in SQL.finditer(s)]
    return found


def test_only_the_ledger_speaks_sql():
    offenders = []
    for name, path in project_modules().items():
        if name == "pipeline.store.ledger":
            continue
        if spoken := sql_spoken(path):
            offenders.append(f"{name}: {spoken[0]!r}")
    assert not offenders, "SQL outside pipeline/store/ledger.py:\n" + "\n".join(offenders)


def test_the_sql_finder_finds_sql(tmp_path):
    """Each form of SQL the guard must see, and prose it must not mistake for SQL."""
    speaking = ['db = sqlite3.connect(path)', 'rows = db.execute("SELECT 1")', 'pd.read_sql_query(q, db)',
                'q = f"SELECT {cols} FROM t WHERE a = ?"', 'q = ("SELECT a "\n     "FROM t")',
                'q = "INSERT OR IGNORE INTO t VALUES (?)"', 'q = "UPDATE t SET a = 1"', 'q = "DELETE FROM t"',
                'S = """\nCREATE TABLE IF NOT EXISTS t (a)\n"""', 'q = "CREATE INDEX i ON t (a)"',
                'q = "PRAGMA user_version"', 'conn.executescript(S)']
    for number, line in enumerate(speaking):
        path = tmp_path / f"speaking_{number}.py"
        path.write_text(line + "\n", encoding="utf-8")
        assert sql_spoken(path), line
    quiet = tmp_path / "quiet.py"
    quiet.write_text('"""Select the rows from the ledger; update the set; the created table."""\n'
                     'x = "Chọn từ danh sách"  # SELECT in a comment is not code\n', encoding="utf-8")
    assert sql_spoken(quiet) == []
