"""Mail out: templates, feedback and reminders, composed in Vietnamese and delivered to a real SMTP
server (aiosmtpd on loopback); a rerun sends nothing twice; a failing recipient does not stop the rest."""

from __future__ import annotations

import datetime as dt
import re
import io
import sqlite3

import openpyxl
import pytest
from click.testing import CliRunner

from mail_servers import (SMTP_PASSWORD, certificate, configure_mail, set_emails, smtp_config, smtp_server,  # noqa: F401
                          smtp_tls_server)
from pipeline.forms import layout
from pipeline.cli.main import cli
from pipeline.reference.settings import load_settings
from pipeline.mail.compose import FEEDBACK, Outgoing, Recipient, compose, parse_addresses
from pipeline.mail.send import deliveries, send_messages
from pipeline.reference.periods import parse_period

# the test server warns that it takes a login without TLS: on loopback, that is the point
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

EMAILS = {
    "12-CA": "vanthu.ca@laichau.example.vn",
    "03405": "ubnd.taleng@laichau.example.vn; vanphong.taleng@laichau.example.vn",
    "03388": "Văn phòng UBND phường Đoàn Kết <vp.doanket@laichau.example.vn>",
    "12-STP": "sai-dia-chi",                                   # not an address
    "12-SNV": "tu-choi@laichau.example.vn",                    # the server refuses it
}


def run(project, *args):
    return CliRunner().invoke(cli, ["--root", str(project), *args])


@pytest.fixture
def mail_project(project, smtp_server, monkeypatch):  # noqa: F811
    set_emails(project, EMAILS)
    configure_mail(project, **smtp_config(smtp_server))
    monkeypatch.setenv("BAOCAO_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    smtp_server.refuse.add("tu-choi@laichau.example.vn")
    return project


def meta(data: bytes) -> dict:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook[layout.SHEET_META]
    return {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row[0]}


def attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}


def by_unit(server) -> dict[str, object]:
    return {r.message["X-Baocao-Unit"]: r for r in server.messages}


@pytest.mark.parametrize("text, valid, invalid", [
    ("a@x.vn", ["a@x.vn"], []),
    ("a@x.vn; b@y.vn", ["a@x.vn", "b@y.vn"], []),
    ("Văn thư <a@x.vn>, a@x.vn", ["a@x.vn"], []),
    ("", [], []),
    ("không có", [], ["không có"]),
    ("a@localhost", [], ["a@localhost"]),
])
def test_parse_addresses(text, valid, invalid):
    assert parse_addresses(text) == (valid, invalid)


def test_compose_keeps_vietnamese_and_encodes_the_file_name_per_rfc2231(project, tmp_path):
    configure_mail(project, from_address="baocao@syt.example.vn")
    settings = load_settings(project)
    period = parse_period("2026S1", settings)
    workbook = tmp_path / "Phản hồi - Xã Tả Lèng.xlsx"
    workbook.write_bytes(b"PK\x03\x04 test")
    unit = Recipient("03405", "Xã Tả Lèng", "commune", "a@x.vn", "Lò Thị Hương")
    message = compose(settings, settings.mail, FEEDBACK, period,
                      Outgoing(unit, (workbook,), {"errors": 2, "warnings": 1, "findings": [
                          {"sheet": "Chỉ tiêu", "cell": "D14", "message": "Giá trị phải là số nguyên ≥ 0",
                           "severity": "error"}], "more": 2}), ["a@x.vn"])
    raw = message.as_bytes()
    import re

    assert re.search(rb"filename\*(0\*)?=utf-8''Ph%E1%BA%A3n%20h%E1%BB%93i", raw)   # RFC 2231, not raw UTF-8
    assert all(b < 128 for b in raw)                                   # 7-bit clean on the wire
    import email
    import email.policy

    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "[Báo cáo PCMD] Kết quả kiểm tra báo cáo 6 tháng đầu năm 2026 - Xã Tả Lèng"
    body = parsed.get_body(("plain",)).get_content()
    assert "Kính gửi: Ủy ban nhân dân xã Tả Lèng." in body
    assert "Báo cáo còn 2 lỗi phải sửa và 1 điểm cần xem lại" in body
    assert "- Chỉ tiêu, ô D14: Giá trị phải là số nguyên ≥ 0" in body
    assert "... và 2 điểm khác" in body
    assert list(attachments(parsed)) == ["Phản hồi - Xã Tả Lèng.xlsx"]


