"""The assignment matrix: a faithful transcription of the seed, and agency text resolved to units."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from pipeline.reference.settings import load_settings
from pipeline.common.errors import MatrixError
from pipeline.reference.matrix import LEAD, PARTNER, AgencyResolver, load_collectives, load_matrix
from pipeline.common.text import fold, nfc
from pipeline.reference.units import load_registry

from conftest import PROJECT_ROOT, SEED


def _seed_rows():
    """The seed's task rows as (id, task, lead, partners, timeframe, product), 1.5 split into a and b."""
    if not SEED.is_file():
        pytest.skip(f"!!! the seed file {SEED} is not beside the checkout: cannot compare the transcription")
    rows, parent, sub = [], None, 0
    for line in SEED.read_text(encoding="utf-8").splitlines():
        cells = line.split("\t")
        if len(cells) < 6 or cells[0] == "STT" or cells[0].isdigit():
            continue
        sid, task, lead, partners, timeframe, product = (nfc(c) for c in cells[:6])
        if sid == "-":
            sub += 1
            rows.append((parent[0] + "ab"[sub - 1], f"{parent[1].rstrip(':')}: {task}", lead, partners, timeframe, product))
        elif not lead:
            parent, sub = (sid, task), 0
        else:
            rows.append((sid, task, lead, partners, timeframe, product))
    return rows


_COMPARED = ["id", "task", "lead", "partners", "timeframe", "product"]
CORRECTIONS = PROJECT_ROOT / "inputs" / "matrix_corrections.csv"


