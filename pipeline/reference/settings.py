"""Settings: where the data lives and the few facts that differ between provinces.

Read from `inputs/config.toml` under the project root (the current folder, or BAOCAO_ROOT).
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.common.errors import ConfigError
from pipeline.common.clock import DEFAULT_TIMEZONE

CONFIG_RELATIVE = Path("inputs") / "config.toml"


@dataclass(frozen=True)
class Settings:
    root: Path
    province_code: int = 12
    province_name: str = "Lai Châu"
    parent_body: str = "UBND TỈNH LAI CHÂU"
    standing_unit: str = "Sở Y tế"
    plan_first_year: int = 2026
    plan_last_year: int = 2030
    deadline_days_after_cutoff: int = 4
    deadline_overrides: dict[str, dt.date] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    mail: dict[str, object] = field(default_factory=dict)  # the [mail] section as written; see pipeline/mail/send.py
    report: dict[str, object] = field(default_factory=dict)  # the [report] section as written; see pipeline/report/model.py
    document: dict[str, object] = field(default_factory=dict)  # [document]: letterhead of outgoing documents
    audit: dict[str, object] = field(default_factory=dict)  # [audit]: the reminder letter; see pipeline/audit/status.py
    timezone: str = "Asia/Ho_Chi_Minh"  # [province] timezone: the zone of every date (pipeline/common/clock.py)

    def path(self, key: str) -> Path:
        """The absolute path of a configured file (`matrix`, `departments`, `ledger`, ...)."""
        try:
            relative = self.files[key]
        except KeyError as exc:
            raise ConfigError(f"Thiếu mục [files] {key} trong {self.root / CONFIG_RELATIVE}") from exc
        path = Path(relative)
        return path if path.is_absolute() else self.root / path


_DEFAULT_FILES = {
    "matrix": "inputs/assignment_matrix.csv",
    "departments": "inputs/departments.csv",
    "commune_contacts": "inputs/commune_contacts.csv",
    "collective_names": "inputs/collective_names.csv",
    "indicators": "schemas/indicators.csv",
    "submissions": "inputs/submissions",
    "outputs": "outputs",
    "ledger": "outputs/ledger.sqlite",
}


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
        raw = tomllib.loads(config_path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Tệp cấu hình {config_path} không đọc được: {exc}") from exc

    province = raw.get("province", {})
    plan = raw.get("plan", {})
    deadlines = dict(raw.get("deadlines", {}))
    days = deadlines.pop("days_after_cutoff", 4)
    overrides: dict[str, dt.date] = {}
    for code, value in deadlines.items():
        if isinstance(value, dt.date):
            overrides[code] = value
        else:
            try:
                overrides[code] = dt.date.fromisoformat(str(value))
            except ValueError as exc:
                raise ConfigError(
                    f"Hạn nộp của kỳ {code} trong {config_path} không phải ngày (dạng 2026-06-19): {value!r}"
                ) from exc
    mail = dict(raw.get("mail", {}))
    timezone = _timezone(province.get("timezone") or raw.get("timezone") or mail.get("timezone"), config_path)
    mail["timezone"] = timezone   # one zone: mail reads [mail] timezone, always the province's (clock.py)
    return Settings(
        root=root,
        province_code=int(province.get("code", 12)),
        province_name=str(province.get("name", "Lai Châu")),
        parent_body=str(province.get("parent_body", "UBND TỈNH LAI CHÂU")),
        standing_unit=str(province.get("standing_unit", "Sở Y tế")),
        plan_first_year=int(plan.get("first_year", 2026)),
        plan_last_year=int(plan.get("last_year", 2030)),
        deadline_days_after_cutoff=int(days),
        deadline_overrides=overrides,
        files={**_DEFAULT_FILES, **raw.get("files", {})},
        mail=mail,
        report=dict(raw.get("report", {})),
        document=dict(raw.get("document", {})),
        audit=dict(raw.get("audit", {})),
        timezone=timezone,
    )


def _timezone(value, config_path: Path) -> str:
    """The configured zone's name, checked; the default when none is given."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = str(value).strip() if value else DEFAULT_TIMEZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"[province] timezone = {name!r} trong {config_path} không phải múi giờ hợp lệ "
                          f"(ví dụ: \"Asia/Ho_Chi_Minh\")") from None
    return name
