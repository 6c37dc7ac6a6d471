"""The command line in Vietnamese: help pages, click's own errors, and forgiving value types.

Built on click's documented hooks, not on its message catalogue: `Context.formatter_class` (the
usage prefix, the section headings "Options"/"Commands", the "[required]" notes),
`Command.get_help_option` (the help option's own help), `Command.parse_args` and
`Group.resolve_command` (every parsing error becomes ONE Vietnamese line, exit code 2, built from
the exception's fields: `param`, `option_name`, `possibilities`), and `ParamType.convert` (periods,
dates, years, unit names and folders checked with Vietnamese messages). These hooks exist unchanged
from click 8.1 to 8.5. click marks its strings with the standard library's *global* gettext (the
default domain "messages", not a domain of its own), so a catalogue would need a compiled .mo file
and the process's language forced to Vietnamese for every library at once; the hooks need neither.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from pathlib import Path

import click

HEADINGS = {"Options": "Tùy chọn", "Commands": "Các lệnh", "Positional arguments": "Đối số",
            "Arguments": "Đối số"}
# click's type names as they appear in a usage line or beside an option (other helpers' options
# may keep a built-in type): the officer reads them in Vietnamese too
METAVARS = {"TEXT": "CHỮ", "INTEGER": "SỐ", "FLOAT": "SỐ", "DIRECTORY": "THƯ_MỤC", "FILE": "TỆP",
            "PATH": "ĐƯỜNG_DẪN", "FILENAME": "TỆP", "BOOLEAN": "CÓ/KHÔNG"}
_METAVAR = re.compile(r"\b(" + "|".join(METAVARS) + r")\b")
_EXTRA = re.compile(r"\s*\[([^\[\]]*)\]\s*$")
HELP_TEXT = "Xem hướng dẫn này rồi thoát."
OPTIONS_METAVAR = "[TÙY_CHỌN]"


def _metavars(text: str) -> str:
    return _METAVAR.sub(lambda m: METAVARS[m.group(1)], text)


def _extra_note(text: str) -> str:
    """`... [default: x; required]` -> `... [mặc định: x; bắt buộc]`."""
    match = _EXTRA.search(text)
    if not match:
        return text
    items = []
    for item in match.group(1).split("; "):
        if item == "required":
            item = "bắt buộc"
        elif item.startswith("default: "):
            item = "mặc định: " + item[len("default: "):]
        elif item.startswith("env var: "):
            item = "biến môi trường: " + item[len("env var: "):]
        items.append(item)
    return text[: match.start()] + "  [" + "; ".join(items) + "]"


class HelpFormatter(click.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, _metavars(args), "Cách dùng: " if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        super().write_heading(HEADINGS.get(heading, heading))

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl([(_metavars(first), _extra_note(second)) for first, second in rows], col_max, col_spacing)


class Context(click.Context):
    formatter_class = HelpFormatter


# ---------------------------------------------------------------- one-line errors


class OneLineUsageError(click.UsageError):
    """A mistake on the command line: one Vietnamese line on stderr, exit code 2, no usage block."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"Lỗi: {self.format_message()}", err=True)


def _option_name(param) -> str:
    if param is None:
        return ""
    if isinstance(param, click.Option):
        longs = [o for o in param.opts if o.startswith("--")]
        return (longs or param.opts)[0]
    return (param.metavar or param.name or "").upper()


def _find_option(ctx: click.Context | None, name: str):
    if ctx is None:
        return None
    return next((p for p in ctx.command.params if name in getattr(p, "opts", ())), None)


def _example(param) -> str:
    example = getattr(getattr(param, "type", None), "example", "")
    return f" (ví dụ {_option_name(param)} {example})" if example and isinstance(param, click.Option) else ""


def _help_hint(ctx: click.Context | None) -> str:
    return f" Xem: {ctx.command_path} --help" if ctx is not None else ""


# click's own type messages, for options other helpers declare with a built-in type
_BUILTIN_MESSAGES = [
    (re.compile(r"^'?(.*?)'? is not a valid (integer|float|integer range|float range)\.?$"),
     "'{0}' không phải là số"),
    (re.compile(r"^(?:Directory|File|Path) '(.*)' does not exist\.?$"), "không có {0}"),
    (re.compile(r"^Directory '(.*)' is a file\.?$"), "{0} là một tệp, không phải thư mục"),
    (re.compile(r"^File '(.*)' is a directory\.?$"), "{0} là một thư mục, không phải tệp"),
    (re.compile(r"^'(.*)' does not match the formats? (.*)\.?$"), "'{0}' không phải ngày (ghi dạng 20/06/2026)"),
    (re.compile(r"^'(.*)' is not one of (.*)\.?$", re.S), "'{0}' không phải một trong {1}"),
    (re.compile(r"^'(.*)' is not a valid boolean\.?$"), "'{0}' không phải có/không"),
]


