"""Collect submissions from the province mailbox: spreadsheet attachments into `inputs/submissions/<period>/`.

Reads the mailbox over IMAP, read-only: the folder is opened with EXAMINE and bodies fetched with
BODY.PEEK, so no message is deleted, moved or marked read. Messages since the templates went out
(the first `distribute` delivery of the period, or `since`) are examined; every spreadsheet
attachment (.xlsx .xlsm .xls .ods, also inside a .zip) is saved under a safe name, and the time the
province's server took the message in (IMAP INTERNALDATE, never the sender's `Date` header) is
recorded as the receipt date in the period's incoming-documents register (so-den.csv), which
ingestion and the audit read. What was taken is remembered by Message-ID and attachment hash in the
ledger's `mail_collected` table, so a rerun takes nothing twice. Messages that bring nothing usable
are reported with their sender and subject.

Each message is judged alone: a malformed header, a Date far from the arrival, a sender outside
the units' contacts are warnings on that message (in the summary and the register's note), and a
message the parser cannot read at all is reported, never the end of the run.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import imaplib
import io
import re
import ssl
import unicodedata
import zipfile
import zlib
from contextlib import closing
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path

from pipeline.common import clock
from pipeline.common.atomic import write_bytes
from pipeline.reference.settings import MailSettings, Settings
from pipeline.common.errors import MailError
from pipeline.mail.send import check_plain_allowed, connect_ledger, first_sent, password_from_env
from pipeline.reference.periods import Period
from pipeline.intake.register import REGISTER_NAME, Receipt, append_receipts, read_register
from pipeline.common.text import nfc
from pipeline.mail.compose import parse_addresses, recipients_from_registry
from pipeline.store.ledger import run_lock
from pipeline.store.ledger import MailLog, SqliteError
from pipeline.common.filetypes import OLE_MAGIC, ZIP_MAGIC, is_spreadsheet_name
from pipeline.common.formatting import dmy, hm_dmy, megabytes

MAX_ZIP_MEMBERS = 200
IMAP_TIMEOUT = 60
FETCH_CHUNK = 200
FALLBACK_NAME = "tep-dinh-kem"
MAX_NAME_BYTES = 180   # well under the 255 bytes of a file name, leaving room for " (12)"
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}
_FORBIDDEN = set('<>:"/\\|?*')
_SYSTEM_NAMES = {"thumbs.db", "desktop.ini", ".ds_store", REGISTER_NAME}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

SAVED, DUPLICATE, UNUSABLE = "saved", "duplicate", "unusable"

# ---------------------------------------------------------------------------------------------
# Names and attachments (pure)


def safe_file_name(name: str) -> str:
    """A name that is safe to create inside the folder on Windows and Linux.

    Only the last path component is kept (`../../x.xlsx` -> `x.xlsx`, `C:\\a\\b.xls` -> `b.xls`);
    control and bidirectional-override characters and `<>:"/\\|?*` are dropped; Windows device names
    (`CON.xlsx`) get a leading underscore; diacritics are kept, in NFC.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name
                   if ch not in _FORBIDDEN and unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"})
    name = name.replace("\ufffd", "")   # what an undecodable encoded word became
    name = re.sub(r"\s+", " ", name).strip()
    stem, dot, suffix = name.rpartition(".")
    if not dot or not suffix.strip(" .") or " " in suffix:
        stem, suffix = name, ""
    # never a name ingestion passes over: Office's owner files (~$x.xlsx), hidden files (.x)
    stem = re.sub(r"^(?:~\$|[~.\s])+", "", stem).strip(" .")
    if not stem:
        stem = FALLBACK_NAME
    if stem.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    suffix = f".{suffix}" if suffix else ""
    if (stem + suffix).lower() in _SYSTEM_NAMES:
        stem = "_" + stem
    while len((stem + suffix).encode("utf-8")) > MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    stem = stem.rstrip(" .") or FALLBACK_NAME
    return stem + suffix


