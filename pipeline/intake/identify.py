"""Whose file it is and what the unit owes: the expectations of a period (tasks, indicators,
consistency rules, earlier values), and the identification of each file's unit and period from
its metadata, its "Thông tin" sheet or its name (the source used is said; conflicts are findings)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.common.text import ascii_slug, nfc
from pipeline.forms import layout
from pipeline.intake import rules
from pipeline.intake.consistency import load_rules, locked_texts
from pipeline.store.ledger import Ledger
from pipeline.reference.periods import Period, plan_periods
from pipeline.intake.findings import ERROR, WARNING, Finding, finding
from pipeline.intake.reader import Workbook, defined_value
from pipeline.intake.validate import (Expectations, Item, _key)
from pipeline.reference.project import Project
from pipeline.reference.catalogue import indicator_obligations
from pipeline.reference.obligations import obligations

IDENTIFIED_BY_LABELS = {"metadata": "dữ liệu nhận diện của biểu mẫu", "sheet": "trang Thông tin",
                        "file_name": "tên tệp"}


# ---------------------------------------------------------------- what is owed

def build_expectations(project: Project, period: Period, ledger: Ledger | None) -> Expectations:
    settings, registry, matrix, catalogue = project.settings, project.registry, project.matrix, project.catalogue

    owed = obligations(matrix, registry, period)
    tasks: dict[str, list] = {}
    # (.tolist(): walking a pandas string column value by value is many times slower)
    for unit_id, task_id, role in zip(owed["unit_id"].tolist(), owed["task_id"].tolist(), owed["role"].tolist()):
        tasks.setdefault(unit_id, []).append((task_id, layout.ROLES.get(role, role)))
    codes = catalogue.indicators["code"].tolist()
    value_types = dict(zip(codes, catalogue.indicators["value_type"].tolist()))
    order = {code: n for n, code in enumerate(codes)}
    indicators: dict[str, list] = {}
    ind = indicator_obligations(catalogue, registry, period)
    for unit_id, code in sorted(zip(ind["unit_id"].tolist(), ind["code"].tolist()), key=lambda uc: order[uc[1]]):
        indicators.setdefault(unit_id, []).append((code, value_types[code]))
    exp = Expectations(period.code, tasks, indicators, load_rules(settings.root / "schemas", memo=settings.path("outputs")))
    exp.locked = locked_texts(owed, catalogue.indicators)
    # (a blank max_value: validate's DEFAULT_MAX_VALUE)
    exp.ceilings = {code: float(ceiling) for code, ceiling in zip(codes, catalogue.indicators["max_value"].tolist())
                    if str(ceiling or "").strip()}
    if ledger is not None:
        earlier_periods = [p.code for p in plan_periods(settings) if p < period and p.kind is period.kind]
        for row in ledger.earlier_values(sorted(tasks), earlier_periods):
            exp.earlier.setdefault((row["unit_id"], row["code"]), []).append((row["period"], row["value"]))
    return exp


# ---------------------------------------------------------------- who sent it

@dataclass
class Identity:
    unit_id: str | None
    identified_by: str | None
    template_version: str | None
    findings: list[Finding]


def read_metadata(workbook: Workbook) -> dict[str, str]:
    """The hidden sheet's key/value rows, else the defined names; untrusted."""
    meta: dict[str, str] = {}
    meta_key = _key(layout.SHEET_META)
    sheet = next((s for name, s in workbook.sheets.items() if _key(name) == meta_key), None)
    if sheet is not None:
        for row in sheet.rows:
            if len(row) >= 2 and str(row[0]).strip() in layout.META_KEYS and str(row[1]).strip():
                meta[str(row[0]).strip()] = nfc(str(row[1]))
    for key in layout.META_KEYS:
        if key not in meta:
            value = defined_value(workbook, layout.DEFINED_NAME_PREFIX + key)
            if value:
                meta[key] = nfc(value)
    return meta


_PERIOD_IN_LABEL = re.compile(r"\((\d{4}(?:S1)?)\)")


def _sheet_period(label: str) -> str | None:
    """`6 tháng đầu năm 2026 (2026S1)` -> 2026S1; the words alone are understood too."""
    match = _PERIOD_IN_LABEL.search(label)
    if match:
        return match.group(1).upper()
    words = ascii_slug(label).replace("-", " ")
    match = re.search(r"6 thang dau nam (\d{4})", words)
    if match:
        return f"{match.group(1)}S1"
    match = re.search(r"nam (\d{4})", words)
    return match.group(1) if match else None


