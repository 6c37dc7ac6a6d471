"""The units' upload links: one random token per unit and period, only its hash kept in the ledger,
and the officer's list of links (outputs/<period>/duong-dan-nop-bao-cao.csv). `distribute` puts each
unit's link in its email when `[web] public_url` is set; the web pages (pipeline/web/) answer them."""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from pipeline.common import clock
from pipeline.common.atomic import write_bytes
from pipeline.store.ledger import Ledger, issue_link, live_links, revoke_link
from pipeline.reference.obligations import obligations

LINKS_NAME = "duong-dan-nop-bao-cao.csv"
LINKS_COLUMNS = ("Mã đơn vị", "Tên đơn vị", "Email", "Đường dẫn nộp báo cáo")
TOKEN_BYTES = 24   # 192 bits


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def unit_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/nop/{token}"


def links_path(settings, period) -> Path:
    return settings.path("outputs") / period.code / LINKS_NAME


@dataclass(frozen=True)
class LinksResult:
    path: Path
    rows: list[dict]
    issued: list[str]    # units given a new link this run
    revoked: list[str]


def _read_links(path: Path) -> dict[str, str]:
    """unit id -> URL from an earlier list (the tokens are nowhere else)."""
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row[LINKS_COLUMNS[0]]: row[LINKS_COLUMNS[3]] for row in csv.DictReader(handle)
                if row.get(LINKS_COLUMNS[0]) and row.get(LINKS_COLUMNS[3])}


def write_links(project, period, base_url: str, revoke: list[str] = ()) -> LinksResult:
    """Gives every unit that reports this period a live link (keeping those already in the list and
    still live; `revoke` units get a new one), and writes the list atomically."""
    settings, registry = project.settings, project.registry
    path = links_path(settings, period)
    earlier = _read_links(path)
    owed = set(obligations(project.matrix, registry, period)["unit_id"])
    units = [u for u in registry.units["id"] if u in owed]
    now = clock.now(settings).isoformat()
    province = settings.province_code
    issued, revoked, urls = [], [], {}
    with Ledger(settings.path("ledger")) as ledger:
        for unit_id in revoke:
            if revoke_link(ledger, period.code, province, unit_id, now):
                revoked.append(unit_id)
        live = live_links(ledger, period.code, province)
        for unit_id in units:
            url = earlier.get(unit_id, "")
            token = url.rsplit("/", 1)[-1]
            if unit_id not in revoke and url and live.get(unit_id) == token_hash(token):
                urls[unit_id] = unit_url(base_url, token)   # (the address may have changed)
                continue
            token = new_token()
            issue_link(ledger, period.code, province, unit_id, token_hash(token), now)
            urls[unit_id] = unit_url(base_url, token)
            issued.append(unit_id)
    table = registry.units.set_index("id")
    rows = [{LINKS_COLUMNS[0]: u, LINKS_COLUMNS[1]: table.at[u, "name"], LINKS_COLUMNS[2]: table.at[u, "email"] or "",
             LINKS_COLUMNS[3]: urls[u]} for u in units]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LINKS_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    write_bytes(path, buffer.getvalue().encode("utf-8-sig"))
    return LinksResult(path, rows, issued, revoked)
