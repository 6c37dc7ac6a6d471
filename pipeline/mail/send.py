"""Mail out: each unit its blank template, its feedback workbook or the reminder letter.

A message is composed from an editable Jinja2 template in `templates/mail/<kind>.txt.j2` (first line
the subject, then a blank line, then the body), with the unit's own file attached. Without sending,
the messages are written as `.eml` files into `outputs/mail/<period>/<kind>/` for the officer to
open and check. Sending goes over SMTP (STARTTLS, implicit TLS, or plain only to a server on this
computer); the password comes only from an environment variable and is never written anywhere.

Every delivery is recorded in the `mail_deliveries` table of the ledger database, so that a rerun
sends nothing twice: a unit's template once per period; its feedback and reminder once per content
(a new feedback workbook or a new letter is a new message). `resend=True` sends regardless.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import mimetypes
import os
import re
import smtplib
import sqlite3
import ssl
import unicodedata
import zipfile
from contextlib import closing
from dataclasses import dataclass, field, replace
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, format_datetime, make_msgid
from glob import escape as glob_escape
from pathlib import Path

from pipeline.common.atomic import write_bytes
from pipeline.reference.settings import Settings
from pipeline.common.errors import MailError
from pipeline.reference.periods import Period
from pipeline.common.text import ascii_slug, nfc
from pipeline.reference.project import Project
from pipeline.audit.outputs import MAIL_MERGE_CSV
from pipeline.audit.outputs import letter_path
from pipeline.forms.templates import template_path, template_specs, write_templates
from pipeline.intake.feedback import FEEDBACK_DIR
from pipeline.intake.register import parse_date
from pipeline.store.ledger import check_ledger, open_readonly

DISTRIBUTE = "distribute"
FEEDBACK = "feedback"
REMINDER = "reminder"
KINDS = (DISTRIBUTE, FEEDBACK, REMINDER)
# A template goes to a unit once per period; feedback and reminders once per content.
DEDUPLICATE_BY_CONTENT = {DISTRIBUTE: False, FEEDBACK: True, REMINDER: True}
KIND_DEFAULTS = {DISTRIBUTE: {}, FEEDBACK: {"errors": 0, "warnings": 0, "findings": [], "more": 0},
                 REMINDER: {"status": "", "new_deadline": "", "letter_number": "", "letter_date": ""}}
KIND_LABELS = {DISTRIBUTE: "biểu mẫu", FEEDBACK: "kết quả kiểm tra", REMINDER: "công văn đôn đốc"}

SECURITIES = ("starttls", "tls", "none")
SENT, FAILED, SENDING = "sent", "failed", "sending"
SMTP_TIMEOUT = 60

DELIVERIES_SCHEMA = """
CREATE TABLE IF NOT EXISTS mail_deliveries (
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,
    kind TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    recipients TEXT NOT NULL,
    message_id TEXT NOT NULL,
    attachments TEXT NOT NULL,          -- file names, ' | ' separated
    attachment_sha256 TEXT NOT NULL,    -- the files' SHA-256, ',' separated
    content_key TEXT NOT NULL,          -- what "the same content" means for a rerun (see content_key)
    time TEXT NOT NULL,                 -- ISO 8601, UTC
    outcome TEXT NOT NULL,              -- sending | sent | failed
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS mail_deliveries_unit ON mail_deliveries (period, kind, unit_id);
"""


# ---------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class MailSettings:
    """The `[mail]` section of inputs/config.toml. No password: only the names of the variables."""

    from_address: str = ""
    from_name: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_user: str = ""
    smtp_auth: bool = True
    smtp_password_env: str = "BAOCAO_SMTP_PASSWORD"
    imap_host: str = ""
    imap_port: int = 993
    imap_security: str = "tls"
    imap_user: str = ""
    imap_password_env: str = "BAOCAO_IMAP_PASSWORD"
    imap_folder: str = "INBOX"
    max_attachment_mb: float = 20.0
    max_attachments: int = 20     # spreadsheets saved from one message; the rest are reported
    timezone: str = "Asia/Ho_Chi_Minh"
    ca_file: str = ""

    @property
    def max_attachment_bytes(self) -> int:
        return int(self.max_attachment_mb * 1024 * 1024)

    @property
    def login_user(self) -> str:
        return self.smtp_user or self.from_address

    @property
    def imap_login_user(self) -> str:
        return self.imap_user or self.smtp_user or self.from_address

    def zone(self):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise MailError(f"[mail] timezone = {self.timezone!r} không phải múi giờ hợp lệ "
                            f"(ví dụ: \"Asia/Ho_Chi_Minh\")") from None

    def tls_context(self) -> ssl.SSLContext:
        cafile = self.ca_file or None
        if cafile and not Path(cafile).is_file():
            raise MailError(f"[mail] ca_file: không tìm thấy tệp {cafile}")
        return ssl.create_default_context(cafile=cafile)


PLACEHOLDER_SENDER = "chua-khai-bao-dia-chi-gui@example.invalid"


def mail_settings(settings: Settings) -> MailSettings:
    raw = dict(settings.mail)
    known = set(MailSettings.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise MailError(f"Mục [mail] trong inputs/config.toml có khóa không biết: {', '.join(unknown)} "
                        f"(các khóa hợp lệ: {', '.join(sorted(known))})")
    values = {}
    for name, spec in MailSettings.__dataclass_fields__.items():
        if name not in raw:
            continue
        value, default = raw[name], spec.default
        try:
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError
            elif isinstance(default, int):
                value = int(value)
            elif isinstance(default, float):
                value = float(value)
            else:
                value = nfc(str(value))
        except (TypeError, ValueError):
            raise MailError(f"[mail] {name} = {value!r}: giá trị không hợp lệ") from None
        values[name] = value
    cfg = MailSettings(**values)
    for key in ("smtp_security", "imap_security"):
        if getattr(cfg, key) not in SECURITIES:
            raise MailError(f"[mail] {key} = {getattr(cfg, key)!r}: chỉ dùng starttls, tls hoặc none")
    if cfg.max_attachment_mb <= 0:
        raise MailError("[mail] max_attachment_mb phải lớn hơn 0")
    if cfg.max_attachments < 1:
        raise MailError("[mail] max_attachments phải từ 1 trở lên")
    return cfg


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
# Composing


@dataclass(frozen=True)
class Recipient:
    """A reporting unit as a mail recipient: the registry row's fields a message needs."""

    unit_id: str
    name: str
    kind: str            # commune | department
    email: str           # as written in the registry: one or more addresses, ',' or ';' separated
    contact_person: str = ""

    @property
    def addressee(self) -> str:
        """How a letter names the unit after "Kính gửi:"."""
        if self.kind == "commune":
            return f"Ủy ban nhân dân {self.name[:1].lower()}{self.name[1:]}"
        return self.name


def recipients_from_registry(registry, unit_ids=None) -> list[Recipient]:
    frame = registry.units
    if unit_ids is not None:
        for uid in unit_ids:
            registry.get(uid)  # an unknown id is one clear line
        order = {uid: i for i, uid in enumerate(unit_ids)}
        frame = frame[frame["id"].isin(order)]
    return [Recipient(r.id, r.name, r.kind, nfc(str(r.email or "")), nfc(str(r.contact_person or "")))
            for r in frame.itertuples(index=False)]


def parse_addresses(text: str) -> tuple[list[str], list[str]]:
    """(valid addresses, invalid entries) from a registry cell such as `a@x.vn; Văn thư <b@y.vn>`."""
    from email.utils import parseaddr

    valid, invalid = [], []
    for entry in _split_entries(text):
        _, address = parseaddr(entry)
        address = address.strip()
        local, _, domain = address.rpartition("@")
        if (not local or "." not in domain or any(c.isspace() for c in address)
                or ("<" in entry and f"<{address}>" not in entry.replace(" ", ""))):
            invalid.append(entry)
        elif address not in valid:
            valid.append(address)
    return valid, invalid


def _split_entries(text: str) -> list[str]:
    """Splits on `,` and `;` outside quotes and angle brackets."""
    entries, current, quoted, angle = [], [], False, False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            angle = True
        elif ch == ">" and not quoted:
            angle = False
        if ch in ",;" and not quoted and not angle:
            entries.append("".join(current))
            current = []
        else:
            current.append(ch)
    entries.append("".join(current))
    return [e.strip() for e in entries if e.strip()]


@dataclass(frozen=True)
class Outgoing:
    """One message to compose: a unit, its files, and what its kind's template needs beyond the defaults."""

    recipient: Recipient
    attachments: tuple[Path, ...]
    context: dict = field(default_factory=dict)


def _jinja(settings: Settings):
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    # A unit's text (a finding quotes its cell) is only ever data passed to a template, never a
    # template itself: `{{7*7}}` in a cell is written as typed. Plain-text mail is not escaped; a
    # template for HTML would be.
    return Environment(loader=FileSystemLoader(settings.root / "templates" / "mail"), undefined=StrictUndefined,
                       autoescape=select_autoescape(("html", "htm", "xml", "html.j2", "htm.j2")),
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render_text(settings: Settings, kind: str, context: dict) -> tuple[str, str]:
    """(subject, body) from `templates/mail/<kind>.txt.j2`: the first non-blank line is the subject."""
    from jinja2 import TemplateError, TemplateNotFound

    name = f"{kind}.txt.j2"
    try:
        text = _jinja(settings).get_template(name).render(**context)
    except TemplateNotFound:
        raise MailError(f"Không tìm thấy mẫu thư {settings.root / 'templates' / 'mail' / name}") from None
    except TemplateError as exc:
        raise MailError(f"Mẫu thư templates/mail/{name} có lỗi: {exc}") from None
    lines = text.replace("\r\n", "\n").lstrip("\n").split("\n")
    subject = nfc(lines[0])
    body = "\n".join(line.rstrip() for line in lines[1:]).strip("\n") + "\n"
    body = re.sub(r"\n{3,}", "\n\n", body)  # an empty {% if %} branch leaves no double gap
    if not subject:
        raise MailError(f"Mẫu thư templates/mail/{name}: dòng đầu (tiêu đề thư) đang trống")
    return subject, unicodedata.normalize("NFC", body)


def base_context(settings: Settings, cfg: MailSettings, period: Period, recipient: Recipient,
                 attachments: tuple[Path, ...]) -> dict:
    sender = cfg.from_name or f"{settings.standing_unit} tỉnh {settings.province_name}"
    return {
        "unit_id": recipient.unit_id, "unit_name": recipient.name, "addressee": recipient.addressee,
        "contact_person": recipient.contact_person,
        "period_code": period.code, "period_label": period.label,
        "window_start": f"{period.window_start:%d/%m/%Y}", "cutoff": f"{period.cutoff:%d/%m/%Y}",
        "deadline": f"{period.deadline:%d/%m/%Y}",
        "plan_years": f"{settings.plan_first_year}-{settings.plan_last_year}",
        "province_name": settings.province_name, "standing_unit": settings.standing_unit,
        "sender_name": sender, "sender_address": cfg.from_address,
        "attachments": [p.name for p in attachments],
    }


def _maintype(path: Path) -> tuple[str, str]:
    known = {
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
        ".xls": "application/vnd.ms-excel",
        ".ods": "application/vnd.oasis.opendocument.spreadsheet",
        ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".pdf": "application/pdf",
    }
    ctype = known.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    maintype, _, subtype = ctype.partition("/")
    return maintype, subtype


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def compose(settings: Settings, cfg: MailSettings, kind: str, period: Period, item: Outgoing,
            to: list[str], now: dt.datetime | None = None) -> EmailMessage:
    """The message for one unit: Vietnamese subject and body (UTF-8), its files attached.

    Attachment names keep their diacritics, encoded per RFC 2231 by the email package.
    """
    context = {**base_context(settings, cfg, period, item.recipient, item.attachments),
               **KIND_DEFAULTS[kind], **item.context}
    subject, body = render_text(settings, kind, context)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = _from_header(cfg, context["sender_name"])
    message["To"] = ", ".join(formataddr((item.recipient.name, a)) for a in to)
    message["Date"] = format_datetime(now or dt.datetime.now(dt.timezone.utc))
    message["Message-ID"] = make_msgid(idstring=f"{period.code}.{kind}.{ascii_slug(item.recipient.unit_id)}",
                                       domain=_domain(cfg.from_address))
    message["X-Baocao-Unit"] = item.recipient.unit_id
    message["X-Baocao-Period"] = period.code
    message["X-Baocao-Kind"] = kind
    message.set_content(body, charset="utf-8")
    for path in item.attachments:
        maintype, subtype = _maintype(path)
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype,
                               filename=nfc(path.name))
    return message


def _from_header(cfg: MailSettings, sender_name: str) -> str:
    try:
        return str(Address(display_name=sender_name, addr_spec=cfg.from_address))
    except (ValueError, IndexError):
        raise MailError(f"[mail] from_address = {cfg.from_address!r} không phải địa chỉ thư hợp lệ") from None


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


def connect_ledger(settings: Settings, write: bool = True) -> sqlite3.Connection | None:
    """The ledger, checked first (damaged or read-only: one line, nothing written). Read-only
    unless `write` (None when there is no ledger yet: nothing was sent)."""

    path = settings.path("ledger")
    if not write:
        if not path.is_file():
            return None
        connection = open_readonly(path)
        connection.row_factory = sqlite3.Row
        return connection
    check_ledger(path, writing=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30)
    connection.row_factory = sqlite3.Row
    connection.executescript(DELIVERIES_SCHEMA)
    return connection


def previous_delivery(connection: sqlite3.Connection, period: Period, kind: str, unit_id: str,
                      key: str) -> sqlite3.Row | None:
    """The delivery that makes sending this again a duplicate: sent, or begun and never confirmed."""
    if connection is None:
        return None
    query = ("SELECT * FROM mail_deliveries WHERE period = ? AND kind = ? AND unit_id = ? "
             "AND outcome IN (?, ?)")
    args = [period.code, kind, unit_id, SENT, SENDING]
    if DEDUPLICATE_BY_CONTENT[kind]:
        query += " AND content_key = ?"
        args.append(key)
    try:
        return connection.execute(query + " ORDER BY id DESC LIMIT 1", args).fetchone()
    except sqlite3.OperationalError:   # read-only, and nothing was ever sent: no table yet
        return None


def first_sent(settings: Settings, period: Period, kind: str = DISTRIBUTE) -> dt.datetime | None:
    """When the first message of this kind went out for the period (collect reads mail since then)."""
    if not settings.path("ledger").is_file():
        return None
    with closing(connect_ledger(settings, write=False)) as connection:
        try:
            row = connection.execute("SELECT MIN(time) FROM mail_deliveries WHERE period = ? AND kind = ? "
                                     "AND outcome = ?", (period.code, kind, SENT)).fetchone()
        except sqlite3.OperationalError:   # no table: nothing was ever sent
            return None
    return dt.datetime.fromisoformat(row[0]) if row and row[0] else None


def deliveries(settings: Settings, period: Period | None = None) -> list[dict]:
    if not settings.path("ledger").is_file():
        return []
    with closing(connect_ledger(settings, write=False)) as connection:
        try:
            if period is None:
                rows = connection.execute("SELECT * FROM mail_deliveries ORDER BY id").fetchall()
            else:
                rows = connection.execute("SELECT * FROM mail_deliveries WHERE period = ? ORDER BY id",
                                          (period.code,)).fetchall()
        except sqlite3.OperationalError:   # no table: nothing was ever sent
            return []
    return [dict(r) for r in rows]


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
    cfg = mail_settings(settings)
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
    with connection:
        row_id = connection.execute(
            "INSERT INTO mail_deliveries (period, kind, unit_id, recipients, message_id, attachments, "
            "attachment_sha256, content_key, time, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (period.code, kind, unit.unit_id, ", ".join(to), message["Message-ID"],
             " | ".join(nfc(p.name) for p in item.attachments), shas, key, _utc_now(), SENDING),
        ).lastrowid
    try:
        refused = session.send(message, to)
    except MailError:
        with connection:
            connection.execute("DELETE FROM mail_deliveries WHERE id = ?", (row_id,))
        raise
    except (smtplib.SMTPException, OSError) as exc:
        reason = _reason(exc)
        with connection:
            connection.execute("UPDATE mail_deliveries SET outcome = ?, error = ?, time = ? WHERE id = ?",
                               (FAILED, reason, _utc_now(), row_id))
        report.failed.append(Result(unit.unit_id, unit.name, tuple(to), reason, message["Message-ID"]))
        return
    error = "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in refused.items())
    with connection:
        connection.execute("UPDATE mail_deliveries SET outcome = ?, error = ?, time = ? WHERE id = ?",
                           (SENT, error, _utc_now(), row_id))
    accepted = tuple(a for a in to if a not in refused)
    report.sent.append(Result(unit.unit_id, unit.name, accepted,
                              (f"một số địa chỉ bị từ chối: {error}" if error else "") + note, message["Message-ID"]))