def test_dry_run_writes_eml_files_and_sends_nothing(mail_project, smtp_server):  # noqa: F811
    result = run(mail_project, "distribute", "--period", "2026S1")
    assert result.exit_code == 0, result.output
    folder = mail_project / "outputs" / "mail" / "2026S1" / "distribute"
    names = sorted(p.name for p in folder.glob("*.eml"))
    assert names == ["03388_phuong-doan-ket.eml", "03405_xa-ta-leng.eml", "12-CA_cong-an-tinh.eml",
                     "12-SNV_so-noi-vu.eml"]
    assert smtp_server.messages == [] and smtp_server.logins == []
    assert deliveries(load_settings(mail_project)) == []
    assert "Chạy thử (chưa gửi): 4 thư biểu mẫu" in result.output
    assert "12-STP Sở Tư pháp (không có địa chỉ hợp lệ): địa chỉ không hợp lệ: sai-dia-chi" in result.output
    assert "41 đơn vị chưa có địa chỉ thư điện tử" in result.output
    import email
    import email.policy

    draft = email.message_from_bytes((folder / "03405_xa-ta-leng.eml").read_bytes(), policy=email.policy.default)
    assert draft["To"].addresses[1].addr_spec == "vanphong.taleng@laichau.example.vn"
    assert meta(attachments(draft)["2026S1_03405_xa-ta-leng.xlsx"])["unit_id"] == "03405"

    # once sent, the next dry run leaves no draft behind for that unit
    assert run(mail_project, "distribute", "--period", "2026S1", "--unit", "03405", "--send").exit_code == 0
    again = run(mail_project, "distribute", "--period", "2026S1")
    assert "Không gửi lại 1 đơn vị" in again.output
    assert sorted(p.name for p in folder.glob("*.eml")) == ["03388_phuong-doan-ket.eml", "12-CA_cong-an-tinh.eml",
                                                           "12-SNV_so-noi-vu.eml"]


def test_distribute_sends_each_unit_its_own_template_once(mail_project, smtp_server):  # noqa: F811
    result = run(mail_project, "distribute", "--period", "2026S1", "--send")
    assert result.exit_code == 0, result.output
    assert smtp_server.logins == [("baocao@syt.example.vn", SMTP_PASSWORD)]
    received = by_unit(smtp_server)
    assert sorted(received) == ["03388", "03405", "12-CA"]
    for unit_id, delivered in received.items():
        message = delivered.message
        [(name, data)] = attachments(message).items()
        assert name.startswith(f"2026S1_{unit_id}_") and meta(data)["unit_id"] == unit_id
        assert meta(data)["period"] == "2026S1"
        assert message["Subject"].startswith("[Báo cáo PCMD] Biểu mẫu báo cáo 6 tháng đầu năm 2026 - ")
    taleng = received["03405"]
    assert taleng.rcpt_tos == ["ubnd.taleng@laichau.example.vn", "vanphong.taleng@laichau.example.vn"]
    body = taleng.message.get_body(("plain",)).get_content()
    assert "Kính gửi: Ủy ban nhân dân xã Tả Lèng." in body
    assert "Số liệu tính từ ngày 15/12/2025 đến hết ngày 14/06/2026." in body
    assert "Hạn gửi báo cáo: chậm nhất ngày 18/06/2026." in body
    assert received["03388"].message["Subject"].endswith("Phường Đoàn Kết")
    # the refused recipient is reported and recorded; the others still went out
    assert "12-SNV Sở Nội vụ (tu-choi@laichau.example.vn): tu-choi@laichau.example.vn: 550" in result.output
    rows = deliveries(load_settings(mail_project))
    assert {(r["unit_id"], r["outcome"]) for r in rows} == {
        ("12-CA", "sent"), ("03405", "sent"), ("03388", "sent"), ("12-SNV", "failed")}
    sent = {r["unit_id"]: r for r in rows if r["outcome"] == "sent"}
    assert sent["03405"]["message_id"] == received["03405"].message["Message-ID"]
    assert all(len(r["attachment_sha256"]) == 64 for r in rows)

    again = run(mail_project, "distribute", "--period", "2026S1", "--send")
    assert again.exit_code == 0, again.output
    assert len(smtp_server.messages) == 3                      # nothing sent twice
    assert "Đã gửi 0 thư biểu mẫu" in again.output and "Không gửi lại 3 đơn vị" in again.output
    assert len(smtp_server.messages) == 3

    # the failed unit is retried on the next run once its address is fixed
    smtp_server.refuse.clear()
    third = run(mail_project, "distribute", "--period", "2026S1", "--send")
    assert third.exit_code == 0, third.output
    assert [r.message["X-Baocao-Unit"] for r in smtp_server.messages[3:]] == ["12-SNV"]

    forced = run(mail_project, "distribute", "--period", "2026S1", "--unit", "03405", "--send", "--resend")
    assert forced.exit_code == 0, forced.output
    assert [r.message["X-Baocao-Unit"] for r in smtp_server.messages[4:]] == ["03405"]


