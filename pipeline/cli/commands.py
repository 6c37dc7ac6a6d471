"""Command line: parses arguments and calls the stages. Run as `python -m pipeline COMMAND`."""

from __future__ import annotations

import sqlite3
import sys
import traceback
from pathlib import Path

import click

from pipeline.cli import vi as cli_vi
from pipeline.cli.vi import DATE, EXISTING_FOLDER, FILE, FOLDER, PERIOD, YEAR
from pipeline.common.errors import BaocaoError
from pipeline.reference.project import Project
from pipeline.common.formatting import dmy, vn_number


class OfficerError(click.ClickException):
    """One Vietnamese line on stderr and exit code 2: what the officer sees instead of a traceback."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"Lỗi: {self.format_message()}", err=True)


class Group(cli_vi.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BaocaoError as exc:
            raise OfficerError(str(exc)) from exc
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, BrokenPipeError):
            raise
        except ModuleNotFoundError as exc:  # run outside the project's environment
            if (exc.name or "").split(".")[0] in ("pipeline", "schemas"):
                raise
            from pipeline.common.errors import missing_library_message

            raise OfficerError(missing_library_message(exc.name)) from exc
        except sqlite3.DatabaseError as exc:   # the ledger failed mid-command (it was checked at the start)
            from pipeline.store.ledger import ledger_failure

            message = ledger_failure(exc)
            if message is None:
                raise OfficerError(f"lỗi không mong đợi ({type(exc).__name__}: {exc}). "
                                   f"Chạy lại với --verbose để xem chi tiết.") from exc
            raise OfficerError(message) from exc
        except Exception as exc:  # the officer never sees a traceback unless asked for one
            if ctx.obj and ctx.obj.verbose:
                traceback.print_exc()
            raise OfficerError(f"lỗi không mong đợi ({type(exc).__name__}: {exc}). "
                               f"Chạy lại với --verbose để xem chi tiết.") from exc


def _resolve_unit(ctx: click.Context, text: str) -> str | None:
    project = ctx.find_object(Project) if ctx is not None else None
    return None if project is None else project.registry.resolve(text)


UNIT = cli_vi.UnitType(_resolve_unit)
pass_project = click.make_pass_decorator(Project)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", type=FOLDER, default=None,
              help="Thư mục dự án (mặc định: biến BAOCAO_ROOT, nếu không thì thư mục gần nhất chứa "
                   "inputs/config.toml, tính từ thư mục hiện tại trở lên).")
@click.option("-v", "--verbose", is_flag=True, help="Hiện đầy đủ chi tiết kỹ thuật khi có lỗi không mong đợi.")
@click.pass_context
def cli(ctx: click.Context, root: Path | None, verbose: bool) -> None:
    """baocao: biểu mẫu, tiếp nhận, kiểm tra, tổng hợp và báo cáo định kỳ của kế hoạch.

    Xem hướng dẫn từng lệnh: python -m pipeline LỆNH --help
    """
    ctx.obj = Project(root, verbose)


def _echo_table(frame, rows=None) -> None:
    """Left-aligned columns, as an officer reads a table: a DataFrame, or its header (a list of
    column names) followed by `rows` (lists of values), which needs no pandas."""
    if rows is None:
        header, rows = list(frame.columns), list(frame.itertuples(index=False))
    else:
        header, rows = list(frame), list(rows)
    if not rows or not header:
        click.echo("(không có dòng nào)")
        return
    cells = [[str(c) for c in header]] + [[str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))


@cli.command()
@pass_project
def matrix(project: Project) -> None:
    """Biểu phân công nhiệm vụ, cơ quan chủ trì và phối hợp đã đối chiếu với đơn vị báo cáo.

    Ví dụ: python -m pipeline matrix
    """
    from pipeline.reference.views import matrix_table

    _echo_table(matrix_table(project.matrix, project.registry))


@cli.command()
@pass_project
def units(project: Project) -> None:
    """Danh sách đơn vị báo cáo: sở, ngành (inputs/departments.csv) và xã, phường (danh mục chính thức).

    Ví dụ: python -m pipeline units
    """
    from pipeline.reference.units import COMMUNE, DEPARTMENT

    registry = project.registry   # its rows: neither pandas nor pandera for an unchanged list
    kinds = {COMMUNE: "xã/phường", DEPARTMENT: "sở, ngành"}
    _echo_table(["Mã", "Tên đơn vị", "Loại", "Từ kỳ", "Email"],
                [[u.id, u.name, kinds[u.kind], u.active_from, u.email] for u in registry.rows])
    click.echo(f"\n{registry.count(DEPARTMENT)} sở, ngành; {registry.count(COMMUNE)} xã/phường.")


_PERIOD = click.option("--period", "period_code", required=True, type=PERIOD,
                       help="Mã kỳ báo cáo: 2026S1 (6 tháng đầu năm) hoặc 2026 (cả năm).")


@cli.command()
@_PERIOD
@click.option("--unit", "unit_id", default=None, type=UNIT,
              help="Chỉ một đơn vị: mã (03405, 3405, 12-SYT) hoặc tên (Tả Lèng, ta leng); xem lệnh units.")
@pass_project
def obligations(project: Project, period_code: str, unit_id: str | None) -> None:
    """Nhiệm vụ mỗi đơn vị phải báo cáo trong kỳ, với vai trò chủ trì hay phối hợp.

    Ví dụ: python -m pipeline obligations --period 2026S1 --unit 03405
    """
    from pipeline.reference.obligations import obligations as owed

    period = project.period(period_code)
    frame = owed(project.matrix, project.registry, period, unit_id)
    names = project.registry.units.set_index("id")["name"]
    table = frame.assign(
        unit=frame["unit_id"].map(names),
        due=frame["due"].map({True: "đến hạn", False: "chưa đến hạn"}),
    )[["unit_id", "unit", "task_id", "role", "timeframe", "due"]]
    _echo_table(table.rename(columns={"unit_id": "Mã ĐV", "unit": "Đơn vị", "task_id": "Nhiệm vụ",
                                      "role": "Vai trò", "timeframe": "Thời gian", "due": "Kỳ này"}))
    click.echo(f"\nKỳ {period.label} ({dmy(period.window_start)}-{dmy(period.cutoff)}), "
               f"hạn nộp {dmy(period.deadline)}: {frame['unit_id'].nunique()} đơn vị, {len(frame)} dòng nhiệm vụ.")


@cli.command()
@_PERIOD
@click.option("--unit", "unit_id", default=None, type=UNIT,
              help="Chỉ biểu mẫu của đơn vị này: mã hoặc tên (xem lệnh units).")
@pass_project
def templates(project: Project, period_code: str, unit_id: str | None) -> None:
    """Biểu mẫu trống (có khóa bảo vệ) cho mọi đơn vị phải báo cáo, kèm danh sách biểu mẫu.

    Ghi outputs/templates/<kỳ>/<kỳ>_<mã đơn vị>_<tên>.xlsx và danh-sach-bieu-mau.csv.

    Ví dụ: python -m pipeline templates --period 2026S1
    """
    from pipeline.forms.templates import MANIFEST_NAME, templates_dir, write_templates

    period = project.period(period_code)
    rows = write_templates(project, period, unit_id)
    import pandas as pd

    _echo_table(pd.DataFrame(rows)[["Mã đơn vị", "Tên đơn vị", "Tệp", "Số nhiệm vụ", "Số chỉ tiêu"]])
    folder = templates_dir(project.settings, period)
    click.echo(f"\nĐã tạo {len(rows)} biểu mẫu kỳ {period.label} (hạn nộp {dmy(period.deadline)}) "
               f"trong {folder}; danh sách: {folder / MANIFEST_NAME}")


_SEND = click.option("--send", is_flag=True,
                     help="Gửi thật qua máy chủ thư (SMTP). Không có --send: chỉ chạy thử, ghi thư thành "
                          "tệp .eml trong outputs/mail/ để kiểm tra trước.")
_NO_INGEST = click.option("--no-ingest", is_flag=True,
                          help="Không tiếp nhận tệp mới trước: dừng lại nếu còn tệp chờ trong thư mục của kỳ.")
_RESEND = click.option("--resend", is_flag=True, help="Gửi lại cả cho đơn vị đã nhận thư này.")


def _echo_mail_report(report) -> None:
    for line in report.lines():
        click.echo(line)
    if report.dry_run:
        unset = _mail_unset(click.get_current_context().find_object(Project).settings)
        if unset:
            click.echo(f"Trước khi gửi thật (--send): {unset}.")


def _mail_unset(settings) -> str:
    """What the mailbox settings still lack for --send, in the officer's words ('' when nothing)."""
    import os

    cfg = settings.mail
    keys = [f"[mail] {key}" for key in ("from_address", "smtp_host") if not getattr(cfg, key)]
    said = [f"điền {', '.join(keys)} trong inputs/config.toml"] if keys else []
    if cfg.smtp_auth and not os.environ.get(cfg.smtp_password_env):
        said.append(f"đặt mật khẩu hộp thư vào biến môi trường {cfg.smtp_password_env}")
    return "; ".join(said)