_META_CELL = {key: f"B{layout.META_FIRST_ROW + n}" for n, key in enumerate(layout.META_KEYS)}
_INFO_CELL = {key: f"{layout.INFO_VALUE_COLUMN}{row}" for row, key, *_ in layout.INFO_FIELDS}


@dataclass(frozen=True)
class Directory:
    """The registry as identification reads it, built once per run."""

    registry: object
    ids: frozenset
    names: dict
    slugs: tuple   # (unit id, "-slug-") for every name and short name

    @classmethod
    def of(cls, registry) -> "Directory":
        units = registry.units
        slugs = tuple((uid, f"-{ascii_slug(label)}-") for uid, name, short in
                      zip(units["id"], units["name"], units["short_name"]) for label in {name, short} if label)
        return cls(registry, frozenset(units["id"]), dict(zip(units["id"], units["name"])), slugs)

    def unit_in_file_name(self, name: str) -> str | None:
        hits = {token for token in re.findall(r"\d{2}-[A-Z0-9]+|\d{5}", name.upper()) if token in self.ids}
        if len(hits) == 1:
            return hits.pop()
        slug = f"-{ascii_slug(Path(name).stem)}-"
        hits = {uid for uid, label in self.slugs if label in slug}
        return hits.pop() if len(hits) == 1 else None


