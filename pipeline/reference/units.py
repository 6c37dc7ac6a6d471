"""The reporting-units registry: every department and commune that may owe a report.

Departments are an editable file (`inputs/departments.csv`); communes come from the official
list in the `vietnam-provinces` package for the configured province, with their contact details
from `inputs/commune_contacts.csv`. Unit ids are unique across provinces: a commune's official
five-digit code, a department's `<province code>-<abbreviation>`.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass

import pandas as pd

from pipeline.reference.settings import Settings
from pipeline.common.errors import ConfigError, UnknownUnitError
from pipeline.common.text import ascii_slug, fold, nfc
from pipeline.common.io_csv import read_text_table, validate_table

COMMUNE = "commune"
DEPARTMENT = "department"
UNIT_COLUMNS = ["id", "name", "short_name", "kind", "division", "aliases", "active_from",
                "email", "phone", "contact_person", "province_code"]


@dataclass(frozen=True)
class Registry:
    """`units`: one row per unit, columns UNIT_COLUMNS, ordered departments first then communes by code."""

    units: pd.DataFrame

    @functools.cached_property
    def name_of(self) -> dict[str, str]:
        """unit id -> official name."""
        return dict(zip(self.units["id"], self.units["name"]))

    @functools.cached_property
    def kind_of(self) -> dict[str, str]:
        """unit id -> COMMUNE or DEPARTMENT."""
        return dict(zip(self.units["id"], self.units["kind"]))

    @property
    def ids(self) -> list[str]:
        return self.units["id"].tolist()

    def communes(self) -> pd.DataFrame:
        return self.units[self.units["kind"] == COMMUNE]

    def departments(self) -> pd.DataFrame:
        return self.units[self.units["kind"] == DEPARTMENT]

    def get(self, unit_id: str) -> pd.Series:
        match = self.units[self.units["id"] == str(unit_id).strip()]
        if match.empty:
            raise UnknownUnitError(f"Không có đơn vị mã {unit_id!r} trong danh sách đơn vị báo cáo "
                                   f"(xem: python -m pipeline units)")
        return match.iloc[0]

    def find_by_name(self, text: str) -> str | None:
        """The id of the unit whose name, short name or alias is `text` (tone placement, case and
        the prefixes `UBND` / `Ủy ban nhân dân` ignored); None when no unit or several match."""
        key = _name_key(text)
        if not key:
            return None
        hits = {uid for uid, names in self._name_keys() if key in names}
        return hits.pop() if len(hits) == 1 else None

    def resolve(self, text: str) -> str:
        """The id of the unit `text` names, the way people name it: its id in any case and with or
        without the leading zeros Excel drops (`03405`, `3405`, `12-syt`), or its name, short name or
        alias with or without diacritics and the words `xã`, `phường`, `UBND` (`Xã Tả Lèng`, `ta leng`).
        Unknown or ambiguous: UnknownUnitError, one line listing the closest units ("Có phải: ...?")."""
        typed = nfc(str(text))
        by_upper = {uid.upper(): uid for uid in self.ids}
        if typed.upper() in by_upper:
            return by_upper[typed.upper()]
        if typed.isdigit():
            by_number = {int(uid): uid for uid in self.ids if uid.isdigit()}
            if int(typed) in by_number:
                return by_number[int(typed)]
            raise UnknownUnitError(f"Không có đơn vị mã {typed!r} trong danh sách đơn vị báo cáo "
                                   f"(xem: python -m pipeline units)")
        key, plain = _name_key(typed), _plain_key(typed)
        for wanted, keys in ((key, self._keys_of), (plain, self._plain_keys_of)):
            hits = [uid for uid, names in keys.items() if wanted and wanted in names]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise UnknownUnitError(f"{typed!r} có thể là nhiều đơn vị. Có phải: {self._listed(hits)}?")
        # closest: the units whose names hold every word typed, then names that look alike
        words = plain.split()
        close = [uid for uid, names in self._plain_keys_of.items()
                 if words and any(all(w in n.split() for w in words) for n in names)]
        if len(close) > 1:
            raise UnknownUnitError(f"{typed!r} có thể là nhiều đơn vị. Có phải: {self._listed(close)}?")
        if not close:
            owner = {n: uid for uid, names in self._plain_keys_of.items() for n in names}
            close = list(dict.fromkeys(owner[n] for n in difflib.get_close_matches(plain, list(owner), n=5, cutoff=0.6)))
        guess = f" Có phải: {self._listed(close)}?" if close else " Xem danh sách: python -m pipeline units"
        raise UnknownUnitError(f"Không có đơn vị {typed!r} trong danh sách đơn vị báo cáo.{guess}")

    def _listed(self, ids: list[str], most: int = 6) -> str:
        shown = ", ".join(f"{uid} {self.name_of[uid]}" for uid in ids[:most])
        return shown + (f" (và {len(ids) - most} đơn vị khác)" if len(ids) > most else "")

    @functools.cached_property
    def _keys_of(self) -> dict[str, set[str]]:
        return dict(self._name_keys())

    @functools.cached_property
    def _plain_keys_of(self) -> dict[str, set[str]]:
        return {row.id: {_plain_key(n) for n in (row.name, row.short_name, *row.aliases)} - {""}
                for row in self.units.itertuples(index=False)}

    def _name_keys(self):
        for row in self.units.itertuples(index=False):
            names = {_name_key(row.name), _name_key(row.short_name), *(_name_key(a) for a in row.aliases)}
            if row.kind == COMMUNE:
                # "Tả Lèng" alone names "Xã Tả Lèng"
                names.add(_name_key(row.name.split(" ", 1)[1]))
            yield row.id, names - {""}


def _name_key(text: str) -> str:
    key = fold(text)
    for prefix in ("ủy ban nhân dân ", "uỷ ban nhân dân ", "ubnd "):
        prefix = fold(prefix) + " "
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key


def _plain_key(text: str) -> str:
    """A name key without diacritics, case or the words naming the kind of unit:
    `UBND xã Tả Lèng`, `ta leng` -> `ta leng`."""
    key = ascii_slug(text).replace("-", " ")
    for prefix in ("uy ban nhan dan ", "ubnd ", "xa ", "phuong ", "thi tran "):
        if key.startswith(prefix) and len(key) > len(prefix):
            key = key[len(prefix):]
    return key


def load_registry(settings: Settings) -> Registry:

    dept_path = settings.path("departments")
    contact_cols = ["active_from", "email", "phone", "contact_person"]
    departments = read_text_table(dept_path, ["id", "name", "short_name", "aliases", *contact_cols],
                                  optional=tuple(contact_cols))
    departments = validate_table(departments, "schemas.units:DepartmentsFileSchema", "schemas.units:DEPARTMENT_MESSAGES",
                                 dept_path, memo=settings.path("outputs"))
    wrong_province = departments[~departments["id"].str.startswith(f"{settings.province_code:02d}-")]
    if not wrong_province.empty:
        raise ConfigError(f"{dept_path.name}: mã đơn vị phải bắt đầu bằng mã tỉnh "
                          f"{settings.province_code:02d}-: {', '.join(wrong_province['id'])}")

    communes = _official_communes(settings.province_code)
    contacts_path = settings.path("commune_contacts")
    if contacts_path.is_file():
        contacts = read_text_table(contacts_path, ["id", "name", *contact_cols], optional=tuple(contact_cols))
        contacts = validate_table(contacts, "schemas.units:CommuneContactsFileSchema", "schemas.units:COMMUNE_MESSAGES",
                                  contacts_path, memo=settings.path("outputs"))
        unknown = sorted(set(contacts["id"]) - set(communes["id"]))
        if unknown:
            raise ConfigError(f"{contacts_path.name}: mã không có trong danh mục xã/phường chính thức của tỉnh: "
                              f"{', '.join(unknown)}")
        communes = communes.drop(columns=contact_cols).merge(
            contacts[["id", *contact_cols]], on="id", how="left").fillna("")

    departments = departments.assign(
        kind=DEPARTMENT, division="",
        aliases=departments["aliases"].map(lambda s: tuple(a.strip() for a in s.split("|") if a.strip())),
        province_code=settings.province_code,
    )
    units = pd.concat([departments[UNIT_COLUMNS], communes[UNIT_COLUMNS]], ignore_index=True)
    return Registry(units=units)


def _official_communes(province_code: int) -> pd.DataFrame:
    from vietnam_provinces import Province, Ward

    try:
        Province.from_code(province_code)
    except ValueError as exc:
        raise ConfigError(f"Mã tỉnh {province_code} không có trong danh mục hành chính chính thức") from exc
    wards = sorted(Ward.iter_by_province(province_code), key=lambda w: int(w.code))
    return pd.DataFrame(
        [{"id": f"{int(w.code):05d}", "name": w.name, "short_name": w.name.split(" ", 1)[1],
          "kind": COMMUNE, "division": w.division_type.value, "aliases": (), "active_from": "",
          "email": "", "phone": "", "contact_person": "", "province_code": province_code}
         for w in wards],
        columns=UNIT_COLUMNS,
    )


def province_name(province_code: int) -> str:
    from vietnam_provinces import Province

    return Province.from_code(province_code).name