@cli.command()
@_PERIOD
@click.option("--unit", "unit_id", default=None, type=UNIT,
              help="Chỉ đơn vị này: mã hoặc tên (xem lệnh units).")
@_SEND
@_RESEND
@pass_project
def distribute(project: Project, period_code: str, unit_id: str | None, send: bool, resend: bool) -> None:
    """Gửi thư điện tử cho mỗi đơn vị kèm biểu mẫu trống của đơn vị (tạo biểu mẫu nếu chưa có).

    Không có --send: ghi thư vào outputs/mail/<kỳ>/distribute/ để kiểm tra trước (chạy được cả khi
    chưa khai báo hộp thư). Mật khẩu SMTP đọc từ biến môi trường ghi ở [mail] smtp_password_env.

    Ví dụ: python -m pipeline distribute --period 2026S1 --send
    """
    from pipeline.mail.compose import DISTRIBUTE
    from pipeline.mail.messages import distribution
    from pipeline.mail.send import send_messages

    period = project.period(period_code)
    items = distribution(project, period, unit_id)
    _echo_mail_report(send_messages(project.settings, DISTRIBUTE, period, items, send=send, resend=resend))


@cli.command("send-feedback")
@_PERIOD
@click.option("--unit", "unit_id", default=None, type=UNIT,
              help="Chỉ đơn vị này: mã hoặc tên (xem lệnh units).")
