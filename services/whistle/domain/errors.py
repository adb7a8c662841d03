"""The whistle domain's errors: each has a stable code and a kind the kit maps to an HTTP status."""

from __future__ import annotations


class WhistleError(Exception):
    kind = "invalid"
    code = "WHISTLE_INVALID"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class WhistleNotFound(WhistleError):
    kind = "not_found"
    code = "WHISTLE_NOT_FOUND"


class InvalidTransition(WhistleError):
    kind = "conflict"
    code = "WHISTLE_INVALID_TRANSITION"


class NotSummoned(WhistleError):
    """A department acting on a whistle it was not summoned to (or no longer is): as organization's role
    refusals, forbidden."""

    kind = "forbidden"
    code = "WHISTLE_NOT_SUMMONED"


class ReopenLimit(WhistleError):
    kind = "conflict"
    code = "WHISTLE_REOPEN_LIMIT"


class UnknownSituation(WhistleError):
    code = "WHISTLE_UNKNOWN_SITUATION"


class UnknownDepartment(WhistleError):
    code = "WHISTLE_UNKNOWN_DEPARTMENT"


class CatalogueInvalid(WhistleError):
    code = "WHISTLE_CATALOGUE_INVALID"


class CatalogueVersionRefused(WhistleError):
    """A new catalogue version that does not follow the latest one (number + 1, a later date)."""

    kind = "conflict"
    code = "WHISTLE_CATALOGUE_VERSION_REFUSED"


class CatalogueVersionNotFound(WhistleError):
    kind = "not_found"
    code = "WHISTLE_CATALOGUE_VERSION_NOT_FOUND"


class LimitInvalid(WhistleError):
    code = "WHISTLE_LIMIT_INVALID"


class NotLead(WhistleError):
    """Only the lead department hands in the result; assisting departments report in and help."""

    kind = "forbidden"
    code = "WHISTLE_NOT_LEAD"


class NotAllowed(WhistleError):
    """A role that may never take this action (a department blowing a whistle, a resident assessing one)."""

    kind = "forbidden"
    code = "WHISTLE_FORBIDDEN"


class NotRaiser(WhistleError):
    """Feedback comes from whoever raised the whistle."""

    kind = "forbidden"
    code = "WHISTLE_NOT_RAISER"


class PlaceNotFound(WhistleError):
    """A place outside the caller's scope: as organization answers for a node they cannot see, not found."""

    kind = "not_found"
    code = "WHISTLE_PLACE_NOT_FOUND"


class NotDuplicate(WhistleError):
    """Only a likely duplicate merges: the same situation within 50 m and 48 h of a live whistle."""

    kind = "conflict"
    code = "WHISTLE_NOT_DUPLICATE"
