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
from pydantic import ValidationError
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
from api.cli.base import BadOption, BadUsage, cli, echo_err
from gis import lazypandas
from gis.errors import CitygridError

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command and turn every failure into one line and an exit status."""
    debug = bool(os.environ.get("CITYGRID_DEBUG"))
    # a command that makes no pandas object does not import pandas for pyarrow (0.3 s)
    lazypandas.defer()
    try:
        rv = cli.main(args=argv, prog_name="citygrid", standalone_mode=False)
        sys.exit(rv if isinstance(rv, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        echo_err(_usage(exc))
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        echo_err(f"citygrid: 命令出错 ({exc.format_message()})")
        sys.exit(exc.exit_code)
    except click.Abort:
        echo_err("citygrid: 已中止 (aborted)")
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
        echo_err(f"citygrid: 数据库出错：{reason} (database error)")
        sys.exit(4)
    except ValidationError as exc:          # a CITYGRID_… setting in the environment
        if debug:
            raise
        echo_err(f"citygrid: {setting_problem(exc)}")
        sys.exit(2)
    except KeyboardInterrupt:
        echo_err("citygrid: 已中断，未提交任何更改 (interrupted; nothing was committed)")
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        echo_err(f"citygrid: 内部错误：{type(exc).__name__}: {exc}；设置 CITYGRID_DEBUG=1 "
                 "再运行可看到调用栈 (internal error; run with CITYGRID_DEBUG=1 for the "
                 "traceback)")
        sys.exit(70)


def setting_problem(exc: ValidationError) -> str:
    """The first bad setting of the environment as one line: the variable, its value and what
    is wrong with it (pydantic's own words are several lines)."""
    first = exc.errors()[0]
    name = f"CITYGRID_{str(first['loc'][0]).upper()}" if first.get("loc") else "CITYGRID_…"
    reason = str(first.get("msg", "")).removeprefix("Value error, ")
    value = first.get("input")
    if isinstance(value, str) and "://" in value:     # database URLs: never their passwords
        from gis.db import redact

        value = ",".join(redact(u) for u in value.split(","))
    return f"环境变量 {name}={value!r} 无效：{reason}"


def _usage(exc: click.UsageError) -> str:
    """A usage error as one line, Chinese first: citygrid's own message as it is; click's own
    words (English) after a Chinese line that names the option."""
    where = exc.ctx.command_path if exc.ctx else "citygrid"
    if isinstance(exc, BadOption | BadUsage):
        return f"{where}: {exc.message}"
    hint = _hint(exc) if isinstance(exc, click.BadParameter) else None
    if isinstance(exc, click.MissingParameter):
        zh = f"缺少 {hint}"
    elif isinstance(exc, click.BadParameter):
        zh = f"{hint} 的值无效"
    elif isinstance(exc, click.NoSuchOption):
        zh = f"没有选项 {exc.option_name}"
    else:
        zh = "用法不对"
    return f"{where}: {zh}，用法见 {where} --help ({exc.format_message()})"


def _hint(exc: click.BadParameter) -> str:
    """The option or argument a bad value was given for, as click names it ('--district')."""
    if exc.param_hint is not None:
        hint = exc.param_hint
        return " / ".join(hint) if not isinstance(hint, str) else hint
    if exc.param is not None and exc.ctx is not None:
        return exc.param.get_error_hint(exc.ctx)
    return "参数"


if __name__ == "__main__":
    main()