def spreadsheet_problem(name: str, data: bytes) -> str | None:
    """Why this attachment is not a spreadsheet we can take; None when it is one."""
    if not is_spreadsheet_name(name):
        return "không phải bảng tính (.xlsx, .xlsm, .xls, .ods)"
    if not data:
        return "tệp rỗng (0 byte)"
    if not data.startswith((ZIP_MAGIC, OLE_MAGIC)):
        return "có đuôi bảng tính nhưng nội dung không phải tệp Excel hay LibreOffice"
    return None


@dataclass(frozen=True)
class Attachment:
    name: str            # as the sender named it, decoded, NFC; 'a.zip/b.xlsx' for a zip member
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Problem:
    name: str            # the attachment ('' for the message as a whole)
    reason: str


def _mb(size: int) -> str:
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return megabytes(size)


def unpack_zip(name: str, data: bytes, limit: int) -> tuple[list[Attachment], list[Problem], list[str]]:
    """The spreadsheets inside a zip, guarded against zip bombs: the member count, each member's
    declared size and the bytes actually inflated are all bounded. Nested archives are not opened."""
    found, problems, ignored = [], [], []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError):
        return [], [Problem(name, "tệp nén .zip bị hỏng, không mở được")], []
    if len(members) > MAX_ZIP_MEMBERS:
        return [], [Problem(name, f"tệp nén có {len(members)} tệp bên trong (tối đa {MAX_ZIP_MEMBERS})")], []
    total = 0
    with archive:
        for info in members:
            member = _zip_member_name(info)
            label = f"{name}/{member}"
            if not is_spreadsheet_name(member):
                ignored.append(label)
                continue
            if info.flag_bits & 0x1:
                problems.append(Problem(label, "tệp trong .zip có đặt mật khẩu"))
                continue
            if info.file_size > limit or total + info.file_size > limit:
                problems.append(Problem(label, f"quá lớn khi giải nén ({_mb(info.file_size)}, "
                                               f"tối đa {_mb(limit)})"))
                continue
            try:
                with archive.open(info) as handle:
                    content = handle.read(limit + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError):
                problems.append(Problem(label, "tệp trong .zip bị hỏng, không giải nén được"))
                continue
            if len(content) > limit:
                problems.append(Problem(label, f"quá lớn khi giải nén (trên {_mb(limit)})"))
                continue
            total += len(content)
            problem = spreadsheet_problem(member, content)
            if problem:
                problems.append(Problem(label, problem))
            else:
                found.append(Attachment(label, content))
    return found, problems, ignored


def _zip_member_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if not info.flag_bits & 0x800:
        # Without the UTF-8 flag, zipfile decoded the name as cp437; Windows' own zip wrote it in
        # the machine's code page, and most archivers today write UTF-8 anyway.
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return nfc(name.replace("\\", "/"))


def _parts(message: Message):
    """Leaf parts, without descending into attached messages (a bounce carries our own template)."""
    if message.get_content_type() == "message/rfc822":
        return
    if message.is_multipart():
        for part in message.get_payload():
            yield from _parts(part)
    else:
        yield message


def attachments_of(message: Message, limit: int) -> tuple[list[Attachment], list[Problem], list[str]]:
    """(spreadsheets, problems, other files ignored) of one message."""
    found, problems, ignored = [], [], []
    for part in _parts(message):
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if filename is None and disposition != "attachment":
            continue  # the body text, inline HTML
        name = nfc(str(filename or FALLBACK_NAME))
        data = part.get_payload(decode=True) or b""
        if len(data) > limit:
            problems.append(Problem(name, f"quá lớn ({_mb(len(data))}, tối đa {_mb(limit)})"))
        elif name.lower().endswith(".zip"):
            inner, inner_problems, inner_ignored = unpack_zip(name, data, limit)
            found += inner
            problems += inner_problems
            ignored += inner_ignored
            if not (inner or inner_problems):
                problems.append(Problem(name, "tệp nén không chứa bảng tính nào"))
        elif is_spreadsheet_name(name):
            problem = spreadsheet_problem(name, data)
            if problem:
                problems.append(Problem(name, problem))
            else:
                found.append(Attachment(name, data))
        else:
            ignored.append(name)
    return found, problems, ignored


