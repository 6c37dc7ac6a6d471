"""Command line: parses arguments and calls the stages. Run as `python -m pipeline COMMAND`."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from pipeline.errors import BaocaoError


class OfficerError(click.ClickException):
    """One Vietnamese line on stderr and exit code 2: what the officer sees instead of a traceback."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"Lỗi: {self.format_message()}", err=True)


class Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BaocaoError as exc:
            raise OfficerError(str(exc)) from exc
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, BrokenPipeError):
            raise
        except Exception as exc:  # the officer never sees a traceback unless asked for one
            if ctx.obj and ctx.obj.verbose:
                traceback.print_exc()
            raise OfficerError(f"lỗi không mong đợi ({type(exc).__name__}: {exc}). "
                               f"Chạy lại với --verbose để xem chi tiết.") from exc


class Project:
    """What a command needs, loaded on first use so that `--help` stays fast."""

    def __init__(self, root: Path | None, verbose: bool):
        self.root = root
        self.verbose = verbose
        self._settings = self._registry = self._matrix = None

    @property
    def settings(self):
        if self._settings is None:
            from pipeline.config import load_settings

            self._settings = load_settings(self.root)
        return self._settings

    @property
    def registry(self):
        if self._registry is None:
            from pipeline.units import load_registry

            self._registry = load_registry(self.settings)
        return self._registry

    @property
    def matrix(self):
        if self._matrix is None:
            from pipeline.matrix import load_matrix

            self._matrix = load_matrix(self.settings, self.registry)
        return self._matrix

    @property
    def catalogue(self):
        if getattr(self, "_catalogue", None) is None:
            from pipeline.catalogue import load_catalogue

            self._catalogue = load_catalogue(self.settings, self.matrix, self.registry)
        return self._catalogue

    def period(self, code: str):
        from pipeline.periods import parse_period

        return parse_period(code, self.settings)


pass_project = click.make_pass_decorator(Project)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Project folder (default: BAOCAO_ROOT or the current folder).")
@click.option("-v", "--verbose", is_flag=True, help="Show the full traceback of an unexpected error.")
@click.pass_context
def cli(ctx: click.Context, root: Path | None, verbose: bool) -> None:
    """baocao: templates, ingestion, validation, consolidation and reports for a plan's periodic reports."""
    ctx.obj = Project(root, verbose)


def _echo_table(frame) -> None:
    """Left-aligned columns, as an officer reads a table."""
    if frame.empty:
        click.echo("(không có dòng nào)")
        return
    cells = [[str(c) for c in frame.columns]] + [[str(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(frame.columns))]
    for n, row in enumerate(cells):
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))


@cli.command()
@pass_project
def matrix(project: Project) -> None:
    """The assignment matrix with its leads and partners resolved to reporting units.

    Example: python -m pipeline matrix
    """
    from pipeline.views import matrix_table

    _echo_table(matrix_table(project.matrix, project.registry))


@cli.command()
@pass_project
def units(project: Project) -> None:
    """The reporting units: departments from inputs/departments.csv, communes from the official list.

    Example: python -m pipeline units
    """
    frame = project.registry.units
    table = frame.assign(kind=frame["kind"].map({"commune": "xã/phường", "department": "sở, ngành"}))
    _echo_table(table[["id", "name", "kind", "active_from", "email"]].rename(columns={
        "id": "Mã", "name": "Tên đơn vị", "kind": "Loại", "active_from": "Từ kỳ", "email": "Email"}))
    click.echo(f"\n{len(project.registry.departments())} sở, ngành; {len(project.registry.communes())} xã/phường.")


@cli.command()
@click.option("--period", "period_code", required=True, help="Period code: 2026S1 or 2026.")
@click.option("--unit", "unit_id", default=None, help="One unit's id (see `units`).")
@pass_project
def obligations(project: Project, period_code: str, unit_id: str | None) -> None:
    """The tasks each unit reports on in a period, with its role (chủ trì / phối hợp).

    Example: python -m pipeline obligations --period 2026S1 --unit 03405
    """
    from pipeline.obligations import obligations as owed

    period = project.period(period_code)
    frame = owed(project.matrix, project.registry, period, unit_id)
    names = project.registry.units.set_index("id")["name"]
    table = frame.assign(
        unit=frame["unit_id"].map(names),
        due=frame["due"].map({True: "đến hạn", False: "chưa đến hạn"}),
    )[["unit_id", "unit", "task_id", "role", "timeframe", "due"]]
    _echo_table(table.rename(columns={"unit_id": "Mã ĐV", "unit": "Đơn vị", "task_id": "Nhiệm vụ",
                                      "role": "Vai trò", "timeframe": "Thời gian", "due": "Kỳ này"}))
    click.echo(f"\nKỳ {period.label} ({period.window_start:%d/%m/%Y}-{period.cutoff:%d/%m/%Y}), "
               f"hạn nộp {period.deadline:%d/%m/%Y}: {frame['unit_id'].nunique()} đơn vị, {len(frame)} dòng nhiệm vụ.")