def _local_time(iso: str, cfg: MailSettings) -> str:
    try:
        return dt.datetime.fromisoformat(iso).astimezone(cfg.zone()).strftime("%H:%M %d/%m/%Y")
    except ValueError:
        return iso


# ---------------------------------------------------------------------------------------------
# What each kind sends: plain lists of Outgoing, built from the other stages' outputs


def distribution(project: Project, period: Period, unit_id: str | None = None) -> list[Outgoing]:
    """Each expected unit with its own blank template, generating the templates that are missing."""
    settings, registry = project.settings, project.registry

    specs = template_specs(project, period, unit_id)
    paths = {s.unit_id: template_path(settings, period, s.unit_id, s.unit_name) for s in specs}
    if any(not p.is_file() for p in paths.values()):
        write_templates(project, period, unit_id)
    recipients = {r.unit_id: r for r in recipients_from_registry(registry, list(paths))}
    return [Outgoing(recipients[uid], (path,)) for uid, path in paths.items()]


FEEDBACK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
MAX_FINDINGS_IN_MAIL = 10


def feedback_folder(settings: Settings, period: Period) -> Path:
    """Where ingestion writes each unit's feedback workbook (`<period>_<unit id>_<slug>_phan-hoi.xlsx`)."""

    return settings.path("outputs") / period.code / FEEDBACK_DIR