@click.option("--folder", type=FOLDER, default=None,
              help="Thư mục chứa các tệp phản hồi (mặc định: outputs/<kỳ>/phan-hoi/).")
@_SEND
@_RESEND
@_NO_INGEST
@pass_project
def send_feedback(project: Project, period_code: str, unit_id: str | None, folder: Path | None,
                  send: bool, resend: bool, no_ingest: bool) -> None:
    """Gửi mỗi đơn vị tệp phản hồi kết quả kiểm tra, kèm tóm tắt những ô cần sửa.

    Tệp gửi cho đơn vị có mã trong tên tệp; tệp phản hồi mới là một thư mới.

    Ví dụ: python -m pipeline send-feedback --period 2026S1 --send
    """
    from pipeline.mail.compose import FEEDBACK
    from pipeline.mail.messages import feedback
    from pipeline.mail.send import send_messages

    period = project.period(period_code)
    _ingest_first(project, period, no_ingest)
    items = feedback(project, period, folder, unit_id)
    _echo_mail_report(send_messages(project.settings, FEEDBACK, period, items, send=send, resend=resend))


@cli.command("send-reminders")
@_PERIOD
@click.option("--unit", "unit_ids", multiple=True, type=UNIT,
              help="Gửi cho đơn vị này thay cho danh sách của lần rà soát; ghi lại tùy chọn cho mỗi đơn vị.")
@click.option("--letter", type=FILE, default=None,
              help="Công văn đôn đốc đã ký, đóng dấu (PDF hoặc DOCX); số và ngày đọc từ tên tệp "
                   "(123-SYT-NVY 20-06-2026.pdf) nếu không ghi bằng --so và --ngay.")
@click.option("--so", "number", default=None, help="Số, ký hiệu của công văn đã ký, ví dụ 123/SYT-NVY.")
@click.option("--ngay", "letter_day", type=DATE, default=None, help="Ngày ký công văn, dạng 20/06/2026.")
@click.option("--draft", is_flag=True,
              help="Gửi bản dự thảo chưa ký do lệnh audit lập (outputs/<kỳ>/cong-van-don-doc-<kỳ>.docx).")
@click.option("--new-deadline", type=DATE, default=None,
              help="Hạn nộp mới ghi trong thư, dạng 26/06/2026 (mặc định: hạn trong công văn của lệnh audit).")
@_SEND
@_RESEND
@_NO_INGEST
@pass_project
def send_reminders(project: Project, period_code: str, unit_ids: tuple[str, ...], letter: Path | None,
                   number: str | None, letter_day, draft: bool, new_deadline, send: bool, resend: bool,
                   no_ingest: bool) -> None:
    """Gửi công văn đôn đốc tới các đơn vị lệnh audit nêu tên.

    Chạy audit trước: danh sách đơn vị và hạn nộp mới lấy từ tệp tinh-hinh-nop-bao-cao.csv của lệnh đó.
    Gửi thật cần công văn đã ký (--letter) hoặc ghi rõ --draft; chạy thử thì dùng được cả hai.

    Ví dụ: python -m pipeline send-reminders --period 2026S1 --letter "123-SYT-NVY 20-06-2026.pdf" --send
    """
    from pipeline.common.errors import MailError
    from pipeline.mail.compose import REMINDER
    from pipeline.mail.messages import audit_addressees, reminder_letter_path, reminders, signed_letter
    from pipeline.mail.send import send_messages

    if letter and draft:
        raise MailError("Chọn một trong hai: --letter (công văn đã ký) hoặc --draft (bản dự thảo), không dùng cả hai.")
    if send and not (letter or draft):
        raise MailError("Gửi công văn đôn đốc cần bản đã ký: thêm --letter <tệp PDF hoặc DOCX đã ký> (số và ngày "
                        "đọc từ tên tệp, hoặc ghi bằng --so và --ngay), hoặc --draft để gửi bản dự thảo; "
                        "chưa gửi thư nào.")
    if (number or letter_day) and not letter:
        raise MailError("--so và --ngay đi cùng --letter (công văn đã ký).")
    period = project.period(period_code)
    _ingest_first(project, period, no_ingest)
    chosen = (signed_letter(letter, number, letter_day.date() if letter_day else None) if letter
              else reminder_letter_path(project.settings, period))
    if unit_ids:
        ids, statuses, deadline = list(unit_ids), {}, None
    else:
        addressed = audit_addressees(project.settings, period)
        ids, statuses, deadline = addressed.unit_ids, addressed.statuses, addressed.new_deadline
        ids = _still_owing(project, period, ids)
        if not ids:
            click.echo(f"Lần kiểm tra gần nhất kỳ {period.code} không có đơn vị nào cần đôn đốc: không gửi thư nào.")
            return
    items = reminders(project.registry, chosen, ids, statuses, new_deadline.date() if new_deadline else deadline)
    _echo_mail_report(send_messages(project.settings, REMINDER, period, items, send=send, resend=resend))


