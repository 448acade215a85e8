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
import pyarrow as pa
import pyarrow.compute as pc

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
    if key.startswith("8859") or key.startswith("iso8859"):
        # GDAL writes .cpg files such as "88591" for ISO-8859-1
        key = "iso8859-" + key.removeprefix("iso").removeprefix("8859").lstrip("-_")
    elif key.isdigit():
        key = f"cp{key}"
    try:
        codec = codecs.lookup(key).name
    except LookupError as exc:
        raise EncodingError(f"未知的字符编码 {raw!r}，应为 GBK、GB18030 或 UTF-8 这样的名称 "
                            f"(unknown encoding {raw!r}: expected a name such as GBK)") from exc
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


def _whole_chars(raw: bytes, codec: str) -> bytes | None:
    """`raw` without an incomplete last character (DBF field names are cut at 10 bytes), or
    None when the bytes are invalid in `codec` anyway."""
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        text = decoder.decode(raw, final=False)
    except UnicodeDecodeError:
        return None
    return text.encode(codec)


def choose_encoding(declared: Encoding | None, samples: list[bytes],
                    names: list[bytes] | None = None) -> Encoding:
    """Settle the encoding of a DBF from its declaration and its text.

    `samples` are raw byte strings of values, `names` of field names (which may end in half a
    character). Raises EncodingError when the declaration is contradicted by the text or,
    undeclared, the text fits no candidate.
    """
    names = _non_ascii(names or [])

    def fits(codec: str) -> list[bytes] | None:
        whole = [_whole_chars(n, codec) for n in names]
        return None if any(w is None for w in whole) else [w for w in whole if w]

    text = _non_ascii(samples)
    utf8_names, gbk_names = fits("utf-8"), fits("gb18030")
    if declared is not None:
        if declared.chinese and (text or names) and utf8_names is not None \
                and all(_valid(b, "utf-8") for b in text) and (text or utf8_names):
            example = (text or utf8_names)[0].decode("utf-8")
            raise _contradicted(declared, "UTF-8", example)
        text = text + (fits(declared.codec) or names)
    if declared is not None:
        if declared.chinese and text and all(_valid(b, "utf-8") for b in text):
            example = next(b for b in text).decode("utf-8")
            raise _contradicted(declared, "UTF-8", example)
        if not declared.chinese and declared.codec != "utf-8" and text:
            single_byte = codecs.lookup(declared.codec).name.startswith(("cp125", "latin", "iso"))
            if single_byte and all(_valid(b, "gb18030") for b in text):
                decoded = [b.decode("gb18030") for b in text]
                if _gb2312_share(decoded) > 0.9:
                    raise _contradicted(declared, "GBK", decoded[0])
        return declared
    if utf8_names is not None and all(_valid(b, "utf-8") for b in text):
        return Encoding("UTF-8", "utf-8", "detected")
    if gbk_names is not None and all(_valid(b, "gb18030") for b in text):
        decoded = [b.decode("gb18030") for b in text + gbk_names]
        if _gb2312_share(decoded) >= 0.6:
            return Encoding("GBK", "gb18030", "detected")
    raise EncodingError("文件没有声明字符编码（没有 .cpg，DBF 语言标识也未说明），其文本既不是 "
                        "UTF-8 也不是中文 GBK；请用 --encoding 指定 (the file does not declare "
                        "its text encoding and its text is neither UTF-8 nor Chinese GBK)")


# who declared an encoding (Encoding.declared_by), as a person reads it
_BY_ZH = {"DBF language id": "DBF 语言标识", "detected": "检测", "format": "文件格式"}


def _by(encoding: Encoding) -> str:
    return _BY_ZH.get(encoding.declared_by, encoding.declared_by)


def _contradicted(declared: Encoding, actual: str, example: str) -> EncodingError:
    """The declaration says one encoding, the text reads as another (UTF-8, or Chinese GBK)."""
    return EncodingError(
        f"文本声明为 {declared.label}（由 {_by(declared)} 声明），实际是 {actual}，例如 "
        f"{example!r}；请用 --encoding {actual} 指定 (text is declared {declared.label} by "
        f"{declared.declared_by} but reads as {actual})")


