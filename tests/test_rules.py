"""Every rule a finding can carry has a Vietnamese title, and the check workbook shows titles, not codes."""

from __future__ import annotations

import ast
import re

from openpyxl import load_workbook

from pipeline.intake.consistency import FINDING_RULES
from pipeline.intake.rules import OTHER_RULE, rule_title, rule_titles

from conftest import PROJECT_ROOT

_CODE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_SEVERITIES = {"error", "warning"}


def _literal(node) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and _CODE.match(node.value) \
            and node.value not in _SEVERITIES:
        return node.value
    return None


def _is_severity(node) -> bool:
    return (isinstance(node, ast.Constant) and node.value in _SEVERITIES) or \
        (isinstance(node, ast.Name) and node.id in {"ERROR", "WARNING"})


def rule_codes_in_code() -> dict[str, str]:
    """Every rule code written in pipeline/ and schemas/: a code followed by its severity (in a call
    to `finding`, `add`, `Parsed`, or a (rule, severity, message) tuple), the first argument of
    `Unreadable`, a `rule=` keyword, or a `"rule": ...` key of a finding built as a dict."""
    found: dict[str, str] = {}
    files = sorted([*PROJECT_ROOT.glob("pipeline/**/*.py"), *PROJECT_ROOT.glob("schemas/**/*.py")])
    for path in files:
        where = path.relative_to(PROJECT_ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            sequences = []
            if isinstance(node, ast.Call):
                sequences.append(node.args)
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name == "Unreadable" and node.args and _literal(node.args[0]):
                    found.setdefault(_literal(node.args[0]), where)
                for keyword in node.keywords:
                    if keyword.arg == "rule" and _literal(keyword.value):
                        found.setdefault(_literal(keyword.value), where)
            elif isinstance(node, ast.Assign) and _literal(node.value) and any(
                    getattr(target, "id", "") == "rule" for target in node.targets):
                found.setdefault(_literal(node.value), where)   # rule = "read_timeout"
            elif isinstance(node, (ast.Tuple, ast.List)):
                sequences.append(node.elts)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values):
                    if isinstance(key, ast.Constant) and key.value == "rule" and _literal(value):
                        found.setdefault(_literal(value), where)
            for sequence in sequences:
                for first, second in zip(sequence, sequence[1:]):
                    if _literal(first) and _is_severity(second):
                        found.setdefault(_literal(first), where)
    # the consistency rules' codes are data-driven: one per kind of relation
    for code in FINDING_RULES.values():
        found.setdefault(code, "pipeline/intake/consistency.py")
    return found


def test_the_scan_finds_the_rules_of_every_stage():
    codes = rule_codes_in_code()
    # one of each way a rule is written: reader, ingest's identification, cell parsing, schema messages
    assert {"not_a_spreadsheet", "unit_unknown", "vietnamese_number", "results_required", "implausible",
            "unexpected_error"} <= set(codes)


def test_every_rule_code_has_a_vietnamese_title():
    titles = rule_titles()
    missing = sorted(f"{code} ({where})" for code, where in rule_codes_in_code().items() if code not in titles)
    assert not missing, "schemas/rules.csv has no title for: " + ", ".join(missing)


def test_titles_are_short_vietnamese_and_unique():
    titles = rule_titles()
    assert all(0 < len(t) <= 40 and not _CODE.match(t) for t in titles.values())
    assert len(set(titles.values())) == len(titles)


def test_an_unknown_code_falls_back_visibly():
    assert rule_title("a_rule_added_tomorrow") == OTHER_RULE == "Quy tắc khác"
    assert rule_title("not_a_number") == "Không phải số"


def test_check_workbook_shows_rule_titles(project):
    from click.testing import CliRunner

    from pipeline.cli.main import cli

    folder = project / "inputs" / "submissions" / "2026S1"
    folder.mkdir(parents=True)
    (folder / "ghi-chu.xlsx").write_bytes(b"PK not really a workbook")
    (folder / "bao-cao.pdf").write_bytes(b"%PDF-1.4\n")
    result = CliRunner().invoke(cli, ["--root", str(project), "ingest", "--period", "2026S1", "--no-progress"])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(project / "outputs" / "2026S1" / "kiem-tra.xlsx")["Chi tiết"]
    header = [c.value for c in sheet[1]]
    rules = {row[header.index("Quy tắc")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    titles = set(rule_titles().values())
    assert rules and rules <= titles | {OTHER_RULE}, rules
    assert "Không phải bảng tính" in rules or "Tệp bị hỏng" in rules
    assert not any(_CODE.match(r) for r in rules)
