"""`make demo`: the whole pipeline on the demo data, in its own workspace."""

from __future__ import annotations

import pytest

from pipeline.cli import demo
from scripts.check_demo import check


@pytest.mark.slow   # the whole demo
def test_demo_writes_every_output_naming_the_expected_units(frozen_project, tmp_path, capsys):
    workspace = tmp_path / "demo"
    before = sorted((frozen_project / "outputs").iterdir())   # (the lists' validation memo of other tests)
    result = demo.run_demo(frozen_project, workspace)
    assert check(workspace) == []
    text = capsys.readouterr().out
    assert "Không chấp nhận" in text and "bo sung/Báo cáo sửa lại - Xã Bum Tở.xlsx" in text
    assert "Chấp nhận (có cảnh báo)" in text  # Bình Lư typed "1.200" and "12 người"
    # the project's own inputs and ledger are untouched
    assert not (frozen_project / "inputs" / "submissions" / "2026S1").exists()
    assert sorted((frozen_project / "outputs").iterdir()) == before
    assert result.workspace == workspace


def test_demo_figures_are_deterministic_and_plausible(registry, matrix, settings):
    from pipeline.reference.catalogue import load_catalogue
    from pipeline.reference.periods import parse_period
    from pipeline.forms.templates import template_specs

    from pipeline.reference.project import Project

    catalogue = load_catalogue(settings, matrix, registry)
    project = Project.of(settings, registry, matrix, catalogue)
    period = parse_period("2026S1", settings)
    spec = template_specs(project, period, "12-SYT")[0]
    first = demo.indicator_values(spec, False, demo.unit_rng("12-SYT", "2026S1"))
    again = demo.indicator_values(spec, False, demo.unit_rng("12-SYT", "2026S1"))
    assert first == again
    assert first["KT04"] <= first["KT03"] and first["NL01"] <= first["NL02"]
    year = parse_period("2026", settings)
    year_spec = template_specs(project, year, "12-SYT")[0]
    aggregation = dict(zip(catalogue.indicators["code"], catalogue.indicators["aggregation"]))
    annual = demo.indicator_values(year_spec, False, demo.unit_rng("12-SYT", "2026"), first, aggregation)
    assert all(annual[c] >= first[c] for c in first if aggregation[c] == "flow")