@cli.command()
@click.option("--period", "period_code", required=True, help="Period code: 2026S1 or 2026.")
@click.option("--unit", "unit_id", default=None, help="Only this unit's template (see `units`).")
@pass_project
def templates(project: Project, period_code: str, unit_id: str | None) -> None:
    """Blank, protected templates for every unit expected to report, and a manifest.

    Writes outputs/templates/<period>/<period>_<unit id>_<name>.xlsx and danh-sach-bieu-mau.csv.

    Example: python -m pipeline templates --period 2026S1
    """
    from pipeline.templates import MANIFEST_NAME, templates_dir, write_templates

    period = project.period(period_code)
    rows = write_templates(project.settings, project.registry, project.matrix, project.catalogue, period, unit_id)
    import pandas as pd

    _echo_table(pd.DataFrame(rows)[["Mã đơn vị", "Tên đơn vị", "Tệp", "Số nhiệm vụ", "Số chỉ tiêu"]])
    folder = templates_dir(project.settings, period)
    click.echo(f"\nĐã tạo {len(rows)} biểu mẫu kỳ {period.label} (hạn nộp {period.deadline:%d/%m/%Y}) "
               f"trong {folder}; danh sách: {folder / MANIFEST_NAME}")


_SEND = click.option("--send", is_flag=True,
                     help="Deliver over SMTP. Without it: a dry run writing .eml files into outputs/mail/.")
_RESEND = click.option("--resend", is_flag=True, help="Send again to units that already received this message.")


def _echo_mail_report(report) -> None:
    for line in report.lines():
        click.echo(line)


@cli.command()
@click.option("--period", "period_code", required=True, help="Period code: 2026S1 or 2026.")
@click.option("--unit", "unit_id", default=None, help="Only this unit (see `units`).")
@_SEND
@_RESEND
@pass_project
def distribute(project: Project, period_code: str, unit_id: str | None, send: bool, resend: bool) -> None:
    """Email each unit its blank template (generated first where missing).

    Without --send, writes the messages to outputs/mail/<period>/distribute/ to check first.
    The SMTP password is read from the variable named by [mail] smtp_password_env.

    Example: python -m pipeline distribute --period 2026S1 --send
    """
    from pipeline.mail import DISTRIBUTE, distribution, send_messages

    period = project.period(period_code)
    items = distribution(project.settings, project.registry, project.matrix, project.catalogue, period, unit_id)
    _echo_mail_report(send_messages(project.settings, DISTRIBUTE, period, items, send=send, resend=resend))


@cli.command("send-feedback")
@click.option("--period", "period_code", required=True, help="Period code: 2026S1 or 2026.")
@click.option("--unit", "unit_id", default=None, help="Only this unit (see `units`).")
@click.option("--folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the feedback workbooks are (default: outputs/<period>/phan-hoi/).")
@_SEND
@_RESEND
@pass_project
def send_feedback(project: Project, period_code: str, unit_id: str | None, folder: Path | None,
                  send: bool, resend: bool) -> None:
    """Email each unit its feedback workbook, with a summary of what to fix.

    A file goes to the unit whose id is in its name; a new feedback file is a new message.

    Example: python -m pipeline send-feedback --period 2026S1 --send
    """
    from pipeline.mail import FEEDBACK, feedback, send_messages

    period = project.period(period_code)
    items = feedback(project.settings, project.registry, period, folder, unit_id)
    _echo_mail_report(send_messages(project.settings, FEEDBACK, period, items, send=send, resend=resend))


@cli.command("send-reminders")
@click.option("--period", "period_code", required=True, help="Period code: 2026S1 or 2026.")
@click.option("--unit", "unit_ids", multiple=True,
              help="Send to this unit instead of the audit's list; repeat for each unit.")
