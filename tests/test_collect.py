"""Collecting submissions from a real IMAP mailbox (Dovecot on loopback, filled by IMAP APPEND):
every spreadsheet kind, zips, duplicates, hostile names; nothing changed in the mailbox; a rerun
takes nothing twice; no password anywhere."""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import io
import sqlite3
import zipfile
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import openpyxl
import pytest
from click.testing import CliRunner

from mail_servers import (IMAP_PASSWORD, SMTP_PASSWORD, certificate, configure_mail, imap_config,  # noqa: F401
                          imap_server, imap_tls_server, set_emails, smtp_config, smtp_server)
from pipeline.cli.main import cli
from pipeline.mail.collect import imap_utf7, safe_file_name, unpack_zip
from pipeline.intake.register import read_register
from pipeline.common.filetypes import OLE_MAGIC

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")



def run(project, *args):
    return CliRunner().invoke(cli, ["--root", str(project), *args])


def workbook(text: str) -> bytes:
    book = openpyxl.Workbook()
    book.active["A1"] = text
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def ods(text: str) -> bytes:
    """A minimal OpenDocument spreadsheet: the mimetype entry first and stored, as the format requires."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", f'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
                                        f'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">'
                                        f'<office:body><office:spreadsheet>{text}</office:spreadsheet>'
                                        f'</office:body></office:document-content>')
        archive.writestr("META-INF/manifest.xml", "<manifest/>")
    return buffer.getvalue()


def xls(text: str) -> bytes:
    """A stand-in for a legacy .xls: the OLE2 container signature, which is what collecting checks."""
    return OLE_MAGIC + text.encode("utf-8").ljust(504, b"\0")


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def submission(sender: str, subject: str, files: list[tuple[str, bytes]] = (), *,
               date: str = "Tue, 16 Jun 2026 09:15:00 +0700", message_id: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "baocao@syt.example.vn"
    message["Subject"] = subject
    message["Date"] = date
    message["Message-ID"] = message_id or make_msgid(domain="laichau.example.vn")
    message.set_content("Kính gửi Sở Y tế,\nđơn vị gửi báo cáo kèm theo.\n")
    for name, data in files:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes(policy=email.policy.SMTP)


def outlook_style(sender: str, name: str, data: bytes) -> bytes:
    """An attachment name as RFC 2047 encoded-words inside quotes (what Outlook writes)."""
    encoded = "=?utf-8?B?" + base64.b64encode(name.encode("utf-8")).decode() + "?="
    body = base64.encodebytes(data).decode().replace("\n", "\r\n")
    return (f"From: {sender}\r\nTo: baocao@syt.example.vn\r\nSubject: =?utf-8?B?"
            f"{base64.b64encode('Báo cáo 6 tháng Xã Bình Lư'.encode()).decode()}?=\r\n"
            f"Date: Thu, 18 Jun 2026 16:59:00 +0700\r\nMessage-ID: <outlook-1@laichau.example.vn>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
            f"--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBáo cáo\r\n"
            f"--XYZ\r\nContent-Type: application/vnd.ms-excel; name=\"{encoded}\"\r\n"
            f"Content-Disposition: attachment; filename=\"{encoded}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            f"{body}--XYZ--\r\n").encode("utf-8")


@pytest.fixture
def mailbox_project(project, imap_server, monkeypatch):  # noqa: F811
    configure_mail(project, **imap_config(imap_server, max_attachment_mb=0.05))
    monkeypatch.setenv("BAOCAO_TEST_IMAP_PASSWORD", IMAP_PASSWORD)
    return project


TALENG = workbook("Xã Tả Lèng: báo cáo 6 tháng")
TALENG_OTHER = workbook("Xã Tả Lèng: bản sửa")
CA = workbook("Công an tỉnh")
STP = xls("Sở Tư pháp")
DOANKET = ods("Phường Đoàn Kết")
BINHLU = workbook("Xã Bình Lư")
BINHLU_OUTLOOK = workbook("Xã Bình Lư (Outlook)")
OUTSIDE = workbook("tên tệp có ../")
RESERVED = workbook("tên tệp CON")
SNV = workbook("Sở Nội vụ")


def arrive(imap_server, raw: bytes, at: dt.datetime | None = None, folder: str = "INBOX") -> None:  # noqa: F811
    """IMAP APPEND, as the server's delivery would: the arrival time (INTERNALDATE) is `at`, by
    default the time in the message's Date header (a message that reached the server when sent)."""
    import imaplib

    if at is None:
        at = email.message_from_bytes(raw, policy=email.policy.default)["Date"].datetime
    imap = imap_server.connect()
    try:
        status, data = imap.append(folder, None, imaplib.Time2Internaldate(at), raw)
        assert status == "OK", data
    finally:
        imap.logout()


