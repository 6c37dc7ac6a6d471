"""Sending mail: over SMTP (STARTTLS, implicit TLS, or plain only to a server on this computer; the
password comes only from an environment variable and is never written anywhere), or, without
sending, as `.eml` files in `outputs/mail/<period>/<kind>/` for the officer to open and check.

Every delivery is recorded in the ledger (its `mail_deliveries` table), so that a rerun sends
nothing twice: a unit's template once per period; its feedback and reminder once per content (a
new feedback workbook or a new letter is a new message). `resend=True` sends regardless.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import smtplib
import ssl
import zipfile
from contextlib import closing
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from glob import escape as glob_escape
from pathlib import Path

from pipeline.common.atomic import write_bytes
from pipeline.reference.settings import MailSettings, Settings
from pipeline.common.errors import MailError
from pipeline.reference.periods import Period
from pipeline.common.text import ascii_slug, nfc
from pipeline.store.ledger import MailLog, open_mail_log
from pipeline.common.formatting import hm_dmy
from pipeline.mail.compose import DISTRIBUTE, FEEDBACK, KIND_LABELS, KINDS, REMINDER, Outgoing, compose, parse_addresses

# A template goes to a unit once per period; feedback and reminders once per content.
DEDUPLICATE_BY_CONTENT = {DISTRIBUTE: False, FEEDBACK: True, REMINDER: True}
SENT, FAILED, SENDING = "sent", "failed", "sending"
SMTP_TIMEOUT = 60
PLACEHOLDER_SENDER = "chua-khai-bao-dia-chi-gui@example.invalid"


def is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_plain_allowed(host: str, security: str, key: str) -> None:
    """A password never crosses a network in clear text: `none` is only for this computer."""
    if security == "none" and not is_loopback(host):
        raise MailError(f"[mail] {key} = \"none\" (không mã hóa) chỉ dùng được với máy chủ trên chính máy này; "
                        f"với {host} hãy dùng starttls hoặc tls")


def password_from_env(variable: str, purpose: str) -> str:
    password = os.environ.get(variable, "")
    if not password:
        raise MailError(f"Chưa có mật khẩu {purpose}: đặt biến môi trường {variable} trước khi chạy lệnh "
                        f"(mật khẩu không được ghi vào tệp cấu hình)")
    return password


# ---------------------------------------------------------------------------------------------
# What was sent: the ledger's mail_deliveries table


def content_key(paths: tuple[Path, ...]) -> str:
    """SHA-256 over the attachments' content. For Office files (zip archives) the document
    properties (save time, author) are left out, so that regenerating the same letter or
    workbook is the same content and is not sent again."""
    digest = hashlib.sha256()
    for path in paths:
        data = path.read_bytes()
        digest.update(nfc(path.name).encode("utf-8") + b"\0")
        try:
            with zipfile.ZipFile(path) as archive:
                for info in sorted(archive.infolist(), key=lambda i: i.filename):
                    if info.filename.startswith("docProps/"):
                        continue
                    digest.update(info.filename.encode("utf-8") + b"\0" + f"{info.CRC:08x}".encode() + b"\0")
        except (zipfile.BadZipFile, OSError):
            digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def connect_ledger(settings: Settings, write: bool = True) -> MailLog | None:
    """The ledger's mail tables, the ledger checked first (damaged or read-only: one line, nothing
    written). Read-only unless `write` (None when there is no ledger yet: nothing was sent)."""
    return open_mail_log(settings.path("ledger"), write)


def previous_delivery(log: MailLog | None, period: Period, kind: str, unit_id: str, key: str) -> dict | None:
    """The delivery that makes sending this again a duplicate: sent, or begun and never confirmed."""
    if log is None:
        return None
    return log.last_delivery(period.code, kind, unit_id, (SENT, SENDING),
                             key if DEDUPLICATE_BY_CONTENT[kind] else None)


def first_sent(settings: Settings, period: Period, kind: str = DISTRIBUTE) -> dt.datetime | None:
    """When the first message of this kind went out for the period (collect reads mail since then)."""
    if not settings.path("ledger").is_file():
        return None
    with closing(connect_ledger(settings, write=False)) as log:
        first = log.first_delivery_time(period.code, kind, SENT)
    return dt.datetime.fromisoformat(first) if first else None


def deliveries(settings: Settings, period: Period | None = None) -> list[dict]:
    if not settings.path("ledger").is_file():
        return []
    with closing(connect_ledger(settings, write=False)) as log:
        return log.deliveries(None if period is None else period.code)


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------
# Sending


@dataclass(frozen=True)
class Result:
    unit_id: str
    unit_name: str
    recipients: tuple[str, ...]
    detail: str = ""        # why it failed, when it was sent before, or the .eml written
    message_id: str = ""


@dataclass
class MailReport:
    kind: str
    period: str
    dry_run: bool
    sent: list[Result] = field(default_factory=list)        # or, in a dry run, written as .eml
    skipped: list[Result] = field(default_factory=list)     # sent before (or uncertain): not again
    failed: list[Result] = field(default_factory=list)
    no_address: list[Result] = field(default_factory=list)
    folder: Path | None = None

    def lines(self) -> list[str]:
        """The summary in Vietnamese, one line per fact, for the terminal."""
        what = KIND_LABELS[self.kind]
        out = []
        if self.dry_run:
            out.append(f"Chạy thử (chưa gửi): {len(self.sent)} thư {what} kỳ {self.period} đã ghi thành tệp .eml "
                       f"trong {self.folder}. Mở kiểm tra rồi chạy lại với --send để gửi.")
        else:
            out.append(f"Đã gửi {len(self.sent)} thư {what} kỳ {self.period}.")
        for r in self.sent:
            out.append(f"  {'ghi' if self.dry_run else 'gửi'}: {r.unit_id} {r.unit_name} -> {', '.join(r.recipients)}")
        if self.skipped:
            out.append(f"Không gửi lại {len(self.skipped)} đơn vị (đã gửi trước đó; dùng --resend để gửi lại):")
            out += [f"  {r.unit_id} {r.unit_name}: {r.detail}" for r in self.skipped]
        if self.failed:
            out.append(f"Gửi không được {len(self.failed)} thư:")
            out += [f"  {r.unit_id} {r.unit_name} ({', '.join(r.recipients) or 'không có địa chỉ hợp lệ'}): {r.detail}"
                    for r in self.failed]
        if self.no_address:
            out.append(f"{len(self.no_address)} đơn vị chưa có địa chỉ thư điện tử (bổ sung cột email trong "
                       f"inputs/departments.csv hoặc inputs/commune_contacts.csv):")
            out += [f"  {r.unit_id} {r.unit_name}" for r in self.no_address]
        return out


class SmtpSession:
    """One connection, opened on first use and reopened once if the server drops it."""

    def __init__(self, cfg: MailSettings):
        self.cfg = cfg
        check_plain_allowed(cfg.smtp_host, cfg.smtp_security, "smtp_security")
        self._password = password_from_env(cfg.smtp_password_env, "máy chủ gửi thư (SMTP)") if cfg.smtp_auth else ""
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        cfg = self.cfg
        where = f"{cfg.smtp_host}:{cfg.smtp_port}"
        try:
            if cfg.smtp_security == "tls":
                smtp = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=SMTP_TIMEOUT,
                                        context=cfg.tls_context())
            else:
                smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=SMTP_TIMEOUT)
                if cfg.smtp_security == "starttls":
                    smtp.starttls(context=cfg.tls_context())
            if cfg.smtp_auth:
                _login(smtp, cfg.login_user, self._password)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(f"Máy chủ gửi thư {where} từ chối đăng nhập của {cfg.login_user} "
                            f"({exc.smtp_code}): kiểm tra smtp_user và biến {cfg.smtp_password_env}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise MailError(f"Máy chủ gửi thư {where} không hỗ trợ {exc}: kiểm tra smtp_security") from None
        except ssl.SSLError as exc:
            raise MailError(f"Không thiết lập được kết nối mã hóa tới {where}: {exc.reason or exc}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"Không kết nối được máy chủ gửi thư {where}: {_reason(exc)}") from None
        return smtp

    def send(self, message: EmailMessage, to: list[str]) -> dict:
        """Refused recipients ({} when all took it); raises smtplib errors for the message.

        A connection the server closed while idle is reopened before the message; one that breaks
        during the message is not retried (the server may have taken it): the message is failed,
        and the next one opens a new connection.
        """
        if self._smtp is not None:
            try:
                alive = self._smtp.noop()[0] == 250
            except (smtplib.SMTPException, OSError):
                alive = False
            if not alive:
                self._drop()
        if self._smtp is None:
            self._smtp = self._open()
        try:
            return self._smtp.send_message(message, from_addr=self.cfg.from_address, to_addrs=to)
        except smtplib.SMTPServerDisconnected:
            self._drop()
            raise
        except smtplib.SMTPException:
            raise  # the server answered (refused an address, the content...): the connection is fine
        except OSError:  # a reset or a timeout: this connection is done
            self._drop()
            raise

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            except OSError:
                pass
        self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._smtp = None


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib encodes credentials as ASCII; AUTH PLAIN is UTF-8 (RFC 4616), so a password with
    Vietnamese letters goes that way."""
    if (user + password).isascii():
        smtp.login(user, password)
        return
    import base64

    smtp.ehlo_or_helo_if_needed()
    if "plain" not in smtp.esmtp_features.get("auth", "").lower().split():
        raise smtplib.SMTPNotSupportedError("AUTH PLAIN (cần cho mật khẩu có dấu)")
    token = base64.b64encode(f"\0{user}\0{password}".encode("utf-8")).decode("ascii")
    code, response = smtp.docmd("AUTH", "PLAIN " + token)
    if code not in (235, 503):
        raise smtplib.SMTPAuthenticationError(code, response)