def files_by_unit(folder: Path, unit_ids: list[str], suffixes=FEEDBACK_SUFFIXES) -> dict[str, list[Path]]:
    """The files in `folder` whose name carries a unit's id as a separate token (`..._03405_...`)."""
    found: dict[str, list[Path]] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in suffixes:
            continue
        tokens = set(re.split(r"[_\s.()]+", path.stem))
        owners = [uid for uid in unit_ids if uid in tokens]
        if len(owners) == 1:
            found.setdefault(owners[0], []).append(path)
    return found


def findings_summary(settings: Settings, period: Period, unit_id: str) -> dict:
    """errors, warnings and the first findings of the unit's latest judged submission, from the
    ledger's `latest_submissions` and `findings` (empty when ingestion has not recorded any)."""
    empty = {"errors": 0, "warnings": 0, "findings": [], "more": 0}
    db = connect_ledger(settings, write=False)
    if db is None:
        return empty
    with closing(db):
        try:
            latest = db.execute("SELECT id FROM latest_submissions WHERE period = ? AND unit_id = ? "
                                "ORDER BY id DESC LIMIT 1", (period.code, unit_id)).fetchone()
            if latest is None:
                return empty
            rows = db.execute("SELECT sheet, cell, message, severity FROM findings WHERE submission_id = ? "
                              "ORDER BY severity = 'warning', id", (latest["id"],)).fetchall()
        except sqlite3.OperationalError:  # an older ledger without ingestion's tables
            return empty
    findings = [dict(r) for r in rows]
    return {"errors": sum(f["severity"] == "error" for f in findings),
            "warnings": sum(f["severity"] == "warning" for f in findings),
            "findings": findings[:MAX_FINDINGS_IN_MAIL], "more": max(0, len(findings) - MAX_FINDINGS_IN_MAIL)}


