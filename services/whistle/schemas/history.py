"""Wire contract (marshmallow) of a whistle's history (吹哨全留痕): its audit entries in order, and their check."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

# Why a chain breaks (kit.audit's reasons, plus "head": the trail stops short of the whistle as it stands).
BREAK_REASONS = ("hash", "prev_hash", "seq", "head")


class HistoryEntryRead(Schema):
    """One audit entry as written in the change's transaction; every field the hash covers is here, so a reader
    can recompute it (`kit.audit.entry_hash`)."""

    seq = fields.Integer(required=True, metadata={"description": "1, 2, ... within this whistle's chain"})
    action = fields.String(required=True, metadata={"description": "the event type, e.g. whistle.blown"})
    at = fields.String(required=True, metadata={"description": "ISO-8601 UTC"})
    actor_account_id = fields.String(allow_none=True)
    actor_role = fields.String(required=True)
    correlation_id = fields.String(allow_none=True)
    data = fields.Dict(required=True, metadata={"description": "the event's data, as the event carried it"})
    prev_hash = fields.String(required=True, metadata={"description": "the previous entry's hash (64 zeros first)"})
    hash = fields.String(required=True)


class HistoryRead(Schema):
    whistle_id = fields.String(required=True)
    entries = fields.List(fields.Nested(HistoryEntryRead), required=True)


class HistoryVerification(Schema):
    whistle_id = fields.String(required=True)
    entries = fields.Integer(required=True, metadata={"description": "how many entries the trail holds"})
    sound = fields.Boolean(required=True)
    first_broken_seq = fields.Integer(
        allow_none=True, required=True, metadata={"description": "the first entry changed, unlinked or missing"}
    )
    reason = fields.String(
        allow_none=True,
        required=True,
        validate=validate.OneOf(BREAK_REASONS),
        metadata={
            "description": "hash: the entry is not what was written; prev_hash: not linked to the one before; "
            "seq: entries missing in the middle; head: entries missing at the end (the last one does not "
            "describe the whistle's present state)"
        },
    )
