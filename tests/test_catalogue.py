"""The indicator catalogue: covers the plan's countable tasks, and is itself validated."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.reference.catalogue import indicator_obligations, load_catalogue
from pipeline.reference.settings import load_settings
from pipeline.common.errors import ConfigError
from pipeline.reference.matrix import load_matrix
from pipeline.reference.periods import parse_period
from pipeline.reference.units import load_registry

# Tasks whose product cannot be counted: a database (5.2) and the periodic report itself (5.4).
UNCOUNTABLE = {"5.2", "5.4"}


@pytest.fixture(scope="module")
def catalogue(settings, registry, matrix):
    return load_catalogue(settings, matrix, registry)


def test_every_countable_task_has_an_indicator(catalogue, matrix):
    covered = {t.strip() for tasks in catalogue.indicators["tasks"] for t in tasks.split(";") if t.strip()}
    assert set(matrix.tasks["id"]) - covered == UNCOUNTABLE


@pytest.mark.parametrize("fragment", [
    "truyền thông trực tiếp", "tin, bài", "tài liệu truyền thông", "học sinh", "người bán dâm",
    "tư vấn, hỗ trợ tâm lý", "bệnh lây truyền", "định hướng nghề nghiệp", "sinh kế", "mô hình",
    "nhóm đồng đẳng", "cộng tác viên", "lưu trú", "karaoke", "xoa bóp", "bar, vũ trường", "tụ điểm",
    "kiểm tra liên ngành", "vi phạm", "xử phạt", "vụ án hình sự", "bị can", "không gian mạng",
    "tin báo, tố giác", "tập huấn", "Kinh phí",
])
def test_mission_indicators_are_in_the_catalogue(catalogue, fragment):
    assert catalogue.indicators["name"].str.contains(fragment, regex=False).any()


def test_reporters_resolve_through_the_matrix_vocabulary(catalogue, registry):
    reporters = catalogue.reporters
    assert set(reporters[reporters["code"] == "HT01"]["unit_id"]) == set(registry.communes()["id"])
    assert set(reporters[reporters["code"] == "XL05"]["unit_id"]) == {"12-CA"}
    assert len(reporters[reporters["code"] == "NS01"]) == 38 + 8


def test_annual_only_indicator_is_left_out_of_the_first_half(catalogue, registry, settings):
    s1 = indicator_obligations(catalogue, registry, parse_period("2026S1", settings))
    year = indicator_obligations(catalogue, registry, parse_period("2026", settings))
    assert "DG01" not in set(s1["code"]) and "DG01" in set(year["code"])


def _edit_catalogue(project, code, column, value):
    path = project / "schemas" / "indicators.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.loc[frame["code"] == code, column] = value
    frame.to_csv(path, index=False, encoding="utf-8-sig")


@pytest.mark.parametrize("column, value, message", [
    ("aggregation", "average", "cách tổng hợp chỉ nhận flow hoặc stock"),
    ("value_type", "text", "kiểu giá trị chỉ nhận integer hoặc decimal"),
    ("code", "TT1", "mã chỉ tiêu gồm 2 chữ in hoa và 2 chữ số"),
    ("code", "TT02", "mã chỉ tiêu bị trùng"),
    ("tasks", "2.1, 2.6", "danh sách nhiệm vụ phải có dạng"),
    ("tasks", "9.9", "nhiệm vụ 9.9 không có trong biểu phân công"),
    ("reporters", "Sở Khoa học và Công nghệ", "không nhận ra đơn vị báo cáo"),
    ("reporters", "Các cơ quan liên quan", "không chỉ định đơn vị nào"),
])
def test_bad_catalogue_rows_are_named(project, column, value, message):
    _edit_catalogue(project, "TT01", column, value)
    settings = load_settings(project)
    registry = load_registry(settings)
    with pytest.raises(ConfigError) as err:
        load_catalogue(settings, load_matrix(settings, registry), registry)
    assert message in str(err.value)
    assert "indicators.csv, dòng 2" in str(err.value)