def test_feedback_goes_to_the_unit_named_in_the_file_and_again_only_when_it_changes(mail_project, smtp_server):  # noqa: F811
    folder = mail_project / "outputs" / "2026S1" / "phan-hoi"
    folder.mkdir(parents=True)

    def feedback_workbook(unit_id: str, note: str) -> bytes:
        workbook = openpyxl.Workbook()
        workbook.active["A1"] = f"Đơn vị {unit_id}: {note}"
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()

    (folder / "2026S1_03405_xa-ta-leng_phản-hồi.xlsx").write_bytes(feedback_workbook("03405", "sửa ô D14"))
    (folder / "2026S1_12-CA_cong-an-tinh.xlsx").write_bytes(feedback_workbook("12-CA", "sửa ô E7"))
    (folder / "ghi-chu.txt").write_text("không gửi", encoding="utf-8")
    result = run(mail_project, "send-feedback", "--period", "2026S1", "--send")
    assert result.exit_code == 0, result.output
    received = by_unit(smtp_server)
    assert sorted(received) == ["03405", "12-CA"]
    [(name, data)] = attachments(received["03405"].message).items()
    assert name == "2026S1_03405_xa-ta-leng_phản-hồi.xlsx"
    assert openpyxl.load_workbook(io.BytesIO(data)).active["A1"].value == "Đơn vị 03405: sửa ô D14"
    assert "Kết quả kiểm tra báo cáo 6 tháng đầu năm 2026 - Xã Tả Lèng" in received["03405"].message["Subject"]

    assert run(mail_project, "send-feedback", "--period", "2026S1", "--send").exit_code == 0
    assert len(smtp_server.messages) == 2
    # a new feedback workbook after the unit's corrected submission is a new message
    (folder / "2026S1_03405_xa-ta-leng_phản-hồi.xlsx").write_bytes(feedback_workbook("03405", "sửa ô F9"))
    assert run(mail_project, "send-feedback", "--period", "2026S1", "--send").exit_code == 0
    assert [r.message["X-Baocao-Unit"] for r in smtp_server.messages[2:]] == ["03405"]


def _letter(path, deadline: str, saved: dt.datetime) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("CÔNG VĂN ĐÔN ĐỐC")
    document.add_paragraph(f"Đề nghị gửi báo cáo trước ngày {deadline}.")
    document.core_properties.modified = saved
    document.core_properties.created = saved
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(path)


def test_reminders_go_to_the_addressed_units_only_and_once_per_letter(mail_project, smtp_server):  # noqa: F811
    letter = mail_project / "outputs" / "2026S1" / "cong-van-don-doc-2026S1.docx"
    _letter(letter, "25/06/2026", dt.datetime(2026, 6, 20, 8, 0))
    args = ["send-reminders", "--period", "2026S1", "--unit", "03405", "--unit", "12-CA",
            "--new-deadline", "25/06/2026", "--draft", "--send"]
    result = run(mail_project, *args)
    assert result.exit_code == 0, result.output
    received = by_unit(smtp_server)
    assert sorted(received) == ["03405", "12-CA"]
    message = received["12-CA"].message
    assert list(attachments(message)) == ["cong-van-don-doc-2026S1.docx"]
    assert message["Subject"] == "[Báo cáo PCMD] Đôn đốc gửi báo cáo 6 tháng đầu năm 2026 - Công an tỉnh"
    assert "chậm nhất ngày 25/06/2026" in message.get_body(("plain",)).get_content()

    # the audit rewrote the same letter a day later (only its save time differs): not sent again
    _letter(letter, "25/06/2026", dt.datetime(2026, 6, 21, 9, 30))
    assert run(mail_project, *args).exit_code == 0
    assert len(smtp_server.messages) == 2
    # a new letter with a new deadline is a new reminder
    _letter(letter, "30/06/2026", dt.datetime(2026, 6, 26, 9, 30))
    assert run(mail_project, *args).exit_code == 0
    assert sorted(r.message["X-Baocao-Unit"] for r in smtp_server.messages[2:]) == ["03405", "12-CA"]