def fill_mailbox(imap_server) -> None:  # noqa: F811
    def add(raw, when=None):
        arrive(imap_server, raw, when)
    add(submission("UBND xã Tả Lèng <ubnd.taleng@laichau.example.vn>", "Báo cáo 6 tháng đầu năm 2026",
                   [("Báo cáo 6 tháng - Xã Tả Lèng.xlsx", TALENG), ("chu-ky.png", b"\x89PNG....")],
                   date="Wed, 17 Jun 2026 23:30:00 +0000"))          # 18/06 06:30 in Lai Châu
    ca = submission("Công an tỉnh <vanthu.ca@laichau.example.vn>", "V/v báo cáo PCMD",
                    [("bao-cao-cong-an.xlsm", CA)], message_id="<ca-1@laichau.example.vn>")
    add(ca)
    add(ca)                                                                   # the same message twice
    add(submission("stp@laichau.example.vn", "BC Sở Tư pháp", [("BC_SoTuPhap.xls", STP)]))
    add(submission("vp.doanket@laichau.example.vn", "Phường Đoàn Kết gửi báo cáo",
                   [("Phường Đoàn Kết.ods", DOANKET)]))
    add(submission("binhlu@laichau.example.vn", "Bình Lư (nén)",
                   [("baocao.zip", zipped({"Xã Bình Lư/Báo cáo Bình Lư.xlsx": BINHLU, "ghichu.txt": b"x"}))]))
    add(outlook_style("binhlu@laichau.example.vn", "Báo cáo Xã Bình Lư - Outlook.xlsx", BINHLU_OUTLOOK))
    add(submission("ubnd.taleng@laichau.example.vn", "Gửi lại báo cáo", [("Gửi lại.xlsx", TALENG)]))
    add(submission("snv@laichau.example.vn", "Gửi hai lần trong một thư",                 # one file attached twice
                   [("bản 1.xlsx", SNV), ("bản 2.xlsx", SNV)]))
    add(submission("xa-khac@laichau.example.vn", "Báo cáo", [("Báo cáo 6 tháng - Xã Tả Lèng.xlsx", TALENG_OTHER)]))
    add(submission("quen@laichau.example.vn", "Quên đính kèm tệp"))
    add(submission("ke-xau@example.vn", "Tệp có ../", [("../../outside.xlsx", OUTSIDE)]))
    add(submission("ke-xau@example.vn", "Tên thiết bị Windows", [("CON.xlsx", RESERVED)]))
    add(submission("scan@laichau.example.vn", "Bản scan có chữ ký", [("scan.pdf", b"%PDF-1.4 ...")]))
    add(submission("gia@laichau.example.vn", "Tệp giả", [("tai-lieu.xlsx", b"%PDF-1.4 not a workbook")]))
    add(submission("lon@laichau.example.vn", "Tệp rất lớn", [("lon.xlsx", b"PK\x03\x04" + bytes(80_000))]))
    add(submission("bom@laichau.example.vn", "Tệp nén bom", [("bom.zip", zipped({"bom.xlsx": bytes(5_000_000)}))]))
    add(submission("rat-lon@laichau.example.vn", "Thư quá lớn", [("x.xlsx", b"PK\x03\x04" + bytes(1_300_000))]))
    add(submission("cu@laichau.example.vn", "Báo cáo năm 2025", [("nam-2025.xlsx", workbook("2025"))]),
        when=dt.datetime(2026, 5, 10, 10, 0, tzinfo=dt.timezone.utc))       # before --since


EXPECTED = {
    "Báo cáo 6 tháng - Xã Tả Lèng.xlsx": TALENG,
    "bao-cao-cong-an.xlsm": CA,
    "BC_SoTuPhap.xls": STP,
    "Phường Đoàn Kết.ods": DOANKET,
    "Báo cáo Bình Lư.xlsx": BINHLU,
    "Báo cáo Xã Bình Lư - Outlook.xlsx": BINHLU_OUTLOOK,
    "Báo cáo 6 tháng - Xã Tả Lèng (2).xlsx": TALENG_OTHER,
    "outside.xlsx": OUTSIDE,
    "_CON.xlsx": RESERVED,
    "bản 1.xlsx": SNV,
}


