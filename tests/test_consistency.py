"""Consistency rules as data (issue 16, point 5): each kind of rule in schemas/consistency.csv
violated in a real filled template is a finding at its cell; a locked cell the clerk changed is a
warning naming the cell; the rules file itself is checked."""

from __future__ import annotations

import pytest

from pipeline.forms import layout
from pipeline.intake.consistency import load_rules
from pipeline.common.errors import ConfigError

from filling import COMMUNE, Kit, row_of, task_row

POLICE = "12-CA"
TASKS, INDICATORS = layout.SHEET_TASKS, layout.SHEET_INDICATORS


@pytest.fixture
def kit(project) -> Kit:
    return Kit.load(project)


def judge(kit: Kit, unit: str, change) -> tuple[dict, object]:
    spec, wb = kit.filled(unit)
    change(spec, wb)
    kit.save(wb, "bao-cao.xlsx")
    [judged] = kit.ingest(progress=False).judged
    return judged, spec


def found(judged: dict, rule: str) -> list[dict]:
    return [f for f in judged["findings"] if f["rule"] == rule]


def tied_task(spec) -> tuple[str, str]:
    """A task of the unit and an indicator tied to it alone (among the unit's tasks) in the catalogue."""
    owed = {t["task_id"] for t in spec.tasks}
    for ind in spec.indicators:
        tied = [t.strip() for t in ind["tasks"].split(";") if t.strip() in owed]
        if len(tied) == 1:
            return tied[0], ind["code"]
    raise AssertionError("no indicator tied to one task of the unit")


def first_task(spec) -> str:
    return spec.tasks[0]["task_id"]


def set_task(task_of, **cells):
    """Writes the given columns (E status, F results, G quantity, H documents) of a task's row."""
    def change(spec, wb):
        row = task_row(spec, task_of(spec))
        for letter, value in cells.items():
            wb[TASKS][f"{letter}{row}"] = value
    return change


def test_a_template_filled_as_asked_breaks_no_rule(kit):
    judged, _spec = judge(kit, COMMUNE, lambda spec, wb: None)
    assert judged["findings"] == [] and judged["outcome"] == "accepted"


def test_at_most(kit):
    def change(spec, wb):
        wb[INDICATORS][f"E{row_of(spec, 'XL07')}"] = 50
    judged, spec = judge(kit, POLICE, change)
    [f] = found(judged, "implausible")
    assert (f["sheet"], f["cell"], f["severity"]) == (INDICATORS, f"E{row_of(spec, 'XL07')}", "warning")
    assert "đã xử lý xong (50) lớn hơn số tin đã tiếp nhận" in f["message"]


def test_positive_requires(kit):
    def change(spec, wb):
        wb[INDICATORS][f"E{row_of(spec, 'XL01')}"] = 0
        wb[INDICATORS][f"E{row_of(spec, 'XL02')}"] = 5
    judged, spec = judge(kit, POLICE, change)
    [f] = found(judged, "positive_requires")
    assert (f["sheet"], f["cell"]) == (INDICATORS, f"E{row_of(spec, 'XL02')}")
    assert f"Có 5 đối tượng mua bán dâm bị xử lý nhưng số vụ được phát hiện, xử lý là 0 (ô E{row_of(spec, 'XL01')})" \
        in f["message"]
    assert judged["outcome"] == "accepted_with_warnings"


def test_no_activity_with_results_filled_in(kit):
    judged, spec = judge(kit, COMMUNE, set_task(first_task, E="Không phát sinh"))
    row = task_row(spec, first_task(spec))
    cells = {f["cell"]: f for f in found(judged, "status_excludes_results")}
    assert {f"F{row}", f"G{row}", f"H{row}"} <= set(cells)
    f = cells[f"F{row}"]
    assert f["sheet"] == TASKS and f["severity"] == "warning"
    assert f"Nhiệm vụ {first_task(spec)} ghi tình trạng «Không phát sinh» nhưng có kết quả thực hiện" in f["message"]


def test_not_started_with_a_quantity(kit):
    judged, spec = judge(kit, COMMUNE, set_task(first_task, E="Chưa triển khai", F=None, H=None))
    row = task_row(spec, first_task(spec))
    assert [f["cell"] for f in found(judged, "status_excludes_results") if f["sheet"] == TASKS] == [f"G{row}"]
    assert "«Chưa triển khai» nhưng có số lượng sản phẩm (2" in found(judged, "status_excludes_results")[0]["message"]


def test_no_activity_with_figures_of_the_task(kit):
    spec = kit.spec(COMMUNE)
    task_id, code = tied_task(spec)
    judged, spec = judge(kit, COMMUNE, set_task(lambda s: task_id, E="Không phát sinh", F=None, G=None, H=None))
    figures = [f for f in found(judged, "status_excludes_results") if f["sheet"] == INDICATORS]
    assert f"E{row_of(spec, code)}" in [f["cell"] for f in figures]
    assert f"Nhiệm vụ {task_id} ghi tình trạng «Không phát sinh» nhưng có số liệu chỉ tiêu" in figures[0]["message"]


