"""The whistle service's figures, each beside its baseline measured in the same run (issue 11):

(a) whistles created and blown per second (`POST /api/v1/whistles`, then `POST .../{id}/blow`, as the 吴井
    community secretary) through the gateway, beside bare RPC doing the same (`kit.rpc_client`, the gateway's
    own client) and beside the gateway's `GET /api/v1/orgs/{id}` rate; alternating rounds, bench.gateway's
    Side. Goals: ≥ 0.8 of bare RPC, ≥ 0.5 of the GET rate. Without the gateway's whistle routes (404) the
    gateway side is skipped, saying so.
(b) blown → the lead department's queue (`department.<code>`, py-amqp) at 50 whistles/s: latency from the
    blow's send and from the event's own time; p50/p99 (goal p99 < 100 ms).
(c) the deadline scan over 100,000 open whistles (rows written by SQL for the bench only) beside a plain
    indexed `SELECT ... WHERE next_check_at <= :now` of the same predicate (goal ≤ 2×): idle (nothing due) and
    with a batch due. `BENCH_SCAN_DATABASE_URL` runs it on PostgreSQL (default: a SQLite file).

`BENCH_WHISTLE_PARTS=a,b,c` picks the parts (all by default).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.gateway import ROUNDS, Side, _cpu, _http_worker
from kit.harness import Suite, private_vhost

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))  # per side, split into ROUNDS
CLIENTS = int(os.environ.get("BENCH_WHISTLE_CLIENTS", "8"))
RATE = float(os.environ.get("BENCH_WHISTLE_RATE", "50"))  # whistles blown a second, for (b)
LATENCY_WHISTLES = int(os.environ.get("BENCH_LATENCY_WHISTLES", "500"))
OPEN_WHISTLES = int(os.environ.get("BENCH_OPEN_WHISTLES", "100000"))
SCAN_BATCH_DUE = 200  # the app's SCAN_BATCH: one timer run's claim
SECRETARY = "wujing.c01.secretary"  # 吴井社区党委书记
SITUATION = "illegal_construction"  # lead cityman, assisting housing
LEAD = "cityman"
PARTS = set(os.environ.get("BENCH_WHISTLE_PARTS", "a,b,c").split(","))


def _payload(n: int) -> dict[str, Any]:
    return {"description": f"吴井社区：楼顶违法搭建 (bench {n})", "situation_code": SITUATION}


# -- (a) created and blown per second ---------------------------------------------------------------------
def _http_whistle_worker(args: tuple[int, str, float]) -> tuple[int, list[float], float]:
    port, token, seconds = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    cpu0 = _cpu()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        created = _post(conn, token, "/api/v1/whistles", _payload(len(latencies)))
        _post(conn, token, f"/api/v1/whistles/{created['id']}/blow", {})
        latencies.append(time.perf_counter() - started)
    return len(latencies), latencies, _cpu() - cpu0


def _post(conn: http.client.HTTPConnection, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": uuid.uuid4().hex,
    }
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status not in (200, 201):
        raise RuntimeError(f"gateway answered {response.status} to POST {path}: {data[:300]!r}")
    return dict(json.loads(data))


def _rpc_whistle_worker(args: tuple[str, dict[str, Any], float]) -> tuple[int, list[float], float]:
    from kit.rpc_client import RpcClient

    uri, ctx, seconds = args
    client = RpcClient(uri, timeout=30)
    latencies: list[float] = []
    cpu0 = _cpu()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        created = client.call("whistle", "create_whistle", ctx, _payload(len(latencies)), uuid.uuid4().hex)
        client.call("whistle", "blow", ctx, created["id"], {}, uuid.uuid4().hex)
        latencies.append(time.perf_counter() - started)
    client.close()
    return len(latencies), latencies, _cpu() - cpu0


def _has_whistle_routes(suite: Suite, token: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", suite.gateway_port, timeout=30)
    conn.request("GET", "/api/v1/whistles?limit=1", headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    response.read()
    return response.status != 404


def created_and_blown(suite: Suite, uri: str, token: str, ctx: dict[str, Any], org_id: str) -> None:
    gateway_routes = _has_whistle_routes(suite, token)
    rpc, http, orgs = Side(), Side(), Side()
    for _ in range(ROUNDS):  # alternating, so the machine's other load falls on every side
        rpc.run(_rpc_whistle_worker, (uri, ctx), CLIENTS, SECONDS / ROUNDS)
        if gateway_routes:
            http.run(_http_whistle_worker, (suite.gateway_port, token), CLIENTS, SECONDS / ROUNDS)
        orgs.run(_http_worker, (suite.gateway_port, f"/api/v1/orgs/{org_id}", token), CLIENTS, SECONDS / ROUNDS)
    print(f"  -- (a) created + blown, {CLIENTS} concurrent clients, {SECONDS:g} s per side in {ROUNDS} rounds")
    print(rpc.line("bare RPC create+blow (base)", "whistles/s"))
    print(orgs.line("gateway GET /orgs/{id} (base)", "requests/s"))
    if not gateway_routes:
        print(
            "  gateway side SKIPPED: GET /api/v1/whistles answers 404 (the gateway's whistle routes are not on "
            "this branch yet)"
        )
        return
    print(http.line("gateway create+blow", "whistles/s"))
    print(f"  ratio gateway / bare RPC     {http.rate / rpc.rate:8.2f}   (goal >= 0.8)")
    print(f"  ratio gateway / GET /orgs    {http.rate / orgs.rate:8.2f}   (goal >= 0.5; whistles/s over requests/s)")
    print(
        f"  the same per request         {2 * http.rate / orgs.rate:8.2f}   (a whistle is two write requests, "
        "POST /whistles and POST .../blow)"
    )


# -- (b) blown -> the department's queue -----------------------------------------------------------------
def queue_latency(uri: str, ctx: dict[str, Any]) -> None:
    from kit.amqp import open_connection
    from kit.clock import parse_iso
    from kit.departments import declare_department_queue
    from kit.rpc_client import RpcClient

    maker = RpcClient(uri, timeout=30)
    ids = [
        maker.call("whistle", "create_whistle", ctx, _payload(n), uuid.uuid4().hex)["id"]
        for n in range(LATENCY_WHISTLES)
    ]
    maker.close()
    sent: dict[str, float] = {}
    from_send: list[float] = []
    from_event: list[float] = []
    conn = open_connection(uri)
    channel = conn.channel()
    # Declared as the kit declares it for a department (idempotent): the durable `department.<code>` bound
    # to `departments` with `<code>.#`, as a department's system reads it; emptied of earlier runs' copies.
    queue = declare_department_queue(channel, LEAD)
    channel.queue_purge(queue)
    where = f"the department's durable queue {queue}"
    wanted = set(ids)

    def on_message(message: Any) -> None:
        arrived = time.time()
        body = json.loads(message.body)
        if body.get("type") == "whistle.blown" and body.get("subject") in wanted:
            from_event.append(arrived - parse_iso(body["time"]).timestamp())
            if body["subject"] in sent:
                from_send.append(arrived - sent[body["subject"]])
        channel.basic_ack(message.delivery_tag)

    channel.basic_consume(queue, callback=on_message)
    senders = 5
    start = time.monotonic() + 1

    def blow_some(part: list[str], index: int) -> None:
        client = RpcClient(uri, timeout=30)
        interval = senders / RATE
        due = start + index / RATE
        for whistle_id in part:
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            sent[whistle_id] = time.time()
            client.call("whistle", "blow", ctx, whistle_id, {}, uuid.uuid4().hex)
            due += interval
        client.close()

    threads = [threading.Thread(target=blow_some, args=(ids[i::senders], i)) for i in range(senders)]
    for t in threads:
        t.start()
    began = time.monotonic()
    deadline = time.monotonic() + LATENCY_WHISTLES / RATE + 30
    while len(from_event) < len(ids) and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            conn.drain_events(timeout=1)
    for t in threads:
        t.join()
    achieved = len(ids) / max(1e-9, time.monotonic() - max(began, start))
    conn.close()
    print(f"  -- (b) whistle.blown -> {where}, {RATE:g} whistles/s, {len(ids)} whistles")
    print(
        f"  received {len(from_event)} of {len(ids)}; blows went out at {achieved:.0f}/s"
        + ("" if achieved >= 0.95 * RATE else f" (the service could not take {RATE:g}/s: latencies include its queue)")
    )
    for label, values in (("from the blow's send", from_send), ("from the event's time", from_event)):
        if values:
            print(
                f"  {label:<24} p50 {statistics.median(values) * 1000:6.1f} ms   p99 {_q(values, 0.99) * 1000:6.1f} ms"
                "   (goal p99 < 100 ms)"
            )


def _q(values: list[float], quantile: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * quantile) - 1)]


# -- (c) the deadline scan over 100,000 open whistles -----------------------------------------------------
def deadline_scan(tmp: Path) -> None:
    from sqlalchemy import insert, select, text

    from kit.clock import FixedClock
    from kit.context import CallerContext
    from kit.db import Database
    from kit.migrate import upgrade
    from kit.uow import UnitOfWork
    from whistle.adapters.orm.whistles import WhistleDeadlineRow, WhistleDepartmentRow, WhistleRow
    from whistle.adapters.repositories.whistles import WhistleRepository
    from whistle.app.whistles import blow, create_whistle, deadlines_due, scan_deadlines
    from whistle.demo import fill_departments

    url = os.environ.get("BENCH_SCAN_DATABASE_URL") or f"sqlite:///{tmp / 'scan.db'}"
    upgrade("whistle", url)
    db = Database(url)
    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday morning in Kunming
    clock = FixedClock(t0)
    system = CallerContext.system()
    try:
        with UnitOfWork(db, service="whistle", clock=clock, context=system) as uow:
            fill_departments(uow)
            made = create_whistle(uow, system, {**_payload(0), "org_path": "/gd/wujing/c01/"})
            blow(uow, system, made["id"], {"lead": LEAD, "assisting": []})
            uow.commit()
        # One real blown whistle is the template; 100,000 copies under new ids. The first `due` of them have a
        # clock whose next milestone (the 50% report-in reminder) has come; the others' lie days ahead.
        rounds = 3
        due = SCAN_BATCH_DUE * rounds
        with db.session(write=True) as session:
            row = session.get(WhistleRow, made["id"])
            assert row is not None
            template = {c.name: getattr(row, c.name) for c in WhistleRow.__table__.columns}
            dept = session.scalars(select(WhistleDepartmentRow).where(WhistleDepartmentRow.whistle_id == row.id)).one()
            dept_t = {c.name: getattr(dept, c.name) for c in WhistleDepartmentRow.__table__.columns}
            clocks = list(session.scalars(select(WhistleDeadlineRow).where(WhistleDeadlineRow.whistle_id == row.id)))
            clock_t = [
                {c.name: getattr(k, c.name) for c in WhistleDeadlineRow.__table__.columns if c.name != "id"}
                for k in clocks
            ]
            session.execute(text("DELETE FROM whistle_deadlines"))
            session.execute(text("DELETE FROM whistle_departments"))
            session.execute(text("DELETE FROM whistles"))
            started = time.perf_counter()
            for lo in range(0, OPEN_WHISTLES, 5000):
                ws, ds, ks = [], [], []
                for n in range(lo, min(lo + 5000, OPEN_WHISTLES)):
                    wid = str(uuid.UUID(int=n + 1))
                    ws.append({**template, "id": wid, "document": template["document"].replace(row.id, wid)})
                    ds.append({**dept_t, "whistle_id": wid})
                    later = t0 + timedelta(days=3, seconds=n)
                    for k in clock_t:
                        soon = t0 + timedelta(minutes=30, seconds=n) if n < due and k["stage"] == "report_in" else later
                        ks.append({**k, "whistle_id": wid, "next_check_at": soon})
                session.execute(insert(WhistleRow), ws)
                session.execute(insert(WhistleDepartmentRow), ds)
                session.execute(insert(WhistleDeadlineRow), ks)
            session.commit()
            loaded = time.perf_counter() - started
        if db.is_postgres:
            with db.session(write=True) as session:
                session.execute(text("ANALYZE whistle_deadlines"))
                session.commit()
        plain = text(
            "SELECT whistle_id, next_check_at FROM whistle_deadlines WHERE next_check_at <= :now "
            "ORDER BY next_check_at, id LIMIT :limit"
        )

        def sql(now: datetime) -> tuple[float, float, int]:
            """The plain query: (its own read transaction, open to close; the query alone; rows)."""
            began = time.perf_counter()
            with db.session(write=False) as session:
                query_began = time.perf_counter()
                found = session.execute(plain, {"now": now, "limit": SCAN_BATCH_DUE}).all()
                query_took = time.perf_counter() - query_began
            return time.perf_counter() - began, query_took, len(found)

        def scan(now: datetime) -> tuple[float, int]:
            """One run of the timer as `WhistleRpc.scan_whistle_deadlines` makes it: a reading unit that looks
            for anything due and, when there is, the writing unit that claims, checks, saves and announces."""
            clock.set(now)
            began = time.perf_counter()
            with UnitOfWork(db, service="whistle", clock=clock, context=system, write=False) as uow:
                due = deadlines_due(uow)
            announced = 0
            if due:
                with UnitOfWork(db, service="whistle", clock=clock, context=system) as uow:
                    announced = scan_deadlines(uow)
                    uow.commit()
            return time.perf_counter() - began, announced

        def claim(now: datetime) -> tuple[float, int]:
            with db.session(write=True) as session:
                began = time.perf_counter()
                claimed = WhistleRepository(session).claim_due(now, SCAN_BATCH_DUE, skip_locked=db.is_postgres)
                took = time.perf_counter() - began
                session.rollback()
                return took, len(claimed)

        ms = 1000
        idle_sql = [sql(t0) for _ in range(50)]
        idle_scan = [scan(t0)[0] for _ in range(50)]
        now = t0 + timedelta(hours=3)  # the due clocks' 50% reminder (2 h of 4 h) has come
        busy_sql = [sql(now) for _ in range(rounds)]
        busy_claim = [claim(now) for _ in range(rounds)]
        busy_scan = [scan(now) for _ in range(rounds)]
        kind = "PostgreSQL" if db.is_postgres else "SQLite"
        print(
            f"  -- (c) the deadline scan over {OPEN_WHISTLES:,} open whistles ({kind}; rows written by SQL in "
            f"{loaded:.1f} s), beside the plain indexed query of its predicate in its own read transaction"
        )
        idle_scan_ms = statistics.median(idle_scan) * ms
        idle_sql_ms = statistics.median(t for t, _, _ in idle_sql) * ms
        idle_query_ms = statistics.median(q for _, q, _ in idle_sql) * ms
        print(
            f"  idle (nothing due):   timer run {idle_scan_ms:7.2f} ms   plain SELECT {idle_sql_ms:7.2f} ms"
            f"   ratio {idle_scan_ms / idle_sql_ms:5.1f}x   (goal <= 2x; the SELECT's statement alone "
            f"{idle_query_ms:.2f} ms)"
        )
        found = busy_sql[0][2]
        announced = sum(a for _, a in busy_scan)
        scan_ms = statistics.median(t for t, _ in busy_scan) * ms
        sql_ms = statistics.median(t for t, _, _ in busy_sql) * ms
        print(
            f"  {SCAN_BATCH_DUE} due a run:        timer run {scan_ms:7.2f} ms   plain SELECT {sql_ms:7.2f} ms "
            f"({found} rows)   ratio {scan_ms / sql_ms:5.1f}x   ({announced} reminders announced in {rounds} runs: "
            "the run also rebuilds, checks and saves each whistle, and writes its events and trail)"
        )
        claim_ms = statistics.median(t for t, _ in busy_claim) * ms
        print(
            f"  its find-and-claim:   claim     {claim_ms:7.2f} ms   plain SELECT {sql_ms:7.2f} ms"
            f"   ratio {claim_ms / sql_ms:5.1f}x   (the same predicate, plus loading the {busy_claim[0][1]} whistles)"
        )
    finally:
        db.dispose()


def main() -> None:
    print("\n== whistle: created+blown/s, blown -> department queue latency, deadline scan (issue 11's bench)")
    if "c" in PARTS:
        with tempfile.TemporaryDirectory() as tmp:
            deadline_scan(Path(tmp))
    if not PARTS & {"a", "b"}:
        return
    with private_vhost() as uri, tempfile.TemporaryDirectory() as tmp:
        suite = Suite(
            Path(tmp),
            uri,
            services=("organization", "whistle"),
            DEMO_RECORDS="none",
            RATE_LIMIT="10000000/minute",
            GATEWAY_WORKERS="2",
            GATEWAY_THREADS="8",
        )
        try:
            suite.start()
            token = suite.token(SECRETARY)
            conn = http.client.HTTPConnection("127.0.0.1", suite.gateway_port, timeout=30)
            conn.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            me = json.loads(conn.getresponse().read())
            ctx = {
                "role": "community_secretary",
                "scope_path": me.get("scope_path") or "/gd/wujing/c01/",
                "correlation_id": uuid.uuid4().hex,
                "account_id": me["account_id"],
            }
            conn.request("GET", "/api/v1/orgs?level=community&limit=1", headers={"Authorization": f"Bearer {token}"})
            org_id = str(json.loads(conn.getresponse().read())["items"][0]["id"])
            if "b" in PARTS:
                queue_latency(uri, ctx)
            if "a" in PARTS:
                created_and_blown(suite, uri, token, ctx, org_id)
        finally:
            suite.stop()


if __name__ == "__main__":
    main()
