"""Settings: every section and key of `inputs/config.toml`, declared once with its type and default.

Read from `inputs/config.toml` under the project root (the current folder, or BAOCAO_ROOT). Each
section is a frozen dataclass below; `load_settings` checks the file against them strictly: a
section or key that is not declared, a value of the wrong type, a required key left out is one
Vietnamese line naming the key and its line in the file. The modules read typed attributes
(`settings.mail.smtp_port`, `settings.audit.include_standing_unit`), never the raw TOML.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import ssl
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.common.errors import ConfigError
from pipeline.common.clock import DEFAULT_TIMEZONE
from pipeline.common.errors import MailError
from pipeline.common.text import nfc

CONFIG_RELATIVE = Path("inputs") / "config.toml"
CONFIG_NAME = CONFIG_RELATIVE.as_posix()      # how the messages name the file

REQUIRED = dataclasses.MISSING
SECURITIES = ("starttls", "tls", "none")


def _meta(check=None, *, empty_is_default: bool = False, strip: bool = False) -> dict:
    """A key's extra rules: `check(value)` returns what is wrong (Vietnamese) or None;
    `empty_is_default`: "" means the default; `strip`: surrounding spaces dropped."""
    return {"check": check, "empty_is_default": empty_is_default, "strip": strip}


def _positive(value) -> str | None:
    return None if value > 0 else "phải lớn hơn 0"


def _at_least_one(value) -> str | None:
    return None if value >= 1 else "phải từ 1 trở lên"


def _not_negative(value) -> str | None:
    return None if value >= 0 else "phải là số không âm"


def _share(value) -> str | None:
    return None if 0 <= value <= 1 else "phải là một số từ 0 đến 1 (ví dụ 0.5)"


def _security(value) -> str | None:
    return None if value in SECURITIES else "chỉ dùng starttls, tls hoặc none"


def _zone_name(value) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return 'không phải múi giờ hợp lệ (ví dụ: "Asia/Ho_Chi_Minh")'
    return None


# ---------------------------------------------------------------------------------------------
# The schema: one dataclass per section; a field without a default is required.


@dataclass(frozen=True)
class ProvinceSettings:
    """[province]: the facts that differ between provinces."""

    code: int = field(metadata=_meta(lambda v: None if 1 <= v <= 99 else "phải là mã tỉnh từ 1 đến 99"))
    name: str = field(metadata=_meta(lambda v: None if v else "không được để trống"))
    parent_body: str | None = None      # None: "UBND TỈNH " + the name in capitals
    standing_unit: str = "Sở Y tế"
    timezone: str | None = field(default=None, metadata=_meta(_zone_name))  # None: the older [mail] timezone, else Asia/Ho_Chi_Minh


@dataclass(frozen=True)
class PlanSettings:
    """[plan]: the years of the plan the reports follow."""

    first_year: int
    last_year: int


@dataclass(frozen=True)
class DeadlinesSettings:
    """[deadlines]: days after the cut-off, and a requesting body's own deadline for a period
    (`"2026S1" = 2026-06-19`: any key that is a period code)."""

    days_after_cutoff: int = field(default=4, metadata=_meta(_not_negative))
    overrides: dict[str, dt.date] = field(default_factory=dict)


@dataclass(frozen=True)
class FilesSettings:
    """[files]: where the data lives, relative to the project root (or absolute)."""

    matrix: str = "inputs/assignment_matrix.csv"
    departments: str = "inputs/departments.csv"
    commune_contacts: str = "inputs/commune_contacts.csv"
    collective_names: str = "inputs/collective_names.csv"
    indicators: str = "schemas/indicators.csv"
    submissions: str = "inputs/submissions"
    outputs: str = "outputs"
    ledger: str = "outputs/ledger.sqlite"


@dataclass(frozen=True)
class MailSettings:
    """[mail]: the mailbox that sends and collects. No password: only the names of the variables."""

    from_address: str = ""
    from_name: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = field(default="starttls", metadata=_meta(_security))
    smtp_user: str = ""
    smtp_auth: bool = True
    smtp_password_env: str = "BAOCAO_SMTP_PASSWORD"
    imap_host: str = ""
    imap_port: int = 993
    imap_security: str = field(default="tls", metadata=_meta(_security))
    imap_user: str = ""
    imap_password_env: str = "BAOCAO_IMAP_PASSWORD"
    imap_folder: str = "INBOX"
    max_attachment_mb: float = field(default=20.0, metadata=_meta(_positive))
    max_attachments: int = field(default=20, metadata=_meta(_at_least_one))  # spreadsheets saved from one message
    timezone: str = field(default=DEFAULT_TIMEZONE, metadata=_meta(_zone_name))  # always the province's once loaded
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
        return ZoneInfo(self.timezone)

    def tls_context(self) -> ssl.SSLContext:
        cafile = self.ca_file or None
        if cafile and not Path(cafile).is_file():
            raise MailError(f"[mail] ca_file: không tìm thấy tệp {cafile}")
        return ssl.create_default_context(cafile=cafile)


@dataclass(frozen=True)
class DocumentSettings:
    """[document]: the letterhead of outgoing documents (Decree 30/2020); None: from [province]."""

    parent_body: str | None = None      # None: [province] parent_body
    issuing_body: str | None = None     # None: [province] standing_unit in capitals
    place: str | None = None            # None: [province] name


@dataclass(frozen=True)
class AuditSettings:
    """[audit]: the reminder letter `make audit` drafts after the deadline."""

    letter_symbol: str = "SYT-NVY"
    new_deadline_days: int = field(default=5, metadata=_meta(_at_least_one))
    letter_recipients: tuple[str, ...] = ("Như trên", "Lưu: VT")
    contact_text: str = ""
    include_standing_unit: bool = False
    group_communes_from: int = field(default=6, metadata=_meta(_not_negative))   # 0: never grouped


@dataclass(frozen=True)
class ReportSettings:
    """[report]: the consolidated report `make semiannual` / `make annual` write."""

    symbol: str = field(default="BC-SYT", metadata=_meta(empty_is_default=True))
    recipients: tuple[str, ...] = ("Bộ Y tế (b/c)", "UBND tỉnh (b/c)", "Các sở, ngành tỉnh", "UBND các xã, phường",
                                   "Lưu: VT, NVY")
    signer_title: str = field(default="KT. GIÁM ĐỐC", metadata=_meta(empty_is_default=True))
    signer_subtitle: str = "PHÓ GIÁM ĐỐC"
    signer_name: str = ""               # "": a dotted line to sign by hand
    chart_indicators: tuple[str, ...] = ()
    min_completeness: float = field(default=0.5, metadata=_meta(_share))


SECTIONS: dict[str, type] = {
    "province": ProvinceSettings, "plan": PlanSettings, "deadlines": DeadlinesSettings, "files": FilesSettings,
    "mail": MailSettings, "document": DocumentSettings, "audit": AuditSettings, "report": ReportSettings,
}
REQUIRED_SECTIONS = ("province", "plan")   # the province and its plan years: never a silent default
# Keys written outside any section that are still read: the older top-level `timezone`.
TOP_LEVEL_KEYS = {"timezone": str}
PERIOD_KEY = re.compile(r"^\d{4}(S1)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Settings:
    root: Path
    province: ProvinceSettings
    plan: PlanSettings
    deadlines: DeadlinesSettings = DeadlinesSettings()
    files: FilesSettings = FilesSettings()
    mail: MailSettings = MailSettings()
    document: DocumentSettings = DocumentSettings()
    audit: AuditSettings = AuditSettings()
    report: ReportSettings = ReportSettings()

    # The facts most stages need, by their old names.
    province_code = property(lambda self: self.province.code)
    province_name = property(lambda self: self.province.name)
    parent_body = property(lambda self: self.province.parent_body)
    standing_unit = property(lambda self: self.province.standing_unit)
    timezone = property(lambda self: self.province.timezone)    # the zone of every date (pipeline/clock.py)
    plan_first_year = property(lambda self: self.plan.first_year)
    plan_last_year = property(lambda self: self.plan.last_year)
    deadline_days_after_cutoff = property(lambda self: self.deadlines.days_after_cutoff)
    deadline_overrides = property(lambda self: self.deadlines.overrides)

    def path(self, key: str) -> Path:
        """The absolute path of a configured file (`matrix`, `departments`, `ledger`, ...)."""
        path = Path(getattr(self.files, key))
        return path if path.is_absolute() else self.root / path


# ---------------------------------------------------------------------------------------------
# Loading


def find_root(start: Path | None = None) -> Path | None:
    """The project folder: BAOCAO_ROOT, else the nearest folder at or above `start` (the current
    folder) holding inputs/config.toml; None when there is none (the settings then say what is missing)."""
    if os.environ.get("BAOCAO_ROOT"):
        return Path(os.environ["BAOCAO_ROOT"])
    here = (start or Path.cwd()).resolve()
    return next((folder for folder in (here, *here.parents) if (folder / CONFIG_RELATIVE).is_file()), None)


def default_root() -> Path:
    return (find_root() or Path.cwd()).resolve()


def load_settings(root: Path | None = None) -> Settings:
    root = (root or default_root()).resolve()
    config_path = root / CONFIG_RELATIVE
    if not config_path.is_file():
        raise ConfigError(f"Không tìm thấy tệp cấu hình {config_path} (hãy chạy lệnh trong thư mục dự án)")
    try:
        text = config_path.read_text(encoding="utf-8-sig")
        raw = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Tệp cấu hình {config_path} không đọc được: {exc}") from exc
    return parse_settings(raw, text, root)


def parse_settings(raw: dict, text: str, root: Path) -> Settings:
    """`raw` (the parsed TOML of `text`) checked against the schema."""
    where = _Lines(text)
    for key, value in raw.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(where.say(None, key, f"{key} phải là một mục [{key}], không phải một giá trị"))
        elif key in TOP_LEVEL_KEYS:
            if not isinstance(value, TOP_LEVEL_KEYS[key]):
                raise ConfigError(where.say(None, key, f"{key} = {_shown(value)} phải là {_WANTED[str]}"))
        else:
            raise ConfigError(where.say(None, key, f"mục [{key}] không có trong cấu hình "
                                                  f"(các mục: {', '.join(f'[{s}]' for s in SECTIONS)})"))
    for name in REQUIRED_SECTIONS:
        if name not in raw:
            needed = [f.name for f in dataclasses.fields(SECTIONS[name]) if _required(f)]
            raise ConfigError(f"{CONFIG_NAME}: thiếu mục [{name}] (phải có {', '.join(needed)})")

    mail_raw = raw.get("mail", {})
    province = _section("province", raw["province"], where)
    timezone = province.timezone or raw.get("timezone") or mail_raw.get("timezone") or DEFAULT_TIMEZONE
    if _zone_name(timezone):
        raise ConfigError(where.say(_section_of(raw, timezone), "timezone",
                                    f"timezone = {timezone!r} {_zone_name(timezone)}"))
    province = dataclasses.replace(province, timezone=timezone,
                                   parent_body=province.parent_body or f"UBND TỈNH {province.name.upper()}")
    plan = _section("plan", raw["plan"], where)
    if plan.last_year < plan.first_year:
        raise ConfigError(where.say("plan", "last_year", f"[plan] last_year = {plan.last_year} phải từ first_year "
                                                         f"({plan.first_year}) trở đi"))
    document = _section("document", raw.get("document", {}), where)
    return Settings(
        root=root,
        province=province,
        plan=plan,
        deadlines=_deadlines(raw.get("deadlines", {}), where),
        files=_section("files", raw.get("files", {}), where),
        # one zone: mail reads [mail] timezone, always the province's (clock.py)
        mail=dataclasses.replace(_section("mail", mail_raw, where), timezone=timezone),
        document=DocumentSettings(parent_body=document.parent_body or province.parent_body,
                                  issuing_body=document.issuing_body or province.standing_unit.upper(),
                                  place=document.place or province.name),
        audit=_section("audit", raw.get("audit", {}), where),
        report=_section("report", raw.get("report", {}), where),
    )


def _section_of(raw: dict, timezone: str) -> str | None:
    for section in ("province", "mail"):
        if raw.get(section, {}).get("timezone") == timezone:
            return section
    return None


def _required(spec: dataclasses.Field) -> bool:
    return spec.default is REQUIRED and spec.default_factory is REQUIRED


_WANTED = {
    int: "một số nguyên (không đặt trong ngoặc kép)",
    float: "một số (không đặt trong ngoặc kép, ví dụ 0.5)",
    bool: "true hoặc false (không đặt trong ngoặc kép)",
    str: 'chữ đặt trong ngoặc kép (ví dụ "Lai Châu")',
    tuple: 'một danh sách chữ (ví dụ ["Như trên", "Lưu: VT"])',
}


def _shown(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value) if isinstance(value, (dict, list)) else str(value)


def _convert(value, wanted: type):
    """`value` as `wanted`, or None when it is not one (TOML already gives the right Python types)."""
    if wanted is bool:
        return value if isinstance(value, bool) else None
    if wanted is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if wanted is float:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if wanted is str:
        return value if isinstance(value, str) else None
    if wanted is tuple:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return tuple(nfc(v) for v in value if nfc(v)) if ok else None
    raise AssertionError(wanted)


def _base_type(hint) -> type:
    """int, float, bool, str or tuple, from a field's annotation (`str | None` is str)."""
    if typing.get_origin(hint) is tuple:
        return tuple
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def _section(name: str, values: dict, where: "_Lines"):
    schema = SECTIONS[name]
    specs = {f.name: f for f in dataclasses.fields(schema) if f.init}
    hints = typing.get_type_hints(schema)
    for key in values:
        if key not in specs:
            raise ConfigError(where.say(name, key, f"[{name}] có khóa không biết: {key} "
                                                   f"(các khóa hợp lệ: {', '.join(specs)})"))
    for key, spec in specs.items():
        if key not in values and _required(spec):
            raise ConfigError(where.say(name, None, f"[{name}] thiếu khóa {key} (bắt buộc)"))
    checked = {}
    for key, value in values.items():
        spec, wanted = specs[key], _base_type(hints[key])
        converted = _convert(value, wanted)
        if converted is None:
            raise ConfigError(where.say(name, key, f"[{name}] {key} = {_shown(value)} phải là {_WANTED[wanted]}"))
        if isinstance(converted, str) and name != "files":
            converted = nfc(converted)
        meta = spec.metadata or {}
        if meta.get("empty_is_default") and converted == "":
            continue
        if meta.get("check") and (problem := meta["check"](converted)):
            raise ConfigError(where.say(name, key, f"[{name}] {key} = {_shown(value)} {problem}"))
        checked[key] = converted
    return schema(**checked)