def identify(item: Item, workbook: Workbook, directory: Directory, exp: Expectations, period: Period,
             register_unit: str | None) -> Identity:
    ids, names, registry = directory.ids, directory.names, directory.registry
    findings: list[Finding] = []
    meta = read_metadata(workbook)
    meta_unit = meta.get("unit_id")
    meta_period = (meta.get("period") or "").upper() or None
    version = meta.get("template_version")

    sheet_unit = sheet_period = None
    sheet_label = ""
    if layout.SHEET_INFO in item.sheets:
        info = item.sheets[layout.SHEET_INFO].sheet
        value_col = layout.INFO_VALUE_COLUMN
        rows = {key: r for r, key, *_ in layout.INFO_FIELDS}
        typed_id = nfc(str(info.cell(rows["unit_id"], value_col)))
        sheet_label = nfc(str(info.cell(rows["unit_name"], value_col)))
        sheet_unit = typed_id if typed_id in ids else registry.find_by_name(sheet_label)
        sheet_period = _sheet_period(nfc(str(info.cell(rows["period_label"], value_col))))
    file_unit = directory.unit_in_file_name(item.file)

    def add(rule, severity, message, sheet="", cell="", value=""):
        findings.append(finding(item, sheet, cell, value, rule, severity, message))

    if version and version != layout.TEMPLATE_VERSION:
        add(rules.TEMPLATE_VERSION, ERROR,
            f"Tệp dùng biểu mẫu phiên bản {version}, kỳ này dùng phiên bản {layout.TEMPLATE_VERSION}: hãy chép số liệu "
            "sang biểu mẫu mới đã gửi cho đơn vị.", layout.SHEET_META, _META_CELL["template_version"], version)

    unit_id = identified_by = None
    meta_known = meta_unit in ids
    if meta_known and sheet_unit and meta_unit != sheet_unit:
        add(rules.UNIT_CONFLICT, ERROR,
            f"Tệp mâu thuẫn về đơn vị: dữ liệu nhận diện là {meta_unit} ({names[meta_unit]}) nhưng trang Thông tin ghi "
            f"{sheet_unit} ({names[sheet_unit]}). Không xác định được đơn vị: hãy dùng đúng biểu mẫu của đơn vị.",
            layout.SHEET_INFO, _INFO_CELL["unit_name"], sheet_label)
    elif meta_known and (meta.get("fingerprint") == exp.fingerprint(meta_unit)
                         # the fingerprint is what the unit owes this period: it cannot match a file of
                         # another period, an older template or a unit not expected (each an error below)
                         or meta_period != period.code or version != layout.TEMPLATE_VERSION
                         or meta_unit not in exp.tasks):
        unit_id, identified_by = meta_unit, "metadata"
    elif sheet_unit:
        unit_id, identified_by = sheet_unit, "sheet"
        why = ("không có dữ liệu nhận diện (trang ẩn _meta bị xoá hoặc tệp được chép sang tệp mới)" if not meta
               else "dữ liệu nhận diện không khớp với biểu mẫu đã phát (có thể đã bị sửa)")
        add(rules.IDENTIFIED_BY_SHEET, WARNING,
            f"Tệp {why}; đã xác định đơn vị theo trang Thông tin: {sheet_unit} ({names[sheet_unit]}).",
            layout.SHEET_INFO, _INFO_CELL["unit_name"], sheet_label)
    elif file_unit:
        unit_id, identified_by = file_unit, "file_name"
        add(rules.IDENTIFIED_BY_FILE_NAME, WARNING,
            f"Tệp không có dữ liệu nhận diện và trang Thông tin không ghi đơn vị; đã xác định đơn vị theo tên tệp: "
            f"{file_unit} ({names[file_unit]}). Hãy kiểm tra lại.", value=item.file)
    elif meta_unit and not meta_known:
        add(rules.UNIT_UNKNOWN, ERROR, f"Mã đơn vị {meta_unit} trong tệp không có trong danh sách đơn vị báo cáo.",
            layout.SHEET_META, _META_CELL["unit_id"], meta_unit)
    elif not any(f.rule == rules.UNIT_CONFLICT for f in findings):
        add(rules.UNIT_UNKNOWN, ERROR, "Không xác định được đơn vị gửi tệp (không có dữ liệu nhận diện, trang Thông tin "
                                   "và tên tệp không ghi đơn vị): hãy dùng biểu mẫu đã phát cho đơn vị.")

    found_period = meta_period or sheet_period
    if meta_period and sheet_period and meta_period != sheet_period:
        add(rules.PERIOD_CONFLICT, ERROR,
            f"Tệp mâu thuẫn về kỳ báo cáo: dữ liệu nhận diện là kỳ {meta_period}, trang Thông tin ghi kỳ {sheet_period}.",
            layout.SHEET_INFO, _INFO_CELL["period_label"], sheet_period)
    elif found_period and found_period != period.code:
        add(rules.PERIOD_CONFLICT, ERROR,
            f"Tệp là báo cáo kỳ {found_period} nhưng nằm trong thư mục kỳ {period.code}: hãy chuyển tệp sang thư mục "
            f"inputs/submissions/{found_period}/ (nếu đơn vị gửi nhầm kỳ, đề nghị gửi lại biểu mẫu kỳ {period.code}).",
            layout.SHEET_INFO, _INFO_CELL["period_label"], found_period)

    if unit_id and register_unit and register_unit != unit_id:
        add(rules.UNIT_CONFLICT, ERROR,
            f"Sổ công văn đến ghi tệp này của {register_unit} ({names.get(register_unit, '')}) nhưng nội dung tệp là của "
            f"{unit_id} ({names[unit_id]}): hãy kiểm tra lại.", value=item.file)
        unit_id = identified_by = None
    if unit_id and unit_id not in exp.tasks:
        add(rules.UNIT_NOT_EXPECTED, ERROR,
            f"Đơn vị {unit_id} ({names[unit_id]}) không phải báo cáo kỳ {period.code}.", value=unit_id)
    if unit_id and file_unit and file_unit != unit_id and identified_by != "file_name":
        # the workbook's identity wins, but a file that may be another unit's figures in this unit's
        # template never replaces this unit's accepted figures: the officer asks the sender first
        add(rules.FILE_NAME_OTHER_UNIT, ERROR,
            f"Tên tệp ghi đơn vị {file_unit} ({names[file_unit]}) nhưng biểu mẫu là của {unit_id} ({names[unit_id]}): "
            f"tệp được ghi nhận cho {names[unit_id]} nhưng không được dùng. Nếu đây là báo cáo của {names[file_unit]}, "
            f"hãy điền vào biểu mẫu của {names[file_unit]}; nếu là của {names[unit_id]}, hãy đặt lại tên tệp rồi gửi "
            "lại.", value=item.file)
    return Identity(unit_id, identified_by, version, findings)


def unit_of_name(directory: "Directory", name: str) -> str | None:
    """The unit a file's name or, failing that, its folder names."""
    parts = Path(name).parts
    for part in (parts[-1], *reversed(parts[:-1])):
        unit = directory.unit_in_file_name(part)
        if unit:
            return unit
    return None
