"""A web application over a throwaway project, for the HTTP and browser tests: its links, a client on
the loopback address, and filled workbooks made with the project's own template generator."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from conftest import copy_project_data
from filling import Kit, row_of, xlsx_bytes

from pipeline.common import clock
from pipeline.reference.project import Project
from pipeline.web.app import create_app, unwrap
from pipeline.mail.links import write_links
from pipeline.web.security import OfficerGate, Throttle
from pipeline.web.server import ServerThread as LiveServer  # noqa: F401  (the tests' name for it)
from pipeline.web.settings import WebSettings

DAY = dt.datetime(2026, 6, 16, 2, 30, tzinfo=dt.timezone.utc)   # 09:30 in Lai Châu, before the deadline


@dataclass
class Site:
    root: Path
    kit: Kit
    project: Project
    app: object
    urls: dict[str, str]   # unit id -> its link's path (/nop/<token>)

    @property
    def state(self):
        return unwrap(self.app).state.web

    def good(self, unit_id: str) -> bytes:
        return xlsx_bytes(self.kit.filled(unit_id)[1])

    def bad(self, unit_id: str, text: str = "mười hai") -> bytes:
        spec, wb = self.kit.filled(unit_id)
        wb["Chỉ tiêu"][f"E{row_of(spec, spec.indicators[0]['code'])}"] = text
        return xlsx_bytes(wb)


def make_site(tmp_path: Path, monkeypatch, password: str = "", throttle: Throttle | None = None,
              web: WebSettings | None = None) -> Site:
    monkeypatch.setattr(clock, "_utc_now", lambda: DAY)
    root = copy_project_data(tmp_path / "project")
    project = Project(root, False)
    kit = Kit.load(root)
    web = web or WebSettings()
    result = write_links(project, kit.period, "http://testserver")
    urls = {row["Mã đơn vị"]: row["Đường dẫn nộp báo cáo"].removeprefix("http://testserver") for row in result.rows}
    app = create_app(project, web, gate=OfficerGate(password), throttle=throttle)
    return Site(root, kit, project, app, urls)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def browser_or_skip():
    """Playwright's Chromium, the system's (Debian's chromium; never `playwright install`), or a loud skip."""
    import os
    import shutil
    import warnings

    import pytest

    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        reason = ("!!! Chromium is not installed (/usr/bin/chromium): `make test` installs it as root via "
                  "scripts/ensure_system_packages.sh; the browser tests of the web pages were NOT run")
        warnings.warn(reason)
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "!!! playwright is not installed (pip install -e '.[test]'): the browser tests were NOT run"
        warnings.warn(reason)
        pytest.skip(reason)
    return sync_playwright, (CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"))