def _deadlines(values: dict, where: "_Lines") -> DeadlinesSettings:
    """[deadlines]: `days_after_cutoff`, and any period code as a key with a date."""
    overrides: dict[str, dt.date] = {}
    for key, value in values.items():
        if key in {f.name for f in dataclasses.fields(DeadlinesSettings)} or not PERIOD_KEY.match(key):
            continue
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            overrides[key.upper()] = value
            continue
        try:
            overrides[key.upper()] = dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ConfigError(where.say("deadlines", key, f'[deadlines] "{key}" = {_shown(value)}: hạn nộp của kỳ '
                                                          f"{key} phải là một ngày (dạng 2026-06-19)")) from None
    rest = {k: v for k, v in values.items() if not PERIOD_KEY.match(k)}
    if "overrides" in rest:
        raise ConfigError(where.say("deadlines", "overrides", "[deadlines] có khóa không biết: overrides "
                                                              "(các khóa hợp lệ: days_after_cutoff, mã kỳ như \"2026S1\")"))
    section = _section("deadlines", rest, where)
    return dataclasses.replace(section, overrides=overrides)


class _Lines:
    """Where a section or key is written in the file (tomllib gives no line numbers): found by
    scanning the text for the section header, then the key."""

    HEADER = re.compile(r"^\s*\[\s*([^\]\s]+)\s*\]\s*(#.*)?$")

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def line(self, section: str | None, key: str | None) -> int | None:
        current = None
        header_line = None
        for n, line in enumerate(self.lines, 1):
            header = self.HEADER.match(line)
            if header:
                current = header.group(1).strip('"')
                if current == section and header_line is None:
                    header_line = n
                    if key is None:
                        return n
                if section is None and current == key:
                    return n
                continue
            if current == section and key is not None and self._is_key(line, key):
                return n
        return header_line

    @staticmethod
    def _is_key(line: str, key: str) -> bool:
        match = re.match(r'^\s*(?:"([^"]*)"|\'([^\']*)\'|([A-Za-z0-9_-]+))\s*=', line)
        return bool(match) and key in match.groups()

    def say(self, section: str | None, key: str | None, what: str) -> str:
        n = self.line(section, key)
        return f"{CONFIG_NAME}, dòng {n}: {what}" if n else f"{CONFIG_NAME}: {what}"