def feedback(project: Project, period: Period, folder: Path | None = None,
             unit_id: str | None = None) -> list[Outgoing]:
    """Each unit's feedback workbook(s) from `folder`, with a summary of its findings for the body."""
    settings, registry = project.settings, project.registry
    folder = folder or feedback_folder(settings, period)
    if not folder.is_dir():
        raise MailError(f"Không có thư mục kết quả kiểm tra {folder}: chạy nhập báo cáo (ingest) trước")
    ids = [unit_id] if unit_id else registry.ids
    if unit_id:
        registry.get(unit_id)
    files = files_by_unit(folder, ids)
    recipients = {r.unit_id: r for r in recipients_from_registry(registry, list(files))}
    return [Outgoing(recipients[uid], tuple(paths), findings_summary(settings, period, uid))
            for uid, paths in files.items()]


@dataclass(frozen=True)
class SignedLetter:
    """The signed, numbered công văn that goes out instead of the audit's draft."""

    path: Path
    number: str          # as the letter gives it: 123/SYT-NVY
    date: dt.date


LETTER_SUFFIXES = (".pdf", ".docx")
_LETTER_DATES = (   # day first, the Vietnamese way; then ISO; then 20062026
    (re.compile(r"(?<!\d)(\d{1,2})[.\-_ ](\d{1,2})[.\-_ ](\d{4})(?!\d)"), "dmy"),
    (re.compile(r"(?<!\d)(\d{4})[.\-_](\d{1,2})[.\-_](\d{1,2})(?!\d)"), "ymd"),
    (re.compile(r"ng[aà]y\s*(\d{1,2})\s*th[aá]ng\s*(\d{1,2})\s*n[aă]m\s*(\d{4})", re.IGNORECASE), "dmy"),
    (re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{4})(?!\d)"), "dmy"),
)
# the number, and the issuing code after it in capitals: 123-SYT-NVY -> 123/SYT-NVY
_LETTER_NUMBER = re.compile(r"(?<![\d])(\d{1,5})(?![\d])(?:[-_ ]+((?:[A-ZĐ][A-ZĐ0-9]+)(?:[-_][A-ZĐ][A-ZĐ0-9]*)*))?")


