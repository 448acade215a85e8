"""The `citygrid` command, a module per group of commands (`api/cli/<subject>.py`, sharing
`api/cli/base.py`). Each command parses its input, calls one domain function and renders the
result; a command that changes something runs in `base.acting` (transaction, dry run, audit
event); errors become one line on stderr and a non-zero exit status, never a traceback.

Exit status: 0 success; 1 QA found error-level problems (import refused); 2 bad input;
3 point outside coverage; 4 database unavailable; 70 internal error; 75 the district is busy
with another import (--no-wait; try again later).
"""

from __future__ import annotations

import os
import sys

import click
from sqlalchemy.exc import OperationalError

# the command modules register their commands on `cli` when imported
from api.cli import (  # noqa: F401
    cases,
    census,
    database,
    districts,
    evaluation,
    imports,
    limits,
    lookup,
    onboarding,
    qa,
    serve,
    tokens,
)
from api.cli.base import cli, echo_err
from gis.errors import CitygridError

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command and turn every failure into one line and an exit status."""
    debug = bool(os.environ.get("CITYGRID_DEBUG"))
    try:
        rv = cli.main(args=argv, prog_name="citygrid", standalone_mode=False)
        sys.exit(rv if isinstance(rv, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "citygrid"
        echo_err(f"{where}: {exc.format_message()} (see {where} --help)")
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        echo_err(f"citygrid: {exc.format_message()}")
        sys.exit(exc.exit_code)
    except click.Abort:
        echo_err("citygrid: aborted")
        sys.exit(130)
    except CitygridError as exc:
        if debug:
            raise
        echo_err(f"citygrid: {exc.message}")
        sys.exit(exc.exit_code)
    except OperationalError as exc:
        if debug:
            raise
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "lost connection"
        echo_err(f"citygrid: database error: {reason}")
        sys.exit(4)
    except KeyboardInterrupt:
        echo_err("citygrid: interrupted; nothing was committed")
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        echo_err(f"citygrid: internal error: {type(exc).__name__}: {exc} "
                  "(run with CITYGRID_DEBUG=1 for the traceback)")
        sys.exit(70)


if __name__ == "__main__":
    main()
