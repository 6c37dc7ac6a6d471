"""The web application at the HTTP level (issue 19, item 4): each security point, the unit's upload
from file to verdict, the officer's pages, and concurrency — on a real throwaway project."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from web_kit import make_site

from pipeline.common.errors import ConfigError
from pipeline.store.ledger import Ledger
from pipeline.web.app import create_app
from pipeline.mail.links import LINKS_NAME, token_hash, write_links
from pipeline.web.security import FORM_SLACK, OfficerGate, Throttle
from pipeline.web.server import ServeError, check_bind
from pipeline.web.settings import WebSettings, load_web_settings

COMMUNE, OTHER, THIRD = "03405", "03408", "03388"
LOCAL = ("127.0.0.1", 40000)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        yield make_site(tmp_path_factory.mktemp("web"), mp)


def client(site, address=LOCAL, app=None) -> TestClient:
    return TestClient(app or site.app, client=address, follow_redirects=True)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def upload(c: TestClient, url: str, data: bytes, name: str = "bao-cao.xlsx", csrf: str | None = None):
    token = csrf if csrf is not None else csrf_of(c.get(url).text)
    return c.post(url, data={"csrf": token} if token else {}, files={"tep": (name, data, "application/octet-stream")})


def saved_files(site) -> list:
    folder = site.project.settings.path("submissions")
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def units_in(site) -> set[str]:
    return set(site.urls)


def test_every_response_carries_the_security_headers(site):
    r = client(site).get(site.urls[COMMUNE])
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in r.text and 'src="/tinh/app.js"' in r.text   # no inline script, a file of ours
    assert client(site).get("/tinh/app.js").status_code == 200


def test_the_unit_page_shows_its_unit_period_window_and_deadline_and_no_other_unit(site):
    r = client(site).get(site.urls[COMMUNE])
    assert r.status_code == 200
    name = site.project.registry.name_of[COMMUNE]
    assert name in r.text and "6 tháng đầu năm 2026" in r.text
    assert "15/12/2025" in r.text and "14/06/2026" in r.text and "18/06/2026" in r.text
    others = [n for u, n in site.project.registry.name_of.items() if u != COMMUNE and n not in name]
    assert not [n for n in others if f">{n}<" in r.text or f"{n} (" in r.text]


@pytest.mark.parametrize("token", ["x" * 32, "A" * 20, "../../etc/passwd", "%3Cscript%3E", ""])
def test_a_wrong_token_is_404_and_says_nothing(site, token):
    r = client(site, ("192.0.2.10", 1)).get(f"/nop/{token}")
    assert r.status_code == 404
    assert "Tả Lèng" not in r.text and "2026" not in r.text.split("<main>")[1]


def test_a_unit_downloads_its_own_blank_template(site):
    r = client(site).get(site.urls[OTHER] + "/bieu-mau")
    assert r.status_code == 200 and r.content[:4] == b"PK\x03\x04"
    assert OTHER in r.headers["content-disposition"]


def test_a_bad_file_shows_every_finding_then_a_corrected_file_is_accepted(site):
    c = client(site)
    r = upload(c, site.urls[COMMUNE], site.bad(COMMUNE))
    assert r.status_code == 200 and "Không chấp nhận" in r.text
    assert "mười hai" in r.text and "Chỉ tiêu" in r.text     # the value found, its sheet, what to fix
    feedback = re.search(r'href="(/nop/[^"]+/phan-hoi/\d+)"', r.text).group(1)
    got = c.get(feedback)
    assert got.status_code == 200 and got.content[:2] == b"PK"
    r = upload(c, site.urls[COMMUNE], site.good(COMMUNE))
    assert "Kết quả kiểm tra: <span class=\"outcome\">Chấp nhận</span>" in r.text
    assert r.text.count("/nop/") >= 3 and "(đang dùng)" in r.text   # both versions listed, the new one counts
    # archived before judged, recorded in the ledger, saved under a generated name
    with Ledger(site.project.settings.path("ledger"), readonly=True) as ledger:
        rows = ledger.versions(COMMUNE, "2026S1")
    assert [r["outcome"] for r in rows] == ["rejected", "accepted"]
    assert all(re.fullmatch(rf"web/{COMMUNE}_\d{{8}}T\d{{6}}_[0-9a-f]{{8}}\.xlsx", r["original_name"]) for r in rows)
    assert all((site.project.settings.path("outputs") / r["archive_path"]).is_file() for r in rows)


def test_another_units_link_sees_none_of_this_units_files(site):
    c = client(site)
    r = upload(c, site.urls[THIRD], site.bad(THIRD))
    sid = re.search(r"ban=(\d+)", str(r.url)).group(1)
    other = c.get(f"{site.urls[OTHER]}?ban={sid}")
    assert other.status_code == 200 and "Kết quả kiểm tra" not in other.text and "mười hai" not in other.text
    assert c.get(f"{site.urls[OTHER]}/phan-hoi/{sid}").status_code == 404


def test_a_file_of_another_units_template_is_not_counted_for_that_unit(site):
    c = client(site)
    r = upload(c, site.urls["03390"], site.good("03394"))
    assert "Không chấp nhận" in r.text
    with Ledger(site.project.settings.path("ledger"), readonly=True) as ledger:
        assert ledger.versions("03394", "2026S1") == []


def test_an_upload_without_its_csrf_token_is_refused_and_nothing_saved(site):
    before = saved_files(site)
    c = client(site)
    assert upload(c, site.urls[OTHER], site.good(OTHER), csrf="").status_code == 403
    assert upload(c, site.urls[OTHER], site.good(OTHER), csrf="0" * 64).status_code == 403
    assert saved_files(site) == before


def test_an_exe_renamed_xlsx_is_refused_and_nothing_saved(site):
    before = saved_files(site)
    r = upload(client(site), site.urls[OTHER], b"MZ\x90\x00" + b"\x00" * 4000, name="bao-cao.xlsx")
    assert r.status_code == 400 and "không phải bảng tính" in r.text
    r = upload(client(site), site.urls[OTHER], site.good(OTHER), name="bao-cao.exe")
    assert r.status_code == 400
    assert saved_files(site) == before


def test_a_file_named_with_dots_and_slashes_is_saved_under_a_generated_name(site, tmp_path):
    root = site.project.settings.root
    r = upload(client(site), site.urls["03430"], site.good("03430"), name="../../x.xlsx")
    assert r.status_code == 200
    assert not list(root.parent.rglob("x.xlsx")) and not (root / "x.xlsx").exists()
    assert any(re.fullmatch(r"2026S1/web/03430_\d{8}T\d{6}_[0-9a-f]{8}\.xlsx", f) for f in saved_files(site))


def test_script_typed_in_a_cell_is_shown_as_text(site):
    r = upload(client(site), site.urls["03433"], site.bad("03433", "<script>alert(1)</script>"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text and "<script>alert" not in r.text


def test_an_oversize_upload_is_refused_before_it_is_read_whole(site):
    small = WebSettings(max_file_mb=0.05)
    app = create_app(site.project, small, gate=OfficerGate(""))
    before = saved_files(site)
    c = client(site, app=app)
    url = site.urls[OTHER]
    csrf = csrf_of(c.get(url).text)
    big = site.good(OTHER) + b"\x00" * 200_000
    assert c.post(url, data={"csrf": csrf}, files={"tep": ("a.xlsx", big, "application/octet-stream")}).status_code == 413
    # no Content-Length: the limit is counted as the bytes come, and nothing past it is read
    r = c.post(url, content=b"x" * 2000, headers={"content-type": "multipart/form-data; boundary=zz"})
    assert r.status_code == 400 and "không đúng dạng" in r.text   # a malformed form: said, not a crash
    read = []

    async def receive():
        read.append(1)
        head = b'--zz\r\nContent-Disposition: form-data; name="tep"; filename="a.xlsx"\r\n\r\n' if len(read) == 1 else b""
        return {"type": "http.request", "body": head + b"x" * 8192, "more_body": len(read) < 100}

    scope = {"type": "http", "method": "POST", "path": url, "raw_path": url.encode(), "query_string": b"",
             "headers": [(b"content-type", b"multipart/form-data; boundary=zz")], "client": LOCAL,
             "server": ("testserver", 80), "scheme": "http", "root_path": "", "http_version": "1.1"}
    answers = []

    async def send(message):
        answers.append(message)

    import anyio

    anyio.run(app, scope, receive, send)
    limit = small.max_file_bytes + FORM_SLACK
    assert answers[0]["status"] == 413 and len(read) == limit // 8192 + 1   # one chunk past the limit, no more
    assert saved_files(site) == before


def test_a_revoked_link_is_404_and_the_new_one_works(site):
    p = site.project
    old = site.urls["03424"]
    result = write_links(p, site.kit.period, "http://testserver", ["03424"])
    assert result.revoked == ["03424"] and result.issued == ["03424"]
    new = next(r["Đường dẫn nộp báo cáo"] for r in result.rows if r["Mã đơn vị"] == "03424")
    c = client(site, ("192.0.2.20", 1))
    assert c.get(old).status_code == 404
    assert c.get(new.removeprefix("http://testserver")).status_code == 200
    kept = next(r["Đường dẫn nộp báo cáo"] for r in result.rows if r["Mã đơn vị"] == OTHER)
    assert kept.endswith(site.urls[OTHER])   # the others' links are kept


def test_another_periods_link_opens_only_its_own_period(site):
    p = site.project
    annual = p.period("2026")
    result = write_links(p, annual, "http://testserver")
    url = next(r["Đường dẫn nộp báo cáo"] for r in result.rows if r["Mã đơn vị"] == COMMUNE).removeprefix(
        "http://testserver")
    assert url != site.urls[COMMUNE]
    r = client(site).get(url + "?ky=2026S1")
    assert "năm 2026" in r.text and "6 tháng đầu năm 2026" not in r.text and "Kết quả kiểm tra" not in r.text
    assert "Chấp nhận" not in r.text   # the first half's versions are not this link's


def test_the_ledger_and_the_list_keep_tokens_as_they_should(site):
    p = site.project
    listed = (p.settings.path("outputs") / "2026S1" / LINKS_NAME).read_text(encoding="utf-8-sig")
    token = site.urls[OTHER].rsplit("/", 1)[1]
    assert token in listed and len(token) >= 32   # 24 random bytes, URL-safe
    ledger_bytes = p.settings.path("ledger").read_bytes()
    assert token.encode() not in ledger_bytes
    with Ledger(p.settings.path("ledger"), readonly=True) as ledger:
        hashes = {r[0] for r in ledger.db.execute("SELECT token_sha256 FROM unit_links")}
    assert token_hash(token) in hashes


def test_repeated_wrong_tokens_from_one_address_are_slowed_down(site):
    app = create_app(site.project, WebSettings(), gate=OfficerGate(""), throttle=Throttle(free=3, window=60))
    c = client(site, ("192.0.2.30", 1), app)
    assert [c.get(f"/nop/{'z' * 30}{n}").status_code for n in range(3)] == [404, 404, 404]
    assert c.get(f"/nop/{'z' * 31}").status_code == 429
    assert c.get(site.urls[OTHER]).status_code == 429       # even a right one, from that address, for a while
    assert client(site, ("192.0.2.31", 1), app).get(site.urls[OTHER]).status_code == 200


def test_officer_pages_answer_only_on_loopback_without_a_password(site):
    assert client(site).get("/can-bo").status_code == 200
    r = client(site, ("192.0.2.40", 1)).get("/can-bo")
    assert r.status_code == 403 and "Tả Lèng" not in r.text
    assert client(site, ("192.0.2.40", 1)).get("/can-bo/bang?ky=2026S1").status_code == 403


def test_a_non_loopback_bind_without_a_password_is_refused(monkeypatch):
    with pytest.raises(ServeError, match="officer_password_env"):
        check_bind("0.0.0.0", WebSettings())
    monkeypatch.delenv("BAOCAO_WEB_PASSWORD", raising=False)
    with pytest.raises(ServeError, match="BAOCAO_WEB_PASSWORD"):
        check_bind("192.0.2.1", WebSettings(officer_password_env="BAOCAO_WEB_PASSWORD"))
    monkeypatch.setenv("BAOCAO_WEB_PASSWORD", "mật khẩu dài")
    check_bind("0.0.0.0", WebSettings(officer_password_env="BAOCAO_WEB_PASSWORD"))
    check_bind("127.0.0.1", WebSettings())


def test_with_a_password_the_officer_signs_in_with_a_strict_httponly_session(site):
    app = create_app(site.project, WebSettings(), gate=OfficerGate("đúng-mật-khẩu"), throttle=Throttle())
    c = TestClient(app, client=("192.0.2.50", 1), follow_redirects=False)
    assert c.get("/can-bo").headers["location"] == "/can-bo/dang-nhap"
    login = csrf_of(c.get("/can-bo/dang-nhap").text)
    assert c.post("/can-bo/dang-nhap", data={"mat_khau": "đúng-mật-khẩu"}).status_code == 403   # no CSRF token
    assert c.post("/can-bo/dang-nhap", data={"mat_khau": "sai", "csrf": login}).status_code == 403
    r = c.post("/can-bo/dang-nhap", data={"mat_khau": "đúng-mật-khẩu", "csrf": login})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert c.get("/can-bo").status_code == 200
    page = c.get("/can-bo/bieu-mau?ky=2026S1").text
    assert c.post("/can-bo/dang-xuat", data={}).status_code == 403          # no CSRF token: refused
    assert c.post("/can-bo/dang-xuat", data={"csrf": csrf_of(page)}).status_code == 303
    assert c.get("/can-bo").status_code == 303


def test_officer_forms_need_their_csrf_token(site):
    c = client(site)
    for path in ("/can-bo/bieu-mau?ky=2026S1", "/can-bo/don-doc?ky=2026S1", "/can-bo/bao-cao?ky=2026S1"):
        assert c.post(path, data={}).status_code == 403
    assert c.post("/can-bo/tiep-nhan?ky=2026S1", data={"csrf": "x"},
                  files={"tep": ("a.xlsx", site.good(OTHER), "application/octet-stream")}).status_code == 403


def test_web_settings_are_read_strictly(tmp_path, monkeypatch):
    site_root = make_site(tmp_path, monkeypatch).root
    config = site_root / "inputs" / "config.toml"
    from pipeline.reference.settings import load_settings

    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"(?m)^max_file_mb = .*$", "max_file_mb = 5", re.sub(r"(?m)^port = 8000.*$", "port = 8080", text)),
                      encoding="utf-8")
    web = load_web_settings(load_settings(site_root))
    assert (web.port, web.max_file_bytes, web.host) == (8080, 5 * 1048576, "127.0.0.1")
    config.write_text(config.read_text(encoding="utf-8") + 'cong = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"dòng \d+: \[web\] có khóa không biết: cong"):
        load_web_settings(load_settings(site_root))
    config.write_text(re.sub(r"(?m)^port = 8000.*$", 'port = "tám nghìn"', text), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"port"):
        load_web_settings(load_settings(site_root))
    config.write_text(text.replace("max_file_mb = 10", "max_file_mb = 50"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"max_file_mb.*không quá 10"):
        load_web_settings(load_settings(site_root))


def test_the_officer_issues_and_revokes_links_on_the_page(site):
    c = client(site)
    page = c.get("/can-bo/bieu-mau?ky=2026S1").text
    assert c.post("/can-bo/duong-dan?ky=2026S1", data={}).status_code == 403
    r = c.post("/can-bo/duong-dan?ky=2026S1", data={"csrf": csrf_of(page)})
    assert r.status_code == 200 and "Tải danh sách đường dẫn" in r.text
    listed = c.get("/can-bo/tep/duong-dan-nop-bao-cao.csv?ky=2026S1").text
    assert site.urls[THIRD] in listed                        # live links kept
    r = c.post("/can-bo/duong-dan?ky=2026S1", data={"csrf": csrf_of(page), "don_vi": THIRD})
    assert client(site, ("192.0.2.70", 1)).get(site.urls[THIRD]).status_code == 404
    new = re.search(rf"{THIRD},[^\r\n]*?(/nop/[A-Za-z0-9_-]+)", c.get("/can-bo/tep/duong-dan-nop-bao-cao.csv?ky=2026S1").text)
    assert new and client(site, ("192.0.2.70", 1)).get(new.group(1)).status_code == 200
    site.urls[THIRD] = new.group(1)


def test_the_officer_sees_a_units_versions_and_downloads_its_feedback(site):
    c = client(site)
    upload(c, site.urls["03439"], site.bad("03439"))
    upload(c, site.urls["03439"], site.good("03439"))
    upload(c, site.urls["03442"], site.bad("03442"))
    page = c.get("/can-bo/don-vi/03439?ky=2026S1").text
    assert "Bản 1" in page and "Bản 2" in page and "Bản 1 → bản 2" in page and "mười hai" in page
    assert "Tải tệp phản hồi" not in page                      # its latest version is clean
    page = c.get("/can-bo/don-vi/03442?ky=2026S1").text         # rejected: its feedback is there
    link = re.search(r'href="(/can-bo/phan-hoi/[^"]+)"', page).group(1)
    assert c.get(link.replace("&amp;", "&")).content[:2] == b"PK"
    assert c.get("/can-bo/phan-hoi/..%2Fkiem-tra.xlsx?ky=2026S1").status_code == 404


def test_the_links_and_serve_commands(site, monkeypatch):
    from click.testing import CliRunner

    from pipeline.cli.main import cli

    root = str(site.project.settings.root)
    result = CliRunner().invoke(cli, ["--root", root, "links", "--period", "2026S1"])
    assert result.exit_code == 0 and "46 đơn vị có đường dẫn nộp báo cáo, 0 đường dẫn mới cấp" in result.output
    result = CliRunner().invoke(cli, ["--root", root, "links", "--period", "2026S1", "--revoke", "Tả Lèng"])
    assert result.exit_code == 0 and "Đã thu hồi đường dẫn cũ của Xã Tả Lèng (03405)" in result.output
    assert client(site, ("192.0.2.71", 1)).get(site.urls[COMMUNE]).status_code == 404
    result = CliRunner().invoke(cli, ["--root", root, "serve", "--host", "0.0.0.0", "--no-browser"])
    assert result.exit_code == 2 and "officer_password_env" in result.output and "Traceback" not in result.output


def test_distribute_puts_each_units_own_link_in_its_email(tmp_path, monkeypatch):
    """With [web] public_url set, each unit's template email carries its own live upload link (the
    same one the officer's list gives, until revoked); without it, no link is written."""
    from email import policy
    from email.parser import BytesParser

    from pipeline.mail.messages import distribution
    from pipeline.reference.project import Project

    s = make_site(tmp_path, monkeypatch)
    config = s.root / "inputs" / "config.toml"
    text = config.read_text(encoding="utf-8")
    assert "[web]" in text
    config.write_text(re.sub(r"(?m)^public_url = .*$", 'public_url = "https://baocao.laichau.example.vn"', text)
                      if re.search(r"(?m)^public_url = ", text) else
                      text.replace("[web]", '[web]\npublic_url = "https://baocao.laichau.example.vn"', 1), encoding="utf-8")
    project = Project(s.root)
    items = {o.recipient.unit_id: o for o in distribution(project, s.kit.period)}
    url = items["03405"].context["upload_url"]
    assert url.startswith("https://baocao.laichau.example.vn/nop/") and items["12-CA"].context["upload_url"] != url
    token = url.rsplit("/", 1)[-1]
    with Ledger(project.settings.path("ledger")) as ledger:
        from pipeline.store.ledger import live_links
        assert live_links(ledger, s.kit.period.code, project.settings.province_code)["03405"] == token_hash(token)
    # the same link at a second run, and in the draft the officer opens
    assert distribution(project, s.kit.period)[0].context == distribution(project, s.kit.period)[0].context
    from click.testing import CliRunner
    from pipeline.cli.main import cli
    contacts = s.root / "inputs" / "commune_contacts.csv"   # the draft needs the unit's address
    contacts.write_text(contacts.read_text(encoding="utf-8-sig").replace(
        "03405,Xã Tả Lèng,,,,", "03405,Xã Tả Lèng,,ubnd.taleng@laichau.example.vn,,"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--root", str(s.root), "distribute", "--period", "2026S1", "--unit", "03405"])
    assert result.exit_code == 0, result.output
    drafts = list((s.root / "outputs" / "mail").rglob("*.eml"))
    assert len(drafts) == 1, result.output
    [draft] = drafts
    body = BytesParser(policy=policy.default).parsebytes(draft.read_bytes()).get_body(("plain",)).get_content()
    assert url in body and "đường dẫn riêng của Quý đơn vị" in body
    # without public_url: no link, no sentence about it
    config.write_text(text, encoding="utf-8")
    plain = distribution(Project(s.root), s.kit.period)
    assert all("upload_url" not in o.context for o in plain)