@click.option("--letter", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The reminder letter (default: the audit's outputs/<period>/cong-van-don-doc-<period>.docx).")
@click.option("--new-deadline", type=click.DateTime(formats=["%Y-%m-%d", "%d/%m/%Y"]), default=None,
              help="The new deadline, for the message body (default: the one the audit's letter sets).")
@_SEND
@_RESEND
@pass_project
def send_reminders(project: Project, period_code: str, unit_ids: tuple[str, ...], letter: Path | None,
                   new_deadline, send: bool, resend: bool) -> None:
    """Email the audit's reminder letter (công văn đôn đốc) to the units it addresses.

    Run `audit` first: the units and the new deadline come from its tinh-hinh-nop-bao-cao.csv.

    Example: python -m pipeline send-reminders --period 2026S1 --send
    """
    from pipeline.mail import REMINDER, audit_addressees, reminder_letter_path, reminders, send_messages

    period = project.period(period_code)
    if unit_ids:
        ids, statuses, deadline = list(unit_ids), {}, None
    else:
        addressed = audit_addressees(project.settings, period)
        ids, statuses, deadline = addressed.unit_ids, addressed.statuses, addressed.new_deadline
        if not ids:
            click.echo(f"Lần kiểm tra gần nhất kỳ {period.code} không có đơn vị nào cần đôn đốc: không gửi thư nào.")
            return
    items = reminders(project.registry, letter or reminder_letter_path(project.settings, period), ids, statuses,
                      new_deadline.date() if new_deadline else deadline)
    _echo_mail_report(send_messages(project.settings, REMINDER, period, items, send=send, resend=resend))


@cli.command()
@click.option("--period", "period_code", required=True, help="Period code: 2026S1 or 2026.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d", "%d/%m/%Y"]), default=None,
              help="Read mail from this day (default: the day before the templates went out).")
@pass_project
def collect(project: Project, period_code: str, since) -> None:
    """Save the spreadsheets units sent to the mailbox into inputs/submissions/<period>/.

    Reads over IMAP without changing the mailbox; records each file's receipt date in so-den.csv;
    a rerun takes nothing twice. The password is read from [mail] imap_password_env.

    Example: python -m pipeline collect --period 2026S1
    """
    from pipeline.collect import collect as collect_mail

    period = project.period(period_code)
    report = collect_mail(project.settings, period, since.date() if since else None)
    for line in report.lines():
        click.echo(line)


