"""The reporting-units registry: every department and commune that may owe a report.

Departments are an editable file (`inputs/departments.csv`); communes come from the official
list in the `vietnam-provinces` package for the configured province, with their contact details
from `inputs/commune_contacts.csv`. Unit ids are unique across provinces: a commune's official
five-digit code, a department's `<province code>-<abbreviation>`.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING

from pipeline.reference.settings import Settings
from pipeline.common.errors import ConfigError, UnknownUnitError
from pipeline.common.text import ascii_slug, fold, nfc
from pipeline.common.io_csv import read_text_rows, validate_rows

if TYPE_CHECKING:
    import pandas as pd

COMMUNE = "commune"
DEPARTMENT = "department"
UNIT_COLUMNS = ["id", "name", "short_name", "kind", "division", "aliases", "active_from",
                "email", "phone", "contact_person", "province_code"]


@dataclass(frozen=True)
class Unit:
    """One reporting unit: the fields are UNIT_COLUMNS."""

    id: str
    name: str
    short_name: str
    kind: str
    division: str
    aliases: tuple[str, ...]
    active_from: str
    email: str
    phone: str
    contact_person: str
    province_code: int


class Registry:
    """The reporting units, ordered departments first then communes by code: `rows` (plain `Unit`s,
    what the `units` command and the name lookups use, without pandas) and `units`, the same as a
    DataFrame with columns UNIT_COLUMNS and a RangeIndex, built (and pandas imported) on first use.

    Built from rows (`Registry(rows=...)`, as `load_registry` does) or from a DataFrame
    (`Registry(units=frame)`: a test's edited registry), which is then kept as `units`."""

    def __init__(self, units: pd.DataFrame | None = None, *, rows=None):
        if (units is None) == (rows is None):
            raise TypeError("Registry needs either units (a DataFrame) or rows")
        if units is not None:
            self.__dict__["units"] = units
            rows = [Unit(*row) for row in units[UNIT_COLUMNS].itertuples(index=False)]
        self.rows: tuple[Unit, ...] = tuple(rows)

    def __repr__(self) -> str:
        return f"Registry({len(self.rows)} units)"

    @functools.cached_property
    def units(self) -> pd.DataFrame:
        import pandas as pd

        dtypes = {"aliases": object, "province_code": "int64"}
        return pd.DataFrame({c: pd.Series([getattr(u, c) for u in self.rows], dtype=dtypes.get(c, str))
                             for c in UNIT_COLUMNS}, columns=UNIT_COLUMNS)

    @functools.cached_property
    def name_of(self) -> dict[str, str]:
        """unit id -> official name."""
        return {u.id: u.name for u in self.rows}

    @functools.cached_property
    def kind_of(self) -> dict[str, str]:
        """unit id -> COMMUNE or DEPARTMENT."""
        return {u.id: u.kind for u in self.rows}

    @property
    def ids(self) -> list[str]:
        return [u.id for u in self.rows]

    def count(self, kind: str) -> int:
        """How many units of this kind (COMMUNE, DEPARTMENT)."""
        return sum(u.kind == kind for u in self.rows)

    def ids_of(self, kind: str) -> list[str]:
        """The ids of the units of this kind (COMMUNE, DEPARTMENT), in the registry's order."""
        return [u.id for u in self.rows if u.kind == kind]

    def communes(self) -> pd.DataFrame:
        return self.units[self.units["kind"] == COMMUNE]

    def departments(self) -> pd.DataFrame:
        return self.units[self.units["kind"] == DEPARTMENT]

    def get(self, unit_id: str) -> pd.Series:
        """The unit's row of `units`; UnknownUnitError for an unknown id."""
        return self.units.iloc[self._position(unit_id)]

    def unit(self, unit_id: str) -> Unit:
        """`get` without pandas: the unit's `Unit`."""
        return self.rows[self._position(unit_id)]

    def _position(self, unit_id: str) -> int:
        position = self._positions.get(str(unit_id).strip())
        if position is not None:
            return position
        raise UnknownUnitError(f"Không có đơn vị mã {unit_id!r} trong danh sách đơn vị báo cáo "
                               f"(xem: python -m pipeline units)")

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

    @functools.cached_property
    def _positions(self) -> dict[str, int]:
        positions: dict[str, int] = {}
        for n, unit in enumerate(self.rows):
            positions.setdefault(unit.id, n)   # the first, as a filter's first match was
        return positions

    def _listed(self, ids: list[str], most: int = 6) -> str:
        shown = ", ".join(f"{uid} {self.name_of[uid]}" for uid in ids[:most])
        return shown + (f" (và {len(ids) - most} đơn vị khác)" if len(ids) > most else "")

    @functools.cached_property
    def _keys_of(self) -> dict[str, set[str]]:
        return dict(self._name_keys())

    @functools.cached_property
    def _plain_keys_of(self) -> dict[str, set[str]]:
        return {row.id: {_plain_key(n) for n in (row.name, row.short_name, *row.aliases)} - {""}
                for row in self.rows}

    def _name_keys(self):
        for row in self.rows:
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
    """Reads and checks the lists without pandas while they are as they were when they last passed
    their schema (see `validate_rows`): `python -m pipeline units` stays quick."""
    dept_path = settings.path("departments")
    contact_cols = ["active_from", "email", "phone", "contact_person"]
    departments = read_text_rows(dept_path, ["id", "name", "short_name", "aliases", *contact_cols],
                                 optional=tuple(contact_cols))
    departments = validate_rows(departments, "schemas.units:DepartmentsFileSchema", "schemas.units:DEPARTMENT_MESSAGES",
                                memo=settings.path("outputs")).records()
    wrong_province = [d["id"] for d in departments if not d["id"].startswith(f"{settings.province_code:02d}-")]
    if wrong_province:
        raise ConfigError(f"{dept_path.name}: mã đơn vị phải bắt đầu bằng mã tỉnh "
                          f"{settings.province_code:02d}-: {', '.join(wrong_province)}")

    communes = _official_communes(settings.province_code)
    contacts_path = settings.path("commune_contacts")
    if contacts_path.is_file():
        contacts = read_text_rows(contacts_path, ["id", "name", *contact_cols], optional=tuple(contact_cols))
        contacts = validate_rows(contacts, "schemas.units:CommuneContactsFileSchema", "schemas.units:COMMUNE_MESSAGES",
                                 memo=settings.path("outputs")).records()
        unknown = sorted({c["id"] for c in contacts} - {u.id for u in communes})
        if unknown:
            raise ConfigError(f"{contacts_path.name}: mã không có trong danh mục xã/phường chính thức của tỉnh: "
                              f"{', '.join(unknown)}")
        by_id = {c["id"]: c for c in contacts}
        blank = dict.fromkeys(contact_cols, "")
        communes = [Unit(**{**_fields(u), **{k: by_id.get(u.id, blank)[k] for k in contact_cols}})
                    for u in communes]

    rows = [Unit(id=d["id"], name=d["name"], short_name=d["short_name"], kind=DEPARTMENT, division="",
                 aliases=tuple(a.strip() for a in d["aliases"].split("|") if a.strip()),
                 active_from=d["active_from"], email=d["email"], phone=d["phone"],
                 contact_person=d["contact_person"], province_code=settings.province_code)
            for d in departments]
    return Registry(rows=[*rows, *communes])


def _fields(unit: Unit) -> dict:
    return dict(zip(UNIT_COLUMNS, astuple(unit)))


def _official_communes(province_code: int) -> list[Unit]:
    from vietnam_provinces import Province, Ward

    try:
        Province.from_code(province_code)
    except ValueError as exc:
        raise ConfigError(f"Mã tỉnh {province_code} không có trong danh mục hành chính chính thức") from exc
    wards = sorted(Ward.iter_by_province(province_code), key=lambda w: int(w.code))
    return [Unit(id=f"{int(w.code):05d}", name=w.name, short_name=w.name.split(" ", 1)[1], kind=COMMUNE,
                 division=w.division_type.value, aliases=(), active_from="", email="", phone="",
                 contact_person="", province_code=province_code)
            for w in wards]


def province_name(province_code: int) -> str:
    from vietnam_provinces import Province

    return Province.from_code(province_code).name
