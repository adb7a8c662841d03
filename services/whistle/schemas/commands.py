"""Wire contract (marshmallow) of city departments' own systems' commands: the `data` of each command envelope
on `departments.commands` (docs/asyncapi.yaml, `Department*V1`), by the envelope's `type`."""

from __future__ import annotations

from marshmallow import fields, validate

from kit.wire import Line, Moment, Strict, Text

UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class DepartmentCommand(Strict):
    whistle_id = fields.String(
        required=True, validate=validate.Regexp(UUID), metadata={"description": "a whistle it is summoned to"}
    )


class DepartmentReportIn(DepartmentCommand):
    """报到. The note is kept in the whistle's history with the command's acceptance."""

    note = Text(500, load_default="")


class DepartmentResult(DepartmentCommand):
    """办结, by the lead: what was done, and text or addresses of photos its own system keeps."""

    summary = Text(2000, min_length=1, required=True)
    evidence = fields.List(Line(2000), validate=validate.Length(max=20), load_default=list)


class DepartmentReturn(DepartmentCommand):
    """退回: not this department's job."""

    reason = Text(500, min_length=1, required=True)


class DepartmentExtensionRequest(DepartmentCommand):
    """More time, as the instant the department needs (the whistle's resolution clock moves by whole hours)."""

    requested_due_at = Moment(required=True)
    reason = Text(500, min_length=1, required=True)


COMMAND_SCHEMAS: dict[str, type[DepartmentCommand]] = {
    "department.report_in": DepartmentReportIn,
    "department.result": DepartmentResult,
    "department.return": DepartmentReturn,
    "department.extension_request": DepartmentExtensionRequest,
}
