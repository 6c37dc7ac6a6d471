"""The registry of reporting units, the periods, and who owes what."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from pipeline.reference.settings import load_settings
from pipeline.common.errors import ConfigError, PeriodError, UnknownUnitError
from pipeline.reference.matrix import LEAD, load_matrix
from pipeline.reference.obligations import expected_units, obligations
from pipeline.reference.periods import PeriodKind, parse_period, plan_periods
from pipeline.reference.units import load_registry


def test_lai_chau_has_38_communes_36_xa_2_phuong(registry):
    communes = registry.communes()
    assert len(communes) == 38
    assert (communes["division"] == "xã").sum() == 36
    assert sorted(communes[communes["division"] == "phường"]["name"]) == ["Phường Tân Phong", "Phường Đoàn Kết"]
    assert registry.get("03405")["name"] == "Xã Tả Lèng"


def test_every_department_the_matrix_names_is_in_the_registry(registry):
    names = set(registry.departments()["name"])
    assert names == {"Sở Y tế", "Công an tỉnh", "Sở Tư pháp", "Sở Tài chính", "Sở Văn hóa, Thể thao và Du lịch",
                     "Báo và Phát thanh, Truyền hình tỉnh", "Sở Giáo dục và Đào tạo", "Sở Nội vụ"}


def test_unit_ids_are_unique_and_carry_the_province(registry):
    assert registry.units["id"].is_unique
    assert all(uid.startswith("12-") for uid in registry.departments()["id"])
    assert all(len(uid) == 5 and uid.isdigit() for uid in registry.communes()["id"])


@pytest.mark.parametrize("text, unit_id", [
    ("Xã Tả Lèng", "03405"), ("UBND xã Tả Lèng", "03405"), ("Tả Lèng", "03405"),
    ("Ủy ban nhân dân phường Đoàn Kết", "03388"), ("Sở Văn hoá, Thể thao và Du lịch", "12-SVHTTDL"),
    ("Báo và PT-TH tỉnh", "12-BPTTH"), ("Xã Không Có", None),
])
def test_find_unit_by_name(registry, text, unit_id):
    assert registry.find_by_name(text) == unit_id


def test_unknown_unit_id(registry):
    with pytest.raises(UnknownUnitError, match="99999"):
        registry.get("99999")


def test_another_province_needs_only_configuration(project):
    config = project / "inputs" / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("code = 12 ", "code = 11 "), encoding="utf-8")
    with pytest.raises(ConfigError, match="mã tỉnh 11-"):
        load_registry(load_settings(project))  # the departments file still says 12-...


def test_bad_commune_contact_is_reported(project):
    with open(project / "inputs" / "commune_contacts.csv", "a", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerow(["00001", "Phường Hoàn Kiếm", "", "", "", ""])
    with pytest.raises(ConfigError, match="00001"):
        load_registry(load_settings(project))


@pytest.mark.parametrize("code, kind, label, start, cutoff", [
    ("2026S1", PeriodKind.SEMIANNUAL, "6 tháng đầu năm 2026", dt.date(2025, 12, 15), dt.date(2026, 6, 14)),
    ("2026", PeriodKind.ANNUAL, "năm 2026", dt.date(2025, 12, 15), dt.date(2026, 12, 14)),
    ("2030s1", PeriodKind.SEMIANNUAL, "6 tháng đầu năm 2030", dt.date(2029, 12, 15), dt.date(2030, 6, 14)),
])
def test_period_windows_follow_decree_09(settings, code, kind, label, start, cutoff):
    period = parse_period(code, settings)
    assert (period.kind, period.label, period.window_start, period.cutoff) == (kind, label, start, cutoff)
    assert period.deadline == cutoff + dt.timedelta(days=4)


@pytest.mark.parametrize("code", ["2026S2", "2026-S1", "S1", "26S1", "2026H1", "", "2031", "2025S1"])
def test_malformed_or_out_of_plan_period(settings, code):
    with pytest.raises(PeriodError) as err:
        parse_period(code, settings)
    assert "2026S1 (6 tháng đầu năm) hoặc 2026 (cả năm)" in str(err.value)
    assert "\n" not in str(err.value)


def test_deadline_override_from_configuration(project):
    config = project / "inputs" / "config.toml"
    text = config.read_text(encoding="utf-8").replace('days_after_cutoff = 4', 'days_after_cutoff = 4\n"2026S1" = 2026-06-22')
    config.write_text(text, encoding="utf-8")
    settings = load_settings(project)
    assert parse_period("2026S1", settings).deadline == dt.date(2026, 6, 22)
    assert parse_period("2027S1", settings).deadline == dt.date(2027, 6, 18)


def test_plan_periods_are_in_order(settings):
    codes = [p.code for p in sorted(plan_periods(settings))]
    assert codes[:3] == ["2026S1", "2026", "2027S1"] and codes[-1] == "2030" and len(codes) == 10


def test_ta_leng_and_doan_ket_owe_a_2026s1_report(matrix, registry, settings):
    period = parse_period("2026S1", settings)
    for unit_id in ("03405", "03388"):
        owed = obligations(matrix, registry, period, unit_id)
        assert ("5.4", LEAD) in set(zip(owed["task_id"], owed["role"]))
    expected = expected_units(matrix, registry, period)
    assert len(expected) == 38 + 8
    assert {"03405", "03388"} <= set(expected["id"])


def test_commune_obligations_are_the_commune_tasks(matrix, registry, settings):
    owed = obligations(matrix, registry, parse_period("2026S1", settings), "03405")
    leads = owed[owed["role"] == LEAD]["task_id"].tolist()
    assert leads == ["1.5b", "2.7", "3.1", "3.2", "3.6", "3.8", "5.4"]
    partners = owed[owed["role"] != LEAD]["task_id"].tolist()
    assert partners == ["1.1", "2.1", "2.3", "2.6", "3.5", "3.7", "4.2", "4.6", "5.3"]


def test_annual_tasks_are_not_yet_due_in_the_first_half(matrix, registry, settings):
    s1 = obligations(matrix, registry, parse_period("2026S1", settings), "12-SYT").set_index("task_id")["due"]
    year = obligations(matrix, registry, parse_period("2026", settings), "12-SYT").set_index("task_id")["due"]
    assert not s1["1.1"] and year["1.1"]          # Hằng năm
    assert not s1["4.1"] and year["4.1"]          # Hàng năm (the other spelling)
    assert s1["2.1"] and s1["1.2"]                # Thường xuyên, 2026-2030
    assert s1.index.tolist() == year.index.tolist()  # all tasks are reported every period


def test_unit_added_mid_plan_is_expected_from_its_first_period(project):
    with open(project / "inputs" / "departments.csv", "a", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerow(
            ["12-HLHPN", "Hội Liên hiệp Phụ nữ tỉnh", "Hội LHPN tỉnh", "", "2027S1", "", "", ""])
    settings = load_settings(project)
    registry = load_registry(settings)
    m = load_matrix(settings, registry)
    assert "12-HLHPN" not in set(expected_units(m, registry, parse_period("2026", settings))["id"])
    assert "12-HLHPN" in set(expected_units(m, registry, parse_period("2027S1", settings))["id"])
