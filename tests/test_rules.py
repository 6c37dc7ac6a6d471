"""The rule catalogue (schemas/rules.csv) and the code agree: every rule the code can raise is a
constant of pipeline/intake/rules.py with a row in the catalogue (severity, Vietnamese title and
description), no module writes a rule code as a string, every catalogued rule is exercised by a
test, and the check workbook shows titles, not codes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline.forms import layout
from pipeline.intake import rules
from pipeline.intake.consistency import FINDING_RULES
from pipeline.intake.findings import FileRef, Finding, finding
from pipeline.intake.rules import EITHER, ERROR, OTHER_RULE, WARNING, catalogue, rule_title, rule_titles

from conftest import PROJECT_ROOT
from filling import Kit, row_of, task_row

_CODE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_SEVERITIES = {ERROR: "ERROR", WARNING: "WARNING"}
SOURCES = sorted([*PROJECT_ROOT.glob("pipeline/**/*.py"), *PROJECT_ROOT.glob("schemas/**/*.py")])
TESTS = sorted((PROJECT_ROOT / "tests").glob("*.py"))


def _rule_name(node, imported: set[str] = frozenset()) -> str | None:
    """`rules.NOT_A_NUMBER`, or a name the module imports from pipeline.intake.rules
    (`IMPLAUSIBLE`): the constant's name."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "rules" \
            and node.attr.isupper() and getattr(rules, node.attr, rules.CODES[0]) in rules.CODES:
        return node.attr      # (a name rules.py does not define is reported, as not catalogued)
    if isinstance(node, ast.Name) and node.id in imported:
        return node.id
    return None


def _imported_rules(tree) -> set[str]:
    return {alias.asname or alias.name for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "pipeline.intake.rules"
            for alias in node.names if getattr(rules, alias.name, None) in rules.CODES}


def _is_rules_module(path: Path) -> bool:
    return path == PROJECT_ROOT / "pipeline" / "intake" / "rules.py"


def _severity(node) -> str | None:
    if isinstance(node, ast.Constant) and node.value in _SEVERITIES:
        return node.value
    name = getattr(node, "id", getattr(node, "attr", None))
    return {"ERROR": ERROR, "WARNING": WARNING}.get(name)


