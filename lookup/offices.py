"""属地兜底: the office that answers for a street (街道办事处) or town (镇/乡人民政府) when no
rule names a party. Its name is, first that applies:

    responsibility_list  the 权责清单's row for the street (属地责任单位; `lookup.rules`)
    boundary_file        the 属地责任单位 the street boundary file gave (`grid.hierarchy`)
    default              made from the street's name and kind (`office_of`): 澄江街道 →
                         澄江街道办事处, 梅渚镇 → 梅渚镇人民政府, 周王乡 → 周王乡人民政府

A name without such a suffix (梅渚) takes the kind the boundary file gave (类型), else the kind its
code has under GB/T 10114 where that numbering can be trusted (`numbered_kinds`); with neither no
office is guessed: "梅渚（属地）".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from grid import store as grid_store
from grid.codes import StreetCode
from grid.store import StoredStreet
from lookup.tables import street_office

# the word an office adds to its street's name, by the street's kind
OFFICE_WORDS = {"街道": "办事处", "镇": "人民政府", "乡": "人民政府"}
# a name that already is an office's
OFFICE_SUFFIXES = ("办事处", "人民政府", "管委会", "管理委员会")


@dataclass(frozen=True, slots=True)
class Office:
    name: str
    source: str         # responsibility_list | boundary_file | default


def office_of(name: str, kind: str | None = None) -> str:
    """The office of a street called `name`: its own suffix (街道, 镇, 乡) says which, else
    `kind` (街道, 镇 or 乡) is added; with neither, "name（属地）". A name's own suffix wins over
    `kind`, so no "…镇街道办事处" is ever made up."""
    if name.endswith(OFFICE_SUFFIXES):
        return name
    for suffix, word in OFFICE_WORDS.items():
        if name.endswith(suffix):
            return f"{name}{word}"
    if kind in OFFICE_WORDS:
        return f"{name}{kind}{OFFICE_WORDS[kind]}"
    return f"{name}（属地）"


def numbered_kinds(codes: Iterable[str]) -> dict[str, str]:
    """The kinds GB/T 10114 numbering gives a district's street codes where it can be trusted:
    100–199 (镇) and 200–399 (乡) always, as no county numbers its streets and towns that far in
    sequence; 001–099 (街道) only when the district also has such a code, i.e. its codes follow
    the standard (a contractor's 001, 002, … says nothing of what a street is)."""
    kinds = {code: StreetCode(code).numbered_kind for code in codes}
    standard = any(k in ("镇", "乡") for k in kinds.values())
    return {code: k for code, k in kinds.items() if k and (k != "街道" or standard)}


def choose(street: StoredStreet, listed: str | None, numbered: str | None) -> Office:
    """The office of one street: the 权责清单's, the boundary file's, or made from its name."""
    if listed:
        return Office(listed, "responsibility_list")
    if street.office:
        return Office(street.office, "boundary_file")
    if not street.name:
        return Office(f"{street.code}（属地）", "default")
    return Office(office_of(street.name, street.kind or numbered), "default")


def listed_offices(session: Session, district_code: str) -> dict[str, str]:
    """street code → the office the current 权责清单 names for it."""
    rows = session.execute(sa.select(street_office.c.street_code, street_office.c.office)
                           .where(street_office.c.district_code == district_code,
                                  street_office.c.valid_to.is_(None)))
    return {r.street_code: r.office for r in rows}


def street_offices(session: Session, district_code: str) -> dict[str, Office]:
    """street code → its office, for every street of the district."""
    streets = grid_store.streets(session, district_code)
    listed = listed_offices(session, district_code)
    numbered = numbered_kinds(streets)
    return {code: choose(s, listed.get(code), numbered.get(code)) for code, s in streets.items()}
