"""Settings of lookups: search radius and tolerances, bulk size, who may look up and how often."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import field_validator
from pydantic_settings import BaseSettings

from gis.settings import ENVIRONMENT

if TYPE_CHECKING:
    # lookup.resolve brings the whole index (scipy, pyarrow, pandas): not for every command
    # that reads the settings
    from lookup.resolve import LookupOptions


class LookupSettings(BaseSettings):
    model_config = ENVIRONMENT

    # The default search radius for a component class (the 权责清单 may set one per class), how
    # close to another grid a point names it too, and how close two components' distances must
    # be for both to be named.
    lookup_radius_m: float = 30.0
    lookup_edge_tolerance_m: float = 1.0
    lookup_ambiguity_m: float = 1.0
    max_bulk_points: int = 100_000
    # Lookups need a token unless the deployment opens anonymous lookups, either for named
    # districts (comma separated codes: their grids, streets and responsible party, never a
    # component's owner or maintainer) or, with lookup_requires_token false, everywhere; and how
    # many lookups a token (or an anonymous client address) may make a minute.
    lookup_requires_token: bool = True
    lookup_open_districts: str = ""
    lookup_rate_per_minute: int = 6000
    # The districts this process serves (CITYGRID_DISTRICTS, comma separated codes): it loads
    # and answers only those, and a request for another answers 421 district_not_served naming
    # it, for a router in front to send on. Empty: every district.
    districts: str = ""

    @field_validator("districts")
    @classmethod
    def _districts(cls, value: str) -> str:
        for code in (c.strip() for c in value.split(",")):
            if code and not (len(code) == 6 and code.isascii() and code.isdigit()):
                raise ValueError(f"区县代码 {code!r} 应为 6 位数字，多个以逗号分隔 "
                                 f"(district code {code!r}: expected 6 digits, comma separated)")
        return value

    @property
    def served_districts(self) -> frozenset[str] | None:
        """The districts named in CITYGRID_DISTRICTS; None: every district."""
        codes = frozenset(c.strip() for c in self.districts.split(",") if c.strip())
        return codes or None

    @property
    def open_lookup_districts(self) -> frozenset[str]:
        """The districts named in lookup_open_districts."""
        return frozenset(c.strip() for c in self.lookup_open_districts.split(",") if c.strip())

    def lookup_options(self) -> LookupOptions:
        from lookup.resolve import LookupOptions

        return LookupOptions(radius_m=self.lookup_radius_m,
                             edge_tolerance_m=self.lookup_edge_tolerance_m,
                             ambiguity_m=self.lookup_ambiguity_m)
