"""One import at a time per district.

Every writer of a district's imported data — grids, street and community boundaries, the census,
the 权责清单 and zones, a census conversion — first takes the district's lock, a transaction-level
advisory lock: a second import waits for the first to commit or roll back, then runs against
what the first left. The lock must be the first thing the transaction does. A district's first
census swaps a partition of the census table in (`census.partitions`), which needs an ACCESS
EXCLUSIVE lock on `district` and on every table the census refers to (to drop the empty
partition `district add` made); a waiting import that had already read its district row would
hold what the first one needs while it waits for the first one: a deadlock. Taken first, a
waiting import holds nothing.

The holder labels its session (`application_name`, which every role may read in
`pg_stat_activity`, ASCII and at most 63 bytes) with what it does, who does it and since when,
so that whoever has to wait is told which import holds the district.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gis.db import lock_not_available, lock_timeout
from gis.errors import CitygridError
from grid.codes import DistrictCode

# The first key of the two-key advisory lock ("cg" and 1); the second is the district code.
LOCK_CLASS = 0x6367_0001
LABEL = "citygrid"
MAX_LABEL = 63          # bytes of application_name (NAMEDATALEN - 1)

# What the imports that take the lock are called (the audit's action names).
ACTIONS_ZH = {
    "import.grids": "单元网格导入",
    "import.street": "街道边界导入",
    "import.streets": "街道边界导入",
    "import.community": "社区边界导入",
    "import.communities": "社区边界导入",
    "import.components": "部件普查导入",
    "rules.import": "权责清单或责任区域导入",
    "census.convert": "部件分类代码转换",
}


class DistrictBusy(CitygridError):
    """Another import holds the district and this one would not (or no longer) wait."""

    code = "district_busy"
    status = 409
    exit_code = 75      # EX_TEMPFAIL: try again later


@dataclass(frozen=True)
class Waiting:
    """How long an import waits for its district: `seconds` at most (None: as long as it
    takes; 0: not at all), telling `on_wait` once who holds it when it has to wait."""

    seconds: float | None = None
    on_wait: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Holder:
    """The session that holds a district's lock, as its label tells."""

    pid: int
    action: str | None          # import.components, …; None: not a citygrid import
    actor: str | None           # cli:<user>, token:<id> <person>
    since: datetime | None

    def describe_zh(self) -> str:
        if self.action is None:
            return f"另一个数据库会话（进程 {self.pid}）"
        about = [self.actor] if self.actor else []
        if self.since:
            about.append(f"自 {self.since:%Y-%m-%d %H:%M:%S} 起")
        name = ACTIONS_ZH.get(self.action, self.action)
        return f"{name}（{'，'.join(about)}）" if about else name

    def describe_en(self) -> str:
        if self.action is None:
            return f"another database session (pid {self.pid})"
        by = f" by {self.actor}" if self.actor else ""
        since = f" since {self.since:%Y-%m-%d %H:%M:%S}" if self.since else ""
        return f"{self.action}{by}{since}"

    def to_dict(self) -> dict[str, object]:
        return {"pid": self.pid, "action": self.action, "actor": self.actor,
                "since": self.since.isoformat() if self.since else None}


def lock_district(session: Session, district_code: str, action: str, *, by: str | None = None,
                  waiting: Waiting | None = None) -> None:
    """Hold the district for `action` (by whom) until the transaction ends — at once when this
    session holds it already; else wait as `waiting` says (default: as long as it takes)."""
    code = DistrictCode.parse(district_code).value
    how = waiting or Waiting()
    key = {"c": LOCK_CLASS, "d": int(code)}
    if session.execute(_HELD, key).scalar():
        return
    if not session.execute(_TRY, key).scalar():
        holder = _holder(session, key)
        if how.seconds == 0:
            # the holder may have just finished
            if holder is not None or not session.execute(_TRY, key).scalar():
                raise _busy(code, holder)
        else:
            if how.on_wait is not None and holder is not None:
                how.on_wait(f"区县 {code} 正在进行另一项导入：{holder.describe_zh()}；等它结束后"
                            f"再导入 (district {code} is busy with {holder.describe_en()}; "
                            "waiting for it to finish)")
            _wait(session, code, key, how.seconds, holder)
    session.execute(sa.text(
        "SELECT set_config('application_name', :label || ' ' || "
        "floor(extract(epoch FROM clock_timestamp()))::bigint || ' ' || :rest, true)"),
        {"label": LABEL, "rest": label_text(action, by)})


def _wait(session: Session, code: str, key: dict[str, int], seconds: float | None,
          holder: Holder | None) -> None:
    """Wait for the lock in the queue of those waiting for it, `seconds` at most."""
    try:
        with nullcontext() if seconds is None else lock_timeout(session, seconds):
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:c, :d)"), key)
    except OperationalError as exc:
        if lock_not_available(exc):
            raise _busy(code, holder) from None
        raise


def _busy(code: str, holder: Holder | None) -> DistrictBusy:
    zh = f"：{holder.describe_zh()}" if holder else ""
    en = f" with {holder.describe_en()}" if holder else ""
    return DistrictBusy(f"区县 {code} 正在进行另一项导入{zh}；本次未导入任何数据，请稍后再试 "
                        f"(district {code} is busy{en}; nothing was imported, try again later)",
                        detail={"district": code,
                                "holder": holder.to_dict() if holder else None})


_TRY = sa.text("SELECT pg_try_advisory_xact_lock(:c, :d)")

_HELD = sa.text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND pid = pg_backend_pid() AND classid = CAST(:c AS oid) AND objid = CAST(:d AS oid) "
    "AND objsubid = 2)")

# The holder's label says since when (its transaction's start is hidden from other roles);
# pg_stat_clear_snapshot, because statistics are otherwise read once per transaction and kept.
_HOLDER = sa.text(
    "SELECT a.pid, a.application_name AS label, CASE WHEN a.application_name ~ "
    "'^citygrid [0-9]+ ' THEN to_timestamp(split_part(a.application_name, ' ', 2)::bigint) "
    "ELSE a.xact_start END AS since "
    "FROM pg_stat_clear_snapshot() s, pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.classid = CAST(:c AS oid) AND l.objid = CAST(:d AS oid) AND l.objsubid = 2")


def _holder(session: Session, key: dict[str, int]) -> Holder | None:
    """Who holds the district's lock now (None: nobody any more)."""
    row = session.execute(_HOLDER, key).first()
    return parse_label(row.pid, row.label or "", row.since) if row else None


def label_text(action: str, by: str | None) -> str:
    """`action actor` in ASCII (the actor JSON-escaped), short enough for application_name:
    a long actor is cut to its first word (token:<id>), then left out."""
    room = MAX_LABEL - len(LABEL) - len(" 1234567890 ")
    for actor in ([by, by.split(" ")[0]] if by else []):
        rest = f"{action} {json.dumps(actor)[1:-1]}"
        if len(rest) <= room:
            return rest
    return action[:room]


def parse_label(pid: int, label: str, since: datetime | None) -> Holder:
    """The holder that a session's application_name describes (another program's session:
    its pid only)."""
    parts = label.split(" ", 3)
    if len(parts) < 3 or parts[0] != LABEL or not parts[1].isdigit():
        return Holder(pid, None, None, since)
    actor = None
    if len(parts) == 4:
        try:
            actor = json.loads(f'"{parts[3]}"')
        except ValueError:
            actor = parts[3]
    return Holder(pid, parts[2], actor, since)