def letter_reference(name: str) -> tuple[str, dt.date | None]:
    """(number, date) of a letter read from its file name, forgivingly: `123-SYT-NVY 20-06-2026.pdf`
    -> ('123/SYT-NVY', 20/06/2026); `CV 123 ngay 20.6.2026.pdf` -> ('123', 20/06/2026); '' and None
    for what the name does not give."""
    stem = nfc(Path(name).stem)
    day = None
    for pattern, order in _LETTER_DATES:
        match = pattern.search(stem)
        if not match:
            continue
        a, b, c = (int(g) for g in match.groups())
        try:
            day = dt.date(c, b, a) if order == "dmy" else dt.date(a, b, c)
        except ValueError:
            continue
        stem = stem[:match.start()] + " " + stem[match.end():]
        break
    match = _LETTER_NUMBER.search(stem)
    number = ""
    if match:
        number = match.group(1) + (f"/{match.group(2).replace('_', '-')}" if match.group(2) else "")
    return number, day


def signed_letter(path: Path, number: str | None = None, day: dt.date | None = None) -> SignedLetter:
    """The signed letter given on the command line, its number and date from `number`/`day` or else
    from its file name; one clear line for what is missing."""
    if path.suffix.lower() not in LETTER_SUFFIXES:
        raise MailError(f"Công văn đã ký {path.name} phải là tệp PDF hoặc DOCX (bản scan có chữ ký, dấu)")
    if not path.is_file():
        raise MailError(f"Không tìm thấy công văn đã ký {path}")
    found_number, found_day = letter_reference(path.name)
    number, day = nfc(number or "").strip() or found_number, day or found_day
    missing = [what for what, value in (("số (--so 123/SYT-NVY)", number), ("ngày (--ngay 20/06/2026)", day))
               if not value]
    if missing:
        raise MailError(f"Không đọc được {' và '.join(missing)} của công văn từ tên tệp {path.name}: ghi rõ bằng "
                        f"{', '.join(m[m.index('(') + 1:-1] for m in missing)}, hoặc đặt tên tệp như "
                        f"\"123-SYT-NVY 20-06-2026.pdf\"")
    return SignedLetter(path, number, day)