def test_figures_another_active_task_explains_are_no_finding(kit):
    spec = kit.spec(COMMUNE)
    owed = {t["task_id"] for t in spec.tasks}
    shared = next(i for i in spec.indicators if len([t for t in i["tasks"].split(";") if t.strip() in owed]) > 1)
    task_id = next(t.strip() for t in shared["tasks"].split(";") if t.strip() in owed)
    judged, spec = judge(kit, COMMUNE, set_task(lambda s: task_id, E="Không phát sinh", F=None, G=None, H=None))
    assert f"E{row_of(spec, shared['code'])}" not in [f["cell"] for f in found(judged, "status_excludes_results")]


def test_done_without_a_quantity(kit):
    judged, spec = judge(kit, COMMUNE, set_task(first_task, G=None))
    [f] = found(judged, "required_when_done")
    row = task_row(spec, first_task(spec))
    assert (f["sheet"], f["cell"], f["severity"]) == (TASKS, f"G{row}", "warning")
    assert "«Hoàn thành» nhưng chưa ghi số lượng sản phẩm" in f["message"]


def test_a_rule_of_severity_error_rejects_the_file(kit, project):
    rules = project / "schemas" / "consistency.csv"
    rules.write_text(rules.read_text(encoding="utf-8-sig").replace(
        "required_when_done,Hoàn thành,quantity,warning", "required_when_done,Hoàn thành,quantity,error"),
        encoding="utf-8-sig")
    judged, _spec = judge(kit, COMMUNE, set_task(first_task, G=None))
    assert found(judged, "required_when_done")[0]["severity"] == "error" and judged["outcome"] == "rejected"


@pytest.mark.parametrize("sheet, column, what", [(TASKS, "B", "Nhiệm vụ"), (TASKS, "C", "Vai trò"),
                                                 (INDICATORS, "B", "Tên chỉ tiêu"),
                                                 (INDICATORS, "C", "Đơn vị tính")])
def test_a_changed_locked_cell_is_a_warning_naming_it(kit, sheet, column, what):
    def change(spec, wb):
        row = task_row(spec, first_task(spec)) if sheet == TASKS else layout.INDICATORS_FIRST_ROW
        wb[sheet][f"{column}{row}"] = "Đã sửa"
    judged, spec = judge(kit, COMMUNE, change)
    row = task_row(spec, first_task(spec)) if sheet == TASKS else layout.INDICATORS_FIRST_ROW
    [f] = found(judged, "locked_cell_changed")
    assert (f["sheet"], f["cell"], f["severity"], f["value"]) == (sheet, f"{column}{row}", "warning", "Đã sửa")
    assert f"Ô {column}{row} ({what}" in f["message"] and "tệp ghi «Đã sửa»" in f["message"]
    assert judged["outcome"] == "accepted_with_warnings"


def test_the_shipped_rules_load(settings):
    rules = load_rules(settings.root / "schemas")
    kinds = {r.kind for r in rules}
    assert kinds == {"at_most", "positive_requires", "status_excludes_results", "required_when_done"}
    assert ("XL07", ("XL06",)) in [(r.subject, r.other) for r in rules if r.kind == "at_most"]


def test_rules_that_passed_are_not_checked_again_until_they_change(settings, tmp_path, monkeypatch):
    """Each ingestion loads the rules: with the project's outputs/ as the memo, a table that passed
    its schema is not validated again (a pandera pass saved); an edited one is."""
    import schemas.consistency

    folder, memo = tmp_path / "schemas", tmp_path / "outputs"
    folder.mkdir(), memo.mkdir()
    (folder / "consistency.csv").write_bytes((settings.root / "schemas" / "consistency.csv").read_bytes())
    first = load_rules(folder, memo=memo)

    def refuse(*args, **kwargs):
        raise AssertionError("validated again")
    monkeypatch.setattr(schemas.consistency.ConsistencyRuleSchema, "validate", refuse)
    assert load_rules(folder, memo=memo) == first
    with (folder / "consistency.csv").open("a", encoding="utf-8") as rules:
        rules.write('at_most,XL02,XL01,warning,"{left} > {right}"\n')
    with pytest.raises(AssertionError, match="validated again"):
        load_rules(folder, memo=memo)


@pytest.mark.parametrize("row, message", [
    ('bogus,XL01,XL02,warning,"x"', "dòng 2, cột kind"),
    ('at_most,XL01,XL02,fatal,"x"', "dòng 2, cột severity"),
    ('at_most,Hoàn thành,XL02,warning,"x"', "dòng 2"),
    ('status_excludes_results,Không phát sinh,results;ketqua,warning,"x"', "dòng 2"),
    ('at_most,XL01,XL02,warning,"{left} và {nothing}"', "{nothing}"),
])
def test_a_malformed_rule_is_refused_with_its_line(tmp_path, row, message):
    (tmp_path / "consistency.csv").write_text(f"kind,subject,other,severity,message\n{row}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="consistency.csv") as caught:
        load_rules(tmp_path)
    assert message in str(caught.value), str(caught.value)