def _reason(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "máy chủ ngắt kết nối giữa chừng (thư có thể chưa tới; lần chạy sau sẽ gửi lại)"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def send_messages(settings: Settings, kind: str, period: Period, items: list[Outgoing], *,
                  send: bool = False, resend: bool = False) -> MailReport:
    """Composes one message per unit; writes them as .eml (dry run) or sends and records them.

    A unit without an address is listed, not an error; a recipient the server refuses is recorded
    as failed and the others still go out.
    """
    if kind not in KINDS:
        raise ValueError(kind)
    cfg = settings.mail
    if not cfg.from_address and send:
        raise MailError("Chưa khai báo địa chỉ gửi: điền [mail] from_address trong inputs/config.toml")
    if not cfg.from_address:  # a dry run before the mailbox is set up: drafts from a placeholder sender
        cfg = replace(cfg, from_address=PLACEHOLDER_SENDER)
    if send and not cfg.smtp_host:
        raise MailError("Chưa khai báo máy chủ gửi thư: điền [mail] smtp_host trong inputs/config.toml")
    folder = settings.path("outputs") / "mail" / period.code / kind
    report = MailReport(kind=kind, period=period.code, dry_run=not send, folder=folder)
    connection = connect_ledger(settings, write=send)   # a dry run only reads what was sent
    session = SmtpSession(cfg) if send else None
    broken = ""  # the server went away mid-batch: the rest are failed, not retried one by one
    try:
        for item in items:
            unit = item.recipient
            if not send:  # a draft from an earlier dry run must not suggest a message that will not go
                for stale in folder.glob(f"{glob_escape(unit.unit_id)}_*.eml"):
                    stale.unlink()
            to, invalid = parse_addresses(unit.email)
            if not to:
                target = report.failed if invalid else report.no_address
                target.append(Result(unit.unit_id, unit.name, (),
                                     f"địa chỉ không hợp lệ: {', '.join(invalid)}" if invalid else ""))
                continue
            key = content_key(item.attachments)
            before = None if resend else previous_delivery(connection, period, kind, unit.unit_id, key)
            if before is not None:
                when = _local_time(before["time"], cfg)
                detail = (f"đã gửi lúc {when} tới {before['recipients']}" if before["outcome"] == SENT else
                          f"lần gửi lúc {when} bị gián đoạn, không rõ đã tới chưa: kiểm tra hộp thư đã gửi")
                if before["outcome"] == SENT and before["content_key"] != key:
                    detail += "; tệp đính kèm đã thay đổi từ lần gửi đó"
                report.skipped.append(Result(unit.unit_id, unit.name, tuple(to), detail, before["message_id"]))
                continue
            message = compose(settings, cfg, kind, period, item, to)
            note = f"; bỏ qua địa chỉ không hợp lệ: {', '.join(invalid)}" if invalid else ""
            if not send:
                path = folder / f"{unit.unit_id}_{ascii_slug(unit.name) or 'don-vi'}.eml"
                write_bytes(path, message.as_bytes())
                report.sent.append(Result(unit.unit_id, unit.name, tuple(to), str(path) + note,
                                          message["Message-ID"]))
                continue
            if broken:
                report.failed.append(Result(unit.unit_id, unit.name, tuple(to), broken))
                continue
            try:
                _deliver(connection, session, report, period, kind, item, message, to, key, note)
            except MailError as exc:
                if not report.sent and not report.failed:
                    raise  # nothing went out: a settings or server problem, one clear line
                broken = str(exc)
                report.failed.append(Result(unit.unit_id, unit.name, tuple(to), broken))
    finally:
        if session is not None:
            session.close()
        if connection is not None:
            connection.close()
    return report


def _deliver(connection, session, report, period, kind, item, message, to, key, note) -> None:
    unit = item.recipient
    shas = ",".join(hashlib.sha256(p.read_bytes()).hexdigest() for p in item.attachments)
    row_id = connection.start_delivery(period.code, kind, unit.unit_id, ", ".join(to), message["Message-ID"],
                                       " | ".join(nfc(p.name) for p in item.attachments), shas, key, _utc_now(),
                                       SENDING)
    try:
        refused = session.send(message, to)
    except MailError:
        connection.forget_delivery(row_id)
        raise
    except (smtplib.SMTPException, OSError) as exc:
        reason = _reason(exc)
        connection.end_delivery(row_id, FAILED, reason, _utc_now())
        report.failed.append(Result(unit.unit_id, unit.name, tuple(to), reason, message["Message-ID"]))
        return
    error = "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in refused.items())
    connection.end_delivery(row_id, SENT, error, _utc_now())
    accepted = tuple(a for a in to if a not in refused)
    report.sent.append(Result(unit.unit_id, unit.name, accepted,
                              (f"một số địa chỉ bị từ chối: {error}" if error else "") + note, message["Message-ID"]))


def _local_time(iso: str, cfg: MailSettings) -> str:
    try:
        return hm_dmy(dt.datetime.fromisoformat(iso).astimezone(cfg.zone()))
    except ValueError:
        return iso