def _still_owing(project: Project, period, ids: list[str]) -> list[str]:
    """The audit's addressees that still have no accepted report today: a unit whose file came
    after the audit is not sent a reminder."""
    from pipeline.audit.status import submission_status

    from pipeline.store.lock import lock_state

    status = submission_status(project, period).set_index("unit_id")
    lock = lock_state(project.settings, period)
    after_lock = {r["unit_id"] for r in lock.after} if lock is not None else set()   # sent, though too late to count
    sent = [u for u in ids if u in after_lock or (u in status.index and not status.at[u, "needs_reminder"])]
    if sent:
        click.echo(f"Không gửi thư đôn đốc cho {len(sent)} đơn vị đã có báo cáo sau lần kiểm tra gần nhất: "
                   f"{', '.join(sent)}.")
    return [u for u in ids if u not in sent]


@cli.command()
@_PERIOD
@click.option("--since", type=DATE, default=None,
              help="Đọc thư từ ngày này, dạng 20/05/2026 (mặc định: một ngày trước khi gửi biểu mẫu).")
@pass_project
def collect(project: Project, period_code: str, since) -> None:
    """Lưu các bảng tính đơn vị gửi vào hộp thư về inputs/submissions/<kỳ>/.

    Đọc qua IMAP, không thay đổi hộp thư; ghi ngày nhận từng tệp vào so-den.csv; chạy lại không lấy
    trùng. Mật khẩu đọc từ biến môi trường ghi ở [mail] imap_password_env.

    Ví dụ: python -m pipeline collect --period 2026S1
    """
    from pipeline.mail.collect import collect as collect_mail, known_addresses

    period = project.period(period_code)
    report = collect_mail(project.settings, period, since.date() if since else None,
                          known_addresses(project.registry))
    for line in report.lines():
        click.echo(line)


@cli.command()
@_PERIOD
@click.option("--progress/--no-progress", default=None,
              help="Hiện thanh tiến độ (mặc định: chỉ khi có nhiều tệp).")
@click.argument("others", nargs=-1, type=EXISTING_FOLDER, metavar="[THƯ_MỤC_DỰ_ÁN_KHÁC]...")
@pass_project
def ingest(project: Project, period_code: str, progress: bool | None, others: tuple[Path, ...]) -> None:
    """Tiếp nhận và kiểm tra các tệp trong inputs/submissions/<kỳ>/, ghi vào sổ cái.

    Ghi outputs/<kỳ>/kiem-tra.xlsx (mọi lỗi, cảnh báo) và, cho mỗi đơn vị có tệp cần sửa,
    outputs/<kỳ>/phan-hoi/<kỳ>_<mã đơn vị>_<tên>_phan-hoi.xlsx để gửi lại đơn vị.

    Thư mục dự án của tỉnh khác ghi kèm (như lệnh rollup) được tiếp nhận trong cùng lần chạy,
    mỗi tỉnh vào sổ cái và thư mục kết quả của mình.

    Ví dụ: python -m pipeline ingest --period 2026S1
    """
    from pipeline.intake.ingest import Source, ingest_many
    from pipeline.intake.receive import submissions_dir

    projects = {project.settings.root: project}   # a folder named twice (or this one) is ingested once
    for root in others:
        projects.setdefault(root.resolve(), Project(root, project.verbose))
    sources = [Source(p, p.period(period_code))
               for p in projects.values()]
    for source in sources:  # a mistyped period writes nothing, not an empty check workbook
        folder = submissions_dir(source.settings, source.period)
        if not folder.is_dir():
            raise BaocaoError(f"Không có thư mục {folder}: kỳ {source.period.code} chưa có tệp nào. Kiểm tra lại mã "
                              "kỳ, hoặc tạo thư mục này và chép vào đó các tệp đơn vị gửi rồi chạy lại.")
    reports = ingest_many(sources, progress=progress)
    for n, (source, report) in enumerate(zip(sources, reports)):
        if len(sources) > 1:
            click.echo(("\n" if n else "") + f"== {source.settings.province_name} ({source.settings.root}) ==")
        _echo_ingest_report(source, report)


def _echo_ingest_report(source, report) -> None:
    import pandas as pd

    from pipeline.intake.feedback import summary_rows
    from pipeline.store.ledger import ACCEPTED, REJECTED, WARNED

    period = source.period
    if report.files_seen == 0:
        from pipeline.intake.receive import submissions_dir

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


def _ingest_first(project: Project, period, no_ingest: bool) -> None:
    """Ingests what is new in the period's folder, with the same summary as `ingest`, or, with
    --no-ingest, stops while files wait (pipeline/audit/status.py: ingest_waiting)."""
    from pipeline.audit.status import ingest_waiting
    from pipeline.intake.ingest import Source

    report = ingest_waiting(project, period, refuse=no_ingest)
    if report is not None:
        _echo_ingest_report(Source(project, period), report)
        click.echo("")