def undecodable(row: int, field: str, raw: bytes, encoding: Encoding) -> EncodingError:
    """A value of a shapefile's DBF (row `row` from 0: its feature id) that does not decode."""
    return EncodingError(
        f"要素 {row}，字段 {field}：字节 {raw!r} 不是有效的 {encoding.label}（由 {_by(encoding)} "
        f"声明）；请用 --encoding 指定 (feature {row}, field {field}: bytes {raw!r} are not "
        f"valid {encoding.label})")


def recover_bytes(value: str) -> bytes:
    """The original bytes of a string read as ISO-8859-1."""
    return value.encode("latin-1")


def decode_name(value: str, encoding: Encoding) -> str:
    """Decode a DBF field name; names cut at 10 bytes may end in part of a character."""
    raw = recover_bytes(value)
    whole = _whole_chars(raw, encoding.codec)
    if whole is None:
        raise EncodingError(f"字段名 {raw!r} 不是有效的 {encoding.label}（由 {_by(encoding)} "
                            f"声明）；请用 --encoding 指定 (field name {raw!r} is not valid "
                            f"{encoding.label})")
    return whole.decode(encoding.codec)


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
                raise undecodable(i, field, raw, encoding) from exc
    return out


def latin1_carried_bytes(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of the original bytes behind an Arrow string array read as ISO-8859-1.

    Read as ISO-8859-1, byte b >= 0x80 arrives as the two UTF-8 bytes C2 b (b < 0xC0) or
    C3 b-0x40; undoing that is a vectorised pass instead of a Python call per value.
    """
    arr = pa.concat_arrays([arr]) if isinstance(arr, pa.Array) else arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + n + 1]
    data_buf = arr.buffers()[2]
    data = (np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None
            else np.zeros(0, np.uint8))[offsets[0]:offsets[-1]]
    offsets = offsets - offsets[0]
    lead = (data == 0xC2) | (data == 0xC3)
    raw = data.copy()
    at = np.flatnonzero(lead)
    raw[at + 1] = np.where(data[at] == 0xC3, data[at + 1] + 0x40, data[at + 1])
    before = np.concatenate([[0], np.cumsum(lead)])
    return offsets - before[offsets], raw[~lead]


def decode_arrow(arr: pa.Array | pa.ChunkedArray, encoding: Encoding, field: str) -> pa.Array:
    """Strictly decode an Arrow string column read as ISO-8859-1; nulls stay null.

    Values are joined with NUL separators (never part of a GBK or UTF-8 multi-byte character), so
    one strict decode checks every value on its own; the first bad value raises EncodingError
    naming its row and field.
    """
    combined = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    if len(combined) == 0 or pc.all(pc.string_is_ascii(combined)).as_py() is not False:
        return combined
    offsets, raw = latin1_carried_bytes(combined)
    n = len(combined)
    if (raw == 0).any():
        values = combined.to_numpy(zero_copy_only=False)
        return pa.array(decode_column(values, encoding, field), type=pa.string())
    joined = np.insert(raw, offsets[1:], 0)
    separators = offsets[1:] + np.arange(n)
    try:
        text = joined.tobytes().decode(encoding.codec)
    except UnicodeDecodeError as exc:
        row = int(np.searchsorted(separators, exc.start))
        bad = raw[offsets[row]:offsets[row + 1]].tobytes()
        raise undecodable(row, field, bad, encoding) from exc
    utf8 = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    ends = np.flatnonzero(utf8 == 0)
    new_offsets = np.concatenate([[0], ends - np.arange(n)]).astype(np.int64)
    result = pa.LargeStringArray.from_buffers(n, pa.py_buffer(new_offsets),
                                              pa.py_buffer(utf8[utf8 != 0].tobytes()))
    result = result.cast(pa.string())
    if combined.null_count:
        result = pc.if_else(combined.is_valid(), result, pa.scalar(None, pa.string()))
    return result


def non_ascii_sample(arr: pa.Array | pa.ChunkedArray, limit: int = 2000) -> list[bytes]:
    """Up to `limit` raw values of a latin1-carried column that are not plain ASCII."""
    combined = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    mask = pc.invert(pc.fill_null(pc.string_is_ascii(combined), True))
    picked = pc.filter(combined, mask).slice(0, limit)
    return [recover_bytes(v) for v in picked.to_pylist() if v is not None]
