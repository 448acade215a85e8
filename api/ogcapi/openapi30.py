"""The OpenAPI document as OpenAPI 3.0, which OGC API – Features Part 1 names (its OAS30
conformance class, the `service-desc` media type `…openapi+json;version=3.0` that owslib and GDAL
look for). FastAPI writes 3.1, whose JSON Schema differs from 3.0's in a few keywords only: those
are rewritten here, so that the document is what it says it is.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

VERSION = "3.0.3"


def downgrade(doc: dict[str, Any]) -> dict[str, Any]:
    """A FastAPI 3.1 document rewritten as OpenAPI 3.0.3 (in place; returned)."""
    doc["openapi"] = VERSION
    doc.pop("jsonSchemaDialect", None)
    _walk(doc)
    return doc


def _walk(node: Any) -> None:
    if isinstance(node, list):
        for x in node:
            _walk(x)
        return
    if not isinstance(node, dict):
        return
    _schema(node)
    for v in node.values():
        _walk(v)


def _schema(s: dict[str, Any]) -> None:
    """3.1 keywords of one schema object in their 3.0 form."""
    for key in ("anyOf", "oneOf"):
        options = s.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            s["nullable"] = True
            if len(rest) == 1:
                del s[key]
                only = rest[0]
                if "$ref" in only:               # a $ref takes no siblings in 3.0
                    s["allOf"] = [only]
                else:
                    s.update({k: v for k, v in only.items() if k not in s})
            else:
                s[key] = rest
    kind = s.get("type")
    if isinstance(kind, list):
        s["nullable"] = "null" in kind
        s["type"] = next(t for t in kind if t != "null")
    if "const" in s:
        s["enum"] = [s.pop("const")]
    if isinstance(s.get("examples"), list):       # in 3.0 a map, and only outside schemas
        s["example"] = s.pop("examples")[0]
    if "contentMediaType" in s:
        del s["contentMediaType"]
        s["format"] = "binary"
    for bound, flag in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(s.get(bound), (int, float)) and not isinstance(s[bound], bool):
            s[flag] = s.pop(bound)
            s[bound] = True


def install(app: FastAPI) -> None:
    """`app.openapi()` (and so /openapi.json, /docs) answers the 3.0 document."""
    made = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None or app.openapi_schema.get("openapi") != VERSION:
            app.openapi_schema = downgrade(made())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
