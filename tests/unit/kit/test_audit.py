"""The audit chain's pure parts: an entry's canonical hash, chaining entries per subject, and naming the first
broken seq of a subject's rows (the database-facing parts are in tests/integration/kit/test_audit_chain.py)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit.audit import GENESIS_HASH, HASHED_FIELDS, chain, entry_hash, first_break, lock_key
from kit.orm import audit_guard_ddl, audit_guard_drop_ddl

AT = datetime(2026, 12, 6, 8, 30, 0, 123456, tzinfo=UTC)


def entry(subject_id: str = "s1", n: int = 0, subject_type: str = "whistle") -> dict:
    return {
        "occurred_at": AT + timedelta(seconds=n),
        "actor_account_id": "a-1",
        "actor_role": "street_secretary",
        "action": "whistle.blown",
        "subject_type": subject_type,
        "subject_id": subject_id,
        "data": f'{{"n":{n}}}',
        "correlation_id": "c-1",
    }


def test_the_hash_covers_every_field_but_the_id_and_reads_times_in_utc():
    row = next(chain([entry()], {}))
    assert entry_hash(row) == row["hash"] and len(row["hash"]) == 64
    assert entry_hash({**row, "id": 99}) == row["hash"]  # the database's own order number is not covered
    beijing = timezone(timedelta(hours=8))
    assert entry_hash({**row, "occurred_at": AT.astimezone(beijing)}) == row["hash"]
    for name in HASHED_FIELDS:
        changed = {**row, name: (row[name] + timedelta(microseconds=1)) if name == "occurred_at" else f"{row[name]}x"}
        assert entry_hash(changed) != row["hash"], name
    with pytest.raises(ValueError, match="naive"):
        entry_hash({**row, "occurred_at": AT.replace(tzinfo=None)})


def test_entries_are_chained_per_subject_and_continue_from_the_stored_heads():
    rows = list(chain([entry("a", 0), entry("b", 1), entry("a", 2), entry("a", 3, subject_type="org")], {}))
    assert [(r["subject_id"], r["seq"]) for r in rows] == [("a", 1), ("b", 1), ("a", 2), ("a", 1)]
    assert rows[0]["prev_hash"] == rows[1]["prev_hash"] == rows[3]["prev_hash"] == GENESIS_HASH
    assert rows[2]["prev_hash"] == rows[0]["hash"]

    heads = {("whistle", "a"): (2, rows[2]["hash"])}
    later = list(chain([entry("a", 4)], heads))
    assert (later[0]["seq"], later[0]["prev_hash"]) == (3, rows[2]["hash"])
    assert heads == {("whistle", "a"): (2, rows[2]["hash"])}  # the caller's heads are not changed
    assert first_break([*rows[0:3:2], *later]) is None


def subject_rows(n: int) -> list[dict]:
    return list(chain([entry("a", i) for i in range(n)], {}))


def test_a_sound_chain_and_an_empty_one_have_no_break():
    assert first_break(subject_rows(5)) is None
    assert first_break([]) is None


def test_the_first_broken_seq_is_named_with_its_reason():
    rows = subject_rows(5)
    assert first_break([*rows[:2], {**rows[2], "data": '{"n":9}'}, *rows[3:]]) == (3, "hash")
    assert first_break([*rows[:3], {**rows[3], "prev_hash": GENESIS_HASH}, rows[4]]) == (4, "prev_hash")
    assert first_break([*rows[:1], *rows[2:]]) == (2, "seq")  # a missing entry: the first missing seq
    assert first_break(rows[1:]) == (1, "seq")  # the first one gone
    assert first_break([*rows[:3], rows[2], *rows[3:]]) == (3, "seq")  # a duplicate
    assert first_break([rows[1], rows[0], *rows[2:]]) == (1, "seq")  # out of order
    # Rewritten with a hash to match, an entry still breaks the link to the next one.
    forged = {**rows[1], "data": '{"n":9}'}
    forged["hash"] = entry_hash(forged)
    assert first_break([rows[0], forged, *rows[2:]]) == (3, "prev_hash")


@given(st.integers(1, 8), st.data())
def test_any_one_changed_field_is_found_at_its_row(length, data):
    rows = subject_rows(length)
    k = data.draw(st.integers(0, length - 1))
    name = data.draw(st.sampled_from([f for f in HASHED_FIELDS if f not in ("seq", "prev_hash", "occurred_at")]))
    rows[k] = {**rows[k], name: data.draw(st.text(max_size=5).filter(lambda v, old=rows[k][name]: v != old))}
    assert first_break(rows) == (k + 1, "hash")


def test_the_lock_key_is_a_stable_signed_64_bit_number_per_subject():
    key = lock_key("whistle", "w-1")
    assert key == lock_key("whistle", "w-1") and -(2**63) <= key < 2**63
    assert len({key, lock_key("whistle", "w-2"), lock_key("org", "w-1"), lock_key("whistlew", "-1")}) == 4


def test_the_guard_exists_for_both_databases_and_no_other():
    sqlite = audit_guard_ddl("sqlite")
    assert [s.split()[2] for s in sqlite] == ["kit_audit_no_update", "kit_audit_no_delete"]
    assert all("RAISE(ABORT" in s for s in sqlite)
    postgres = " ".join(audit_guard_ddl("postgresql"))
    assert "plpgsql" in postgres and "BEFORE UPDATE OR DELETE" in postgres and "BEFORE TRUNCATE" in postgres
    assert "%" not in postgres  # a driver given parameters would read it as a placeholder
    assert len(audit_guard_drop_ddl("sqlite")) == 2 and len(audit_guard_drop_ddl("postgresql")) == 3
    with pytest.raises(ValueError, match="mysql"):
        audit_guard_ddl("mysql")