DATE_TOLERANCE = dt.timedelta(days=1)


def receipt_date(message: Message, internal_date: dt.datetime | None, zone) -> tuple[dt.date, list[str]]:
    """The receipt date: when the province's server took the message in (IMAP INTERNALDATE), in
    the province's time zone, whatever the sender's program wrote in `Date`; with what is wrong
    with that header (missing, unreadable, more than a day away from the arrival), in Vietnamese.
    The header is only the fallback of a server that gives no arrival time."""
    notes = []
    raw = _raw_header(message, "Date").strip()
    written = None
    if not raw:
        notes.append("thư không ghi ngày gửi (Date)")
    else:
        try:
            written = parsedate_to_datetime(raw)
            if written.tzinfo is None:
                written = written.replace(tzinfo=dt.timezone.utc)
            written.astimezone(zone)   # year 9999 and the like overflow here
        except (TypeError, ValueError, IndexError, OverflowError):
            written = None
            notes.append(f"ngày gửi ghi trong thư không hợp lệ (Date: {_short(raw)})")
    when = internal_date or written
    if when is None:
        return clock.now().astimezone(zone).date(), notes
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    arrived = when.astimezone(zone)
    if internal_date is not None and written is not None:
        try:
            apart = abs(written - internal_date)
        except OverflowError:
            apart = dt.timedelta.max
        if apart > DATE_TOLERANCE:
            shown = written.astimezone(zone)
            notes.append(f"ngày ghi trong thư ({hm_dmy(shown)}) khác thời điểm máy chủ nhận thư "
                         f"({hm_dmy(arrived)}) hơn 1 ngày; ngày đến tính theo máy chủ: {dmy(arrived)}")
    return arrived.date(), notes


def sender_address(message: Message) -> tuple[str, str]:
    """(the sender's address in lower case, or ''; what is wrong with the From header, or '')."""
    raw = _raw_header(message, "From").strip()
    if not raw:
        return "", "thư không ghi người gửi (From)"
    try:
        addresses = [a for a in message["From"].addresses if a.username and "." in a.domain]
    except Exception:   # the email package's parser fails on some malformed headers (a@[1.2.3)
        addresses = []
    if not addresses:
        return "", f"địa chỉ người gửi không hợp lệ (From: {_short(raw)})"
    return addresses[0].addr_spec.lower(), ""


def known_addresses(registry) -> set[str]:
    """Every unit's addresses, as inputs/departments.csv and inputs/commune_contacts.csv give them."""

    found = set()
    for recipient in recipients_from_registry(registry):
        found.update(a.lower() for a in parse_addresses(recipient.email)[0])
    return found


def _short(text: str, width: int = 80) -> str:
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _raw_header(message: Message, name: str) -> str:
    """A header as written (encoded words left encoded), never raising."""
    try:
        for key, value in message.raw_items():
            if key.lower() == name.lower():
                return str(value)
    except Exception:
        pass
    return ""


def _header(message: Message, name: str) -> str:
    """A header decoded for display; as written when the email package cannot decode it."""
    try:
        value = message.get(name)
        text = str(value) if value is not None else ""
    except Exception:   # a malformed header the parser trips on: shown as written
        text = _raw_header(message, name)
    return nfc(_short(text, 300))


def message_key(message: Message, raw: bytes) -> str:
    """The Message-ID, or a hash of the whole message when a sender's program wrote none."""
    mid = _header(message, "Message-ID").strip()
    return mid if mid else "sha256:" + hashlib.sha256(raw).hexdigest()


# ---------------------------------------------------------------------------------------------
# The mailbox


@dataclass(frozen=True)
class Envelope:
    uid: str
    message_id: str        # '' when the header is missing
    size: int
    internal_date: dt.datetime | None


