"""A unit's upload page, reached only by its secret link: its period, its blank template, the upload
form (plain multipart, works without JavaScript), the verdict with every finding, its versions."""

from __future__ import annotations

import re
import sqlite3

from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, RedirectResponse
from starlette.routing import Route

from pipeline.forms.templates import template_path
from pipeline.intake.feedback import FEEDBACK_DIR, feedback_name, outcome_label
from pipeline.store.ledger import Ledger, link_owner, submission_findings, unit_submissions
from pipeline.web.actions import WEB_FOLDER, UploadRefused, check_spreadsheet, make_templates, receive_unit_file
from pipeline.mail.links import token_hash

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,80}")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SEVERITY = {"error": "Lỗi", "warning": "Cảnh báo"}


class _Link:
    def __init__(self, period, unit_id: str, unit: dict, token: str):
        self.period, self.unit_id, self.unit, self.token = period, unit_id, unit, token

    @property
    def scope(self) -> str:
        return "unit:" + token_hash(self.token)


def routes(state) -> list[Route]:
    project = state.project
    settings = project.settings

    def address(request) -> str:
        return request.client.host if request.client else ""

    def resolve(request) -> _Link | None:
        """The link's unit and period; None (answered 404, nothing said why) for a token that is not a
        live link of this province: mistyped, guessed, revoked, or never issued."""
        token = request.path_params["token"]
        if not TOKEN_SHAPE.fullmatch(token) or not settings.path("ledger").is_file():
            return None
        with Ledger(settings.path("ledger"), readonly=True) as ledger:
            try:
                row = link_owner(ledger, token_hash(token), settings.province_code)
            except sqlite3.OperationalError:   # a ledger no link was ever issued in has no links table
                row = None
        if row is None:
            return None
        period = project.period(row["period"])
        return _Link(period, row["unit_id"], dict(project.registry.get(row["unit_id"])), token)

    def refused(request):
        if state.throttle.blocked(address(request)):
            return state.message("Tạm dừng", "Quá nhiều lần mở đường dẫn không đúng từ máy này: hãy thử lại sau "
                                             f"15 phút, dùng đúng đường dẫn {settings.standing_unit} đã gửi.", 429)
        return None

    def not_found(request):
        state.throttle.failed(address(request))
        return state.message("Không tìm thấy trang", "Địa chỉ này không có trang nào. Kiểm tra lại đường dẫn.", 404)

    def owned(link: _Link, row) -> bool:
        """A submission is the unit's when the ledger counts it for the unit, or when the unit sent it
        through its page (a file of another unit's template is shown to its sender, with its findings)."""
        return row["period"] == link.period.code and (
            row["unit_id"] == link.unit_id or str(row["original_name"]).startswith(f"{WEB_FOLDER}/{link.unit_id}_"))

    def feedback_path(link: _Link, row, rows) -> object | None:
        """The feedback workbook of this submission, when there is one: ingestion keeps one per unit, for
        its latest version (and one per unidentified file), so an older version has none any more."""
        if row["unit_id"] not in (None, link.unit_id):
            return None
        if row["unit_id"] is not None and row["version"] != max(
                (r["version"] or 0 for r in rows if r["unit_id"] == link.unit_id), default=None):
            return None
        name = feedback_name(link.period, row["unit_id"], link.unit["name"] if row["unit_id"] else "", row["sha256"])
        path = settings.path("outputs") / link.period.code / FEEDBACK_DIR / name
        return path if path.is_file() else None

    def unit_rows(link: _Link):
        with Ledger(settings.path("ledger"), readonly=True) as ledger:
            rows = unit_submissions(ledger, link.period.code, settings.province_code, link.unit_id,
                                    f"{WEB_FOLDER}/{link.unit_id}_")
            return [dict(r) for r in rows if owned(link, r)]

    async def page(request):
        if (answer := refused(request)) is not None:
            return answer
        link = await run_in_threadpool(resolve, request)
        if link is None:
            return not_found(request)
        return await run_in_threadpool(_render_page, link, request.query_params.get("ban"), None, 200)

    def _render_page(link: _Link, chosen: str | None, problem: str | None, status: int):
        rows = unit_rows(link)
        shown = None
        if chosen and chosen.isdigit():
            shown = next((r for r in rows if r["id"] == int(chosen)), None)
        findings = []
        if shown is not None:
            with Ledger(settings.path("ledger"), readonly=True) as ledger:
                findings = [dict(f) for f in submission_findings(ledger, shown["id"])]
        feedback = None
        if shown is not None and findings and feedback_path(link, shown, rows) is not None:
            feedback = f"/nop/{link.token}/phan-hoi/{shown['id']}"
        return state.render(
            "unit.html", status, unit=link.unit, unit_id=link.unit_id, period=link.period, token=link.token,
            csrf=state.csrf.token(link.scope), rows=list(reversed(rows)), shown=shown, findings=findings,
            feedback=feedback, problem=problem, outcome_label=outcome_label, severity=SEVERITY,
            max_mb=state.web.max_file_mb)

    async def upload(request):
        if (answer := refused(request)) is not None:
            return answer
        link = await run_in_threadpool(resolve, request)
        if link is None:
            return not_found(request)
        form, answer = await state.form(request)
        if form is None:
            return answer
        if not state.csrf.valid(link.scope, form.get("csrf")):
            return state.message("Phiên làm việc đã hết hạn", "Hãy mở lại trang nộp báo cáo rồi gửi lại tệp.", 403)
        upload = form.get("tep")
        if upload is None or not hasattr(upload, "read"):
            return await run_in_threadpool(_render_page, link, None, "Chưa chọn tệp để gửi.", 400)
        data = await upload.read()
        await form.close()
        if len(data) > state.web.max_file_bytes:
            return state.message("Tệp quá lớn", f"Chỉ nhận tệp đến {state.web.max_file_mb:.0f} MB. Không có gì được "
                                                "lưu.", 413)
        try:
            suffix = check_spreadsheet(upload.filename or "", data[:8])
        except UploadRefused as exc:
            return await run_in_threadpool(_render_page, link, None, str(exc), 400)
        verdict = await run_in_threadpool(receive_unit_file, project, link.period, link.unit_id, data, suffix)
        if verdict.submission is None:
            return await run_in_threadpool(_render_page, link, None, "Tệp không đọc được như một bảng tính.", 400)
        return RedirectResponse(f"/nop/{link.token}?ban={verdict.submission['id']}#ket-qua", status_code=303)

    async def template(request):
        if (answer := refused(request)) is not None:
            return answer
        link = await run_in_threadpool(resolve, request)
        if link is None:
            return not_found(request)
        path = template_path(settings, link.period, link.unit_id, link.unit["name"])
        if not path.is_file():
            await run_in_threadpool(make_templates, project, link.period, link.unit_id)
        return FileResponse(path, media_type=XLSX_TYPE, filename=path.name)

    async def feedback(request):
        if (answer := refused(request)) is not None:
            return answer
        link = await run_in_threadpool(resolve, request)
        if link is None:
            return not_found(request)
        wanted = request.path_params["sid"]
        rows = await run_in_threadpool(unit_rows, link)
        row = next((r for r in rows if r["id"] == wanted), None)
        path = feedback_path(link, row, rows) if row is not None else None
        if path is None:
            return not_found(request)
        return FileResponse(path, media_type=XLSX_TYPE, filename=path.name)

    return [Route("/nop/{token}", page, methods=["GET"]), Route("/nop/{token}", upload, methods=["POST"]),
            Route("/nop/{token}/bieu-mau", template), Route("/nop/{token}/phan-hoi/{sid:int}", feedback)]

