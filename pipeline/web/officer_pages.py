"""The officer's pages: Tổng quan, Tiếp nhận, Biểu mẫu, Đôn đốc, Báo cáo, Lịch sử, and a unit's
versions; each changing form carries a CSRF token, each long operation runs as a background job."""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from pipeline.common import clock
from pipeline.audit.status import LATE, MISSING, NOT_YET, ON_TIME, REJECTED
from pipeline.web import actions
from pipeline.web.security import SESSION_COOKIE, SESSION_SECONDS

SAFE_NAME = re.compile(r"[^/\\]+\.(xlsx|docx|html|csv)")
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8"}
NAV = [("tong-quan", "Tổng quan"), ("tiep-nhan", "Tiếp nhận"), ("bieu-mau", "Biểu mẫu"), ("don-doc", "Đôn đốc"),
       ("bao-cao", "Báo cáo"), ("lich-su", "Lịch sử")]
STATUS_CLASS = {ON_TIME: "ok", LATE: "late", REJECTED: "bad", NOT_YET: "wait", MISSING: "bad"}


def routes(state) -> list[Route]:
    project = state.project
    settings = project.settings

    def scope_of(request) -> str | None:
        return state.gate.session_of(request.cookies, request.client.host if request.client else None)

    def guard(request):
        """None when the officer may see the page; otherwise the answer (sign in, or refused)."""
        if scope_of(request) is not None:
            return None
        if state.gate.needs_password:
            return RedirectResponse("/can-bo/dang-nhap", status_code=303)
        return state.message("Không được phép", "Trang của cán bộ chỉ mở trên chính máy chạy chương trình.", 403)

    def page(request, name: str, current: str, period, **context):
        from pipeline.reference.periods import plan_periods

        scope = scope_of(request)
        return state.render(name, nav=NAV, current=current, period=period, periods=plan_periods(settings),
                            csrf=state.csrf.token("officer:" + scope), signed_in=state.gate.needs_password,
                            **context)

    def period_or_404(request):
        """The period of the page's address (?ky=), the next deadline's without one; None: no such period."""
        return state.period(request.query_params.get("ky"))

    def officer_period(request):
        """The officer's guard, then the page's period: (period, None), or (None, the answer: sign in,
        refused, or no such period)."""
        if (answer := guard(request)) is not None:
            return None, answer
        period = period_or_404(request)
        if period is None:
            return None, state.message("Không có kỳ này", "Mã kỳ không đúng (ví dụ 2026S1 hoặc 2026).", 404)
        return period, None

    async def form_checked(request, max_files: int = 1):
        """The posted form once its CSRF token is checked, else (None, the answer refusing it)."""
        form, answer = await state.form(request, max_files)
        if form is None:
            return None, answer
        scope = scope_of(request)
        if scope is None or not state.csrf.valid("officer:" + scope, form.get("csrf")):
            await form.close()
            return None, forbidden()
        return form, None

    def forbidden():
        return state.message("Phiên làm việc đã hết hạn", "Thiếu mã xác nhận của biểu mẫu: hãy mở lại trang rồi "
                                                          "làm lại.", 403)

    def job_redirect(job):
        return RedirectResponse(f"/can-bo/viec/{job.id}", status_code=303)

    # ------------------------------------------------------------ sign in

    async def login(request):
        if not state.gate.needs_password:
            return RedirectResponse("/can-bo", status_code=303)
        csrf = state.csrf.token("login")
        if request.method == "GET":
            return state.render("login.html", problem="", csrf=csrf)
        form, answer = await state.form(request, max_files=0)
        if form is None:
            return answer
        if not state.csrf.valid("login", form.get("csrf")):
            return forbidden()
        if state.throttle.blocked(request.client.host if request.client else ""):
            return state.render("login.html", 429, problem="Quá nhiều lần nhập sai: thử lại sau 15 phút.", csrf=csrf)
        if not await run_in_threadpool(state.gate.check_password, str(form.get("mat_khau") or "")):
            state.throttle.failed(request.client.host if request.client else "")
            return state.render("login.html", 403, problem="Mật khẩu không đúng.", csrf=csrf)
        response = RedirectResponse("/can-bo", status_code=303)
        response.set_cookie(SESSION_COOKIE, state.gate.open_session(), max_age=SESSION_SECONDS, httponly=True,
                            samesite="strict", secure=state.web.public_url.startswith("https://"), path="/")
        return response

    async def logout(request):
        if (answer := guard(request)) is not None:
            return answer
        form, answer = await form_checked(request)
        if form is None:
            return answer
        state.gate.close_session(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/can-bo/dang-nhap", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # ------------------------------------------------------------ Tổng quan

    def status_rows(period):
        status, waiting = actions.overview(project, period)
        rows = [{"unit_id": r.unit_id, "name": r.unit_name, "kind": "Xã, phường" if r.kind == "commune" else "Sở, ngành",
                 "label": r.status_label, "css": STATUS_CLASS.get(r.status, ""),
                 "versions": int(r.versions or 0), "receipt": r.receipt_date} for r in status.itertuples()]
        from pipeline.audit.status import rates

        return rows, waiting, rates(status)

    async def overview(request):
        period, answer = officer_period(request)
        if answer is not None:
            return answer
        rows, waiting, rate = await run_in_threadpool(status_rows, period)
        return page(request, "overview.html", "tong-quan", period, rows=rows, waiting=waiting, rate=rate,
                    today=clock.today(settings))

    async def overview_table(request):
        if (answer := guard(request)) is not None:
            return answer
        period = period_or_404(request)
        if period is None:
            return Response(status_code=404)
        rows, waiting, rate = await run_in_threadpool(status_rows, period)
        return state.render("overview_table.html", rows=rows, waiting=waiting, rate=rate, period=period)

    # ------------------------------------------------------------ Tiếp nhận

    async def intake(request):
        period, answer = officer_period(request)
        if answer is not None:
            return answer
        if request.method == "GET":
            return page(request, "intake.html", "tiep-nhan", period, job=state.jobs.latest(period.code, "intake"),
                        problem="")
        form, answer = await form_checked(request, max_files=200)
        if form is None:
            return answer
        files = []
        for upload in form.getlist("tep"):
            if hasattr(upload, "read"):
                files.append((upload.filename or "", await upload.read()))
        await form.close()
        files = [(name, data) for name, data in files if data]
        try:
            for name, data in files:
                if len(data) > state.web.max_file_bytes:
                    raise actions.UploadRefused(f"Tệp {name} quá lớn (tối đa {state.web.max_file_mb:.0f} MB): "
                                                "không có tệp nào được lưu.")
                actions.check_spreadsheet(name, data[:8])
        except actions.UploadRefused as exc:
            return page(request, "intake.html", "tiep-nhan", period, job=None, problem=str(exc))
        if not files:
            return page(request, "intake.html", "tiep-nhan", period, job=None, problem="Chưa chọn tệp nào.")

        def work(job):
            job.say(f"Nhận {len(files)} tệp.")
            return actions.receive_officer_files(project, period, files, job.say)

        return job_redirect(state.jobs.start(f"Tiếp nhận {len(files)} tệp, kỳ {period.code}", period.code, "intake",
                                             work))

    async def unit_versions(request):
        if (answer := guard(request)) is not None:
            return answer
        period = period_or_404(request)
        unit_id = request.path_params["unit"]
        if period is None or unit_id not in set(project.registry.ids):
            return state.message("Không tìm thấy", "Không có đơn vị hoặc kỳ này.", 404)

        def read():
            from pipeline.store.ledger import Ledger, submission_findings, version_changes

            if not settings.path("ledger").is_file():
                return [], []
            with Ledger(settings.path("ledger"), readonly=True) as ledger:
                versions = [dict(v) | {"findings": [dict(f) for f in submission_findings(ledger, v["id"])]}
                            for v in ledger.versions(unit_id, period.code)]
                numbered = [v for v in versions if v["version"] is not None]
                changes = [(a["version"], b["version"], version_changes(ledger, a["id"], b["id"]))
                           for a, b in zip(numbered, numbered[1:])]
            return versions, changes

        versions, changes = await run_in_threadpool(read)
        from pipeline.intake.feedback import FEEDBACK_DIR, feedback_name, outcome_label

        unit = dict(project.registry.get(unit_id))
        latest = [v for v in versions if v["version"] is not None][-1:]
        name = feedback_name(period, unit_id, unit["name"], "") if latest else ""
        feedback = name if name and (settings.path("outputs") / period.code / FEEDBACK_DIR / name).is_file() else ""
        return page(request, "unit_versions.html", "tiep-nhan", period, unit=unit, unit_id=unit_id,
                    versions=versions, changes=changes, outcome_label=outcome_label, feedback=feedback)

    # ------------------------------------------------------------ Biểu mẫu

    async def templates_page(request):
        period, answer = officer_period(request)
        if answer is not None:
            return answer
        if request.method == "POST":
            form, answer = await form_checked(request)
            if form is None:
                return answer

            def work(job):
                job.say("Đang tạo biểu mẫu...")
                rows = actions.make_templates(project, period)
                job.say(f"Đã tạo {len(rows)} biểu mẫu.")
                return rows

            return job_redirect(state.jobs.start(f"Tạo biểu mẫu kỳ {period.code}", period.code, "templates", work))
        from pipeline.forms.templates import read_manifest, templates_dir

        manifest = await run_in_threadpool(read_manifest, templates_dir(settings, period))
        sent = await run_in_threadpool(_distribution, settings, period)
        from pipeline.mail.links import LINKS_NAME, links_path

        return page(request, "templates.html", "bieu-mau", period, manifest=manifest, sent=sent,
                    job=state.jobs.latest(period.code, "templates"), links_name=LINKS_NAME,
                    links_exist=links_path(settings, period).is_file(), public_url=state.web.public_url,
                    units=[(u, project.registry.name_of[u]) for u in project.registry.ids])

    async def unit_links(request):
        """Issues the units' links for the period (the `links` command), or revokes and re-issues one."""
        period, answer = officer_period(request)
        if answer is not None:
            return answer
        form, answer = await form_checked(request)
        if form is None:
            return answer
        revoke = [str(form.get("don_vi"))] if form.get("don_vi") else []
        if revoke and revoke[0] not in set(project.registry.ids):
            return state.message("Không tìm thấy", "Không có đơn vị này.", 404)
        await run_in_threadpool(actions.issue_links, project, period, state.web.base_url(), revoke)
        return RedirectResponse(f"/can-bo/bieu-mau?ky={period.code}#duong-dan", status_code=303)

    async def template_file(request):
        if (answer := guard(request)) is not None:
            return answer
        from pipeline.forms.templates import templates_dir

        period = period_or_404(request)
        name = request.path_params["name"]
        if period is None or not SAFE_NAME.fullmatch(name):
            return state.message("Không tìm thấy", "Không có tệp này.", 404)
        path = templates_dir(settings, period) / name
        if not path.is_file():
            return state.message("Không tìm thấy", "Không có tệp này.", 404)
        return FileResponse(path, media_type=MEDIA[name.rsplit(".", 1)[1]], filename=name)

    async def templates_zip(request):
        if (answer := guard(request)) is not None:
            return answer
        period = period_or_404(request)
        if period is None:
            return state.message("Không tìm thấy", "Không có kỳ này.", 404)
        data = await run_in_threadpool(actions.templates_zip, project, period)
        return Response(data, media_type="application/zip", headers={
            "content-disposition": f'attachment; filename="bieu-mau-{period.code}.zip"'})

    # ------------------------------------------------------------ Đôn đốc, Báo cáo

    async def reminders(request):
        period, answer = officer_period(request)
        if answer is not None:
            return answer
        if request.method == "POST":
            form, answer = await form_checked(request)
            if form is None:
                return answer

            def work(job):
                job.say("Đang rà soát tình hình nộp báo cáo...")
                written = actions.run_audit(project, period)
                job.say(f"Công văn đôn đốc gửi {len(written.addressed)} đơn vị." if written.letter
                        else "Không có đơn vị nào cần đôn đốc.")
                return written

            return job_redirect(state.jobs.start(f"Rà soát kỳ {period.code}", period.code, "audit", work))
        return page(request, "reminders.html", "don-doc", period, files=_outputs(settings, period, (
            "tinh-hinh-nop-bao-cao.xlsx", "tinh-hinh-nop-bao-cao.csv", f"cong-van-don-doc-{period.code}.docx")),
            job=state.jobs.latest(period.code, "audit"))

    async def report(request):
        period, answer = officer_period(request)
        if answer is not None:
            return answer
        if request.method == "POST":
            form, answer = await form_checked(request)
            if form is None:
                return answer
            force = form.get("du_thao") == "1"

            def work(job):
                job.say("Đang tiếp nhận tệp mới và tổng hợp...")
                out = actions.build_report(project, period, force)
                r = out.outputs.data.rates
                job.say(f"{r.accepted}/{r.expected} đơn vị có báo cáo đạt yêu cầu."
                        + (" Bản DỰ THẢO." if out.outputs.data.draft else ""))
                return out

            return job_redirect(state.jobs.start(f"Lập báo cáo {period.label}", period.code, "report", work))
        from pipeline.report.build import report_name

        name = report_name(period)
        names = [f"{name}.docx", f"tong-hop-{period.code}.xlsx", f"{name}.html"]
        return page(request, "report.html", "bao-cao", period, files=_outputs(settings, period, names),
                    html_name=next((n for n in names if n.endswith(".html")), ""),
                    job=state.jobs.latest(period.code, "report"))

    async def output_file(request):
        """A file the stages wrote in outputs/<period>/ (or its feedback folder), by its bare name."""
        if (answer := guard(request)) is not None:
            return answer
        from pipeline.intake.feedback import FEEDBACK_DIR

        period = period_or_404(request)
        name = request.path_params["name"]
        if period is None or not SAFE_NAME.fullmatch(name):
            return state.message("Không tìm thấy", "Không có tệp này.", 404)
        folder = settings.path("outputs") / period.code
        path = folder / FEEDBACK_DIR / name if request.url.path.startswith("/can-bo/phan-hoi/") else folder / name
        if not path.is_file():
            return state.message("Không tìm thấy", "Không có tệp này.", 404)
        suffix = name.rsplit(".", 1)[1]
        if suffix == "html":
            return FileResponse(path, media_type=MEDIA[suffix])
        return FileResponse(path, media_type=MEDIA[suffix], filename=name)

    # ------------------------------------------------------------ Lịch sử, jobs

    async def history(request):
        if (answer := guard(request)) is not None:
            return answer

        def grid():
            from pipeline.audit.status import submission_history
            from pipeline.audit.terminal import history_cell

            found = submission_history(project, clock.today(settings))
            status, days = found.grid("status"), found.grid("days_late")
            rows = [{"name": f"{u.id} {u.short_name}",
                     "cells": {p: history_cell(status.at[u.id, p], days.at[u.id, p]) for p in found.periods}}
                    for u in found.units.itertuples(index=False)]
            return {"periods": found.periods, "rows": rows}

        return page(request, "history.html", "lich-su", state.period(None), grid=await run_in_threadpool(grid))

    async def job_page(request):
        if (answer := guard(request)) is not None:
            return answer
        job = state.jobs.get(request.path_params["job"])
        if job is None:
            return state.message("Không tìm thấy", "Không có việc này (chương trình có thể đã khởi động lại).", 404)
        period = state.period(job.period)
        back = {"intake": "tiep-nhan", "templates": "bieu-mau", "audit": "don-doc", "report": "bao-cao"}[job.kind]
        from pipeline.intake.feedback import outcome_label

        return page(request, "job.html", back, period, job=job, back=back, outcome_label=outcome_label)

    async def job_json(request):
        if (answer := guard(request)) is not None:
            return answer
        job = state.jobs.get(request.path_params["job"])
        if job is None:
            return JSONResponse({"state": "missing"}, status_code=404)
        return JSONResponse(job.as_json())

    async def home(request):
        if scope_of(request) is not None or state.gate.needs_password:
            return RedirectResponse("/can-bo", status_code=303)
        return state.message("Nộp báo cáo", "Đơn vị mở trang nộp báo cáo bằng đường dẫn riêng Sở Y tế đã gửi.", 200)

    return [Route("/", home), Route("/can-bo", overview), Route("/can-bo/bang", overview_table),
            Route("/can-bo/dang-nhap", login, methods=["GET", "POST"]),
            Route("/can-bo/dang-xuat", logout, methods=["POST"]),
            Route("/can-bo/tiep-nhan", intake, methods=["GET", "POST"]),
            Route("/can-bo/don-vi/{unit}", unit_versions),
            Route("/can-bo/bieu-mau", templates_page, methods=["GET", "POST"]),
            Route("/can-bo/bieu-mau/tat-ca.zip", templates_zip),
            Route("/can-bo/bieu-mau/tep/{name}", template_file),
            Route("/can-bo/don-doc", reminders, methods=["GET", "POST"]),
            Route("/can-bo/bao-cao", report, methods=["GET", "POST"]),
            Route("/can-bo/tep/{name}", output_file), Route("/can-bo/phan-hoi/{name}", output_file),
            Route("/can-bo/duong-dan", unit_links, methods=["POST"]),
            Route("/can-bo/lich-su", history),
            Route("/can-bo/viec/{job:int}", job_page), Route("/can-bo/viec/{job:int}.json", job_json)]


def _outputs(settings, period, names) -> list[dict]:
    folder = settings.path("outputs") / period.code
    return [{"name": n, "exists": (folder / n).is_file()} for n in names]


def _distribution(settings, period) -> dict[str, str]:
    """unit id -> the day its blank template was mailed (the mail stage's delivery log)."""
    from pipeline.mail.compose import DISTRIBUTE
    from pipeline.mail.send import deliveries

    sent = {}
    for row in deliveries(settings, period):
        if row["kind"] == DISTRIBUTE and row["outcome"] == "sent":
            sent.setdefault(row["unit_id"], row["time"][:10])
    return sent