def _corrections() -> list[dict]:
    """The deliberate differences from the plan's text (inputs/matrix_corrections.csv)."""
    with CORRECTIONS.open(encoding="utf-8-sig", newline="") as handle:
        return [{k: nfc(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def corrected(seed: list[tuple], corrections: list[dict]) -> list[tuple]:
    """The seed's rows with each listed correction applied; a correction whose original is not the
    plan's text (a wrong task, column or wording) fails here."""
    rows = {r[0]: list(r) for r in seed}
    for c in corrections:
        assert c["task"] in rows, f"correction of an unknown task {c['task']}"
        assert c["column"] in _COMPARED[1:], f"correction of an unknown column {c['column']}"
        assert c["original"] != c["correction"] and c["why"].strip(), c
        where = _COMPARED.index(c["column"])
        assert rows[c["task"]][where] == c["original"], f"task {c['task']}: the plan does not read {c['original']!r}"
        rows[c["task"]][where] = c["correction"]
    return [tuple(r) for r in rows.values()]


def test_matrix_file_matches_the_seed_row_by_row_but_the_listed_corrections(matrix):
    seed = _seed_rows()
    loaded = [tuple(r) for r in matrix.tasks[_COMPARED].itertuples(index=False)]
    assert loaded == corrected(seed, _corrections())
    assert len(seed) == 31  # 30 tasks, 1.5 split into two rows


def test_task_5_2_reads_chuyen_doi_so(matrix):
    task = matrix.tasks.set_index("id").at["5.2", "task"]
    assert "chuyển đổi số" in task and "chuyên đổi số" not in task
    assert [(c["task"], c["column"]) for c in _corrections()] == [("5.2", "task")]


def test_an_unlisted_difference_fails_the_comparison(matrix):
    seed = _seed_rows()
    loaded = [tuple(r) for r in matrix.tasks[_COMPARED].itertuples(index=False)]
    assert loaded != corrected(seed, [])   # without its list the correction is a difference
    changed = [list(r) for r in loaded]
    changed[0][1] += " (sửa)"
    assert [tuple(r) for r in changed] != corrected(seed, _corrections())
    with pytest.raises(AssertionError, match="does not read"):
        corrected(seed, [{"task": "1.1", "column": "lead", "original": "Sở Nội vụ", "correction": "Sở Y tế",
                          "why": "thử"}])


def test_matrix_covers_five_groups_in_order(matrix):
    assert matrix.tasks["group_id"].unique().tolist() == ["1", "2", "3", "4", "5"]
    assert matrix.tasks["id"].iloc[0] == "1.1" and matrix.tasks["id"].iloc[-1] == "5.4"
    assert {"1.5a", "1.5b"} <= set(matrix.tasks["id"])


def _role(matrix, task_id, unit_id):
    hit = matrix.assignments[(matrix.assignments["task_id"] == task_id) & (matrix.assignments["unit_id"] == unit_id)]
    return hit["role"].iloc[0] if len(hit) else None


@pytest.mark.parametrize("task_id, unit_id", [
    ("1.5a", "12-STC"),   # Sở Tài chính leads the province row of 1.5
    ("4.5", "12-CA"),     # Công an tỉnh leads 4.5
    ("3.5", "12-SNV"),    # Sở Nội vụ leads 3.5
    ("2.2", "12-SVHTTDL"),
    ("2.5", "12-SGDDT"),
    ("1.5b", "03405"),    # "UBND cấp xã" leads the commune row of 1.5: xã Tả Lèng
    ("5.4", "03405"),     # task 5.4 via "UBND cấp xã"
    ("5.4", "03388"),     # phường Đoàn Kết
    ("5.4", "12-SYT"),    # "Các sở, ngành" includes every department
])
def test_known_leads(matrix, task_id, unit_id):
    assert _role(matrix, task_id, unit_id) == LEAD


@pytest.mark.parametrize("task_id, unit_id", [
    ("2.2", "12-BPTTH"),      # "Báo và PT-TH tỉnh" is the short name of the newspaper and radio-TV
    ("4.3", "12-SVHTTDL"),    # written "Sở Văn hoá" (old tone placement) in 4.3
    ("4.3", "12-SYT"),
    ("1.2", "12-CA"), ("1.2", "12-STP"),
    ("1.5a", "12-SYT"),       # "Sở Y tế và Các cơ quan liên quan": two entries
    ("1.1", "12-SNV"),        # "Các sở, ngành tỉnh"
    ("4.6", "03640"),         # "các cơ quan liên quan, UBND cấp xã"
    ("2.5", "12-SYT"),
])
def test_known_partners(matrix, task_id, unit_id):
    assert _role(matrix, task_id, unit_id) == PARTNER


def test_lead_wins_over_partner_for_the_same_unit(matrix):
    # 1.1: Sở Y tế leads, and "Các sở, ngành tỉnh" names it again as partner
    assert _role(matrix, "1.1", "12-SYT") == LEAD
    assert len(matrix.assignments.drop_duplicates(["task_id", "unit_id"])) == len(matrix.assignments)


def test_every_task_has_a_lead_unit(matrix):
    leads = matrix.assignments[matrix.assignments["role"] == LEAD]["task_id"]
    assert set(leads) == set(matrix.tasks["id"])


def test_collectives_that_name_no_unit_are_kept_as_text(matrix):
    kept = matrix.unnamed
    assert ("1.3", PARTNER, "Các cơ quan liên quan") in set(kept.itertuples(index=False, name=None))
    assert ("3.4", PARTNER, "Các cơ sở y tế") in set(kept.itertuples(index=False, name=None))
    assert ("3.6", PARTNER, "Các đoàn thể liên quan") in set(kept.itertuples(index=False, name=None))
    # 3.4's only partner is "Các cơ sở y tế": no unit partners it
    assert set(matrix.assignments[matrix.assignments["task_id"] == "3.4"]["role"]) == {LEAD}


@pytest.mark.parametrize("written, canonical", [
    ("Sở Văn hoá, Thể thao và Du lịch", "Sở Văn hóa, Thể thao và Du lịch"),   # tone placement
    ("Hoà bình", "Hòa bình"),
    ("Thuỷ lợi", "Thủy lợi"),
    ("Các cơ quan liên quan", "các cơ quan liên quan"),                      # case
    ("Sở  Y   tế", "Sở Y tế"),                                                  # spaces
    ("So\u031b\u0309 Y te\u0302\u0301", "Sở Y tế"),                           # NFD
])
def test_fold_equates_spelling_variants(written, canonical):
    assert fold(written) == fold(canonical)


@pytest.mark.parametrize("a, b", [("Sở", "Số"), ("hóa", "hòa"), ("Tả Lèng", "Tà Lèng")])
def test_fold_keeps_different_words_apart(a, b):
    assert fold(a) != fold(b)


@pytest.fixture(scope="module")
def resolver(settings, registry):
    return AgencyResolver(registry, load_collectives(settings))


@pytest.mark.parametrize("text, units, unnamed", [
    ("Sở Văn hóa, Thể thao và Du lịch", ["12-SVHTTDL"], []),
    ("Sở Văn hoá, Thể thao và Du lịch", ["12-SVHTTDL"], []),
    ("Sở Y tế và Các cơ quan liên quan", ["12-SYT"], ["Các cơ quan liên quan"]),
    ("Sở Y tế, Sở Văn hoá, Thể thao và Du lịch", ["12-SYT", "12-SVHTTDL"], []),
    ("Công an tỉnh và các cơ quan liên quan", ["12-CA"], ["Các cơ quan liên quan"]),
    ("Sở Tư pháp; UBND cấp xã", ["12-STP", "communes"], []),
    ("Báo và PT-TH tỉnh", ["12-BPTTH"], []),
    ("Các sở, ngành tỉnh", ["departments"], []),
    ("Các sở, ngành", ["departments"], []),
    ("Các sở, ngành liên quan", [], ["Các sở, ngành liên quan"]),
    ("Các cơ sở y tế", [], ["Các cơ sở y tế"]),
    ("Các đoàn thể liên quan", [], ["Các đoàn thể liên quan"]),
    ("Sở Tư pháp và các đơn vị liên quan", ["12-STP"], ["Các đơn vị liên quan"]),
])
def test_agency_text_splits_into_units_and_collectives(resolver, text, units, unnamed):
    targets, unknown = resolver.split(text)
    assert unknown == []
    assert [t.value if t.kind == "unit" else t.kind for t in targets if t.kind != "none"] == units
    assert [t.value for t in targets if t.kind == "none"] == unnamed


def test_ubnd_cap_xa_means_every_commune(resolver, registry):
    targets, _ = resolver.split("UBND cấp xã")
    assert resolver.unit_ids(targets[0]) == registry.communes()["id"].tolist()
    assert len(resolver.unit_ids(targets[0])) == 38


def _rewrite_matrix(project, task_id, column, value):
    path = project / "inputs" / "assignment_matrix.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.loc[frame["id"] == task_id, column] = value
    frame.to_csv(path, index=False, encoding="utf-8-sig")


def test_unknown_agency_is_an_error_naming_task_and_text(project):
    _rewrite_matrix(project, "4.2", "partners", "UBND cấp xã, Sở Khoa học và Công nghệ")
    settings = load_settings(project)
    with pytest.raises(MatrixError) as err:
        load_matrix(settings, load_registry(settings))
    assert "nhiệm vụ 4.2" in str(err.value)
    assert "'Sở Khoa học'" in str(err.value) or "Sở Khoa học và Công nghệ" in str(err.value)


@pytest.mark.parametrize("task_id, column, value, message", [
    ("2.1", "lead", "", "thiếu cơ quan chủ trì"),
    ("2.1", "id", "2.2", "mã nhiệm vụ bị trùng"),
    ("2.1", "id", "2-1", "mã nhiệm vụ phải có dạng"),
    ("2.1", "timeframe", "Khi cần", "thời gian thực hiện không thuộc các dạng đã biết"),
])
def test_matrix_schema_rejects_bad_rows_with_the_row_number(project, task_id, column, value, message):
    _rewrite_matrix(project, task_id, column, value)
    settings = load_settings(project)
    with pytest.raises(MatrixError) as err:
        load_matrix(settings, load_registry(settings))
    assert message in str(err.value)
    assert "assignment_matrix.csv, dòng 8" in str(err.value)  # 2.1 is the 7th task, under the header


def test_a_unit_added_to_the_registry_is_matched_without_code(project):
    with open(project / "inputs" / "departments.csv", "a", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerow(
            ["12-BDBP", "Bộ Chỉ huy Bộ đội Biên phòng tỉnh", "BĐBP tỉnh", "Bộ đội Biên phòng tỉnh", "", "", "", ""])
    _rewrite_matrix(project, "4.5", "partners", "Bộ đội Biên phòng tỉnh và các cơ quan liên quan")
    settings = load_settings(project)
    m = load_matrix(settings, load_registry(settings))
    assert _role(m, "4.5", "12-BDBP") == PARTNER
    assert _role(m, "5.4", "12-BDBP") == LEAD  # "Các sở, ngành" now includes it