class ImapSession:
    """A read-only view of one folder of the mailbox."""

    def __init__(self, cfg: MailSettings):
        if not cfg.imap_host:
            raise MailError("Chưa khai báo hộp thư nhận: điền [mail] imap_host trong inputs/config.toml")
        check_plain_allowed(cfg.imap_host, cfg.imap_security, "imap_security")
        self.cfg = cfg
        self._password = password_from_env(cfg.imap_password_env, "hộp thư nhận (IMAP)")
        self._imap: imaplib.IMAP4 | None = None

    def __enter__(self) -> "ImapSession":
        cfg = self.cfg
        where = f"{cfg.imap_host}:{cfg.imap_port}"
        try:
            if cfg.imap_security == "tls":
                imap = imaplib.IMAP4_SSL(cfg.imap_host, cfg.imap_port, ssl_context=cfg.tls_context(),
                                         timeout=IMAP_TIMEOUT)
            else:
                imap = imaplib.IMAP4(cfg.imap_host, cfg.imap_port, timeout=IMAP_TIMEOUT)
                if cfg.imap_security == "starttls":
                    imap.starttls(ssl_context=cfg.tls_context())
        except ssl.SSLError as exc:
            raise MailError(f"Không thiết lập được kết nối mã hóa tới hộp thư {where}: {exc.reason or exc}") from None
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailError(f"Không kết nối được hộp thư {where}: {getattr(exc, 'strerror', None) or exc}") from None
        self._imap = imap
        try:
            if (cfg.imap_login_user + self._password).isascii():
                imap.login(cfg.imap_login_user, self._password)
            else:  # LOGIN is ASCII-only in imaplib; AUTHENTICATE PLAIN carries UTF-8
                credentials = f"\0{cfg.imap_login_user}\0{self._password}".encode("utf-8")
                imap.authenticate("PLAIN", lambda _challenge: credentials)
        except imaplib.IMAP4.error:
            self.__exit__()
            raise MailError(f"Hộp thư {where} từ chối đăng nhập của {cfg.imap_login_user}: kiểm tra imap_user "
                            f"và biến {cfg.imap_password_env}") from None
        status, _ = imap.select(_quote(cfg.imap_folder), readonly=True)
        if status != "OK":
            self.__exit__()
            raise MailError(f"Hộp thư {where} không có thư mục {cfg.imap_folder!r} ([mail] imap_folder)")
        return self

    def __exit__(self, *exc) -> None:
        if self._imap is not None:
            try:
                self._imap.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
            self._imap = None

    def _ok(self, response, what: str):
        status, data = response
        if status != "OK":
            raise MailError(f"Hộp thư trả lỗi khi {what}: {_text(data)}")
        return data

    def since(self, day: dt.date) -> list[str]:
        data = self._ok(self._imap.uid("SEARCH", None, "SINCE", _imap_date(day)), "tìm thư")
        return [uid.decode() for uid in b" ".join(d for d in data if d).split()]

    def envelopes(self, uids: list[str]) -> list[Envelope]:
        out = []
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = ",".join(uids[start:start + FETCH_CHUNK])
            data = self._ok(self._imap.uid("FETCH", chunk, "(UID RFC822.SIZE INTERNALDATE "
                                                          "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"), "đọc thư")
            for item in data:
                if not isinstance(item, tuple):
                    continue
                meta, header = item[0], item[1]
                uid = re.search(rb"UID (\d+)", meta)
                size = re.search(rb"RFC822\.SIZE (\d+)", meta)
                internal = re.search(rb'INTERNALDATE "([^"]+)"', meta)
                if not uid:
                    continue
                parsed = email.message_from_bytes(header or b"", policy=email.policy.default)
                out.append(Envelope(uid.group(1).decode(), _header(parsed, "Message-ID").strip(),
                                    int(size.group(1)) if size else 0,
                                    _internal_date(internal.group(1).decode()) if internal else None))
        return out

    def fetch(self, uid: str, header_only: bool = False) -> bytes:
        section = "(BODY.PEEK[HEADER])" if header_only else "(BODY.PEEK[])"
        data = self._ok(self._imap.uid("FETCH", uid, section), "tải thư")
        for item in data:
            if isinstance(item, tuple):
                return item[1]
        raise MailError(f"Hộp thư không trả về nội dung thư UID {uid}")


