"""Reading the CSV files a city edits in a spreadsheet: Excel in China saves them as GBK, other
tools as UTF-8 (with or without a BOM). The encoding is settled as for DBF text: declared, or
detected as UTF-8 or plausible GBK, never guessed into mojibake."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

from gis.encoding import choose_encoding, parse_encoding
from gis.errors import InputFileError


def read_csv(path: str | os.PathLike[str], *, required: Sequence[str] = (),
             encoding: str | None = None) -> tuple[list[dict[str, str]], str]:
    """(rows as dicts, the encoding as reported); refuses a missing file, an undecodable one,
    missing columns and an empty one with one line each."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{path}：文件不存在 ({path}: no such file)") from None
    except IsADirectoryError:
        raise InputFileError(f"{path} 是文件夹 ({path} is a directory)") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    declared = parse_encoding(encoding, "--encoding") if encoding else None
    chosen = choose_encoding(declared, raw.splitlines())
    try:
        text = raw.decode(chosen.codec)
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path} 不是有效的 {chosen.label} 文本；请用 --encoding 指定字符编码 "
                             f"({path} is not valid {chosen.label})") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise InputFileError(f"{path}：缺少列 {'、'.join(missing)}（需要 {'、'.join(required)}；"
                             f"文件中有 {'、'.join(reader.fieldnames or [])}） "
                             f"({path}: missing column(s) {', '.join(missing)})")
    rows = [{k: (v or "") for k, v in r.items() if k is not None} for r in reader]
    if not rows:
        raise InputFileError(f"{path} 中没有数据行 ({path} has no rows)")
    return rows, f"{chosen.label} ({chosen.declared_by})"