def test_collect_takes_every_spreadsheet_once_and_changes_nothing_in_the_mailbox(mailbox_project, imap_server):  # noqa: F811
    fill_mailbox(imap_server)
    flags_before = imap_server.flags()
    result = run(mailbox_project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert result.exit_code == 0, result.output
    folder = mailbox_project / "inputs" / "submissions" / "2026S1"
    saved = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "so-den.csv"}
    assert sorted(saved) == sorted(EXPECTED)
    assert all(saved[name] == data for name, data in EXPECTED.items())
    # nothing written anywhere else
    everything = [p for p in mailbox_project.rglob("*") if p.is_file()]
    assert [p for p in everything if p.name == "outside.xlsx"] == [folder / "outside.xlsx"]
    assert not list((mailbox_project / "inputs" / "submissions").glob("*.xlsx"))

    receipts = {r.file_name: r for r in read_register(folder)}
    assert sorted(receipts) == sorted(EXPECTED)
    assert receipts["Báo cáo 6 tháng - Xã Tả Lèng.xlsx"].received == dt.date(2026, 6, 18)
    assert receipts["Báo cáo Xã Bình Lư - Outlook.xlsx"].received == dt.date(2026, 6, 18)
    assert receipts["bao-cao-cong-an.xlsm"].received == dt.date(2026, 6, 16)
    assert "ubnd.taleng@laichau.example.vn" in receipts["Báo cáo 6 tháng - Xã Tả Lèng.xlsx"].note

    out = result.output
    assert "Đã lưu 10 tệp" in out
    assert "Gửi lại.xlsx (từ ubnd.taleng@laichau.example.vn: Gửi lại báo cáo): giống hệt tệp đã lưu " \
           "Báo cáo 6 tháng - Xã Tả Lèng.xlsx" in out
    assert "bản 2.xlsx (từ snv@laichau.example.vn: Gửi hai lần trong một thư): giống hệt tệp đã lưu " \
           "bản 1.xlsx" in out
    for sender, subject, reason in [
        ("quen@laichau.example.vn", "Quên đính kèm tệp", "không có tệp đính kèm"),
        ("scan@laichau.example.vn", "Bản scan có chữ ký", "không có bảng tính (tệp đính kèm: scan.pdf)"),
        ("gia@laichau.example.vn", "Tệp giả", "tai-lieu.xlsx: có đuôi bảng tính nhưng nội dung không phải"),
        ("lon@laichau.example.vn", "Tệp rất lớn", "lon.xlsx: quá lớn"),
        ("bom@laichau.example.vn", "Tệp nén bom", "bom.zip/bom.xlsx: quá lớn khi giải nén"),
        ("rat-lon@laichau.example.vn", "Thư quá lớn", "thư quá lớn"),
    ]:
        assert any(f"từ {sender} - \"{subject}\"" in line and reason in line for line in out.splitlines()), \
            (sender, out)
    assert "Tệp đính kèm khác (không phải bảng tính), bỏ qua: 2" in out      # named, not saved
    assert "chu-ky.png" in out and "baocao.zip/ghichu.txt" in out
    assert "cu@laichau.example.vn" not in out                        # before --since: not examined

    # the mailbox is as it was: nothing deleted, moved or marked read
    assert imap_server.flags() == flags_before
    assert not any(b"\\Seen" in f for f in imap_server.flags())

    register_before = (folder / "so-den.csv").read_bytes()
    again = run(mailbox_project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert again.exit_code == 0, again.output
    assert "Đã lưu 0 tệp" in again.output
    assert "18 thư đã lấy trước đó" in again.output
    assert {p.name for p in folder.iterdir()} == {*EXPECTED, "so-den.csv"}
    assert (folder / "so-den.csv").read_bytes() == register_before


def test_collect_without_a_distribution_or_since_is_one_line(mailbox_project):
    result = run(mailbox_project, "collect", "--period", "2026S1")
    assert result.exit_code == 2
    assert "dùng --since" in result.output and "Traceback" not in result.output


def test_wrong_imap_password_is_one_line(mailbox_project, imap_server, monkeypatch):  # noqa: F811
    monkeypatch.setenv("BAOCAO_TEST_IMAP_PASSWORD", "sai-mat-khau")
    result = run(mailbox_project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert result.exit_code == 2
    assert f"Hộp thư 127.0.0.1:{imap_server.port} từ chối đăng nhập của hopthu" in result.output
    assert "sai-mat-khau" not in result.output


def test_an_interrupted_collect_does_not_copy_twice(mailbox_project, imap_server):  # noqa: F811
    """Files saved and registered, the ledger not yet updated (a kill in between): the rerun finds
    the same file under the same name and neither copies nor registers it again."""
    arrive(imap_server, submission("ubnd.taleng@laichau.example.vn", "Báo cáo", [("Tả Lèng.xlsx", TALENG)]))
    assert run(mailbox_project, "collect", "--period", "2026S1", "--since", "2026-06-01").exit_code == 0
    ledger = mailbox_project / "outputs" / "ledger.sqlite"
    with sqlite3.connect(ledger) as db:
        db.execute("DELETE FROM mail_collected")
    result = run(mailbox_project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert result.exit_code == 0, result.output
    folder = mailbox_project / "inputs" / "submissions" / "2026S1"
    assert {p.name for p in folder.iterdir()} == {"so-den.csv", "Tả Lèng.xlsx"}
    assert [r.file_name for r in read_register(folder)] == ["Tả Lèng.xlsx"]


@pytest.mark.parametrize("name, safe", [
    ("Báo cáo.xlsx", "Báo cáo.xlsx"),
    ("Ba\u0301o ca\u0301o.xlsx", "Báo cáo.xlsx"),                   # NFD in, NFC out
    ("../../etc/passwd.xlsx", "passwd.xlsx"),
    ("..\\..\\Windows\\win.ini.xls", "win.ini.xls"),
    ("/etc/cron.d/job.ods", "job.ods"),
    ("C:\\Users\\a\\Desktop\\BC.xlsx", "BC.xlsx"),
    ("CON.xlsx", "_CON.xlsx"),
    ("lpt1.tar.xlsx", "_lpt1.tar.xlsx"),
    ("bao<cao>:\"x\"|?*.xlsx", "baocaox.xlsx"),
    ("report\u202excod.xlsx", "reportxcod.xlsx"),                   # right-to-left override dropped
    ("  .. ", "tep-dinh-kem"),
    ("..", "tep-dinh-kem"),
    ("tên. .xlsx", "tên.xlsx"),
    ("a" * 300 + ".xlsx", "a" * 175 + ".xlsx"),
])
def test_safe_file_name(name, safe):
    assert safe_file_name(name) == safe


def test_zip_member_count_is_bounded():
    data = zipped({f"{i}.xlsx": b"PK\x03\x04" for i in range(201)})
    found, problems, _ = unpack_zip("nhieu.zip", data, 10_000)
    assert found == [] and "201 tệp bên trong" in problems[0].reason


def test_distribute_then_collect_reads_replies_since_the_templates_went_out_and_leaks_no_password(
        project, smtp_server, imap_server, monkeypatch, caplog):  # noqa: F811
    """The officer's period: templates out by SMTP, replies in by IMAP, then a check that neither
    password appears in any file, .eml, ledger row or line of output or log."""
    import logging

    caplog.set_level(logging.DEBUG)
    set_emails(project, {"03405": "ubnd.taleng@laichau.example.vn"})
    configure_mail(project, **{**smtp_config(smtp_server), **imap_config(imap_server)})
    monkeypatch.setenv("BAOCAO_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("BAOCAO_TEST_IMAP_PASSWORD", IMAP_PASSWORD)
    outputs = [run(project, "distribute", "--period", "2026S1", "--unit", "03405"),
               run(project, "distribute", "--period", "2026S1", "--unit", "03405", "--send")]
    [sent] = smtp_server.messages
    template = next(sent.message.iter_attachments())

    # the commune replies with the template filled in
    reply = EmailMessage()
    reply["From"] = "ubnd.taleng@laichau.example.vn"
    reply["To"] = "baocao@syt.example.vn"
    reply["Subject"] = "Re: " + sent.message["Subject"]
    reply["In-Reply-To"] = sent.message["Message-ID"]
    reply["Message-ID"] = make_msgid(domain="laichau.example.vn")
    replied = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    reply["Date"] = format_datetime(replied)
    reply.set_content("Xã Tả Lèng gửi báo cáo.")
    reply.add_attachment(template.get_content(), maintype="application", subtype="octet-stream",
                         filename=template.get_filename())
    arrive(imap_server, reply.as_bytes(policy=email.policy.SMTP), replied)
    # an older message, from before the templates went out, is not this period's
    arrive(imap_server, submission("ubnd.taleng@laichau.example.vn", "Báo cáo năm 2025",
                                   [("nam-2025.xlsx", workbook("2025"))]),
           dt.datetime(2025, 12, 16, 8, 0, tzinfo=dt.timezone.utc))

    outputs.append(run(project, "collect", "--period", "2026S1"))
    outputs.append(run(project, "collect", "--period", "2026S1"))
    assert all(r.exit_code == 0 for r in outputs), [r.output for r in outputs]
    folder = project / "inputs" / "submissions" / "2026S1"
    assert {p.name for p in folder.iterdir()} == {"2026S1_03405_xa-ta-leng.xlsx", "so-den.csv"}
    assert (folder / "2026S1_03405_xa-ta-leng.xlsx").read_bytes() == template.get_content()
    assert "Đã lưu 0 tệp" in outputs[-1].output

    # ingestion takes the message's date (in Lai Châu) from so-den.csv as the receipt date
    from zoneinfo import ZoneInfo

    outputs.append(run(project, "ingest", "--period", "2026S1"))
    assert outputs[-1].exit_code == 0, outputs[-1].output
    with sqlite3.connect(project / "outputs" / "ledger.sqlite") as db:
        [(receipt, source)] = db.execute("SELECT receipt_date, receipt_source FROM submissions").fetchall()
    assert (receipt, source) == (replied.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat(), "so-den")

    secrets = [SMTP_PASSWORD, IMAP_PASSWORD]
    encoded = [s.encode("utf-8") for s in secrets]
    files = [p for p in project.rglob("*") if p.is_file()]
    assert any(p.suffix == ".eml" for p in files) and any(p.name == "ledger.sqlite" for p in files)
    for path in files:
        data = path.read_bytes()
        assert not any(s in data for s in encoded), path
    with sqlite3.connect(project / "outputs" / "ledger.sqlite") as db:
        dump = "\n".join(db.iterdump())
    assert "mail_deliveries" in dump and "mail_collected" in dump
    text = dump + "".join(r.output for r in outputs) + caplog.text
    assert not any(s in text for s in secrets)


def test_collect_over_tls_with_the_configured_ca(project, imap_tls_server, certificate, monkeypatch):  # noqa: F811
    arrive(imap_tls_server, submission("ubnd.taleng@laichau.example.vn", "Báo cáo", [("Tả Lèng.xlsx", TALENG)]))
    configure_mail(project, **imap_config(imap_tls_server, imap_security="tls", ca_file=str(certificate.cert)))
    monkeypatch.setenv("BAOCAO_TEST_IMAP_PASSWORD", IMAP_PASSWORD)
    result = run(project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert result.exit_code == 0, result.output
    assert (project / "inputs" / "submissions" / "2026S1" / "Tả Lèng.xlsx").read_bytes() == TALENG
    # the same server without the CA: the connection is refused before any password is sent
    configure_mail(project, **imap_config(imap_tls_server, imap_security="tls"))
    refused = run(project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert refused.exit_code == 2
    assert f"Không thiết lập được kết nối mã hóa tới hộp thư 127.0.0.1:{imap_tls_server.port}" in refused.output


@pytest.mark.parametrize("name, encoded", [
    ("INBOX", "INBOX"),
    ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),     # RFC 3501's example
    ("A&B", "A&-B"),
    ("Báo cáo đến", "B&AOE-o c&AOE-o &AREevw-n"),
])
def test_imap_folder_names_in_modified_utf7(name, encoded):
    assert imap_utf7(name) == encoded


def test_collect_from_a_folder_with_a_vietnamese_name(mailbox_project, imap_server):  # noqa: F811
    imap = imap_server.connect()
    try:
        status, data = imap.create('"' + imap_utf7("Báo cáo đến") + '"')
        assert status == "OK", data                        # Dovecot refuses a name that is not mUTF-7
    finally:
        imap.logout()
    arrive(imap_server, submission("ubnd.taleng@laichau.example.vn", "Báo cáo", [("Tả Lèng.xlsx", TALENG)]),
                       folder='"' + imap_utf7("Báo cáo đến") + '"')
    arrive(imap_server, submission("khac@laichau.example.vn", "Ở hộp thư đến", [("khac.xlsx", CA)]))
    configure_mail(mailbox_project, **imap_config(imap_server, imap_folder="Báo cáo đến"))
    result = run(mailbox_project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert result.exit_code == 0, result.output
    folder = mailbox_project / "inputs" / "submissions" / "2026S1"
    assert {p.name for p in folder.iterdir()} == {"Tả Lèng.xlsx", "so-den.csv"}


def test_a_folder_that_is_not_there_is_one_line(mailbox_project, imap_server):  # noqa: F811
    configure_mail(mailbox_project, **imap_config(imap_server, imap_folder="Hộp thư không có"))
    result = run(mailbox_project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert result.exit_code == 2
    assert "không có thư mục 'Hộp thư không có' ([mail] imap_folder)" in result.output


# ------------------------------------------------------------------------------------------ hostile mail


def raw_message(headers: str, name: str, data: bytes) -> bytes:
    """A message written by hand, headers as given (however malformed), one attachment."""
    body = base64.encodebytes(data).decode().replace("\n", "\r\n")
    return (f"{headers}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
            f"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBáo cáo\r\n"
            f"--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{body}--B--\r\n").encode("utf-8")


ARRIVED = dt.datetime(2026, 6, 16, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
GOOD_1, GOOD_2 = workbook("tốt 1"), workbook("tốt 2")
BAD_DATE, BAD_FROM, BAD_WORDS, NO_HEADERS = (workbook("năm 9999"), workbook("a@[1.2.3"), workbook("mã hóa hỏng"),
                                             workbook("không tiêu đề"))


def test_one_bad_message_never_ends_the_run_and_each_bad_header_is_a_finding(mailbox_project, imap_server):  # noqa: F811
    add = lambda raw: arrive(imap_server, raw, ARRIVED)  # noqa: E731
    add(submission("ubnd.taleng@laichau.example.vn", "Tốt 1", [("tot-1.xlsx", GOOD_1)]))
    add(raw_message("From: ca@laichau.example.vn\r\nSubject: Năm 9999\r\nDate: Fri, 31 Dec 9999 23:59:59 -1200\r\n"
                    "Message-ID: <y9999@x.vn>", "nam-9999.xlsx", BAD_DATE))
    add(raw_message("From: a@[1.2.3\r\nSubject: From hỏng\r\nDate: Tue, 16 Jun 2026 09:00:00 +0700\r\n"
                    "Message-ID: <from@x.vn>", "from-hong.xlsx", BAD_FROM))
    add(raw_message("From: =?utf-8?B?////?= <snv@laichau.example.vn>\r\nSubject: =?x-unknown?q?abc?= =?utf-8?B?////?=\r\n"
                    "Date: Tue, 16 Jun 2026 09:00:00 +0700\r\nMessage-ID: <words@x.vn>", "=?utf-8?B?////?=.xlsx",
                    BAD_WORDS))
    add(raw_message("X-Nothing: 1", "khong-tieu-de.xlsx", NO_HEADERS))          # no From, Date, Subject, Message-ID
    nested = "From: sau@laichau.example.vn\r\nSubject: Lồng sâu\r\nMessage-ID: <deep@x.vn>\r\nMIME-Version: 1.0\r\n".encode()
    for i in range(3000):                                                   # a message the parser cannot walk
        nested += f"Content-Type: multipart/mixed; boundary=B{i}\r\n\r\n--B{i}\r\n".encode()
    nested += b"Content-Type: text/plain\r\n\r\nx\r\n" + b"".join(f"--B{i}--\r\n".encode() for i in reversed(range(3000)))
    add(nested)
    add(submission("vp.doanket@laichau.example.vn", "Tốt 2", [("tot-2.xlsx", GOOD_2)]))
    result = run(mailbox_project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "không mong đợi" not in result.output
    folder = mailbox_project / "inputs" / "submissions" / "2026S1"
    saved = {p.read_bytes() for p in folder.iterdir() if p.name != "so-den.csv"}
    # every report is taken, the good ones and those with a bad header
    assert saved == {GOOD_1, GOOD_2, BAD_DATE, BAD_FROM, BAD_WORDS, NO_HEADERS}
    assert all(r.received == dt.date(2026, 6, 16) for r in read_register(folder))   # the server's arrival
    out = result.output
    assert "ngày gửi ghi trong thư không hợp lệ (Date: Fri, 31 Dec 9999 23:59:59 -1200)" in out
    assert "địa chỉ người gửi không hợp lệ (From: a@[1.2.3)" in out
    assert "thư không ghi người gửi (From)" in out and "thư không ghi ngày gửi (Date)" in out
    assert "người gửi có đoạn mã hóa hỏng, không đọc được (=?utf-8?B?////?= <snv@laichau.example.vn>)" in out
    assert "tiêu đề có đoạn mã hóa hỏng" in out and "\ufffd.xlsx" not in out
    assert (folder / "tep-dinh-kem.xlsx").read_bytes() == BAD_WORDS     # a name that was only broken words
    assert any(line.startswith("  từ sau@laichau.example.vn - \"Lồng sâu\"") and "thư hỏng, không đọc được" in line
               for line in out.splitlines()), out
    notes = {r.file_name: r.note for r in read_register(folder)}
    assert "không hợp lệ (Date: Fri, 31 Dec 9999" in notes["nam-9999.xlsx"]
    assert "a@[1.2.3" in notes["from-hong.xlsx"]
    again = run(mailbox_project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert again.exit_code == 0 and "Đã lưu 0 tệp" in again.output, again.output


def test_the_receipt_date_is_the_servers_arrival_not_the_date_the_sender_wrote(project, imap_server, monkeypatch):  # noqa: F811
    """A report that reached the mailbox after the deadline with a forged Date of 10/06: received
    22/06, audited late, and the disagreement is a finding."""
    from filling import COMMUNE, Kit, xlsx_bytes
    from pipeline.audit.status import LATE

    configure_mail(project, **imap_config(imap_server))
    monkeypatch.setenv("BAOCAO_TEST_IMAP_PASSWORD", IMAP_PASSWORD)
    set_emails(project, {COMMUNE: "ubnd.taleng@laichau.example.vn"})
    kit = Kit.load(project)
    arrive(imap_server, submission("ubnd.taleng@laichau.example.vn", "Báo cáo 6 tháng",
                                   [("Tả Lèng.xlsx", xlsx_bytes(kit.filled(COMMUNE)[1]))],
                                   date="Wed, 10 Jun 2026 08:00:00 +0700"),
           dt.datetime(2026, 6, 22, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))))
    result = run(project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert result.exit_code == 0, result.output
    assert ("ngày ghi trong thư (08:00 10/06/2026) khác thời điểm máy chủ nhận thư (10:00 22/06/2026) hơn 1 ngày; "
            "ngày đến tính theo máy chủ: 22/06/2026") in result.output
    [receipt] = read_register(project / "inputs" / "submissions" / "2026S1")
    assert receipt.received == dt.date(2026, 6, 22) and "khác thời điểm máy chủ nhận thư" in receipt.note
    assert run(project, "ingest", "--period", "2026S1", "--no-progress").exit_code == 0
    audit = run(project, "audit", "--period", "2026S1", "--as-of", "2026-06-30")
    assert audit.exit_code == 0, audit.output
    import csv

    with (project / "outputs" / "2026S1" / "tinh-hinh-nop-bao-cao.csv").open(encoding="utf-8-sig") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Mã đơn vị"] == COMMUNE)
    assert row["Mã tình trạng"] == LATE and row["Ngày nhận"] in ("22/06/2026", "2026-06-22"), row


def test_a_report_from_an_unknown_address_is_taken_with_a_warning_naming_it(mailbox_project, imap_server):  # noqa: F811
    set_emails(mailbox_project, {"03405": "Văn thư <ubnd.taleng@laichau.example.vn>; vanthu.taleng@gmail.com"})
    arrive(imap_server, submission("UBND xã Tả Lèng <UBND.TaLeng@laichau.example.vn>", "Báo cáo",
                                   [("ta-leng.xlsx", TALENG)]), ARRIVED)
    arrive(imap_server, submission("Người lạ <nguoi.la@example.com>", "Báo cáo Tả Lèng",
                                   [("ta-leng-2.xlsx", TALENG_OTHER)]), ARRIVED)
    result = run(mailbox_project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert result.exit_code == 0, result.output
    folder = mailbox_project / "inputs" / "submissions" / "2026S1"
    assert {p.name for p in folder.iterdir()} == {"ta-leng.xlsx", "ta-leng-2.xlsx", "so-den.csv"}   # both taken
    warnings = [line for line in result.output.splitlines() if "không có trong danh bạ đơn vị" in line]
    assert len(warnings) == 1 and "địa chỉ gửi nguoi.la@example.com" in warnings[0], result.output
    notes = {r.file_name: r.note for r in read_register(folder)}
    assert "nguoi.la@example.com không có trong danh bạ" in notes["ta-leng-2.xlsx"]
    assert "Cần lưu ý" not in notes["ta-leng.xlsx"]


def test_an_attachment_flood_saves_max_attachments_and_reports_the_rest(project, imap_server, monkeypatch):  # noqa: F811
    configure_mail(project, **imap_config(imap_server))
    monkeypatch.setenv("BAOCAO_TEST_IMAP_PASSWORD", IMAP_PASSWORD)
    files = [(f"bc-{i:04d}.xlsx", b"PK\x03\x04" + f"{i}".encode()) for i in range(2000)]
    arrive(imap_server, submission("lu@laichau.example.vn", "Hai nghìn tệp", files), ARRIVED)
    result = run(project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert result.exit_code == 0, result.output
    folder = project / "inputs" / "submissions" / "2026S1"
    assert sorted(p.name for p in folder.iterdir() if p.name != "so-den.csv") == [n for n, _ in files[:20]]
    assert ("thư có 2000 bảng tính đính kèm, quá số tối đa 20 ([mail] max_attachments): đã lưu 20 tệp đầu, "
            "không lưu 1980 tệp còn lại (bc-0020.xlsx, bc-0021.xlsx") in result.output
    # the limit is a setting
    configure_mail(project, **imap_config(imap_server, max_attachments=3))
    arrive(imap_server, submission("lu@laichau.example.vn", "Năm tệp", [(f"x{i}.xlsx", b"PK\x03\x04x" + bytes([i]))
                                                                        for i in range(5)]), ARRIVED)
    result = run(project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert "Đã lưu 3 tệp" in result.output and "không lưu 2 tệp còn lại (x3.xlsx, x4.xlsx)" in result.output


def test_collect_never_saves_a_name_ingestion_would_pass_over_nor_a_control_character(mailbox_project, imap_server):  # noqa: F811
    from pipeline.intake.ingest import discover

    arrive(imap_server, submission("ubnd.taleng@laichau.example.vn", "Tên tệp lạ",
                                   [("~$bao-cao.xlsx", TALENG), ("bao\x1b[31mcao\x07 usb.xlsx", CA),
                                    (".an.xlsx", STP), ("~$.~$x.xlsx", DOANKET)]), ARRIVED)
    result = run(mailbox_project, "collect", "--period", "2026S1", "--since", "2026-06-01")
    assert result.exit_code == 0, result.output
    folder = mailbox_project / "inputs" / "submissions" / "2026S1"
    saved = sorted(p.name for p in folder.iterdir() if p.name != "so-den.csv")
    assert saved == sorted(["bao-cao.xlsx", "bao[31mcao usb.xlsx", "an.xlsx", "x.xlsx"])
    assert sorted(p.name for p in discover(folder)) == saved
    assert not any(ch in result.output for ch in "\x1b\x07")


@pytest.mark.parametrize("name, safe", [
    ("~$bao-cao.xlsx", "bao-cao.xlsx"),
    ("~$~$x.xlsx", "x.xlsx"),
    (".~lock.x.xlsx#", "lock.x.xlsx#"),
    ("bao\x1bcao\x07.xlsx", "baocao.xlsx"),
    ("Thumbs.db", "_Thumbs.db"),
    ("desktop.ini", "_desktop.ini"),
    ("so-den.csv", "_so-den.csv"),
])
def test_safe_file_name_is_never_skipped_by_ingestion(name, safe):
    assert safe_file_name(name) == safe