def rule_uses() -> list[tuple[str, str, str | None]]:
    """(constant name, where, severity written next to it or None) for every rule constant the code
    names: `rules.X` or a name imported from pipeline.intake.rules."""
    uses = []
    for path in SOURCES:
        if _is_rules_module(path):
            continue
        where = path.relative_to(PROJECT_ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = _imported_rules(tree)
        for node in ast.walk(tree):
            sequences = [node.args] if isinstance(node, ast.Call) else \
                [node.elts] if isinstance(node, (ast.Tuple, ast.List)) else []
            paired = set()
            for sequence in sequences:
                for first, second in zip(sequence, sequence[1:]):
                    if _rule_name(first, imported) and _severity(second):
                        uses.append((_rule_name(first, imported), where, _severity(second)))
                        paired.add(id(first))
            if _rule_name(node, imported) and id(node) not in paired:
                uses.append((_rule_name(node, imported), where, None))
    return uses


def rule_literals() -> list[str]:
    """Rule codes still written as strings where a rule goes: after a severity in a call or a
    tuple, as `Unreadable`'s first argument, a `rule=` keyword or a finding dict's `"rule"`."""
    codes, found = set(rules.CODES), []
    for path in SOURCES:
        if _is_rules_module(path):
            continue
        where = path.relative_to(PROJECT_ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            candidates = []
            if isinstance(node, ast.Call):
                candidates += [a for a, b in zip(node.args, node.args[1:]) if _severity(b)]
                if getattr(node.func, "id", getattr(node.func, "attr", "")) == "Unreadable" and node.args:
                    candidates.append(node.args[0])
                candidates += [k.value for k in node.keywords if k.arg == "rule"]
            elif isinstance(node, (ast.Tuple, ast.List)):
                candidates += [a for a, b in zip(node.elts, node.elts[1:]) if _severity(b)]
            elif isinstance(node, ast.Dict):
                candidates += [v for k, v in zip(node.keys, node.values)
                               if isinstance(k, ast.Constant) and k.value == "rule"]
            found += [f"{where}:{c.lineno} {c.value}" for c in candidates
                      if isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value in codes]
    return found


# ---------------------------------------------------------------- the catalogue and the code agree

def test_the_constants_are_the_catalogue():
    assert sorted(rules.CODES) == sorted(catalogue())
    assert all(getattr(rules, code.upper()) == code for code in rules.CODES)


def test_the_scan_finds_the_rules_of_every_stage():
    used = {name for name, _where, _severity in rule_uses()}
    # one of each way a rule is raised: reader, ingest's identification, cell parsing, schema messages,
    # the consistency rules
    assert {"NOT_A_SPREADSHEET", "UNIT_UNKNOWN", "VIETNAMESE_NUMBER", "RESULTS_REQUIRED", "IMPLAUSIBLE",
            "UNEXPECTED_ERROR"} <= used


def test_every_rule_the_code_uses_is_catalogued():
    unknown = sorted(f"{name} ({where})" for name, where, _s in rule_uses()
                     if getattr(rules, name, None) not in catalogue())
    assert not unknown, "not in pipeline/intake/rules.py and schemas/rules.csv: " + ", ".join(unknown)


def test_every_catalogued_rule_is_raised_somewhere():
    used = {getattr(rules, name) for name, _where, _s in rule_uses()} | set(FINDING_RULES.values())
    assert sorted(set(catalogue()) - used) == []


def test_no_rule_code_is_written_as_a_string():
    assert rule_literals() == []


def test_severities_agree_with_the_catalogue():
    wrong = sorted(f"{name} {severity} ({where}), catalogue: {catalogue()[getattr(rules, name)].severity}"
                   for name, where, severity in rule_uses()
                   if severity and catalogue()[getattr(rules, name)].severity not in (severity, EITHER))
    assert not wrong, wrong
    assert {r.severity for r in catalogue().values()} <= {ERROR, WARNING, EITHER}


def test_titles_and_descriptions_are_vietnamese_and_titles_unique():
    for rule in catalogue().values():
        assert 0 < len(rule.title) <= 40 and not _CODE.match(rule.title), rule
        assert rule.description.endswith(".") and len(rule.description) > len(rule.title), rule
        assert re.search(r"[ăâđêôơưàáạảãèéẹẻẽìíịỉĩòóọỏõùúụủũỳýỵỷỹ]", rule.description.lower()), rule
    assert len(set(rule_titles().values())) == len(rule_titles())


def test_every_catalogued_rule_is_exercised_by_a_test():
    """A test names each rule it makes happen: its code (a finding read back from the ledger)
    or its constant."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in TESTS if p.name != "test_rules.py")
    here = next(node for node in ast.walk(ast.parse(Path(__file__).read_text(encoding="utf-8")))
                if isinstance(node, ast.FunctionDef) and node.name == "test_each_rule_happens_to_a_file")
    made_here = {getattr(rules, node.attr) for decorator in here.decorator_list for node in ast.walk(decorator)
                 if _rule_name(node)}
    untested = sorted(code for code in catalogue() if code not in made_here
                      and not re.search(rf"""["']{code}["']|rules\.{code.upper()}\b""", text))
    assert not untested, "no test makes these rules happen: " + ", ".join(untested)


def test_an_unknown_code_falls_back_visibly():
    assert rule_title("a_rule_added_tomorrow") == OTHER_RULE == "Quy tắc khác"
    assert rule_title(rules.NOT_A_NUMBER) == "Không phải số"


def test_a_finding_is_one_frozen_record():
    f = finding(FileRef(None, "bao cao.xlsx"), "Chỉ tiêu", "E7", 12.0, rules.NEGATIVE, ERROR, "Số âm\x07.")
    assert f == Finding(None, "bao cao.xlsx", "Chỉ tiêu", "E7", "12", "negative", "error", "Số âm.")
    assert f.of_unit("03405").unit_id == "03405" and f.unit_id is None
    with pytest.raises(AttributeError):
        f.rule = rules.REQUIRED


# ---------------------------------------------------------------- the rules no other test makes happen

def _judged(project, change) -> dict:
    kit = Kit.load(project)
    spec, wb = kit.filled("03405")
    change(spec, wb)
    kit.save(wb, "bao-cao.xlsx")
    judged = kit.ingest(progress=False).judged
    assert len(judged) == 1
    return judged[0]


def _shift_tasks(spec, wb):
    wb[layout.SHEET_TASKS].insert_rows(1)


def _rename_a_header(spec, wb):
    wb[layout.SHEET_TASKS].cell(layout.TASKS_HEADER_ROW, 2).value = "Cột đã sửa"


def _duplicate_a_task(spec, wb):
    first, second = spec.tasks[0]["task_id"], spec.tasks[1]["task_id"]
    wb[layout.SHEET_TASKS][f"A{task_row(spec, second)}"] = first


def _a_task_of_another_unit(spec, wb):
    wb[layout.SHEET_TASKS][f"A{task_row(spec, spec.tasks[0]['task_id'])}"] = "1.5a"   # the province's half


def _a_short_phone_number(spec, wb):
    wb[layout.SHEET_INFO]["B8"] = "12"


def _a_formula(spec, wb):
    wb[layout.SHEET_INDICATORS][f"E{row_of(spec, spec.indicators[0]['code'])}"] = "=10+1"


@pytest.mark.parametrize("change, rule, severity", [
    (_shift_tasks, rules.ROWS_SHIFTED, WARNING),
    (_rename_a_header, rules.HEADER_CHANGED, ERROR),
    (_duplicate_a_task, rules.DUPLICATE_ROW, ERROR),
    (_a_task_of_another_unit, rules.UNEXPECTED_ROW, ERROR),
    (_a_short_phone_number, rules.PHONE_FORMAT, WARNING),
    (_a_formula, rules.FORMULA_IN_INPUT, WARNING),
])
def test_each_rule_happens_to_a_file(project, change, rule, severity):
    judged = _judged(project, change)
    hits = [f for f in judged["findings"] if f["rule"] == rule]
    assert hits, judged["findings"]
    assert hits[0]["severity"] == severity and hits[0]["message"]
    assert judged["outcome"] == ("rejected" if severity == ERROR else judged["outcome"])


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
    shown = {row[header.index("Quy tắc")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    titles = set(rule_titles().values())
    assert shown and shown <= titles | {OTHER_RULE}, shown
    assert "Không phải bảng tính" in shown or "Tệp bị hỏng" in shown
    assert not any(_CODE.match(r) for r in shown)
