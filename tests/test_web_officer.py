"""The officer's pages at the HTTP level (templates, a dropped batch, statuses, audit, report,
history, a unit's versions), and concurrency: uploads at once, an upload during a report build,
the command line's ingest beside the server."""

from __future__ import annotations

import io
import re
import threading
import zipfile

import pytest
from starlette.testclient import TestClient

from web_kit import make_site

from pipeline.audit.status import waiting_files
from pipeline.intake.ingest import ingest
from pipeline.store.ledger import Ledger

pytestmark = pytest.mark.slow   # templates, a report build: about 80 s

LOCAL = ("127.0.0.1", 40001)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        yield make_site(tmp_path_factory.mktemp("officer"), mp)


def client(site) -> TestClient:
    return TestClient(site.app, client=LOCAL)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def run_job(site, c, path: str, data: dict | None = None, files=None):
    form = {"csrf": csrf_of(c.get(path).text), **(data or {})}
    r = c.post(path, data=form, files=files)
    assert r.status_code == 200 and "/can-bo/viec/" in str(r.url), r.text
    site.state.jobs.wait_all(120)
    page = c.get(str(r.url))
    assert "Xong" in page.text, page.text
    return page


def submissions(site) -> list:
    with Ledger(site.project.settings.path("ledger"), readonly=True) as ledger:
        return [dict(r) for r in ledger.submissions("2026S1", site.project.settings.province_code)]


def test_templates_are_generated_and_downloaded_one_or_all(site):
    c = client(site)
    run_job(site, c, "/can-bo/bieu-mau?ky=2026S1")
    page = c.get("/can-bo/bieu-mau?ky=2026S1").text
    names = re.findall(r'/can-bo/bieu-mau/tep/([^"?]+)\?ky=2026S1', page)
    assert len(names) == 46 and "2026S1_03405_xa-ta-leng.xlsx" in names
    one = c.get(f"/can-bo/bieu-mau/tep/{names[0]}?ky=2026S1")
    assert one.status_code == 200 and one.content[:2] == b"PK"
    assert c.get("/can-bo/bieu-mau/tep/..%2F..%2Finputs%2Fconfig.toml?ky=2026S1").status_code == 404
    archive = zipfile.ZipFile(io.BytesIO(c.get("/can-bo/bieu-mau/tat-ca.zip?ky=2026S1").content))
    assert sorted(archive.namelist()) == sorted([*names, "danh-sach-bieu-mau.csv"])


def test_a_dropped_batch_is_ingested_with_each_files_verdict_and_the_overview_changes(site):
    c = client(site)
    before = c.get("/can-bo/bang?ky=2026S1").text
    assert "0/46" in before
    files = [("tep", ("Ta Leng bao cao.xlsx", site.good("03405"), "application/octet-stream")),
             ("tep", ("so y te.xlsx", site.good("12-SYT"), "application/octet-stream")),
             ("tep", ("03388 loi.xlsx", site.bad("03388"), "application/octet-stream"))]
    page = run_job(site, c, "/can-bo/tiep-nhan?ky=2026S1", files=files).text
    assert page.count("Chấp nhận") >= 2 and "Không chấp nhận" in page and "mười hai" in page
    after = c.get("/can-bo/bang?ky=2026S1").text
    assert "2/46" in after and "Không đạt" in after
    names = [s["original_name"] for s in submissions(site)]
    assert all(re.fullmatch(r"web/can-bo-[a-z0-9-]+_\d{8}T\d{6}_[0-9a-f]{8}\.xlsx", n) for n in names), names


def test_a_units_versions_and_what_changed(site):
    c = client(site)
    spec, wb = site.kit.filled("03388")
    run_job(site, c, "/can-bo/tiep-nhan?ky=2026S1",
            files=[("tep", ("03388 sua.xlsx", site.good("03388"), "application/octet-stream"))])
    page = c.get("/can-bo/don-vi/03388?ky=2026S1").text
    assert "Bản 1" in page and "Bản 2" in page and "Bản 1 → bản 2" in page and "mười hai" in page


