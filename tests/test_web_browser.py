"""The web pages in a real browser (Debian's Chromium through Playwright) against the real server
on a loopback port: the officer's cycle, and a unit's upload from a bad file to "Chấp nhận"."""

from __future__ import annotations

import pytest

from web_kit import CHROMIUM_ARGS, LiveServer, browser_or_skip, make_site

pytestmark = pytest.mark.slow
expect = None   # playwright's, once the browser fixture found it


@pytest.fixture(scope="module")
def browser():
    sync_playwright, executable = browser_or_skip()
    global expect
    from playwright.sync_api import expect
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live(tmp_path, monkeypatch):
    site = make_site(tmp_path, monkeypatch)
    with LiveServer(site.app) as server:
        yield site, server


def test_a_units_upload_bad_file_findings_corrected_file_accepted(browser, live, tmp_path):
    site, server = live
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.url + site.urls["03405"])
    assert "Xã Tả Lèng" in page.inner_text("h1")
    assert "18/06/2026" in page.inner_text(".facts")
    bad, good = tmp_path / "bao-cao-loi.xlsx", tmp_path / "bao-cao-sua.xlsx"
    bad.write_bytes(site.bad("03405"))
    good.write_bytes(site.good("03405"))

    page.set_input_files("input[name=tep]", str(bad))
    page.click("text=Gửi báo cáo")
    page.wait_for_selector("#ket-qua")
    assert page.inner_text("#ket-qua .outcome") == "Không chấp nhận"
    findings = page.inner_text("table.findings")
    assert "mười hai" in findings and "Chỉ tiêu" in findings
    with page.expect_download() as download:
        page.click("text=Tải tệp phản hồi")
    assert download.value.suggested_filename.endswith("_phan-hoi.xlsx")

    page.set_input_files("input[name=tep]", str(good))
    page.click("text=Gửi báo cáo")
    expect(page.locator("#ket-qua .outcome")).to_have_text("Chấp nhận")   # (the CSP forbids eval: no wait_for_function)
    versions = page.inner_text("section.box:last-of-type table")
    assert "Không chấp nhận" in versions and "(đang dùng)" in versions
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_a_unit_without_javascript_uploads_the_same_way(browser, live, tmp_path):
    site, server = live
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server.url + site.urls["03388"])
    good = tmp_path / "x.xlsx"
    good.write_bytes(site.good("03388"))
    page.set_input_files("input[name=tep]", str(good))
    page.click("text=Gửi báo cáo")
    page.wait_for_selector("#ket-qua")
    assert page.inner_text("#ket-qua .outcome") == "Chấp nhận"
    context.close()


def test_the_officers_cycle(browser, live, tmp_path):
    site, server = live
    page = browser.new_page()
    page.goto(server.url + "/can-bo?ky=2026S1")
    assert "0/46" in page.inner_text(".summary")

    page.click("nav >> text=Biểu mẫu")
    page.click("text=Tạo biểu mẫu cho mọi đơn vị")
    page.wait_for_selector(".state.done", timeout=120_000)
    page.click("text=Quay lại")
    assert page.locator("table tbody tr").count() == 46
    with page.expect_download() as download:
        page.click("text=Tải tất cả (.zip)")
    assert download.value.suggested_filename == "bieu-mau-2026S1.zip"

    batch = []
    for unit in ("03405", "03408", "12-SYT"):
        path = tmp_path / f"{unit}.xlsx"
        path.write_bytes(site.good(unit))
        batch.append(str(path))
    page.click("nav >> text=Tiếp nhận")
    page.set_input_files("input[name=tep]", batch)
    page.click("text=Tiếp nhận và kiểm tra")
    page.wait_for_selector(".state.done", timeout=120_000)
    assert page.inner_text("table.findings").count("Chấp nhận") == 3

    page.click("nav >> text=Tổng quan")
    assert "3/46" in page.inner_text(".summary")
    # a unit uploads on its own page; the overview, left open, shows it without a reload
    site.state.jobs.wait_all()
    other = browser.new_page()
    other.goto(server.url + site.urls["03424"])
    upload = tmp_path / "03424.xlsx"
    upload.write_bytes(site.good("03424"))
    other.set_input_files("input[name=tep]", str(upload))
    other.click("text=Gửi báo cáo")
    other.wait_for_selector("#ket-qua")
    expect(page.locator(".summary")).to_contain_text("4/46", timeout=30_000)

    page.click("nav >> text=Báo cáo")
    page.check("input[name=du_thao]")
    page.click("text=Lập báo cáo")
    page.wait_for_selector(".state.done", timeout=180_000)
    page.click("text=Quay lại")
    with page.expect_download() as download:
        page.click("text=bao-cao-6-thang-dau-nam-2026.docx")
    assert download.value.suggested_filename == "bao-cao-6-thang-dau-nam-2026.docx"
    frame = page.frame_locator("iframe.report")
    assert "2026" in frame.locator("body").inner_text()

    page.click("nav >> text=Lịch sử")
    assert "2026S1" in page.inner_text("table.history thead")