@cli.command()
@click.option("--period", "period_code", required=True, help="Period code: 2026S1 or 2026.")
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: when the batch is large).")
@click.argument("others", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@pass_project
def ingest(project: Project, period_code: str, progress: bool | None, others: tuple[Path, ...]) -> None:
    """Ingest and validate the files in inputs/submissions/<period>/, record them in the ledger.

    Writes outputs/<period>/kiem-tra.xlsx (every finding) and, for each unit whose file has
    findings, outputs/<period>/phan-hoi/<period>_<unit id>_<name>_phan-hoi.xlsx to send back.

    Other project folders given (other provinces, as for `rollup`) are ingested in the same run,
    each into its own ledger and outputs, the files of all read together.

    Example: python -m pipeline ingest --period 2026S1
    """
    from pipeline.ingest import Source, ingest_many

    projects = {project.settings.root: project}   # a folder named twice (or this one) is ingested once
    for root in others:
        projects.setdefault(root.resolve(), Project(root, project.verbose))
    sources = [Source(p.settings, p.registry, p.matrix, p.catalogue, p.period(period_code))
               for p in projects.values()]
    reports = ingest_many(sources, progress=progress)
    for n, (source, report) in enumerate(zip(sources, reports)):
        if len(sources) > 1:
            click.echo(("\n" if n else "") + f"== {source.settings.province_name} ({source.settings.root}) ==")
        _echo_ingest_report(source, report)


def _echo_ingest_report(source, report) -> None:
    import pandas as pd

    from pipeline.feedback import summary_rows
    from pipeline.ledger import ACCEPTED, REJECTED, WARNED

    period = source.period
    if report.files_seen == 0:
        from pipeline.ingest import submissions_dir

        click.echo(f"Chưa có tệp nào trong {submissions_dir(source.settings, period)}: hãy chép các tệp đơn vị gửi "
                   "vào thư mục này rồi chạy lại.")
    for name, reason in report.skipped:
        click.echo(f"Không mở được tệp {name} ({reason}): hãy đóng tệp nếu đang mở rồi chạy lại.", err=True)
    if report.ignored:
        click.echo(f"Bỏ qua {len(report.ignored)} tệp không phải báo cáo: "
                   + "; ".join(f"{name} ({why})" for name, why in report.ignored) + ".")
    if report.judged:
        _echo_table(pd.DataFrame(summary_rows(report.judged)))
        click.echo("")
    outcomes = [j["outcome"] for j in report.judged]
    click.echo(f"Kỳ {period.label}: {report.files_seen} tệp trong thư mục, {report.files_new} tệp mới; đã kiểm tra "
               f"{len(report.judged)} tệp: {outcomes.count(ACCEPTED)} chấp nhận, {outcomes.count(WARNED)} chấp nhận có "
               f"cảnh báo, {outcomes.count(REJECTED)} không chấp nhận.")
    if report.check_report:
        click.echo(f"Kết quả kiểm tra: {report.check_report}")
    if report.feedback_files:
        click.echo(f"Tệp phản hồi gửi đơn vị ({len(report.feedback_files)}): {report.feedback_files[0].parent}")


@cli.command()
@click.option("--unit", "unit_id", required=True, help="The unit's id (see `units`).")
@click.option("--period", "period_code", required=True, help="Period code: 2026S1 or 2026.")
@pass_project
def history(project: Project, unit_id: str, period_code: str) -> None:
    """The versions a unit sent for a period, and which values changed between them.

    Example: python -m pipeline history --unit 03405 --period 2026S1
    """
    import pandas as pd

    from pipeline.feedback import outcome_label
    from pipeline.ledger import Ledger, version_changes

    period = project.period(period_code)
    unit = project.registry.get(unit_id)
    path = project.settings.path("ledger")
    if not path.is_file():
        click.echo(f"Chưa có sổ cái {path}: chạy python -m pipeline ingest --period {period.code} trước.")
        return
    with Ledger(path) as ledger:
        versions = ledger.versions(unit_id, period.code)
        click.echo(f"{unit['name']} ({unit_id}), kỳ {period.label}: {len(versions)} bản đã nhận.\n")
        if not versions:
            return
        _echo_table(pd.DataFrame([{
            "Bản": v["version"] or f"bản ký ({v['format']})", "Tệp": v["original_name"], "Ngày nhận": f"{pd.Timestamp(v['receipt_date']):%d/%m/%Y}",
            "Kết quả": outcome_label(v["outcome"]), "Lỗi": v["errors"], "Cảnh báo": v["warnings"],
            "Trạng thái": "đang dùng" if v["is_current"] else ("đã thay thế" if v["superseded"] else ""),
        } for v in versions]))
        versions = [v for v in versions if v["version"] is not None]   # (a signed scan is not a version)
        for older, newer in zip(versions, versions[1:]):
            changes = version_changes(ledger, older["id"], newer["id"])
            click.echo(f"\nBản {older['version']} → bản {newer['version']}: {len(changes)} thay đổi")
            if changes:
                _echo_table(pd.DataFrame([{"Nội dung": c["what"], "Ô": f"{c['sheet']}!{c['cell']}",
                                           "Trước": _short(c["before"]), "Sau": _short(c["after"])} for c in changes]))


def _short(value, width: int = 40) -> str:
    if value is None:
        return "(trống)"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


@cli.command()
@click.option("--period", "period_code", default=None, help="Period code: 2026S1 or 2026.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d", "%d/%m/%Y"]), default=None,
              help="Audit as of this day (default: today): only files received by then count.")
@click.option("--new-deadline", type=click.DateTime(formats=["%Y-%m-%d", "%d/%m/%Y"]), default=None,
              help="The new deadline the reminder letter sets (default: [audit] new_deadline_days after the audit day).")
@click.option("--history", "show_history", is_flag=True,
              help="Units x periods grid over every period in the ledger; writes outputs/lich-su-nop-bao-cao.html.")