def _builtin_message(message: str) -> str:
    for pattern, vietnamese in _BUILTIN_MESSAGES:
        match = pattern.match(message.strip())
        if match:
            return vietnamese.format(*match.groups())
    return "giá trị không dùng được"


def vietnamese_message(exc: click.UsageError, ctx: click.Context | None = None) -> str:
    """One Vietnamese line for a click parsing error, from the exception's fields."""
    ctx = exc.ctx or ctx
    if isinstance(exc, click.MissingParameter):
        name = _option_name(exc.param)
        if isinstance(exc.param, click.Argument):
            return f"Thiếu đối số {name}.{_help_hint(ctx)}"
        return f"Thiếu tùy chọn {name}{_example(exc.param)}.{_help_hint(ctx)}"
    if isinstance(exc, click.NoSuchOption):
        guess = f" Có phải: {', '.join(exc.possibilities)}?" if exc.possibilities else ""
        where = f"Lệnh {ctx.command_path}" if ctx is not None else "Lệnh"
        return f"{where} không có tùy chọn {exc.option_name}.{guess}{_help_hint(ctx)}"
    if isinstance(exc, click.BadOptionUsage):
        name = exc.option_name
        if "does not take a value" in exc.message:
            return f"Tùy chọn {name} không nhận giá trị: chỉ ghi {name}.{_help_hint(ctx)}"
        param = _find_option(ctx, name)
        return f"Tùy chọn {name} cần một giá trị{_example(param)}.{_help_hint(ctx)}"
    if isinstance(exc, click.BadParameter):
        name = _option_name(exc.param) or (exc.param_hint if isinstance(exc.param_hint, str) else "")
        vietnamese = getattr(exc, "vietnamese", False)
        message = exc.message if vietnamese else _builtin_message(exc.message)
        return f"{message.rstrip('.')}, ở tùy chọn {name}." if name else f"{message.rstrip('.')}."
    text = exc.message
    if text.startswith("Got unexpected extra argument"):
        extra = text[text.find("(") + 1: text.rfind(")")]
        return f"Thừa đối số: {extra} (một giá trị có dấu cách phải đặt trong ngoặc kép).{_help_hint(ctx)}"
    if text.startswith("Missing command"):
        return f"Thiếu tên lệnh.{_help_hint(ctx)}"
    return f"Lệnh không hợp lệ.{_help_hint(ctx)}"


def _is_help_request(exc: Exception) -> bool:
    # click >= 8.2 shows the help of a group run without arguments through this UsageError
    return type(exc).__name__ == "NoArgsIsHelpError"


class Command(click.Command):
    context_class = Context

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        super().__init__(*args, **kwargs)

    def get_help_option(self, ctx: click.Context):
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_TEXT
        return option

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except OneLineUsageError:
            raise
        except click.UsageError as exc:
            if _is_help_request(exc):
                raise
            raise OneLineUsageError(vietnamese_message(exc, ctx), ctx) from exc


# Words an officer may type for a command, and the commands they mean
COMMAND_HINTS = {
    "report": ["semiannual", "annual"], "bao-cao": ["semiannual", "annual"], "baocao": ["semiannual", "annual"],
    "tong-hop": ["semiannual", "annual"], "check": ["ingest"], "kiem-tra": ["ingest"],
    "nhan": ["collect", "ingest"], "gui": ["distribute", "send-feedback", "send-reminders"],
    "don-doc": ["audit", "send-reminders"], "status": ["audit"], "bieu-mau": ["templates"],
    "don-vi": ["units"], "help": ["--help"],
}


class Group(Command, click.Group):
    command_class = Command
    group_class = type

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("subcommand_metavar", "LỆNH [ĐỐI_SỐ]...")
        super().__init__(*args, **kwargs)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if (name and not name.startswith("-") and self.get_command(ctx, name) is None
                and not ctx.resilient_parsing):
            known = self.list_commands(ctx)
            guesses = COMMAND_HINTS.get(name.lower()) or difflib.get_close_matches(name.lower(), known, n=3, cutoff=0.5)
            guess = f" Có phải: {', '.join(guesses)}?" if guesses else ""
            raise OneLineUsageError(f"Không có lệnh {name!r}.{guess} Danh sách lệnh: {ctx.command_path} --help", ctx)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except OneLineUsageError:
            raise
        except click.UsageError as exc:
            if _is_help_request(exc):
                raise
            raise OneLineUsageError(vietnamese_message(exc, ctx), exc.ctx or ctx) from exc