def test_the_audit_writes_its_workbook_csv_and_letter(site):
    c = client(site)
    run_job(site, c, "/can-bo/don-doc?ky=2026S1")
    page = c.get("/can-bo/don-doc?ky=2026S1").text
    for name in ("tinh-hinh-nop-bao-cao.xlsx", "tinh-hinh-nop-bao-cao.csv", "cong-van-don-doc-2026S1.docx"):
        assert f'href="/can-bo/tep/{name}?ky=2026S1"' in page
        assert c.get(f"/can-bo/tep/{name}?ky=2026S1").status_code == 200


def test_the_report_is_built_downloaded_and_shown(site):
    c = client(site)
    run_job(site, c, "/can-bo/bao-cao?ky=2026S1", {"du_thao": "1"})
    page = c.get("/can-bo/bao-cao?ky=2026S1").text
    assert '<iframe class="report" src="/can-bo/tep/bao-cao-6-thang-dau-nam-2026.html?ky=2026S1"' in page
    html = c.get("/can-bo/tep/bao-cao-6-thang-dau-nam-2026.html?ky=2026S1")
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    word = c.get("/can-bo/tep/bao-cao-6-thang-dau-nam-2026.docx?ky=2026S1")
    assert word.status_code == 200 and word.content[:2] == b"PK"


def test_the_history_grid(site):
    page = client(site).get("/can-bo/lich-su").text
    assert "<th>2026S1</th>" in page and "03405" in page


def test_two_uploads_at_the_same_moment_are_both_judged_once(site):
    urls = {u: site.urls[u] for u in ("03408", "03424")}
    files = {u: site.good(u) for u in urls}
    results, start = {}, threading.Barrier(2)

    def send(unit):
        c = TestClient(site.app, client=("192.0.2.60", 1))
        csrf = csrf_of(c.get(urls[unit]).text)
        start.wait()
        results[unit] = c.post(urls[unit], data={"csrf": csrf},
                               files={"tep": ("a.xlsx", files[unit], "application/octet-stream")})

    threads = [threading.Thread(target=send, args=(u,)) for u in urls]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert all("Chấp nhận</span>" in r.text for r in results.values())
    rows = [s for s in submissions(site) if s["unit_id"] in urls]
    assert sorted((s["unit_id"], s["version"], s["outcome"]) for s in rows) == [
        ("03408", 1, "accepted"), ("03424", 1, "accepted")]


def test_an_upload_during_a_report_build_and_the_cli_ingest_beside_the_server(site):
    c = client(site)
    page = c.get("/can-bo/bao-cao?ky=2026S1").text
    building = c.post("/can-bo/bao-cao?ky=2026S1", data={"csrf": csrf_of(page), "du_thao": "1"})
    assert "/can-bo/viec/" in str(building.url)
    # meanwhile a unit uploads, an officer's file waits in the folder and the command line ingests it
    site.kit.save(site.kit.filled("03434")[1], "usb/03434.xlsx")
    cli = threading.Thread(target=ingest, args=(site.project, site.kit.period))
    cli.start()
    unit = TestClient(site.app, client=("192.0.2.61", 1))
    url = site.urls["03430"]
    r = unit.post(url, data={"csrf": csrf_of(unit.get(url).text)},
                  files={"tep": ("a.xlsx", site.good("03430"), "application/octet-stream")})
    cli.join()
    site.state.jobs.wait_all(120)
    assert "Chấp nhận</span>" in r.text
    assert "Xong" in c.get(str(building.url)).text
    rows = submissions(site)
    shas = [s["sha256"] for s in rows]
    assert len(shas) == len(set(shas))                       # nothing counted twice
    assert {"03430", "03434"} <= {s["unit_id"] for s in rows}  # nothing lost
    assert not [s for s in rows if s["outcome"] == "pending"]
    assert waiting_files(site.project.settings, site.kit.period) == []