@cli.command()
@click.option("--unit", "unit_id", required=True, type=UNIT,
              help="Đơn vị: mã (03405, 3405) hoặc tên (Tả Lèng); xem lệnh units.")
@_PERIOD
@_NO_INGEST
@pass_project
def history(project: Project, unit_id: str, period_code: str, no_ingest: bool) -> None:
    """Các bản một đơn vị đã gửi trong kỳ và những giá trị thay đổi giữa các bản.

    Ví dụ: python -m pipeline history --unit 03405 --period 2026S1
    """
    import pandas as pd

    from pipeline.intake.feedback import outcome_label
    from pipeline.store.ledger import Ledger, version_changes

    period = project.period(period_code)
    unit = project.registry.get(unit_id)
    _ingest_first(project, period, no_ingest)
    path = project.settings.path("ledger")
    if not path.is_file():
        click.echo(f"Chưa có sổ cái {path}: chạy python -m pipeline ingest --period {period.code} trước.")
        return
    from pipeline.store.lock import lock_state

    state = lock_state(project.settings, period)
    late = {r["id"] for r in state.after if not r["counted"]} if state is not None else set()
    with Ledger(path, readonly=True) as ledger:
        versions = ledger.versions(unit_id, period.code)
        click.echo(f"{unit['name']} ({unit_id}), kỳ {period.label}: {len(versions)} bản đã nhận.\n")
        if not versions:
            return
        _echo_table(pd.DataFrame([{
            "Bản": v["version"] or f"bản ký ({v['format']})", "Tệp": v["original_name"], "Ngày nhận": dmy(pd.Timestamp(v['receipt_date'])),
            "Kết quả": outcome_label(v["outcome"]), "Lỗi": v["errors"], "Cảnh báo": v["warnings"],
            "Trạng thái": "đang dùng" if v["is_current"] else ("đã thay thế" if v["superseded"] else
                                                                 "nhận sau khi khoá kỳ" if v["id"] in late else ""),
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
@click.option("--period", "period_code", default=None, type=PERIOD,
              help="Mã kỳ báo cáo: 2026S1 (6 tháng đầu năm) hoặc 2026 (cả năm).")
@click.option("--as-of", type=DATE, default=None,
              help="Rà soát tính đến ngày này, dạng 20/06/2026 (mặc định: hôm nay): chỉ tính tệp nhận đến ngày đó.")
@click.option("--new-deadline", type=DATE, default=None,
              help="Hạn nộp mới ghi trong công văn đôn đốc, dạng 26/06/2026 (mặc định: ngày rà soát cộng "
                   "[audit] new_deadline_days).")
@click.option("--history", "show_history", is_flag=True,
              help="Bảng đơn vị × kỳ của mọi kỳ trong sổ cái; ghi outputs/lich-su-nop-bao-cao.html.")
@_NO_INGEST
@pass_project
def audit(project: Project, period_code: str | None, as_of, new_deadline, show_history: bool,
          no_ingest: bool) -> None:
    """Đơn vị nộp đúng hạn, muộn, chưa nộp hay không đạt; công văn đôn đốc đơn vị chưa có báo cáo.

    Ghi outputs/<kỳ>/tinh-hinh-nop-bao-cao.xlsx, tinh-hinh-nop-bao-cao.csv (để trộn thư) và
    cong-van-don-doc-<kỳ>.docx gửi mọi đơn vị chưa có báo cáo đạt yêu cầu.

    Ví dụ: python -m pipeline audit --period 2026S1 --as-of 2026-06-20
    """
    from pipeline.audit.status import submission_history, submission_status, unidentified_files
    from pipeline.audit.legend import AuditError
    from pipeline.audit.outputs import write_audit
    from pipeline.audit.page import write_history_page
    from pipeline.audit.terminal import history_lines, status_lines, use_colour
    from pipeline.common.clock import today

    if not period_code and not show_history:
        raise AuditError("Cần chọn kỳ (--period 2026S1) hoặc xem lịch sử các kỳ (--history).")
    day = as_of.date() if as_of else today(project.settings)
    colour = use_colour(sys.stdout)
    if period_code:
        period = project.period(period_code)
        _ingest_first(project, period, no_ingest)
        status = submission_status(project, period, day)
        for line in status_lines(period, status, day, colour):
            click.echo(line, color=colour)
        unknown = unidentified_files(project.settings.path("ledger"), period.code, day,
                                     project.settings.province_code)
        if unknown:
            click.echo(f"Có {len(unknown)} tệp không xác định được đơn vị gửi ({', '.join(unknown)}): đơn vị \"chưa nộp\" "
                       f"có thể đã gửi một trong các tệp này; xem {period.code}/kiem-tra.xlsx.")
        late = _echo_after_lock(project, period)
        # a unit whose file came after the lock has sent: it is not reminded (its status stays the issued one)
        status.loc[status["unit_id"].isin(late), "needs_reminder"] = False
        written = write_audit(project.settings, period, status, day, new_deadline.date() if new_deadline else None)
        click.echo(f"\nTình hình nộp: {written.workbook}\nDanh sách trộn thư: {written.csv}")
        if written.letter:
            names = status.set_index("unit_id").loc[written.addressed, "short_name"].tolist()
            click.echo(f"Công văn đôn đốc ({len(names)} đơn vị, hạn mới {dmy(written.new_deadline)}): "
                       f"{written.letter}\n  Gửi tới: {', '.join(names)}")
            _echo_kept_edits(written.letter)
            units = " ".join(written.addressed)
            click.echo(f'  Gửi thư: make send-reminders PERIOD={period.code} UNITS="{units}"')
        else:
            click.echo("Không có đơn vị nào cần đôn đốc"
                       + (" (đã xoá công văn đôn đốc cũ)." if written.removed_letter else "."))
    if show_history:
        if period_code:
            click.echo("")
        history = submission_history(project, day)
        for line in history_lines(history, colour):
            click.echo(line, color=colour)
        if history.periods:
            click.echo(f"\nTrang lịch sử: {write_history_page(project.settings, history, day)}")


def _echo_after_lock(project: Project, period) -> set[str]:
    """For a locked period: the files received after the lock (the issued report does not count
    them). Returns the units that sent them."""
    import pandas as pd

    from pipeline.store.lock import lock_state

    state = lock_state(project.settings, period)
    if state is None:
        return set()
    click.echo(f"\nKỳ {period.code} đã khoá ngày {dmy(state.locked_on)} (báo cáo đã phát hành, số liệu tính đến ngày "
               f"{dmy(state.as_of)}): {len(state.after)} tệp nhận sau khi khoá.")
    if state.after:
        names = project.registry.name_of
        _echo_table(pd.DataFrame([{
            "Tệp": r["original_name"], "Đơn vị": names.get(r["unit_id"], "") if r["unit_id"] else "(không xác định)",
            "Ngày nhận": dmy(pd.Timestamp(r['receipt_date'])),
            "Tính vào báo cáo": "có (được chấp thuận)" if r["counted"] else "không",
        } for r in state.after]))
    return {r["unit_id"] for r in state.after if r["unit_id"]}


def _echo_kept_edits(written: Path) -> None:
    from pipeline.common.issued import kept_edits_notice

    if notice := kept_edits_notice(written):
        click.echo(notice)


_FORCE = click.option("--force", is_flag=True, default=False,
                      help="Vẫn lập báo cáo (ghi DỰ THẢO) khi tỷ lệ đơn vị có báo cáo dưới [report] min_completeness.")
_AS_OF = click.option("--as-of", type=DATE, default=None,
                      help="Tình hình nộp báo cáo (phụ lục III) tính đến ngày này, dạng 25/06/2026 "
                           "(mặc định: hôm nay).")


def _report(project: Project, period, as_of, no_ingest: bool = False, force: bool = False) -> None:
    """Ingests what is new, then consolidates and writes the period's reports (semiannual, annual);
    below [report] min_completeness, stops with one line unless `force` (a draft). A locked period
    is rebuilt from the figures as they were at the lock."""
    from contextlib import nullcontext

    from pipeline.report import reuse
    from pipeline.report.drawing import second_process

    # The chart-drawing process starts first, before this one imports pandas: it imports matplotlib
    # meanwhile, and waits while this one ingests; not when the kept rendering will probably do
    # (nothing received or written since: the rerun), where it would be ended unused.
    settings = project.settings
    halves = [period.first_half(settings), period] if period.is_annual else [period]
    # (intake.receive.submissions_dir's folders, spelled here: importing it costs 25 ms before the fork)
    received = {half.code: settings.path("submissions") / half.code for half in halves}
    likely = reuse.probably_kept(reuse.cache_dir(settings, period.code),
                                 [*received.values(), settings.root / "inputs" / "bao-cao", settings.root / "templates"])
    with (nullcontext() if likely else second_process()) as beside:
        from pipeline.report.build import report_period

        # (an annual report ingests the first half too, when it has a folder: the comparison reads it)
        for each in halves:
            if each is period or received[each.code].is_dir():
                _ingest_first(project, each, no_ingest)
        run = report_period(project, period, as_of.date() if as_of else None, force, beside)
    from pipeline.report.model import officer_text_line

    lock, out = run.lock, run.outputs
    if lock is not None:
        day = out.data.as_of
        click.echo(f"Kỳ {period.code} đã khoá ngày {dmy(lock.locked_on)}: báo cáo được tạo lại từ số liệu lúc khoá "
                   f"(tính đến ngày {dmy(day)})" + (f", không theo --as-of {dmy(as_of)}" if as_of else "")
                   + (f"; tính cả tệp của đơn vị được chấp thuận nộp muộn: {', '.join(lock.exceptions)}"
                      if lock.exceptions else "") + ".")
    if run.not_recorded:
        click.echo(f"Lưu ý: lần lập báo cáo này không được ghi vào sổ cái ({run.not_recorded}); "
                   "chưa khoá kỳ theo bản này được.")
    k, r = out.data.consolidation, out.data.rates
    click.echo(f"Tổng hợp {period.label}: {r.accepted}/{r.expected} đơn vị có báo cáo đạt yêu cầu; "
               f"{len(k.tasks)} nhiệm vụ, {len(k.indicators)} chỉ tiêu."
               + (" Bản DỰ THẢO (chưa đủ số đơn vị báo cáo)." if out.data.draft else ""))
    click.echo(officer_text_line(out.data))
    for warning in out.data.officer[2]:
        click.echo(f"  {warning}")
    for finding in k.findings.itertuples(index=False):
        click.echo(f"  Cần kiểm tra (không đưa vào báo cáo): {finding.message}")
    click.echo(f"Báo cáo (Word): {out.word}\nBảng tổng hợp (Excel): {out.excel}\nTrang HTML: {out.html}")
    if lock is not None:
        changed = run.changed
        click.echo("Trùng khớp từng byte với bản đã phát hành." if not changed else
                   "Khác bản đã phát hành" + (" (do tệp được chấp thuận nộp muộn)" if lock.exceptions else "")
                   + f": {', '.join(changed)}.")
    _echo_kept_edits(out.word)

@cli.command()
@click.option("--period", "period_code", required=True, type=PERIOD,
              help="Mã kỳ 6 tháng, ví dụ 2026S1.")
@_AS_OF
@_NO_INGEST
@_FORCE
@pass_project
def semiannual(project: Project, period_code: str, as_of, no_ingest: bool, force: bool) -> None:
    """Tiếp nhận tệp mới, tổng hợp và lập báo cáo 6 tháng.

    Ghi outputs/<kỳ>/bao-cao-6-thang-dau-nam-<năm>.docx (thể thức văn bản, theo mẫu
    templates/bao-cao.docx), tong-hop-<kỳ>.xlsx và bao-cao-6-thang-dau-nam-<năm>.html.

    Ví dụ: python -m pipeline semiannual --period 2026S1
    """
    from pipeline.common.errors import PeriodError

    period = project.period(period_code)
    if period.is_annual:
        raise PeriodError(f"Kỳ {period.code} là kỳ cả năm: dùng python -m pipeline annual --year {period.year}")
    _report(project, period, as_of, no_ingest, force)


@cli.command()
@click.option("--year", required=True, type=YEAR, help="Năm báo cáo, ví dụ 2026.")
@_AS_OF
@_NO_INGEST
@_FORCE
@pass_project
def annual(project: Project, year: int, as_of, no_ingest: bool, force: bool) -> None:
    """Tiếp nhận tệp mới, tổng hợp và lập báo cáo năm, so sánh với 6 tháng đầu năm và năm trước.

    Ghi outputs/<năm>/bao-cao-nam-<năm>.docx, tong-hop-<năm>.xlsx và bao-cao-nam-<năm>.html.

    Ví dụ: python -m pipeline annual --year 2026
    """
    _report(project, project.period(str(year)), as_of, no_ingest, force)


@cli.command()
@_PERIOD
@click.option("--cho-phep", "exceptions", multiple=True, type=UNIT,
              help="Đơn vị được chấp thuận: tệp nhận sau khi khoá vẫn được tính; ghi lại tùy chọn cho mỗi đơn vị.")
@pass_project
def lock(project: Project, period_code: str, exceptions: tuple[str, ...]) -> None:
    """Khoá kỳ đã phát hành báo cáo: số liệu của kỳ giữ nguyên như khi phát hành.

    Ghi vào sổ cái mã băm của từng báo cáo lập lần cuối trong outputs/<kỳ>/, ngày tính số liệu và
    các tệp đã dùng. Tệp đến sau vẫn được lưu và kiểm tra nhưng không được tính; báo cáo của kỳ được
    lập lại giống hệt từng byte. Với kỳ đã khoá, --cho-phep thêm đơn vị được chấp thuận.

    Ví dụ: python -m pipeline lock --period 2026S1 --cho-phep 03405
    """
    from pipeline.store.lock import lock_period

    period = project.period(period_code)
    result = lock_period(project, period, list(exceptions))
    if result.added_to:
        click.echo(f"Kỳ {period.code} đã khoá; đơn vị được chấp thuận nộp muộn: {', '.join(result.exceptions)}.")
        return
    click.echo(f"Đã khoá kỳ {period.label} ({period.code}): {len(result.files)} tệp báo cáo đã phát hành "
               f"({', '.join(result.files)}), số liệu tính đến ngày {dmy(result.as_of)}.")
    for name in result.edited:
        click.echo(f"Lưu ý: tệp {name} đã được sửa sau khi chương trình tạo; khi tạo lại, chương trình ra bản gốc "
                   "(không có phần sửa tay).")
    if result.exceptions:
        click.echo(f"Đơn vị được chấp thuận nộp muộn: {', '.join(result.exceptions)}.")
    click.echo(f"Tệp nhận sau khi khoá vẫn được lưu và kiểm tra nhưng không được tính. Mở lại: "
               f"python -m pipeline unlock --period {period.code} --ly-do \"…\"")


@cli.command()
@_PERIOD
@click.option("--ly-do", "reason", required=True, help="Lý do mở lại kỳ (ghi vào sổ cái).")
@pass_project
def unlock(project: Project, period_code: str, reason: str) -> None:
    """Mở lại kỳ đã khoá, ghi rõ lý do: các tệp nhận sau khi khoá lại được tính.

    Ví dụ: python -m pipeline unlock --period 2026S1 --ly-do "UBND tỉnh yêu cầu bổ sung số liệu"
    """
    from pipeline.store.lock import unlock_period

    period = project.period(period_code)
    state = unlock_period(project.settings, period, reason)
    waiting = [r for r in state.after if not r["counted"]]
    click.echo(f"Đã mở khoá kỳ {period.code} (lý do: {' '.join(reason.split())}); {len(waiting)} tệp nhận sau khi khoá "
               "nay được tính. Tạo lại báo cáo để cập nhật số liệu.")


@cli.command()
@_PERIOD
@click.option("--as-of", type=DATE, default=None,
              help="Tình hình nộp tính đến ngày này, dạng 20/06/2026 (mặc định: hôm nay).")
@click.option("--out", type=FOLDER, default=None,
              help="Ghi thêm hai bảng dạng CSV vào thư mục này.")
@click.argument("others", nargs=-1, type=EXISTING_FOLDER, metavar="[THƯ_MỤC_DỰ_ÁN_KHÁC]...")
@pass_project
def rollup(project: Project, period_code: str, as_of, out: Path | None, others: tuple[Path, ...]) -> None:
    """Tổng hợp toàn quốc: mức đầy đủ và tổng các chỉ tiêu theo từng tỉnh và cả nước.

    Các tỉnh là dự án này và các thư mục dự án ghi kèm (mỗi tỉnh có biểu phân công, danh sách đơn
    vị riêng); sổ cái của mỗi tỉnh được đọc một lần.

    Ví dụ: python -m pipeline rollup --period 2026S1 ../dien-bien ../son-la
    """
    from pipeline.report.rollup import ProvinceData, indicator_table, rollup as roll_up

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


@cli.command()
@_PERIOD
@click.option("--revoke", "revoked", multiple=True, type=UNIT,
              help="Thu hồi đường dẫn cũ của đơn vị này và cấp đường dẫn mới; ghi lại tùy chọn cho mỗi đơn vị.")
@pass_project
def links(project: Project, period_code: str, revoked: tuple[str, ...]) -> None:
    """Đường dẫn nộp báo cáo qua trang web cho từng đơn vị (mỗi đơn vị, mỗi kỳ một đường dẫn riêng).

    Ghi outputs/<kỳ>/duong-dan-nop-bao-cao.csv (mã, tên, email, đường dẫn). Chạy lại giữ nguyên
    đường dẫn đã cấp; sổ cái chỉ lưu mã băm, nên hãy giữ kín tệp này như giữ mật khẩu.

    Ví dụ: python -m pipeline links --period 2026S1 --revoke 03405
    """
    from pipeline.mail.links import write_links
    from pipeline.web.settings import load_web_settings

    period = project.period(period_code)
    web = load_web_settings(project.settings)
    result = write_links(project, period, web.base_url(), list(revoked))
    for unit_id in result.revoked:
        click.echo(f"Đã thu hồi đường dẫn cũ của {project.registry.name_of.get(unit_id, unit_id)} ({unit_id}).")
    click.echo(f"Kỳ {period.label}: {len(result.rows)} đơn vị có đường dẫn nộp báo cáo, {len(result.issued)} đường dẫn "
               f"mới cấp. Danh sách: {result.path}")
    if not web.public_url:
        click.echo("Lưu ý: chưa ghi [web] public_url trong inputs/config.toml, đường dẫn dùng địa chỉ của máy này "
                   f"({web.base_url()}): đơn vị ở nơi khác chỉ mở được khi có địa chỉ công khai.")


@cli.command()
@click.option("--host", default=None, help="Địa chỉ lắng nghe (mặc định: [web] host, thường là 127.0.0.1).")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Cổng (mặc định: [web] port, thường là 8000).")
@click.option("--no-browser", is_flag=True, help="Không tự mở trình duyệt.")
@pass_project
def serve(project: Project, host: str | None, port: int | None, no_browser: bool) -> None:
    """Mở trang web của chương trình: trang làm việc của cán bộ và trang nộp báo cáo của đơn vị.

    Trang cán bộ chỉ mở trên chính máy này, trừ khi [web] officer_password_env chỉ tên biến môi
    trường chứa mật khẩu. Dừng bằng Ctrl+C.

    Ví dụ: python -m pipeline serve --port 8000
    """
    from pipeline.web.server import serve as run_server

    run_server(project, host=host, port=port, open_browser=not no_browser, echo=click.echo)