# ---------------------------------------------------------------- value types


class VietnameseType(click.ParamType):
    """A value type whose failures are already Vietnamese sentences."""

    metavar = ""
    example = ""

    def get_metavar(self, param, ctx=None) -> str:  # ctx: click >= 8.2
        return self.metavar

    def fail(self, message: str, param=None, ctx=None):
        exc = click.BadParameter(message, ctx=ctx, param=param)
        exc.vietnamese = True
        raise exc


class PeriodType(VietnameseType):
    """A period code: `2026S1`, `2026s1`, ` 2026 ` -> `2026S1` / `2026`. Whether it is in the plan is
    checked with the settings (pipeline.reference.periods.parse_period)."""

    name = "period"
    metavar = "KỲ"
    example = "2026S1"

    def convert(self, value, param, ctx):
        text = str(value).strip().upper().replace(" ", "")
        if re.fullmatch(r"\d{4}(S[12])?", text):
            return text
        self.fail(f"Mã kỳ báo cáo không hợp lệ: {value!r}. Dạng hợp lệ: 2026S1 (6 tháng đầu năm), "
                  "2026 (cả năm)", param, ctx)


class YearType(VietnameseType):
    name = "year"
    metavar = "NĂM"
    example = "2026"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if re.fullmatch(r"\d{4}", text):
            return int(text)
        half = re.fullmatch(r"(\d{4})\s*[sS][12]", text)
        hint = (f"; báo cáo 6 tháng dùng: python -m pipeline semiannual --period {text.upper()}" if half else "")
        self.fail(f"Năm không hợp lệ: {value!r} (ghi bốn chữ số, ví dụ 2026{hint})", param, ctx)


_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_YEAR_MONTH_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


class DateType(VietnameseType):
    """A day typed the Vietnamese way (`20/06/2026`, `20-6-2026`, `20.06.2026`) or as ISO
    (`2026-06-20`). Gives a datetime at midnight, as click.DateTime does."""

    name = "date"
    metavar = "NGÀY"
    example = "20/06/2026"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            return dt.datetime.combine(value, dt.time())
        text = str(value).strip()
        match = _YEAR_MONTH_DAY.fullmatch(text)
        if match:
            year, month, day = (int(g) for g in match.groups())
        else:
            match = _DAY_MONTH_YEAR.fullmatch(text)
            if not match:
                self.fail(f"Ngày không hợp lệ: {text} (ghi dạng ngày/tháng/năm, ví dụ 20/06/2026, "
                          "hoặc 2026-06-20)", param, ctx)
            day, month, year = (int(g) for g in match.groups())
        if not 1 <= month <= 12:
            self.fail(f"Ngày không hợp lệ: {text} (không có tháng {month}; ghi dạng ngày/tháng/năm, "
                      "ví dụ 20/06/2026)", param, ctx)
        try:
            return dt.datetime(year, month, day)
        except ValueError:
            self.fail(f"Ngày không hợp lệ: {text} (tháng {month} năm {year} không có ngày {day})", param, ctx)


class FolderType(VietnameseType):
    """A folder; with `exists`, one that must already exist (another province's project folder)."""

    name = "folder"
    metavar = "THƯ_MỤC"

    def __init__(self, exists: bool = False):
        self.exists = exists

    def convert(self, value, param, ctx):
        path = Path(value)
        if path.is_file():
            self.fail(f"{path} là một tệp, không phải thư mục", param, ctx)
        if self.exists and not path.is_dir():
            self.fail(f"Không có thư mục {path}", param, ctx)
        return path


class FileType(VietnameseType):
    name = "file"
    metavar = "TỆP"

    def convert(self, value, param, ctx):
        path = Path(value)
        if path.is_dir():
            self.fail(f"{path} là một thư mục, không phải tệp", param, ctx)
        return path


class UnitType(VietnameseType):
    """A reporting unit named the way people name it: `03405`, `3405`, `12-syt`, `Tả Lèng`, `ta leng`,
    `xã Tả Lèng`. Resolved to its id by the project's registry (`Registry.resolve`); an unknown or
    ambiguous name is one line listing the closest units."""

    name = "unit"
    metavar = "ĐƠN_VỊ"
    example = "03405"

    def __init__(self, resolve):
        self.resolve = resolve  # (ctx, text) -> unit id; None when no project is loaded (docs' parse test)

    def convert(self, value, param, ctx):
        resolved = self.resolve(ctx, str(value))
        return str(value).strip() if resolved is None else resolved


PERIOD = PeriodType()
YEAR = YearType()
DATE = DateType()
FOLDER = FolderType()
EXISTING_FOLDER = FolderType(exists=True)
FILE = FileType()
