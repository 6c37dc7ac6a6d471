"""Every command the README and the officer's guide show works as written.

Each `python -m pipeline ...` is parsed by the real CLI (its command and options must exist and
accept those values); each `make ...` is dry-run against the Makefile; the quick, read-only ones
are run for real on a copy of the project.
"""

from __future__ import annotations

import re
import shlex
import subprocess

import click
import pytest
from click.testing import CliRunner

from pipeline.cli.main import cli

from conftest import PROJECT_ROOT

DOCS = [PROJECT_ROOT / "README.md", PROJECT_ROOT / "docs" / "huong-dan-su-dung.md"]
_PIPELINE = re.compile(r"(?:\.venv\\Scripts\\)?python -m pipeline((?: [^`|\n]*)?)")
_MAKE = re.compile(r"`(make [^`]+)`")


def _expand_optional(text: str) -> str:
    """`--period 2026S1 [--unit 03405]` -> `--period 2026S1 --unit 03405` (optional parts included)."""
    return " ".join(text.replace("[", " ").replace("]", " ").split())


def pipeline_commands() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for line in doc.read_text(encoding="utf-8").splitlines():
            for match in _PIPELINE.finditer(line):
                args = match.group(1).strip()
                if not args or "..." in args or "<" in args or args.startswith("COMMAND"):
                    continue
                found.append((doc.name, _expand_optional(args)))
    return sorted(set(found))


def make_commands() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for match in _MAKE.finditer(doc.read_text(encoding="utf-8")):
            command = match.group(1)
            if "<" in command or "..." in command:
                continue
            found.append((doc.name, _expand_optional(command)))
    return sorted(set(found))


def test_the_docs_show_commands():
    assert len(pipeline_commands()) >= 15 and len(make_commands()) >= 12


@pytest.mark.parametrize("doc, args", pipeline_commands())
def test_pipeline_command_parses(doc, args, tmp_path, monkeypatch):
    name, *rest = shlex.split(args)
    # other project folders named in an example (`../dien-bien`) exist beside the project
    here = tmp_path / "project"
    here.mkdir()
    for word in rest:
        if word.startswith("../"):
            (here / word).resolve().mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(here)
    command = cli.get_command(click.Context(cli), name)
    assert command is not None, f"{doc}: unknown command in `python -m pipeline {args}`"
    try:
        command.make_context(name, rest)
    except click.UsageError as exc:
        pytest.fail(f"{doc}: `python -m pipeline {args}` does not parse: {exc}")


@pytest.mark.parametrize("doc, command", make_commands())
def test_make_command_exists(doc, command):
    words = shlex.split(command)
    proc = subprocess.run(["make", "-n", *words[1:]], cwd=PROJECT_ROOT, capture_output=True, text=True)
    if proc.returncode != 0 and "Thiếu biến " in proc.stderr:  # a target named in passing: it asks for its variable
        assert proc.stderr.count("\n") == 1, proc.stderr
        return
    assert proc.returncode == 0, f"{doc}: `{command}`: {proc.stderr}"
    # the officer's commands call the CLI; `make bench` runs the benchmark script (bench/run.py)
    assert any(ran in proc.stdout for ran in ("python -m pipeline", "pytest", "python -m bench.run")) \
        or words[1] == "help"


@pytest.mark.parametrize("args", [
    "matrix", "units", "obligations --period 2026S1 --unit 03405", "templates --period 2026S1 --unit 03405",
    "ingest --period 2026S1", "audit --period 2026S1 --as-of 2026-06-20",
])
def test_quick_commands_run_as_written(project, args):
    assert any(args in a for _doc, a in pipeline_commands()), f"`{args}` is not in the docs any more"
    (project / "inputs" / "submissions" / "2026S1").mkdir()   # where the officer copies the files received
    result = CliRunner().invoke(cli, ["--root", str(project), *shlex.split(args)])
    assert result.exit_code == 0, result.output


def _commands_table() -> list[str]:
    """The rows of README's "All commands" table."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## All commands\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|") and "python -m pipeline" in line]


def _documented_options(name: str) -> str:
    rows = [row for row in _commands_table() if re.search(rf"python -m pipeline {re.escape(name)}[ `]", row)]
    return "\n".join(rows)


@pytest.mark.parametrize("name", sorted(cli.list_commands(click.Context(cli))))
def test_every_command_and_option_is_in_the_readme_table(name):
    rows = _documented_options(name)
    assert rows, f"README's command table has no row for `python -m pipeline {name}`"
    command = cli.get_command(click.Context(cli), name)
    missing = [opt for param in command.params if isinstance(param, click.Option)
               for opt in param.opts if opt.startswith("--") and opt not in rows]
    assert not missing, f"README's command table does not show `{name}` with: {', '.join(missing)}"


def test_the_global_options_are_in_the_readme_table():
    table = "\n".join(_commands_table())
    missing = [opt for param in cli.params for opt in param.opts if opt.startswith("--") and opt not in table]
    assert not missing, f"README's command table does not show the options of every command: {', '.join(missing)}"


def test_config_comments_are_vietnamese():
    english = {"the", "and", "of", "for", "with", "from", "this", "only", "blank", "same", "edit", "lines", "starting"}
    for n, line in enumerate((PROJECT_ROOT / "inputs" / "config.toml").read_text(encoding="utf-8").splitlines(), 1):
        if "#" not in line or line.lstrip().startswith('# "'):   # a commented-out example setting
            continue
        comment = line.split("#", 1)[1]
        prose = re.sub(r'"[^"]*"|`[^`]*`|\S*[_/.=]\S*', " ", comment.lower())   # keys, examples, paths
        words = set(re.findall(r"[a-z]+", prose))
        assert re.search("[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]", comment.lower()) \
            and not words & english, f"inputs/config.toml line {n}: {comment.strip()}"


@pytest.mark.parametrize("csv_path", [*sorted((PROJECT_ROOT / "inputs").glob("*.csv")),
                                      PROJECT_ROOT / "schemas" / "indicators.csv",
                                      PROJECT_ROOT / "schemas" / "consistency.csv",
                                      PROJECT_ROOT / "schemas" / "rules.csv"], ids=lambda p: p.name)
def test_the_guide_says_what_each_csv_column_means(csv_path):
    guide = (PROJECT_ROOT / "docs" / "huong-dan-su-dung.md").read_text(encoding="utf-8")
    chapter = guide.split("### Ý nghĩa các cột trong các tệp CSV", 1)[1].split("\n## ", 1)[0]
    section = chapter.split(f"`{csv_path.parent.name}\\{csv_path.name}`", 1)[1].split("\n**`", 1)[0]
    header = csv_path.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    missing = [column for column in header if f"`{column}`" not in section]
    assert not missing, f"docs/huong-dan-su-dung.md does not explain {csv_path.name}: {', '.join(missing)}"
