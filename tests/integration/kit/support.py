"""A producer and a consumer service built only from the kit, to test the kit on real RabbitMQ."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.context import CallerContext
from kit.dependencies import DepartmentQueues, EventSource, Observability, Storage
from kit.entrypoints import Delivery, handle_event, rpc
from kit.events import Event
from kit.orm import KitBase


class TestBase(DeclarativeBase):
    pass


class Effect(TestBase):
    """What the consumer's handler does: one row per event applied."""

    __tablename__ = "effects"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject: Mapped[str] = mapped_column(String(100))


def create_schema(url: str) -> None:
    engine = create_engine(url)
    KitBase.metadata.create_all(engine)
    TestBase.metadata.create_all(engine)
    engine.dispose()


def thing(subject: str, street: str = "liujia", kind: str = "thing.made", departments: tuple[str, ...] = ()) -> Event:
    return Event(
        type=kind,
        subject=subject,
        data={"subject": subject},
        street_codes=(street,),
        org_path=f"/gd/{street}/",
        time=datetime.now(UTC),
        department_codes=departments,
    )


class ProducerService(EventSource):
    name = "producer"
    storage = Storage()
    observability = Observability()

    @rpc
    def make(self, ctx: CallerContext, subject: str, street: str, idempotency_key: str) -> dict[str, Any]:
        def execute(uow: Any) -> dict[str, Any]:
            uow.add_event(thing(subject, street))
            return {"subject": subject, "street": street}

        return self.storage.command(ctx, idempotency_key, "make", {"subject": subject, "street": street}, execute)

    @rpc
    def summon(self, ctx: CallerContext, subject: str, departments: list[str], idempotency_key: str) -> None:
        """A fact for city departments too (as whistle.blown is): copies go to `departments`."""

        def execute(uow: Any) -> None:
            uow.add_event(thing(subject, "liujia", "thing.summoned", tuple(departments)))

        self.storage.command(ctx, idempotency_key, "summon", {"subject": subject, "to": departments}, execute)

    @rpc
    def explode(self, ctx: CallerContext) -> None:
        raise RuntimeError("secret internals /etc/passwd")


class ConsumerService:
    name = "consumer"
    storage = Storage()
    observability = Observability()

    @handle_event("producer", "thing.made")
    def on_producer_thing_made(self, event: dict[str, Any]) -> None:
        with self.storage.unit(CallerContext.system(event["correlationid"])) as uow:
            uow.session.add(Effect(event_id=event["id"], subject=event["data"]["subject"]))
            uow.commit()

    @handle_event("producer", "thing.poisoned")
    def on_producer_thing_poisoned(self, event: dict[str, Any]) -> None:
        raise RuntimeError(f"cannot handle {event['subject']}")


class DistrictConsumerService:
    """A handler of what lies outside every street (`streets=("district",)`), deployed for one street."""

    name = "consumer"
    storage = Storage()
    observability = Observability()

    @handle_event("producer", "thing.made", streets=("district",))
    def on_producer_district_thing_made(self, event: dict[str, Any]) -> None:
        with self.storage.unit(CallerContext.system(event["correlationid"])) as uow:
            uow.session.add(Effect(event_id=event["id"], subject=event["data"]["subject"]))
            uow.commit()


def effects(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [r for (r,) in conn.execute(select(Effect.subject).order_by(Effect.subject))]
    engine.dispose()
    return rows


def count_effects(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(Effect)).scalar_one()
    engine.dispose()
    return int(n)


FAILS_ONCE: set[str] = set()  # subjects the desk's handler has already failed once on


class DeskService:
    """Acts on city departments' commands: another exchange, no replay, and the broker-validated sender."""

    name = "desk"
    storage = Storage()
    observability = Observability()
    department_queues = DepartmentQueues()

    @rpc
    def learn_department(self, ctx: CallerContext, code: str) -> list[str]:
        return self.department_queues([code])

    @handle_event(
        "departments",
        "department.*",
        exchange="departments.commands",
        replay=False,
        delivery=True,
        require_user_id=True,
    )
    def on_department_command(self, event: dict[str, Any], delivery: Delivery) -> None:
        subject = event["subject"]
        if subject.startswith("flaky") and subject not in FAILS_ONCE:
            FAILS_ONCE.add(subject)
            raise RuntimeError("fails on the first attempt")
        with self.storage.unit(CallerContext.system(event["correlationid"])) as uow:
            uow.session.add(
                Effect(event_id=event["id"], subject=f"{delivery.user_id}|{delivery.routing_key}|{subject}")
            )
            uow.commit()