@pass_project
def audit(project: Project, period_code: str | None, as_of, new_deadline, show_history: bool) -> None:
    """Who is on time, late, missing or rejected; the reminder letter to those without a report.

    Writes outputs/<period>/tinh-hinh-nop-bao-cao.xlsx, tinh-hinh-nop-bao-cao.csv (for a mail merge)
    and cong-van-don-doc-<period>.docx addressed to every unit without an accepted report.

    Example: python -m pipeline audit --period 2026S1 --as-of 2026-06-20
    """
    import datetime as dt

    from pipeline.audit import submission_history, submission_status, unidentified_files
    from pipeline.audit_outputs import (AuditError, dmy, history_lines, status_lines, use_colour, write_audit,
                                        write_history_page)

    if not period_code and not show_history:
        raise AuditError("Cần chọn kỳ (--period 2026S1) hoặc xem lịch sử các kỳ (--history).")
    day = as_of.date() if as_of else dt.date.today()
    colour = use_colour(sys.stdout)
    if period_code:
        period = project.period(period_code)
        status = submission_status(project.settings, project.registry, project.matrix, period, day)
        for line in status_lines(period, status, day, colour):
            click.echo(line, color=colour)
        unknown = unidentified_files(project.settings.path("ledger"), period.code, day,
                                     project.settings.province_code)
        if unknown:
            click.echo(f"Có {len(unknown)} tệp không xác định được đơn vị gửi ({', '.join(unknown)}): đơn vị \"chưa nộp\" "
                       f"có thể đã gửi một trong các tệp này; xem {period.code}/kiem-tra.xlsx.")
        written = write_audit(project.settings, period, status, day, new_deadline.date() if new_deadline else None)
        click.echo(f"\nTình hình nộp: {written.workbook}\nDanh sách trộn thư: {written.csv}")
        if written.letter:
            names = status.set_index("unit_id").loc[written.addressed, "short_name"].tolist()
            click.echo(f"Công văn đôn đốc ({len(names)} đơn vị, hạn mới {dmy(written.new_deadline)}): "
                       f"{written.letter}\n  Gửi tới: {', '.join(names)}")
            units = " ".join(written.addressed)
            click.echo(f'  Gửi thư: make send-reminders PERIOD={period.code} UNITS="{units}"')
        else:
            click.echo("Không có đơn vị nào cần đôn đốc"
                       + (" (đã xoá công văn đôn đốc cũ)." if written.removed_letter else "."))
    if show_history:
        if period_code:
            click.echo("")
        history = submission_history(project.settings, project.registry, project.matrix, day)
        for line in history_lines(history, colour):
            click.echo(line, color=colour)
        if history.periods:
            click.echo(f"\nTrang lịch sử: {write_history_page(project.settings, history, day)}")


_AS_OF = click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d", "%d/%m/%Y"]), default=None,
                      help="Submission status (appendix III) as of this day (default: today).")


def _report(project: Project, period, as_of) -> None:
    """Ingests what is new, then consolidates and writes the period's reports (semiannual, annual)."""
    from pipeline.ingest import ingest as run_ingest, submissions_dir
    from pipeline.report import build_reports

    periods = [period]
    if period.is_annual and submissions_dir(project.settings, period.first_half(project.settings)).is_dir():
        periods.insert(0, period.first_half(project.settings))  # the comparison reads the first half too
    for each in periods:
        report = run_ingest(project.settings, project.registry, project.matrix, project.catalogue, each)
        click.echo(f"Tiếp nhận kỳ {each.label}: {report.files_new} tệp mới, {len(report.judged)} tệp đã kiểm tra.")
    out = build_reports(project.settings, project.registry, project.matrix, project.catalogue, period,
                        as_of.date() if as_of else None)
    k, r = out.data.consolidation, out.data.rates
    click.echo(f"Tổng hợp {period.label}: {r.accepted}/{r.expected} đơn vị có báo cáo đạt yêu cầu; "
               f"{len(k.tasks)} nhiệm vụ, {len(k.indicators)} chỉ tiêu.")
    for finding in k.findings.itertuples(index=False):
        click.echo(f"  Cần kiểm tra: {finding.message}")
    click.echo(f"Báo cáo (Word): {out.word}\nBảng tổng hợp (Excel): {out.excel}\nTrang HTML: {out.html}")


@cli.command()
@click.option("--period", "period_code", required=True, help="Semi-annual period code, e.g. 2026S1.")
@_AS_OF
@pass_project
def semiannual(project: Project, period_code: str, as_of) -> None:
    """Ingest what is new, consolidate and write the semi-annual report.

    Writes outputs/<period>/bao-cao-6-thang-dau-nam-<year>.docx (official layout, from
    templates/bao-cao.docx), tong-hop-<period>.xlsx and bao-cao-6-thang-dau-nam-<year>.html.

    Example: python -m pipeline semiannual --period 2026S1
    """
    from pipeline.errors import PeriodError

    period = project.period(period_code)
    if period.is_annual:
        raise PeriodError(f"Kỳ {period.code} là kỳ cả năm: dùng python -m pipeline annual --year {period.year}")
    _report(project, period, as_of)


