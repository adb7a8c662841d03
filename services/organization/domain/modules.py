"""Street modules: the catalogue of what a street may run (river patrol, whistle, four lists, ...) and which
streets run each by default. The catalogue is data (catalogue/modules.yaml); this module only reads it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from organization.domain.errors import OrgError

ALL_STREETS = "all"


class UnknownModule(OrgError):
    code = "MODULE_UNKNOWN"


class CatalogueInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Module:
    code: str
    name: str
    default_streets: frozenset[str] | None  # None: every street

    def runs_by_default_in(self, street_code: str) -> bool:
        return self.default_streets is None or street_code in self.default_streets


@dataclass(frozen=True)
class Catalogue:
    modules: tuple[Module, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.modules)

    def defaults_for(self, street_code: str) -> list[str]:
        return [m.code for m in self.modules if m.runs_by_default_in(street_code)]

    def normalise(self, codes: Iterable[str]) -> list[str]:
        """The codes in catalogue order without repeats; an unknown code is a 422 naming it."""
        wanted = list(codes)
        unknown = sorted(set(wanted) - set(self.codes))
        if unknown:
            raise UnknownModule(
                f"unknown modules: {', '.join(unknown)}", {"modules": [f"known: {', '.join(self.codes)}"]}
            )
        return [code for code in self.codes if code in wanted]


def catalogue_from(data: Mapping[str, Any]) -> Catalogue:
    """Build the catalogue from its YAML shape: `modules: [{code, name, default_streets: all | [codes]}]`."""
    modules = []
    seen: set[str] = set()
    for entry in data.get("modules") or []:
        code, name, streets = entry.get("code"), entry.get("name"), entry.get("default_streets", ALL_STREETS)
        if not isinstance(code, str) or not code or code in seen or not isinstance(name, str):
            raise CatalogueInvalid(f"bad or repeated module entry: {entry!r}")
        if streets != ALL_STREETS and not (isinstance(streets, list) and all(isinstance(s, str) for s in streets)):
            raise CatalogueInvalid(f"{code}: default_streets is 'all' or a list of street codes")
        seen.add(code)
        modules.append(Module(code, name, None if streets == ALL_STREETS else frozenset(streets)))
    if not modules:
        raise CatalogueInvalid("the module catalogue is empty")
    return Catalogue(tuple(modules))