def _quote(folder: str) -> str:
    folder = imap_utf7(folder)
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501, 5.1.3): `Báo cáo` -> `B&AOE-o c&AOE-o`."""
    import base64

    out, pending = [], []

    def flush():
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in unicodedata.normalize("NFC", name):
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def _imap_date(day: dt.date) -> str:
    return f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year}"


def _internal_date(text: str) -> dt.datetime | None:
    try:
        day, month, rest = text.strip().split("-", 2)
        return dt.datetime.strptime(f"{day}-{_MONTHS.index(month) + 1:02d}-{rest}", "%d-%m-%Y %H:%M:%S %z")
    except (ValueError, IndexError):
        return None


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(_text(v) for v in value)
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------------------------------------
# Collecting


@dataclass(frozen=True)
class Taken:
    sender: str
    subject: str
    received: dt.date
    attachment: str
    saved_as: str = ""      # relative to the period folder
    note: str = ""


@dataclass
class CollectReport:
    period: str
    since: dt.date
    folder: Path
    examined: int = 0
    seen_before: int = 0
    saved: list[Taken] = field(default_factory=list)
    duplicates: list[Taken] = field(default_factory=list)
    unusable: list[Taken] = field(default_factory=list)
    ignored: list[Taken] = field(default_factory=list)
    warnings: list[Taken] = field(default_factory=list)   # about a message still taken (its date, its sender)

    def lines(self) -> list[str]:
        out = [f"Hộp thư: {self.examined} thư từ ngày {dmy(self.since)}, {self.seen_before} thư đã lấy trước đó."]
        out.append(f"Đã lưu {len(self.saved)} tệp vào {self.folder} (ngày đến ghi vào {REGISTER_NAME}):")
        out += [f"  {t.saved_as}  (ngày đến {dmy(t.received)}; từ {t.sender}: {t.subject})" for t in self.saved]
        if self.duplicates:
            out.append(f"Trùng với tệp đã lưu, không lưu lại: {len(self.duplicates)}")
            out += [f"  {t.attachment} (từ {t.sender}: {t.subject}): {t.note}" for t in self.duplicates]
        if self.unusable:
            out.append(f"Không dùng được, cần xem lại hoặc đề nghị đơn vị gửi lại: {len(self.unusable)}")
            out += [f"  từ {t.sender} - \"{t.subject}\" ({dmy(t.received)})"
                    f"{': ' + t.attachment if t.attachment else ''}: {t.note}" for t in self.unusable]
        if self.ignored:
            out.append(f"Tệp đính kèm khác (không phải bảng tính), bỏ qua: {len(self.ignored)}")
            out += [f"  {t.attachment} (từ {t.sender}: {t.subject})" for t in self.ignored]
        if self.warnings:
            out.append(f"Cần lưu ý (đã ghi vào cột Ghi chú của {REGISTER_NAME}): {len(self.warnings)}")
            out += [f"  từ {t.sender} - \"{t.subject}\" (ngày đến {dmy(t.received)}): {t.note}"
                    for t in self.warnings]
        return out


def default_since(settings: Settings, period: Period, cfg: MailSettings) -> dt.date | None:
    """The day before the first template went out (a reply can arrive on the server's previous
    calendar day when the server keeps another time zone)."""
    first = first_sent(settings, period)
    return (first.astimezone(cfg.zone()).date() - dt.timedelta(days=1)) if first else None


def collect(settings: Settings, period: Period, since: dt.date | None = None,
            contacts: set[str] | None = None) -> CollectReport:
    """Takes the period's submissions from the mailbox. `contacts`: the units' addresses (a report
    from any other address is taken, with a warning naming the address); None: not checked."""
    cfg = settings.mail
    since = since or default_since(settings, period, cfg)
    if since is None:
        raise MailError(f"Chưa có lần gửi biểu mẫu kỳ {period.code} nào được ghi lại, nên không biết lấy thư từ "
                        f"ngày nào: dùng --since, ví dụ --since {period.cutoff - dt.timedelta(days=21):%Y-%m-%d}")
    folder = settings.path("submissions") / period.code
    report = CollectReport(period=period.code, since=since, folder=folder)
    zone = cfg.zone()
    limit = cfg.max_attachment_bytes
    rules = _Rules(zone, limit, cfg.max_attachments, contacts)
    with run_lock(settings.path("ledger"), "lấy thư"), closing(connect_ledger(settings)) as ledger, \
            ImapSession(cfg) as box:
        ledger.start_collecting()
        envelopes = box.envelopes(box.since(since))
        report.examined = len(envelopes)
        for envelope in envelopes:
            if envelope.message_id and _taken_before(ledger, period, envelope.message_id):
                report.seen_before += 1
                continue
            too_large = envelope.size > 2 * limit + 1024 * 1024  # base64 inflates by a third; leave room
            # too large: not downloaded, only its header, to say whose it is
            raw = box.fetch(envelope.uid, header_only=too_large)
            try:
                _take(ledger, period, folder, raw, envelope, rules, report, too_large=too_large)
            except (SqliteError, OSError, MailError):
                raise   # the ledger, the disk or the server: the run cannot go on
            except Exception as exc:   # one message's defect is that message's finding, never the run's end
                received = (envelope.internal_date.astimezone(zone).date() if envelope.internal_date
                            else clock.now().astimezone(zone).date())
                sender, subject = _headers_only(raw)
                report.unusable.append(Taken(sender or f"thư UID {envelope.uid}", subject or "(không có tiêu đề)",
                                             received, "",
                                             note=f"thư hỏng, không đọc được ({type(exc).__name__}): "
                                                  f"mở trong hộp thư để xem và đề nghị đơn vị gửi lại"))
    return report


def _headers_only(raw: bytes) -> tuple[str, str]:
    """(From, Subject), for naming a message that could not be read."""
    try:
        from email.parser import BytesHeaderParser

        headers = BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
        return _header(headers, "From"), _header(headers, "Subject")
    except Exception:
        return "", ""


@dataclass(frozen=True)
class _Rules:
    zone: object
    limit: int                  # bytes per attachment
    max_attachments: int        # spreadsheets saved per message
    contacts: set[str] | None   # the units' addresses; None: not checked


def _taken_before(ledger: MailLog, period: Period, key: str) -> bool:
    return ledger.taken_before(period.code, key)


def _take(ledger, period, folder, raw, envelope, rules: _Rules, report, too_large=False) -> None:
    limit = rules.limit
    message = email.message_from_bytes(raw, policy=email.policy.default)
    key = message_key(message, raw)
    if key != envelope.message_id and _taken_before(ledger, period, key):
        report.seen_before += 1
        return
    sender, subject = _header(message, "From"), _header(message, "Subject") or "(không có tiêu đề)"
    received, notes = receipt_date(message, envelope.internal_date, rules.zone)
    address, problem = sender_address(message)
    if problem:
        notes.append(problem)
    elif rules.contacts is not None and address not in rules.contacts:
        notes.append(f"địa chỉ gửi {address} không có trong danh bạ đơn vị (inputs/departments.csv, "
                     f"inputs/commune_contacts.csv): cần xác minh đơn vị gửi")
    for name, label in (("From", "người gửi"), ("Subject", "tiêu đề")):
        if "\ufffd" in _header(message, name):
            notes.append(f"{label} có đoạn mã hóa hỏng, không đọc được ({_short(_raw_header(message, name))})")
    sender = sender or "(không rõ người gửi)"
    warning = "; ".join(notes)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    rows, receipts = [], []

    def row(name, sha, saved_as, outcome, reason):
        rows.append((period.code, key, sender, subject, received.isoformat(), name, sha, saved_as, outcome,
                     reason, now))

    if too_large:
        reason = f"thư quá lớn ({_mb(envelope.size)}; tệp đính kèm tối đa {_mb(limit)}), không tải về"
        report.unusable.append(Taken(sender, subject, received, "", "", reason))
        row("", "", "", UNUSABLE, reason)
    elif _header(message, "X-Baocao-Kind"):
        row("", "", "", UNUSABLE, "thư do chính baocao gửi đi (bản lưu hoặc thư báo lỗi gửi)")
        warning = ""
    else:
        found, problems, ignored = attachments_of(message, limit)
        if len(found) > rules.max_attachments:
            left = found[rules.max_attachments:]
            found = found[:rules.max_attachments]
            names = ", ".join(a.name for a in left[:5]) + (", ..." if len(left) > 5 else "")
            problems.append(Problem("", f"thư có {len(found) + len(left)} bảng tính đính kèm, quá số tối đa "
                                        f"{rules.max_attachments} ([mail] max_attachments): đã lưu {len(found)} tệp "
                                        f"đầu, không lưu {len(left)} tệp còn lại ({names})"))
        in_this_message: dict[str, str] = {}
        for attachment in found:
            sha = attachment.sha256
            earlier = ledger.saved_as(period.code, sha, SAVED)
            earlier_name = earlier if earlier is not None else in_this_message.get(sha)
            if earlier_name:
                note = f"giống hệt tệp đã lưu {earlier_name}"
                report.duplicates.append(Taken(sender, subject, received, attachment.name, earlier_name, note))
                row(attachment.name, sha, "", DUPLICATE, note)
                continue
            saved_as, is_new = _save(folder, attachment)
            in_this_message[sha] = saved_as
            if is_new or not _registered(folder, saved_as):
                note = nfc(f"Thư điện tử từ {sender}: {subject}")[:300]
                receipts.append(Receipt(saved_as, "", received, "",
                                        f"{note}. Cần lưu ý: {warning}"[:800] if warning else note))
            report.saved.append(Taken(sender, subject, received, attachment.name, saved_as))
            row(attachment.name, sha, saved_as, SAVED, warning)
        for problem in problems:
            report.unusable.append(Taken(sender, subject, received, problem.name, "", problem.reason))
            row(problem.name, "", "", UNUSABLE, problem.reason)
        if found or problems:  # otherwise the message itself is reported, naming these files
            report.ignored += [Taken(sender, subject, received, name) for name in ignored]
        if not (found or problems):
            reason = (f"không có bảng tính (tệp đính kèm: {', '.join(ignored)})" if ignored
                      else "không có tệp đính kèm")
            report.unusable.append(Taken(sender, subject, received, "", "", reason))
            row("", "", "", UNUSABLE, reason)
    if warning:
        report.warnings.append(Taken(sender, subject, received, "", "", warning))
    # The files are on disk and in the register before the ledger says they were taken: an
    # interruption in between makes the rerun find them (same name, same content) instead of copying twice.
    append_receipts(folder, receipts)
    ledger.record_collected(rows)


def _save(folder: Path, attachment: Attachment) -> tuple[str, bool]:
    """Writes the file under a safe, unused name; (name relative to the folder, whether it was written).
    A file of that name with the same content (an interrupted earlier run) is reused."""
    folder.mkdir(parents=True, exist_ok=True)
    base = safe_file_name(attachment.name.rsplit("/", 1)[-1])
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = f".{suffix}" if suffix else ""
    root = folder.resolve()
    for n in range(1, 10_000):
        name = base if n == 1 else f"{stem} ({n}){suffix}"
        if name.lower() == REGISTER_NAME:
            continue
        target = folder / name
        if target.resolve().parent != root:  # cannot happen after safe_file_name; never write outside
            raise MailError(f"Tên tệp đính kèm không an toàn: {attachment.name!r}")
        if target.exists():
            if hashlib.sha256(target.read_bytes()).hexdigest() == attachment.sha256:
                return name, False
            continue
        write_bytes(target, attachment.data)
        return name, True
    raise MailError(f"Quá nhiều tệp trùng tên {base} trong {folder}")


def _registered(folder: Path, file_name: str) -> bool:
    return any(r.file_name == file_name for r in read_register(folder))
