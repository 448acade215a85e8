"""Text encodings of shapefile DBFs: where the encoding is declared, and decoding that refuses
mojibake.

A DBF says nothing reliable about its encoding. In order of trust: the user's `--encoding`, the
`.cpg` file, the DBF header's language id (byte 29). ArcGIS writes language id 0x57 ("ANSI") for
whatever the writing machine's code page was, which on Chinese Windows is GBK, so 0x57 counts as
undeclared. Undeclared text is accepted only when it is valid UTF-8 or plausible GBK Chinese;
anything else is refused with a message that suggests `--encoding`.

Strings reach this module carried losslessly as ISO-8859-1 (every byte one character), so the
original bytes are recovered with `.encode("latin-1")` and decoded here, strictly.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gis.errors import EncodingError

# Code pages named by the DBF language driver id (byte 29 of the header).
LDID_CODEPAGES = {
    0x01: "CP437", 0x02: "CP850", 0x03: "CP1252", 0x08: "CP865", 0x09: "CP437",
    0x13: "CP932", 0x26: "CP866", 0x4D: "CP936", 0x4E: "CP949", 0x4F: "CP950",
    0x64: "CP852", 0x65: "CP866", 0x7A: "CP936", 0x7B: "CP932", 0x7C: "CP874",
    0x7D: "CP1255", 0x7E: "CP1256", 0xC8: "CP1250", 0xC9: "CP1251", 0xCA: "CP1254",
    0xCB: "CP1253",
}
LDID_ANSI = 0x57

# Every Chinese label decodes as GB18030: it is a superset of GB2312 and GBK, and files labelled
# GB2312 routinely hold GBK-only characters such as 堃, 镕, 喆.
_CHINESE = {"gbk", "gb2312", "gb18030", "cp936", "936", "euc_cn", "euccn", "ms936", "gb_2312_80",
            "hz", "ansi936", "ansi_936"}


@dataclass(frozen=True)
class Encoding:
    label: str        # as reported to the user: "GBK", "UTF-8", …
    codec: str        # Python codec actually used to decode
    declared_by: str  # "--encoding", ".cpg", "DBF language id", "detected", "format"

    @property
    def chinese(self) -> bool:
        return self.codec == "gb18030"


def parse_encoding(name: str, declared_by: str) -> Encoding:
    """An Encoding from a label such as 'GBK', '936', 'UTF-8', 'CP1252', 'ANSI 936'."""
    raw = name.strip()
    key = raw.lower().replace("-", "").replace(" ", "_")
    if key in _CHINESE or key.lstrip("cp") == "936":
        return Encoding(raw.upper() if not raw.isdigit() else f"CP{raw}", "gb18030", declared_by)
    if key in {"utf8", "utf_8", "65001"}:
        return Encoding("UTF-8", "utf-8", declared_by)
    if key.isdigit():
        key = f"cp{key}"
    if key in {"88591", "iso88591"}:
        key = "latin-1"
    try:
        codec = codecs.lookup(key).name
    except LookupError as exc:
        raise EncodingError(f"unknown encoding {raw!r}: expected a name such as GBK, GB18030 "
                            "or UTF-8") from exc
    return Encoding(raw.upper(), codec, declared_by)


def declared_encoding(dbf: Path, cpg: Path | None) -> Encoding | None:
    """The encoding a shapefile declares through its .cpg or DBF language id, if any."""
    if cpg is not None and cpg.exists():
        text = cpg.read_bytes().decode("ascii", errors="ignore").strip()
        if text:
            return parse_encoding(text, ".cpg")
    try:
        with open(dbf, "rb") as fh:
            header = fh.read(32)
    except OSError:
        return None
    if len(header) < 32:
        return None
    ldid = header[29]
    if ldid in LDID_CODEPAGES:
        return parse_encoding(LDID_CODEPAGES[ldid], "DBF language id")
    return None  # 0 (unset), 0x57 (ANSI: the writer's code page, unknown) or unrecognised


def _non_ascii(samples: list[bytes]) -> list[bytes]:
    return [b for b in samples if not b.isascii()]


def _valid(b: bytes, codec: str) -> bool:
    try:
        b.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _gb2312_share(texts: list[str]) -> float:
    """Share of non-ASCII characters that are in GB2312: high for real Chinese, low for mojibake."""
    total = common = 0
    for text in texts:
        for ch in text:
            if ord(ch) < 128:
                continue
            total += 1
            try:
                ch.encode("gb2312")
                common += 1
            except UnicodeEncodeError:
                pass
    return common / total if total else 1.0


def choose_encoding(declared: Encoding | None, samples: list[bytes]) -> Encoding:
    """Settle the encoding of a DBF from its declaration and its text.

    `samples` are raw byte strings of the file (field names and values). Raises EncodingError
    when the declaration is contradicted by the text or, undeclared, the text fits no candidate.
    """
    text = _non_ascii(samples)
    if declared is not None:
        if declared.chinese and text and all(_valid(b, "utf-8") for b in text):
            example = next(b for b in text).decode("utf-8")
            raise EncodingError(
                f"text is declared {declared.label} (by {declared.declared_by}) but is UTF-8 "
                f"(for example {example!r}); pass --encoding UTF-8")
        if not declared.chinese and declared.codec != "utf-8" and text:
            single_byte = codecs.lookup(declared.codec).name.startswith(("cp125", "latin", "iso"))
            if single_byte and all(_valid(b, "gb18030") for b in text):
                decoded = [b.decode("gb18030") for b in text]
                if _gb2312_share(decoded) > 0.9:
                    raise EncodingError(
                        f"text is declared {declared.label} (by {declared.declared_by}) but reads "
                        f"as Chinese GBK (for example {decoded[0]!r}); pass --encoding GBK")
        return declared
    if all(_valid(b, "utf-8") for b in text):
        return Encoding("UTF-8", "utf-8", "detected")
    if all(_valid(b, "gb18030") for b in text):
        decoded = [b.decode("gb18030") for b in text]
        if _gb2312_share(decoded) >= 0.6:
            return Encoding("GBK", "gb18030", "detected")
    raise EncodingError("the file does not declare its text encoding (no .cpg, no DBF language id)"
                        " and its text is neither UTF-8 nor Chinese GBK; pass --encoding")


def recover_bytes(value: str) -> bytes:
    """The original bytes of a string read as ISO-8859-1."""
    return value.encode("latin-1")


def decode_name(value: str, encoding: Encoding) -> str:
    """Decode a DBF field name; names cut at 10 bytes may end in half a character."""
    raw = recover_bytes(value)
    try:
        return raw.decode(encoding.codec)
    except UnicodeDecodeError:
        try:
            return raw[:-1].decode(encoding.codec)
        except UnicodeDecodeError as exc:
            raise EncodingError(f"field name {raw!r} is not valid {encoding.label} "
                                f"(by {encoding.declared_by}); pass --encoding") from exc


def decode_column(values: np.ndarray, encoding: Encoding, field: str) -> np.ndarray:
    """Decode an object array of ISO-8859-1-carried strings; None and NaN stay None."""
    out = np.empty(len(values), dtype=object)
    codec = encoding.codec
    for i, v in enumerate(values):
        if not isinstance(v, str):
            out[i] = None
        elif v.isascii():
            out[i] = v
        else:
            raw = v.encode("latin-1")
            try:
                out[i] = raw.decode(codec)
            except UnicodeDecodeError as exc:
                raise EncodingError(
                    f"row {i + 1}, field {field}: bytes {raw!r} are not valid {encoding.label} "
                    f"(declared by {encoding.declared_by}); pass --encoding") from exc
    return out
