"""The national roll-up from one ledger shared by two provinces: Lai Châu and Điện Biên, each its
own project (bench/national.py makes them, with departments 12-... and 11-...), a few units of
each filling their real templates, both ingested into the same SQLite ledger."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3

import pytest
from click.testing import CliRunner

from bench.national import province_root
from pipeline.cli.main import cli
from pipeline.report.consolidate import consolidate, read_ledger
from pipeline.reference.obligations import expected_units
from pipeline.report.rollup import NATIONAL, ProvinceData, indicator_table, rollup

from filling import Kit

pytestmark = pytest.mark.slow   # several provinces ingested into one ledger

AS_OF = dt.date(2026, 6, 16)   # before the deadline: who has not sent is "not yet received"
PROVINCES = {12: "Lai Châu", 11: "Điện Biên"}


def _kit(base, code: int, ledger) -> Kit:
    return Kit.load(province_root(base, code, PROVINCES[code], ledger))


@pytest.fixture(scope="module")
def country(tmp_path_factory):
    """Per province: its Health department, two communes accepted, a third commune rejected."""
    base = tmp_path_factory.mktemp("national")
    ledger = base / "ministry" / "ledger.sqlite"
    kits, judged = {}, {}
    for code in PROVINCES:
        kit = kits[code] = _kit(base, code, ledger)
        communes = kit.registry.communes()["id"].tolist()
        for unit_id in (f"{code}-SYT", communes[0], communes[1]):
            _, wb = kit.filled(unit_id)
            kit.save(wb, f"bao-cao-{unit_id}.xlsx")
        spec, wb = kit.filled(communes[2])
        wb["Chỉ tiêu"]["E5"] = -3   # a negative count: an error, the file is rejected
        kit.save(wb, f"bao-cao-{communes[2]}.xlsx")
        judged[code] = kit.ingest(progress=False)
    return kits, judged, ledger


def test_several_provinces_ingest_into_one_ledger(country):
    kits, judged, ledger = country
    for code, kit in kits.items():
        assert kit.settings.path("ledger") == ledger.resolve()
        report = judged[code]
        assert len(report.judged) == 4   # its own files only
        assert {j["unit_id"] for j in report.judged} <= set(kit.registry.ids)
        assert sorted(j["outcome"] for j in report.judged).count("rejected") == 1
    with sqlite3.connect(ledger) as db:
        per_province = dict(db.execute("SELECT substr(unit_id, 1, 2), COUNT(*) FROM submissions "
                                       "WHERE unit_id LIKE '__-%' GROUP BY 1"))
        assert per_province == {"11": 1, "12": 1}
        assert db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == 8


def _provinces(kits) -> list[ProvinceData]:
    return [ProvinceData.of(k.settings, k.registry, k.matrix, k.catalogue) for k in kits.values()]


def test_completeness_per_province_and_national(country):
    kits, _, _ = country
    result = rollup(_provinces(kits), kits[12].period, AS_OF)
    rows = result.completeness.set_index("province")
    assert list(rows.index) == ["Điện Biên", "Lai Châu", NATIONAL]   # by province code, then the country
    for code, kit in kits.items():
        row = rows.loc[PROVINCES[code]]
        expected = expected_units(kit.matrix, kit.registry, kit.period)
        assert row["expected"] == len(expected)
        assert (row["received"], row["accepted"], row["on_time"], row["rejected"]) == (4, 3, 3, 1)
        assert row["not_yet_received"] == len(expected) - 4
        assert row["completeness"] == pytest.approx(3 / len(expected))
        assert (row["communes_accepted"], row["communes_expected"]) == (2, len(kit.registry.communes()))
    national = rows.loc[NATIONAL]
    assert national["expected"] == rows.loc[["Điện Biên", "Lai Châu"], "expected"].sum()
    assert national["accepted"] == 6
    assert national["completeness"] == pytest.approx(6 / national["expected"])
    assert len(result.status) == national["expected"]


def test_indicator_totals_match_each_province_report_and_add_up(country):
    kits, _, ledger = country
    result = rollup(_provinces(kits), kits[12].period, AS_OF)
    indicators = result.indicators
    for code, kit in kits.items():
        # the province report's own consolidation, from the same ledger
        k = consolidate(kit.matrix, kit.registry, kit.catalogue, kit.period, read_ledger(ledger, ["2026S1"]))
        mine = indicators[indicators["province_code"] == code].set_index("code")
        assert list(mine.index) == list(k.indicators["code"])
        for row in k.indicators.itertuples(index=False):
            assert mine.loc[row.code, "units_owed"] == row.units_owed
            assert mine.loc[row.code, "units_reported"] == row.units_reported
            assert (math.isnan(row.total) and math.isnan(mine.loc[row.code, "total"])) or \
                mine.loc[row.code, "total"] == pytest.approx(row.total)
    table = indicator_table(result)
    both = table[["Điện Biên", "Lai Châu"]].sum(axis=1, min_count=1)
    assert table[NATIONAL].fillna(-1).tolist() == pytest.approx(both.fillna(-1).tolist())
    assert table[NATIONAL].notna().any()


def test_rollup_command(country, tmp_path):
    kits, _, _ = country
    out = tmp_path / "rollup"
    result = CliRunner().invoke(cli, ["--root", str(kits[12].root), "rollup", "--period", "2026S1",
                                      "--as-of", AS_OF.isoformat(), "--out", str(out), str(kits[11].root)])
    assert result.exit_code == 0, result.output
    assert "Toàn quốc" in result.output and "Điện Biên" in result.output
    assert {p.name for p in out.iterdir()} == {"tong-hop-toan-quoc-2026S1-hoan-thanh.csv",
                                               "tong-hop-toan-quoc-2026S1-chi-tieu.csv"}


def test_statuses_computed_already_give_the_same_rollup(country):
    from pipeline.audit.status import submission_status

    kits, _, _ = country
    provinces = _provinces(kits)
    given = {k.settings.province_code: submission_status(k.project, k.period, AS_OF)
             for k in kits.values()}
    a = rollup(provinces, kits[12].period, AS_OF)
    b = rollup(provinces, kits[12].period, AS_OF, statuses=given)
    assert a.completeness.equals(b.completeness) and a.indicators.equals(b.indicators)


def test_each_province_reads_only_its_own_receipts_from_the_shared_ledger(country):
    """The audit's receipts with a province: the files it received, and between them all of the
    ledger's (what submission_status reads for each province)."""
    import pandas as pd

    from pipeline.audit.status import read_receipts

    kits, _judged, ledger = country
    period = next(iter(kits.values())).period.code
    everything = read_receipts(ledger, [period])
    parts = []
    for code, kit in kits.items():
        mine = read_receipts(ledger, [period], code)
        assert len(mine) and set(mine["unit_id"]) <= set(kit.registry.ids)
        parts.append(mine)
    together = pd.concat(parts).sort_values(["period", "unit_id", "version"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(together, everything.reset_index(drop=True))
