"""What both adapters do around a domain call that changes something, written once: one
transaction, a dry run (or a refusal) rolled back, and the audit event of what was done, in the
same transaction. A CLI command and an HTTP route wrap the same domain call in `operation`, so
neither can forget the audit. An import names how it waits for its district (`waiting`): the
district's lock is then the first thing its transaction takes (`grid.locks`), labelled with the
action and who acts, so that whoever waits is told.

    with operation(session, caller, "import.grids", district=code, subject=path,
                   dry_run=dry_run) as op:
        report = import_grids(session, path, code, options)
        op.detail = report.to_dict()
        if report.status != "ok":
            op.refuse()
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from api.audit import record
from grid.locks import Waiting, lock_district


@dataclass(frozen=True)
class Caller:
    """Who the audit log names: a token and its person, or the local administrator."""

    actor: str      # "token:<id> <person>", or "cli:<user>"
    role: str       # the token's role, or "cli"


def cli_caller() -> Caller:
    try:
        return Caller(f"cli:{getpass.getuser()}", "cli")
    except Exception:  # no user name in some containers
        return Caller("cli", "cli")


@dataclass
class Outcome:
    """Filled in by the wrapped call: what the audit event says, or that nothing stands."""

    detail: dict[str, Any] = field(default_factory=dict)
    subject: str | None = None          # when known only after the act (a new case's number)
    district: str | None = None
    refused: bool = False

    def refuse(self) -> None:
        """Nothing is written (QA refused an import): the transaction is rolled back."""
        self.refused = True


@contextmanager
def operation(session: Session, caller: Caller, action: str, *, district: str = "",
              subject: str | None = None, dry_run: bool = False,
              waiting: Waiting | None = None) -> Iterator[Outcome]:
    """Run the block in the session's transaction — holding `district` first when `waiting`
    says how to wait for it — and commit it with its audit event, or roll it back (an error,
    a dry run, a refusal)."""
    outcome = Outcome(subject=subject, district=district)
    try:
        if waiting is not None:
            lock_district(session, district, action, by=caller.actor, waiting=waiting)
        yield outcome
    except BaseException:
        session.rollback()
        raise
    if dry_run or outcome.refused:
        session.rollback()
        return
    record(session, district=outcome.district or "", actor=caller.actor, role=caller.role,
           action=action, subject=outcome.subject, detail=outcome.detail)
    session.commit()
