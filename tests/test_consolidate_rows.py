"""Consolidation over plain lists (issue 20) gives what pandas gave: the sum of a task's quantities
and of an indicator in the roll-up is pandas' own float, a unit's text is cleaned as the \\s+
substitution cleaned it, and a column mapped element by element keeps Series.map's values and
dtype."""

from __future__ import annotations

import math
import random
import re
import unicodedata

import pandas as pd
import pytest

from pipeline.report.consolidate import _map_text, _task_status, clean_text, float_sum

_rng = random.Random(20)
_MANY = [_rng.uniform(-1e6, 1e9) * 10 ** _rng.randint(-8, 8) for _ in range(1000)]


@pytest.mark.parametrize("figures", [
    [],
    [math.nan],
    [math.nan, math.nan],
    [2.5],
    [0.1, 0.2, 0.3],
    [1e16, 1.0, -1e16, 1.0],
    [math.inf, 1.0],
    [0.1] * 7 + [math.nan] + [0.2] * 9,       # more than 8: numpy's pairwise sum, not a plain loop
    _MANY,
    [math.nan if n % 7 == 0 else v for n, v in enumerate(_MANY)],
])
def test_float_sum_is_pandas_sum_bit_for_bit(figures):
    expected = float(pd.Series(figures, dtype=float).sum(min_count=1))
    got = float_sum(figures)
    assert (math.isnan(got) and math.isnan(expected)) or got.hex() == expected.hex()


def _cleaned_as_before(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return re.sub(r"\s+", " ", re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", " ", text)).strip()


@pytest.mark.parametrize("value", [
    None, math.nan, 12, 1.5, "", " ", "=SUM(A1)", "Hoà thành", "Hoa\u0300 tha\u0300nh",
    "  Thiếu \t kinh phí \n", "a\u00a0b\u2003c\u3000d", "x\x0by\x0cz", "\x1c\x1d\x1e\x1f", "a\u2028b\u0085c",
    "".join(chr(c) for c in range(0x3001) if chr(c).isspace()),
])
def test_clean_text_folds_white_space_as_the_substitution_did(value):
    assert clean_text(value) == _cleaned_as_before(value)


@pytest.mark.parametrize("values, dtype, function", [
    (["Hoàn thành", "hoàn  thành", None, "Hoàn thành", " "], "str", _task_status),
    (["Hoàn thành", None, "a\x0bb"], "str", clean_text),
    ([None, math.nan, "Ghi chú"], object, clean_text),
    ([None, None], object, clean_text),
    ([None, None], object, _task_status),    # no text at all: pandas leaves it object
    ([], "str", clean_text),
    ([], object, clean_text),
])
def test_map_text_is_series_map(values, dtype, function):
    column = pd.Series(values, dtype=dtype, index=range(10, 10 + len(values)), name="c")
    expected, got = column.map(function), _map_text(column, function)
    pd.testing.assert_series_equal(got, expected)
    assert [type(v) for v in got.tolist()] == [type(v) for v in expected.tolist()]   # None stays None
