"""Departments' messaging without a broker: topic matching as RabbitMQ does it, the names and rights of a
department's queue and user, and when a sender named in a header is believed."""

from types import SimpleNamespace

import pytest

from kit.amqp import ROUTING_KEY_HEADER, SENDER_HEADER
from kit.departments import (
    binding_key,
    department_of_queue,
    department_of_user,
    department_queue,
    system_permissions,
    system_user,
)
from kit.entrypoints import EventHandler, delivery_of
from kit.events import topic_matches
from kit.relay import _like_prefix


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("water.#", "water.whistle.blown", True),
        ("water.#", "water", True),
        ("water.#", "waterworks.whistle.blown", False),
        ("water.#", "cityman.whistle.blown", False),
        ("water.*.blown", "water.whistle.blown", True),
        ("water.*", "water.whistle.blown", False),
        ("department.*.liujia", "department.report_in.liujia", True),
        ("department.*.liujia", "department.report_in.taihe", False),
        ("#", "anything.at.all", True),
        ("#.blown", "water.whistle.blown", True),
        ("whistle.blown.liujia", "whistle.blown.liujia", True),
    ],
)
def test_topic_patterns_match_as_the_broker_does(pattern, key, matches):
    assert topic_matches(pattern, key) is matches


def test_the_sql_prefix_of_a_pattern_is_a_superset_with_like_wildcards_escaped():
    assert _like_prefix("water.#") == "water%"
    assert _like_prefix("segment.went_overdue.*") == "segment.went\\_overdue%"
    assert _like_prefix("#") == "%"


def test_a_departments_queue_user_and_rights():
    assert department_queue("water") == "department.water"
    assert binding_key("water") == "water.#"
    assert department_of_queue("department.water") == "water"
    assert department_of_queue("consumer.on_x.shared") is None
    assert department_of_queue("department.Water") is None
    assert system_user("water") == "water.system"
    assert department_of_user("water.system") == "water"
    assert department_of_user("guest") is None
    assert department_of_user(None) is None
    assert system_permissions("water") == {
        "configure": "^$",
        "write": "^departments\\.commands$",
        "read": "^department\\.water$",
    }
    with pytest.raises(ValueError, match="department code"):
        department_queue("water.#")


def message(user_id=None, headers=None, exchange="departments.commands", routing_key="department.report_in.liujia"):
    return SimpleNamespace(
        properties={"user_id": user_id, "message_id": "m-1"} if user_id else {"message_id": "m-1"},
        headers=headers or {},
        delivery_info={"exchange": exchange, "routing_key": routing_key, "redelivered": False},
    )


def test_the_sender_is_the_brokers_user_id_and_a_header_cannot_replace_it():
    forged = message("water.system", {SENDER_HEADER: "cityman.system", ROUTING_KEY_HEADER: "department.x.taihe"})
    delivery = delivery_of(forged, own_user="guest")
    assert delivery.user_id == "water.system"
    assert delivery.routing_key == "department.report_in.liujia"
    assert delivery_of(message(), own_user="guest").user_id is None


def test_a_message_the_kit_re_published_keeps_its_first_sender_and_key():
    retried = message(
        "guest",
        {SENDER_HEADER: "water.system", ROUTING_KEY_HEADER: "department.report_in.liujia"},
        exchange="",
        routing_key="desk.on_department_command.shared",
    )
    delivery = delivery_of(retried, own_user="guest")
    assert (delivery.user_id, delivery.routing_key) == ("water.system", "department.report_in.liujia")
    # A message that had no sender stays without one when the kit re-publishes it.
    assert delivery_of(message("guest", {SENDER_HEADER: ""}, exchange=""), own_user="guest").user_id is None
    # Sent by the suite itself (its own user, no header): the suite is the sender.
    assert delivery_of(message("guest"), own_user="guest").user_id == "guest"


def test_requiring_a_sender_needs_the_delivery():
    with pytest.raises(ValueError, match="delivery=True"):
        EventHandler("departments", "department.*", require_user_id=True)