def test_reminder_without_the_letter_is_one_line(mail_project):
    result = run(mail_project, "send-reminders", "--period", "2026S1", "--unit", "03405")
    assert result.exit_code == 2
    assert "Không tìm thấy công văn đôn đốc" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("change, message", [
    ({"smtp_password_env": "BAOCAO_TEST_NO_SUCH_VARIABLE"}, "đặt biến môi trường BAOCAO_TEST_NO_SUCH_VARIABLE"),
    ({"smtp_host": "mail.example.vn"}, "chỉ dùng được với máy chủ trên chính máy này"),
    ({"smtp_security": "ssl"}, "chỉ dùng starttls, tls hoặc none"),
    ({"smtp_user": "nguoi-khac@syt.example.vn"}, "từ chối đăng nhập của nguoi-khac@syt.example.vn"),
    ({"smtp_colour": "blue"}, "khóa không biết: smtp_colour"),
])
def test_mail_settings_problems_are_one_line_and_send_nothing(project, smtp_server, monkeypatch, change, message):  # noqa: F811
    set_emails(project, EMAILS)
    configure_mail(project, **{**smtp_config(smtp_server), **change})
    monkeypatch.setenv("BAOCAO_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    result = run(project, "distribute", "--period", "2026S1", "--unit", "03405", "--send")
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert result.output.count("\n") == 1
    assert smtp_server.messages == []


def test_a_server_that_is_not_there_is_one_line(project, monkeypatch):
    from mail_servers import free_port

    set_emails(project, EMAILS)
    port = free_port()
    configure_mail(project, from_address="baocao@syt.example.vn", smtp_host="127.0.0.1", smtp_port=port,
                   smtp_security="none", smtp_password_env="BAOCAO_TEST_SMTP_PASSWORD")
    monkeypatch.setenv("BAOCAO_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    result = run(project, "distribute", "--period", "2026S1", "--unit", "03405", "--send")
    assert result.exit_code == 2
    assert f"Không kết nối được máy chủ gửi thư 127.0.0.1:{port}" in result.output
    # nothing is recorded as sent (or as begun): the next run sends it
    rows = deliveries(load_settings(project))
    assert [r for r in rows if r["outcome"] != "failed"] == []


def test_an_interrupted_send_is_not_repeated_blindly(mail_project, smtp_server):  # noqa: F811
    """A run killed between SMTP and the ledger's update leaves a 'sending' row: the next run does not
    send that unit again without --resend, and says to check the sent folder."""
    settings = load_settings(mail_project)
    period = parse_period("2026S1", settings)
    assert run(mail_project, "distribute", "--period", "2026S1", "--unit", "03405", "--send").exit_code == 0
    with sqlite3.connect(settings.path("ledger")) as db:
        db.execute("UPDATE mail_deliveries SET outcome = 'sending' WHERE unit_id = '03405'")
    report = send_messages(settings, "distribute", period,
                           [Outgoing(Recipient("03405", "Xã Tả Lèng", "commune", EMAILS["03405"]),
                                     tuple((mail_project / "outputs" / "templates" / "2026S1").glob("*_03405_*.xlsx")))],
                           send=True)
    assert report.sent == [] and len(report.skipped) == 1
    assert "không rõ đã tới chưa" in report.skipped[0].detail
    assert len(smtp_server.messages) == 1


def test_no_from_address_is_one_line(project):
    configure_mail(project)
    result = run(project, "distribute", "--period", "2026S1", "--unit", "03405", "--send")  # a dry run needs none
    assert result.exit_code == 2 and "from_address" in result.output


def test_unknown_unit_is_one_line(mail_project):
    result = run(mail_project, "distribute", "--period", "2026S1", "--unit", "99999")
    assert result.exit_code == 2 and "Không có đơn vị mã '99999'" in result.output



def test_feedback_after_ingestion_sends_the_unit_its_marked_file_and_the_cells_to_fix(mail_project, smtp_server):  # noqa: F811
    """The real chain: a commune's filled template with a word in a number cell, ingested; the
    feedback workbook ingestion wrote goes to that commune with the finding in the message."""
    from filling import COMMUNE, Kit, row_of

    from pipeline.reference.catalogue import load_catalogue
    from pipeline.reference.matrix import load_matrix
    from pipeline.reference.units import load_registry

    settings = load_settings(mail_project)
    registry = load_registry(settings)
    matrix = load_matrix(settings, registry)
    kit = Kit(mail_project, settings, registry, matrix, load_catalogue(settings, matrix, registry),
              parse_period("2026S1", settings))
    spec, wb = kit.filled(COMMUNE)
    code = spec.indicators[0]["code"]
    wb[layout.SHEET_INDICATORS][f"E{row_of(spec, code)}"] = "nhiều"
    kit.save(wb, "bao cao ta leng.xlsx")
    kit.ingest()

    result = run(mail_project, "send-feedback", "--period", "2026S1", "--send")
    assert result.exit_code == 0, result.output
    [delivered] = smtp_server.messages
    message = delivered.message
    assert delivered.rcpt_tos == ["ubnd.taleng@laichau.example.vn", "vanphong.taleng@laichau.example.vn"]
    [(name, data)] = attachments(message).items()
    assert name == "2026S1_03405_xa-ta-leng_phan-hoi.xlsx"
    marked = openpyxl.load_workbook(io.BytesIO(data))[layout.SHEET_INDICATORS][f"E{row_of(spec, code)}"]
    assert marked.value == "nhiều" and marked.comment is not None
    body = message.get_body(("plain",)).get_content()
    assert "Báo cáo còn 1 lỗi phải sửa" in body
    assert f"- {layout.SHEET_INDICATORS}, ô E{row_of(spec, code)}: " in body and "'nhiều' không phải là số" in body


@pytest.mark.parametrize("command", ["distribute", "send-feedback", "send-reminders", "collect"])
def test_mail_commands_are_documented(command):
    from conftest import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"python -m pipeline {command} " in readme and f"make {command} " in readme
    assert re.search(rf"\n{command}: \$\(STAMP\)\n(\t\$\(call need,[A-Z]+,\S+\)\n)*\t\$\(PY\) -m pipeline {command} ",
                     makefile)
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "Ví dụ: python -m pipeline " + command in result.output


def test_smtp_over_tls_with_the_configured_ca(project, smtp_tls_server, certificate, monkeypatch):  # noqa: F811
    """STARTTLS and implicit TLS against a server whose certificate only `ca_file` vouches for."""
    set_emails(project, {"03405": "ubnd.taleng@laichau.example.vn"})
    configure_mail(project, **smtp_config(smtp_tls_server, smtp_security=smtp_tls_server.security,
                                          ca_file=str(certificate.cert)))
    monkeypatch.setenv("BAOCAO_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    result = run(project, "distribute", "--period", "2026S1", "--unit", "03405", "--send")
    assert result.exit_code == 0, result.output
    [delivered] = smtp_tls_server.messages
    assert delivered.rcpt_tos == ["ubnd.taleng@laichau.example.vn"]
    assert smtp_tls_server.logins == [("baocao@syt.example.vn", SMTP_PASSWORD)]


def test_smtp_tls_refuses_a_certificate_nobody_vouches_for(project, smtp_tls_server, monkeypatch):  # noqa: F811
    set_emails(project, {"03405": "ubnd.taleng@laichau.example.vn"})
    configure_mail(project, **smtp_config(smtp_tls_server, smtp_security=smtp_tls_server.security))
    monkeypatch.setenv("BAOCAO_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    result = run(project, "distribute", "--period", "2026S1", "--unit", "03405", "--send")
    assert result.exit_code == 2
    assert "Không thiết lập được kết nối mã hóa tới 127.0.0.1" in result.output
    assert smtp_tls_server.messages == [] and smtp_tls_server.logins == []


def test_a_connection_broken_mid_message_fails_that_unit_and_the_rest_still_go(mail_project, smtp_server):  # noqa: F811
    smtp_server.drop.add("vanthu.ca@laichau.example.vn")          # 12-CA comes before the communes
    result = run(mail_project, "distribute", "--period", "2026S1", "--send")
    assert result.exit_code == 0, result.output
    assert sorted(by_unit(smtp_server)) == ["03388", "03405"]
    assert "12-CA Công an tỉnh (vanthu.ca@laichau.example.vn): máy chủ ngắt kết nối giữa chừng" in result.output
    smtp_server.drop.clear()
    smtp_server.refuse.clear()
    again = run(mail_project, "distribute", "--period", "2026S1", "--send")
    assert again.exit_code == 0, again.output
    assert sorted(r.message["X-Baocao-Unit"] for r in smtp_server.messages[2:]) == ["12-CA", "12-SNV"]


def test_reminders_go_where_the_last_audit_addressed_its_letter(mail_project, smtp_server):  # noqa: F811
    """The real chain: one commune reports on time, the audit after the deadline writes the letter
    and its list; send-reminders mails that letter to exactly the listed units that have an address."""
    from filling import COMMUNE, Kit

    from pipeline.reference.catalogue import load_catalogue
    from pipeline.reference.matrix import load_matrix
    from pipeline.reference.units import load_registry

    settings = load_settings(mail_project)
    registry = load_registry(settings)
    matrix = load_matrix(settings, registry)
    kit = Kit(mail_project, settings, registry, matrix, load_catalogue(settings, matrix, registry),
              parse_period("2026S1", settings))
    _spec, wb = kit.filled(COMMUNE)
    kit.save(wb, "ta leng.xlsx")
    kit.ingest()
    audit = run(mail_project, "audit", "--period", "2026S1", "--as-of", "2026-06-25", "--new-deadline", "2026-06-30")
    assert audit.exit_code == 0, audit.output

    result = run(mail_project, "send-reminders", "--period", "2026S1", "--draft", "--send")
    assert result.exit_code == 0, result.output
    received = by_unit(smtp_server)
    assert sorted(received) == ["03388", "12-CA"]           # Tả Lèng reported; 12-SNV refused, 12-STP no address
    letter = (mail_project / "outputs" / "2026S1" / "cong-van-don-doc-2026S1.docx").read_bytes()
    assert attachments(received["03388"].message) == {"cong-van-don-doc-2026S1.docx": letter}
    body = received["03388"].message.get_body(("plain",)).get_content()
    assert "Kính gửi: Ủy ban nhân dân phường Đoàn Kết." in body
    assert "chưa nhận được báo cáo của Quý đơn vị; hạn gửi là ngày 18/06/2026" in body
    assert "chậm nhất ngày 30/06/2026" in body
    assert "12-SNV Sở Nội vụ (tu-choi@laichau.example.vn): tu-choi@laichau.example.vn: 550" in result.output
    assert run(mail_project, "send-reminders", "--period", "2026S1", "--draft", "--send").exit_code == 0
    assert len(smtp_server.messages) == 2


def test_reminders_without_an_audit_is_one_line(mail_project):
    result = run(mail_project, "send-reminders", "--period", "2026S1")
    assert result.exit_code == 2
    assert "chạy make audit PERIOD=2026S1 trước" in result.output


# ------------------------------------------------------------------------------------------ the signed letter


def _audited(mail_project):
    """An audit after the deadline with nobody reported: its draft letter and its list."""
    audit = run(mail_project, "audit", "--period", "2026S1", "--as-of", "2026-06-25", "--new-deadline", "2026-06-30")
    assert audit.exit_code == 0, audit.output


def test_send_reminders_without_a_signed_letter_or_draft_sends_nothing(mail_project, smtp_server):  # noqa: F811
    _audited(mail_project)
    ledger = mail_project / "outputs" / "ledger.sqlite"
    before = ledger.read_bytes() if ledger.exists() else None
    for extra in ([], ["--unit", "03405"]):
        result = run(mail_project, "send-reminders", "--period", "2026S1", *extra, "--send")
        assert result.exit_code == 2, result.output
        [line] = [line for line in result.output.splitlines() if line.strip()]
        assert "cần bản đã ký: thêm --letter" in line and "--draft" in line and "chưa gửi thư nào" in line
    assert smtp_server.messages == []
    assert (ledger.read_bytes() if ledger.exists() else None) == before
    assert deliveries(load_settings(mail_project)) == []
    # the dry run still shows what would go
    assert run(mail_project, "send-reminders", "--period", "2026S1").exit_code == 0


@pytest.mark.parametrize("file_name, args, number, day", [
    ("123-SYT-NVY 20-06-2026.pdf", [], "123/SYT-NVY", "20/06/2026"),
    ("CV 123 ngay 20.6.2026.pdf", [], "123", "20/06/2026"),
    ("Công văn đôn đốc.docx", ["--so", "45/SYT-NVY", "--ngay", "21/06/2026"], "45/SYT-NVY", "21/06/2026"),
    ("123-SYT-NVY 20-06-2026.pdf", ["--so", "124/SYT-NVY"], "124/SYT-NVY", "20/06/2026"),
])
def test_the_signed_letter_goes_out_and_the_mail_names_its_number_and_date(mail_project, smtp_server, tmp_path,  # noqa: F811
                                                                           file_name, args, number, day):
    _audited(mail_project)
    signed = tmp_path / "ky" / file_name
    signed.parent.mkdir()
    signed.write_bytes(b"%PDF-1.4 scan co chu ky va dau\n" if signed.suffix == ".pdf" else b"PK\x03\x04 docx")
    result = run(mail_project, "send-reminders", "--period", "2026S1", "--letter", str(signed), *args, "--send")
    assert result.exit_code == 0, result.output
    received = by_unit(smtp_server)
    assert sorted(received) == ["03388", "03405", "12-CA"]
    message = received["03405"].message
    assert attachments(message) == {file_name: signed.read_bytes()}
    body = message.get_body(("plain",)).get_content()
    assert f"Công văn số {number} ngày {day} của Sở Y tế về việc đôn đốc" in body
    assert "chậm nhất ngày 30/06/2026" in body


@pytest.mark.parametrize("file_name, args, message", [
    ("don doc.pdf", [], "Không đọc được số (--so 123/SYT-NVY) và ngày (--ngay 20/06/2026) của công văn"),
    ("CV 123.pdf", [], "Không đọc được ngày (--ngay 20/06/2026)"),
    ("123-SYT 20-06-2026.xlsx", [], "phải là tệp PDF hoặc DOCX"),
])
def test_a_signed_letter_without_its_number_or_date_is_one_line(mail_project, smtp_server, tmp_path,  # noqa: F811
                                                                file_name, args, message):
    _audited(mail_project)
    signed = tmp_path / file_name
    signed.write_bytes(b"%PDF-1.4")
    result = run(mail_project, "send-reminders", "--period", "2026S1", "--letter", str(signed), *args, "--send")
    assert result.exit_code == 2 and message in result.output, result.output
    assert smtp_server.messages == []


def test_unit_text_in_the_feedback_mail_is_never_a_template(mail_project):
    """`{{7*7}}` typed in a number cell: the feedback (dry run .eml) is written, and quotes it as typed."""
    from filling import COMMUNE, Kit, row_of

    kit = Kit.load(mail_project)
    spec, wb = kit.filled(COMMUNE)
    code = spec.indicators[0]["code"]
    cell = f"E{row_of(spec, code)}"
    wb[layout.SHEET_INDICATORS][cell] = "{{7*7}}"
    wb[layout.SHEET_INDICATORS][f"E{row_of(spec, spec.indicators[1]['code'])}"] = "{% raw %}{{ config }}"
    kit.save(wb, "ta leng.xlsx")
    kit.ingest()
    result = run(mail_project, "send-feedback", "--period", "2026S1", "--unit", COMMUNE)
    assert result.exit_code == 0, result.output
    [eml] = (mail_project / "outputs" / "mail" / "2026S1" / "feedback").glob("03405_*.eml")
    import email
    import email.policy

    body = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default).get_body(("plain",)).get_content()
    assert f"ô {cell}: '{{{{7*7}}}}' không phải là số" in body
    assert "{% raw %}{{ config }}" in body and "49" not in body


@pytest.mark.parametrize("name, number, day", [
    ("123-SYT-NVY 20-06-2026.pdf", "123/SYT-NVY", dt.date(2026, 6, 20)),
    ("CV 123 ngay 20.6.2026.pdf", "123", dt.date(2026, 6, 20)),
    ("CV 123 ngày 20 tháng 6 năm 2026.pdf", "123", dt.date(2026, 6, 20)),
    ("45_SYT-NVY_20062026.docx", "45/SYT-NVY", dt.date(2026, 6, 20)),
    ("2026-06-20 CV 77-SYT.pdf", "77/SYT", dt.date(2026, 6, 20)),
    ("don doc.pdf", "", None),
    ("CV 12 ngay 31.02.2026.pdf", "12", None),
])
def test_letter_reference_from_the_file_name(name, number, day):
    from pipeline.mail.messages import letter_reference

    assert letter_reference(name) == (number, day)