@cli.command()
@click.option("--year", required=True, type=int, help="The year, e.g. 2026.")
@_AS_OF
@pass_project
def annual(project: Project, year: int, as_of) -> None:
    """Ingest what is new, consolidate and write the annual report, compared with the first half
    and the previous year.

    Writes outputs/<year>/bao-cao-nam-<year>.docx, tong-hop-<year>.xlsx and bao-cao-nam-<year>.html.

    Example: python -m pipeline annual --year 2026
    """
    _report(project, project.period(str(year)), as_of)


@cli.command()
@click.option("--workspace", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the demo works (default: outputs/demo); emptied first.")
@pass_project
def demo(project: Project, workspace: Path | None) -> None:
    """The whole pipeline on realistic demo data, in its own workspace.

    Generates the templates of the plan's first half and year, fills them as the communes and
    departments would (two never send, one late, one rejected then corrected, a few warnings,
    one re-saved through LibreOffice), then ingests, audits and writes both reports. Never
    touches inputs/ or the ledger of the project.

    Example: python -m pipeline demo
    """
    from pipeline.demo import run_demo

    workspace = (workspace or project.settings.path("outputs") / "demo").resolve()
    result = run_demo(project.settings.root, workspace, echo=click.echo)
    click.echo(f"\n=== Kết quả chạy thử (thư mục {result.workspace})")
    for code, files in result.outputs.items():
        click.echo(f"Kỳ {code}:")
        for path in files:
            if path.parent.name == code:
                click.echo(f"  {path.relative_to(result.workspace)}")
    click.echo(f"Biểu mẫu trống: {result.workspace / 'outputs' / 'templates'}")
    click.echo(f"Tệp phản hồi gửi đơn vị: {result.workspace / 'outputs' / '<kỳ>' / 'phan-hoi'}")


@cli.command()
@click.option("--period", "period_code", required=True, help="Period code: 2026S1 or 2026.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d", "%d/%m/%Y"]), default=None,
              help="Submission status as of this day (default: today).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the two tables as CSV into this folder.")
@click.argument("others", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@pass_project
def rollup(project: Project, period_code: str, as_of, out: Path | None, others: tuple[Path, ...]) -> None:
    """The national roll-up: completeness and indicator totals per province and for the country.

    The provinces are this project and the project folders given (each with its own matrix and
    units); their ledgers are read once each, so provinces writing to one ledger file are read once.

    Example: python -m pipeline rollup --period 2026S1 ../dien-bien ../son-la
    """
    from pipeline.consolidate import vn_number
    from pipeline.rollup import ProvinceData, indicator_table, rollup as roll_up

    provinces = [ProvinceData.of(p.settings, p.registry, p.matrix, p.catalogue)
                 for p in [project] + [Project(root, project.verbose) for root in others]]
    result = roll_up(provinces, project.period(period_code), as_of.date() if as_of else None)
    shown = result.completeness.assign(**{c: result.completeness[c].map(lambda v: f"{v:.1%}")
                                          for c in ("completeness", "timeliness", "communes_completeness")})
    _echo_table(shown[["province", "expected", "accepted", "on_time", "late", "rejected", "missing",
                       "completeness", "timeliness", "communes_completeness"]].rename(columns={
                           "province": "Tỉnh", "expected": "Phải nộp", "accepted": "Đạt", "on_time": "Đúng hạn",
                           "late": "Muộn", "rejected": "Không đạt", "missing": "Chưa nộp",
                           "completeness": "Tỷ lệ đầy đủ", "timeliness": "Tỷ lệ đúng hạn",
                           "communes_completeness": "Xã: đầy đủ"}))
    click.echo("")
    _echo_table(indicator_table(result).map(vn_number).reset_index())
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        result.completeness.to_csv(out / f"tong-hop-toan-quoc-{result.period}-hoan-thanh.csv", index=False,
                                   encoding="utf-8-sig")
        result.indicators.to_csv(out / f"tong-hop-toan-quoc-{result.period}-chi-tieu.csv", index=False,
                                 encoding="utf-8-sig")
        click.echo(f"\nĐã ghi bảng tổng hợp toàn quốc vào {out}")


def main() -> None:
    # Windows consoles may not default to UTF-8; Vietnamese must still print.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    try:
        cli(prog_name="python -m pipeline")
    except BrokenPipeError:  # output piped into `head`
        sys.stderr.close()