def reminders(registry, letter: Path | SignedLetter, unit_ids: list[str], statuses: dict[str, str] | None = None,
              new_deadline: dt.date | None = None) -> list[Outgoing]:
    """The reminder letter to each unit it addresses (`statuses`: unit id -> missing | rejected):
    the signed letter, its number and date in the message, or the audit's draft (a path)."""
    signed = letter if isinstance(letter, SignedLetter) else None
    letter = signed.path if signed else letter
    if not letter.is_file():
        raise MailError(f"Không tìm thấy công văn đôn đốc {letter}: chạy kiểm tra tình hình nộp (audit) trước")
    statuses = statuses or {}
    extra = {"new_deadline": f"{new_deadline:%d/%m/%Y}" if new_deadline else "",
             "letter_number": signed.number if signed else "",
             "letter_date": f"{signed.date:%d/%m/%Y}" if signed else ""}
    return [Outgoing(r, (letter,), {**extra, "status": statuses.get(r.unit_id, "")})
            for r in recipients_from_registry(registry, unit_ids)]


def reminder_letter_path(settings: Settings, period: Period) -> Path:

    return letter_path(settings, period)


@dataclass(frozen=True)
class AuditAddressees:
    unit_ids: list[str]
    statuses: dict[str, str]        # unit id -> the audit's status code (missing, rejected, ...)
    new_deadline: dt.date | None


def audit_addressees(settings: Settings, period: Period) -> AuditAddressees:
    """The units the last audit addressed its letter to, read from the audit's mail-merge CSV
    (`outputs/<period>/tinh-hinh-nop-bao-cao.csv`), written in the same run as the letter, so the
    list and the letter always agree."""
    import csv

    path = settings.path("outputs") / period.code / MAIL_MERGE_CSV
    if not path.is_file():
        raise MailError(f"Chưa có kết quả kiểm tra tình hình nộp kỳ {period.code} ({path}): chạy "
                        f"make audit PERIOD={period.code} trước, hoặc ghi rõ đơn vị bằng --unit")
    ids, statuses, deadline = [], {}, None
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if nfc(row.get("Gửi công văn đôn đốc") or "").lower() != "có":
                continue
            uid = nfc(row.get("Mã đơn vị") or "")
            ids.append(uid)
            statuses[uid] = nfc(row.get("Mã tình trạng") or "")
            try:
                deadline = parse_date(row.get("Hạn nộp mới") or "")
            except ValueError:
                pass
    return AuditAddressees(ids, statuses, deadline)
