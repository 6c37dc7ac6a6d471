"""Composing mail: the units' addresses, and each message from its editable Jinja2 template in
`templates/mail/<kind>.txt.j2` (first line the subject, then a blank line, then the body), with the
unit's own file attached. The kinds of message and what each one's template may use are here.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, format_datetime, make_msgid
from pathlib import Path

from pipeline.reference.settings import MailSettings, Settings
from pipeline.common.errors import MailError
from pipeline.reference.periods import Period
from pipeline.common.text import ascii_slug, nfc
from pipeline.common.filetypes import MEDIA_TYPES
from pipeline.common.formatting import dmy

DISTRIBUTE = "distribute"
FEEDBACK = "feedback"
REMINDER = "reminder"
KINDS = (DISTRIBUTE, FEEDBACK, REMINDER)

KIND_DEFAULTS = {DISTRIBUTE: {"upload_url": ""}, FEEDBACK: {"errors": 0, "warnings": 0, "findings": [], "more": 0},
                 REMINDER: {"status": "", "new_deadline": "", "letter_number": "", "letter_date": ""}}
KIND_LABELS = {DISTRIBUTE: "biểu mẫu", FEEDBACK: "kết quả kiểm tra", REMINDER: "công văn đôn đốc"}


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
        "window_start": dmy(period.window_start), "cutoff": dmy(period.cutoff),
        "deadline": dmy(period.deadline),
        "plan_years": f"{settings.plan_first_year}-{settings.plan_last_year}",
        "province_name": settings.province_name, "standing_unit": settings.standing_unit,
        "sender_name": sender, "sender_address": cfg.from_address,
        "attachments": [p.name for p in attachments],
    }


def _maintype(path: Path) -> tuple[str, str]:
    ctype = MEDIA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
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
