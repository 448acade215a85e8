"""Rebuild the shipped catalog files from the research tables in ../shared/reference/.

    classes.csv               national classes of both schemes, each row with its provenance
    legacy_to_gb47678.csv     component classes whose names match across the two generations
    examples/local_extension_21xx.csv
                              the 21xx local-extension rows of one city, as an example of a file
                              for `citygrid catalog add` (never part of the national catalog)

The mapping is explicit and conservative: a legacy class maps only when its name equals a
GB/T 47678.5 name, or equals it after a documented rename (上水→供水, 通讯→通信, 坐椅→座椅).
Everything else is unmapped and reported as such by `citygrid census convert`; nothing is guessed.
The partial GB/T 30428.2-2013 event rows stay out: their 4-digit codes collide with CJ/T 214's.

Run: .venv/bin/python census/catalog/build_from_reference.py [REFERENCE_FOLDER]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).parent
RENAMES = (("上水", "供水"), ("通讯", "通信"), ("坐椅", "座椅"))
COLUMNS = ["scheme", "kind", "code", "major_code", "major_name", "name", "name_en", "standard",
           "provenance"]


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def main() -> None:
    ref = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "reference"
    source = _rows(ref / "component_classes.csv") + _rows(ref / "event_classes.csv")
    classes, local = [], []
    for r in source:
        if not r["minor_code"]:
            continue  # a major class without minors (21 扩展事件)
        standard = r["scheme"]
        out = {"kind": r["kind"], "code": r["minor_code"], "major_code": r["major_code"],
               "major_name": r["major_name_zh"], "name": r["minor_name_zh"],
               "name_en": r["minor_name_en"], "standard": standard, "provenance": r["basis"]}
        if standard == "CJ/T 214-2007":
            classes.append({"scheme": "legacy", **out})
        elif standard.startswith("GB/T 47678.5"):
            out["provenance"] = ("third-party transcription (one source, not the official text); "
                                 + r["basis"])
            classes.append({"scheme": "gb47678", **out})
        elif standard == "local-extension":
            local.append({"scheme": "legacy", **out, "standard": "local"})
    classes.sort(key=lambda r: (r["scheme"], r["kind"], r["code"]))
    _write(HERE / "classes.csv", COLUMNS, classes)
    (HERE / "examples").mkdir(exist_ok=True)
    _write(HERE / "examples" / "local_extension_21xx.csv", COLUMNS, local)

    new = {r["name"]: r for r in classes if r["scheme"] == "gb47678" and r["kind"] == "component"}
    mapping = []
    for old in (r for r in classes if r["scheme"] == "legacy" and r["kind"] == "component"):
        name, basis = old["name"], "same name"
        if name not in new:
            for before, after in RENAMES:
                if before in name and name.replace(before, after) in new:
                    name, basis = name.replace(before, after), f"renamed {before}→{after}"
                    break
        if name in new:
            mapping.append({"legacy_code": old["code"], "legacy_name": old["name"],
                            "gb47678_code": new[name]["code"], "gb47678_name": name,
                            "basis": basis})
    _write(HERE / "legacy_to_gb47678.csv",
           ["legacy_code", "legacy_name", "gb47678_code", "gb47678_name", "basis"], mapping)
    print(f"{len(classes)} national classes, {len(local)} local examples, "
          f"{len(mapping)} legacy component classes mapped", file=sys.stderr)


def _write(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
