"""GeoReport v2 documents (https://wiki.open311.org/GeoReport_v2) in the two formats the standard
names, JSON and XML, and its error list; `api.routes.open311` builds the bodies, this module only
renders them.

A body is a list of items (services, requests, errors) or one object (discovery, a service
definition). XML wraps a list in the spec's root element and names each item as its examples do
(`<services><service>`, `<service_requests><request>`, `<errors><error>`); a list inside an
object becomes the same wrapper with singular items (`<endpoints><endpoint>`). The XML is built
with the standard library and written as UTF-8 with a declaration, so Chinese text travels as
itself rather than as character references.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse, Response

from cases.worktime import CST

FORMATS = ("json", "xml")
MEDIA_TYPES = {"json": "application/json", "xml": "text/xml"}
# the element naming one item of each list, as the spec's XML examples have it
ITEM = {"services": "service", "service_requests": "request", "errors": "error",
        "endpoints": "endpoint", "formats": "format", "attributes": "attribute",
        "values": "value"}
# GeoReport knows 400, 403 and 404 for a caller's mistakes: a missing or bad key is 403, not 401,
# and a request that fails validation is 400, not 422
STATUS = {401: 403, 422: 400}


def format_of(path: str) -> str:
    """The format a GeoReport path asks for: its extension (`requests.xml`); JSON otherwise."""
    return "xml" if path.endswith(".xml") else "json"


def w3c(moment: datetime | None) -> str | None:
    """A time as GeoReport writes it (W3C, to the second), in China Standard Time."""
    return moment.astimezone(CST).isoformat(timespec="seconds") if moment else None


def to_xml(root: str, body: Any) -> bytes:
    """`body` as an XML document under `root` (see the module's docstring)."""
    element = ET.Element(root)
    _fill(element, root, body)
    ET.indent(element)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def _fill(element: ET.Element, tag: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), key, item)
    elif isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, ITEM[tag]), ITEM[tag], item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:         # None: an empty element, as the spec's examples show
        element.text = str(value)


def document(fmt: str, root: str, body: Any, status: int = 200) -> Response:
    """A GeoReport answer: `body` as JSON, or as XML under `root`."""
    if fmt == "xml":
        return Response(to_xml(root, body), status_code=status,
                        media_type=f"{MEDIA_TYPES['xml']}; charset=utf-8")
    return JSONResponse(body, status_code=status)


def error(path: str, status: int, description: str) -> Response:
    """GeoReport's error list for a request to `path`, in the format the path asks for."""
    status = STATUS.get(status, status)
    return document(format_of(path), "errors", [{"code": status, "description": description}],
                    status)
