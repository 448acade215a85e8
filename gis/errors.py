"""Errors that carry their meaning: a stable code, an HTTP status, a CLI exit status.

Every domain package raises subclasses of `CitygridError`; `api/errors.py` renders them for HTTP
and `api/cli.py` for the terminal. Messages are safe to show to a user and name the bad value.
"""

from __future__ import annotations

from typing import Any


class CitygridError(Exception):
    """Base of every error a user can cause or must act on."""

    code = "error"
    status = 400
    exit_code = 2

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class BadInput(CitygridError):
    code = "bad_input"
    status = 400


class InputFileError(BadInput):
    """A file that cannot be read as the vector data it claims to be."""

    code = "bad_file"


class EncodingError(BadInput):
    """Text in a file that does not decode, or decodes to mojibake, under the chosen encoding."""

    code = "bad_encoding"


class CrsError(BadInput):
    """A CRS that is missing, unknown, or contradicted by the coordinates."""

    code = "bad_crs"


class NotFound(CitygridError):
    code = "not_found"
    status = 404


class DatabaseUnavailable(CitygridError):
    code = "database_unavailable"
    status = 503
    exit_code = 4


class DistrictNotServed(CitygridError):
    """A request for a district this process does not serve (`CITYGRID_DISTRICTS`): 421, so
    that a router in front (nginx) sends it to the process that does; `detail` names it."""

    code = "district_not_served"
    status = 421
    exit_code = 2

    def __init__(self, district: str) -> None:
        super().__init__(f"本进程不服务区县 {district}，请求应发往服务该区县的进程 "
                         f"(this process does not serve district {district})",
                         detail={"district": district})
        self.district = district
