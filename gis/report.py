"""The import report every importer returns: each input row ends as imported, updated, unchanged
or rejected with a stable reason, and `imported + updated + unchanged + rejected == read`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reject:
    row: int            # 1-based position in the file
    code: str | None    # the object's code (grid code, 标识码) as read, if any
    reason: str         # stable word: bad_code, duplicate, outside, null_geometry, …
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "code": self.code, "reason": self.reason, "message": self.message}


@dataclass
class ImportReport:
    kind: str                      # "grids", "components", "streets", "communities", …
    district: str
    source: str
    crs: str = ""
    encoding: str = ""
    read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: list[Reject] = field(default_factory=list)
    dry_run: bool = False
    status: str = "ok"             # "ok" or "refused" (nothing written)
    mapping: dict[str, str | None] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    def reject(self, row: int, code: str | None, reason: str, message: str) -> None:
        self.rejects.append(Reject(row, code, reason, message))

    def balanced(self) -> bool:
        return self.imported + self.updated + self.unchanged + self.rejected == self.read

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "district": self.district, "source": self.source,
            "status": self.status, "dry_run": self.dry_run,
            "read": self.read, "imported": self.imported, "updated": self.updated,
            "unchanged": self.unchanged, "rejected": self.rejected,
            "rejects": [r.to_dict() for r in sorted(self.rejects, key=lambda r: r.row)],
            "reasons": dict(Counter(r.reason for r in self.rejects).most_common()),
            "crs": self.crs, "encoding": self.encoding, "mapping": self.mapping,
            **self.extra,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)

    def summary(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        if self.status == "refused":
            verb = "refused"
        counts = (f"read {self.read}, imported {self.imported}, updated {self.updated}, "
                  f"unchanged {self.unchanged}, rejected {self.rejected}")
        reasons = Counter(r.reason for r in self.rejects)
        why = (" (" + ", ".join(f"{k} {v}" for k, v in reasons.most_common()) + ")") if reasons \
            else ""
        return f"{self.kind} {verb} for {self.district} from {self.source}: {counts}{why}"
