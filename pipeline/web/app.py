"""The web application: builds the Starlette app (routes, middleware, templates, static files) from a
loaded project; the pages themselves are in unit_pages.py and officer_pages.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pipeline.common import clock
from pipeline.common.errors import BaocaoError
from pipeline.web.jobs import Jobs
from pipeline.web.security import BodyLimit, BodyTooLarge, Csrf, FORM_SLACK, OfficerGate, SecurityHeaders, Throttle
from pipeline.web.settings import WebSettings

WEB_TEMPLATES = Path("templates") / "web"


@dataclass
class WebState:
    """What every page reads: the project (loaded once), the [web] settings and the security parts."""

    project: object
    web: WebSettings
    gate: OfficerGate
    csrf: Csrf = field(default_factory=Csrf)
    throttle: Throttle = field(default_factory=Throttle)
    jobs: Jobs = field(default_factory=Jobs)
    env: jinja2.Environment | None = None

    def render(self, name: str, status_code: int = 200, **context) -> HTMLResponse:
        context.setdefault("province", self.project.settings.province_name)
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status_code)

    def message(self, title: str, text: str, status_code: int) -> HTMLResponse:
        return self.render("message.html", status_code, title=title, text=text)

    async def form(self, request, max_files: int = 1):
        """The posted form, or the answer refusing it: too large (413, read no further) or malformed (400)."""
        try:
            return await request.form(max_files=max_files, max_fields=10), None
        except BodyTooLarge:
            return None, self.message("Tệp quá lớn", f"Chỉ nhận tệp đến {self.web.max_file_mb:.0f} MB. Không có gì "
                                                     "được lưu.", 413)
        except Exception:  # noqa: BLE001 - python-multipart's and Starlette's parse errors: the sender's fault
            return None, self.message("Không đọc được dữ liệu gửi lên", "Dữ liệu gửi lên không đúng dạng biểu mẫu: "
                                                                        "hãy mở lại trang rồi gửi lại.", 400)

    def period(self, code: str | None):
        """The period named in the page's address (default: the one whose deadline comes next)."""
        from pipeline.reference.periods import plan_periods

        if code:
            try:
                return self.project.period(code)
            except BaocaoError:
                return None
        today = clock.today(self.project.settings)
        periods = plan_periods(self.project.settings)
        upcoming = [p for p in periods if p.deadline >= today]
        return upcoming[0] if upcoming else periods[-1]


def _dmy(day) -> str:
    return f"{day:%d/%m/%Y}" if day else ""


def _environment(root: Path) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(root / WEB_TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["dmy"] = _dmy
    return env


def create_app(project, web: WebSettings, gate: OfficerGate | None = None, throttle: Throttle | None = None):
    """The application for a loaded project. `gate` decides the officer's access (by default from
    [web] officer_password_env)."""
    from pipeline.web import officer_pages, unit_pages

    for part in ("settings", "registry", "matrix", "catalogue"):   # load once, before any request thread
        getattr(project, part)
    state = WebState(project, web, gate or OfficerGate(web.officer_password()), throttle=throttle or Throttle())
    state.env = _environment(project.settings.root)
    routes = [*unit_pages.routes(state), *officer_pages.routes(state),
              Mount("/tinh", app=StaticFiles(directory=str(project.settings.root / WEB_TEMPLATES / "static")),
                    name="static")]
    app = Starlette(routes=routes, exception_handlers={404: _not_found(state), 405: _not_found(state)})
    app.state.web = state
    return SecurityHeaders(BodyLimit(app, web.max_file_bytes + FORM_SLACK))


def _not_found(state: WebState):
    async def handler(request, exc):
        return state.message("Không tìm thấy trang", "Địa chỉ này không có trang nào. Kiểm tra lại đường dẫn.", 404)
    return handler


def unwrap(app) -> Starlette:
    """The Starlette app inside the middleware (tests reach its state through it)."""
    while not isinstance(app, Starlette):
        app = app.app
    return app


__all__ = ["create_app", "WebState", "unwrap", "Route"]
