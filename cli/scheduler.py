"""``aic scheduler``, ``aic plans``, ``aic orders``: maintenance work for the regional leads."""

from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from cli.context import console, fail, region_code, runtime
from core.clock import format_local

app = typer.Typer(help="The scheduler process and its jobs.", no_args_is_help=True)
plans_app = typer.Typer(
    help="Maintenance plans (预防性维护计划) per robot model.", no_args_is_help=True
)
orders_app = typer.Typer(help="Work orders (维修工单 / 维护保养工作单).", no_args_is_help=True)


@app.command("run")
def run() -> None:
    """Run the scheduler: stand by, become leader (advisory lock), run the jobs until SIGTERM."""
    from scheduler.jobs import JobContext, describe_next_runs
    from scheduler.jobs import run as run_jobs
    from scheduler.notify import load_config

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with runtime() as rt:
        console.print("scheduler running (times in China time); Ctrl-C to stop")
        for line in describe_next_runs(rt.clock.now()):
            console.print(f"  {line}")
        ctx = JobContext(rt.pool, load_config(rt.settings.notify_config), rt.clock)
        run_jobs(ctx, rt.services.database_url, stop)


@app.command("once")
def once(
    job: str = typer.Argument(
        ...,
        help="maintenance | scoring | predictive-orders | "
        "preventive-orders | sla-callbacks-escalations | service-records | notifications",
    ),
) -> None:
    """Run one job now, in this process (it is idempotent)."""
    from scheduler.jobs import JOBS, JobContext
    from scheduler.notify import load_config

    spec = next((j for j in JOBS if j.id == job), None)
    if spec is None:
        raise fail(f"unknown job {job!r}; jobs: {', '.join(j.id for j in JOBS)}")
    with runtime() as rt:
        ctx = JobContext(rt.pool, load_config(rt.settings.notify_config), rt.clock)
        console.print(f"{job}: {spec.func(ctx)}")


@plans_app.command("load")
def load(
    files: list[Path] = typer.Argument(..., help="plan YAML files, e.g. examples/plans/*.yaml"),
) -> None:
    """Validate plan files and load them; each becomes the active plan of its robot model."""
    from scheduler.plans import load_plan
    from scheduler.repository import store_plan

    try:
        plans = [(f, load_plan(f)) for f in files]
    except ValueError as exc:
        raise fail(str(exc)) from exc
    with runtime() as rt, rt.pool.connection() as conn:
        for f, plan in plans:
            try:
                store_plan(conn, plan=plan, source=str(f), now=rt.clock.now())
            except ValueError as exc:
                console.print(f"[yellow]{exc}[/]")
                continue
            console.print(f"loaded {plan.robot_model} v{plan.version}: {len(plan.tasks)} tasks")


@orders_app.command("list")
def list_orders(
    region: str | None = typer.Option(None, help="region code or name: north, 华北, North China"),
    status: str | None = typer.Option(None, help="one status (new … cancelled), or open"),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """Open work orders with due date, priority and proposed visit window (site time)."""
    from core.labels import Labels, both
    from service.lifecycle import TRANSITIONS
    from service.repository import order_queue

    if status is not None and status != "open" and status not in TRANSITIONS:
        raise fail(f"unknown status {status!r}; statuses: open, {', '.join(TRANSITIONS)}")
    with runtime() as rt, rt.pool.connection() as conn:
        code = region_code(conn, region)
        # The default list (and --status open) is the open orders.
        rows = order_queue(
            conn, region=code, status=None if status == "open" else status, limit=limit
        )
        names = Labels.load(conn)
    table = Table(
        title="Work orders 工单",
        caption="times are the sites' local time (China time, UTC+08:00) 时间为当地时间",
    )
    for col in ("id", "number", "region 区域", "type 类型", "status 状态", "P", "robot 设备"):
        table.add_column(col, no_wrap=True)
    for col in ("due 截止", "visit window 上门时间", "technician 技工", "title 任务"):
        table.add_column(col)
    for o in rows:
        window = "-"
        if o.window_start and o.window_end:
            window = f"{format_local(o.window_start, o.timezone, zone_suffix=False)[5:]}–"
            window += format_local(o.window_end, o.timezone, zone_suffix=False)[11:]
            window += " (late 超期)" if o.window_late else ""
        table.add_row(
            str(o.id),
            o.number,
            names.region(o.region),
            both("order_type", o.type),
            both("status", o.status),
            str(o.priority),
            o.robot_id,
            format_local(o.due_at, o.timezone, zone_suffix=False)[5:],
            window,
            names.person(o.technician_id),
            o.title,
        )
    console.print(table)


@orders_app.command("move")
def move(
    order_id: int,
    status: str,
    actor: str = typer.Option(..., help="who does it (staff id)"),
    technician: str | None = typer.Option(None),
    window_start: datetime | None = typer.Option(None),
    window_end: datetime | None = typer.Option(None),
    completion: str | None = typer.Option(
        None,
        help="JSON: cause, resolution, parts_used [{code, qty}], time_spent_min, rating, signer"
        " (+ checklist for commissioning, firmware_version for software updates)",
    ),
    note: str | None = typer.Option(None),
    override_reason: str | None = typer.Option(
        None, help="accept a window in the kitchen's service hours: why (customer agreed)"
    ),
    no_callback_reason: str | None = typer.Option(
        None, help="verify without a done callback: why none was possible"
    ),
) -> None:
    """Move a work order through its lifecycle as ``--actor`` (a staff member): refused with
    the reason if the policy (role, region, assignment) or the lifecycle does not allow it."""
    from core.errors import NotFoundError
    from service.errors import ForbiddenError, InvalidTransitionError, StockError
    from service.orders import transition

    window = None
    if window_start and window_end:
        window = (
            window_start.replace(tzinfo=window_start.tzinfo or UTC),
            window_end.replace(tzinfo=window_end.tzinfo or UTC),
        )
    try:
        done = json.loads(completion) if completion else None
    except json.JSONDecodeError as exc:
        raise fail(f"--completion is not JSON: {exc}") from exc
    with runtime() as rt, rt.pool.connection() as conn:
        try:
            order = transition(
                conn,
                order_id=order_id,
                to=status,
                actor=actor,
                note=note,
                technician_id=technician,
                window=window,
                completion=done,
                override_reason=override_reason,
                no_callback_reason=no_callback_reason,
                now=rt.clock.now(),
            )
        except (InvalidTransitionError, NotFoundError, StockError, ForbiddenError) as exc:
            raise fail(str(exc)) from exc
    console.print(f"{order['number']}: {order['status']}")
    if order["completion"] and order["status"] == "completed":
        c = order["completion"]
        console.print(
            f"{'in warranty 保内' if c['in_warranty'] else 'out of warranty 保外'}"
            f" ({c['warranty_reason']}); charged ¥{c['charged']}"
        )


@orders_app.command("commissioning")
def commissioning_orders(
    robot: list[str] | None = typer.Option(None, help="only these robots"),
) -> None:
    """Create installation/commissioning orders (设备调试) for robots pending or failed."""
    from scheduler.commissioning import generate

    with runtime() as rt, rt.pool.connection() as conn:
        created = generate(conn, now=rt.clock.now(), robot_ids=robot or None)
    console.print(f"{len(created)} commissioning orders created")


@orders_app.command("warranty-card")
def warranty_card(robot: str) -> None:
    """Show a robot's warranty card (保修卡) with its service lines."""
    from core.clock import local_date
    from service.warranty import card

    with runtime() as rt, rt.pool.connection() as conn:
        c = card(conn, robot_id=robot)
    if c is None:
        raise fail(f"no warranty card for robot {robot!r}")
    console.print(
        f"保修卡 {c['card_no']} · {c['robot_id']} ({c['model']}, {c['serial']}) · {c['customer']}\n"
        f"warranty {c['start_date']} → {c['end_date']}"
        + (f", cap {c['cycle_cap']} cycles" if c["cycle_cap"] else "")
    )
    table = Table()
    for col in ("date 日期", "order 工单", "type", "work 内容", "warranty 保修", "charged 收费"):
        table.add_column(col)
    for e in c["entries"]:
        table.add_row(
            local_date(e["at"]).isoformat(),
            e["work_order"],
            e["type"],
            e["description"],
            "保内" if e["in_warranty"] else "保外",
            f"¥{e['charged']}",
        )
    console.print(table)


@orders_app.command("callback")
def callback(
    order_id: int,
    kind: str = typer.Argument(..., help="phone_guided | uncertain_fix | verification"),
    actor: str = typer.Option(..., help="the lead who called (staff id)"),
    satisfied: bool = typer.Option(..., "--satisfied/--unsatisfied", help="the customer's answer"),
    notes: str | None = typer.Option(None, help="what the customer said"),
) -> None:
    """Record a customer callback (客户回访); an unsatisfied customer gets a revisit order."""
    from core.errors import NotFoundError
    from service.errors import ForbiddenError
    from service.orders import record_callback

    if kind not in ("phone_guided", "uncertain_fix", "verification"):
        raise fail(
            f"unknown callback kind {kind!r}; kinds: phone_guided, uncertain_fix, verification"
        )
    with runtime() as rt, rt.pool.connection() as conn:
        try:
            done = record_callback(
                conn,
                order_id=order_id,
                kind=kind,
                actor=actor,
                satisfied=satisfied,
                notes=notes,
                now=rt.clock.now(),
            )
        except (NotFoundError, ForbiddenError) as exc:
            raise fail(str(exc)) from exc
    console.print(
        f"callback {kind} of order {order_id}: {'satisfied 满意' if satisfied else 'not satisfied 不满意'}"
    )
    if done.get("revisit_order_id"):
        console.print(f"revisit order {done['revisit_order_id']} opened 已开返修工单")


@orders_app.command("open")
def open_order(
    robot: str,
    symptom: str = typer.Option(..., help="故障现象: what the customer reports"),
    actor: str = typer.Option(..., help="the lead (or HQ) taking the report (staff id)"),
    channel: str = typer.Option("phone", help="phone | wechat | email | complaint | walk_in"),
    requests: str | None = typer.Option(None, help="用户要求: what the customer asks for"),
    reported_by: str | None = typer.Option(None, help="who called"),
    solved_by_phone: bool = typer.Option(
        False, help="phone guidance fixed it (4.2.2B): closed, callback in 2 h"
    ),
    cause: str = typer.Option("", help="with --solved-by-phone: the cause"),
    resolution: str = typer.Option("", help="with --solved-by-phone: what the customer did"),
    minutes: int = typer.Option(0, min=0, help="with --solved-by-phone: minutes on the phone"),
) -> None:
    """A customer's report (报修) or complaint becomes a work order (维修工单)."""
    from core.errors import NotFoundError
    from scheduler.intake import PhoneGuidance, Report
    from scheduler.intake import open_order as do_open
    from service.errors import ForbiddenError, InvalidTransitionError
    from service.repository import site_timezone

    guidance = PhoneGuidance(True, cause, resolution, minutes) if solved_by_phone else None
    report = Report(robot, channel, symptom, requests, reported_by, guidance)
    with runtime() as rt, rt.pool.connection() as conn:
        try:
            order = do_open(conn, report, actor=actor, now=rt.clock.now())
        except (NotFoundError, ForbiddenError, InvalidTransitionError, ValueError) as exc:
            raise fail(str(exc)) from exc
        tz = site_timezone(conn, site_id=order["site_id"])
    window = format_local(order["window_start"], tz) if order["window_start"] else "待定 to agree"
    due = format_local(order["due_at"], tz)
    console.print(f"{order['number']}: {order['status']} · due {due} · visit {window}")


@orders_app.command("consult")
def consult(
    robot: str,
    question: str = typer.Option(..., help="the customer's question"),
    answer: str = typer.Option(..., help="the answer given"),
    actor: str = typer.Option(..., help="the lead (or HQ) who answered (staff id)"),
    channel: str = typer.Option("phone", help="phone | wechat | email | walk_in"),
) -> None:
    """A consultation (咨询): a question answered, on the record (not a work order)."""
    from core.errors import NotFoundError
    from service.consultations import record
    from service.errors import ForbiddenError

    with runtime() as rt, rt.pool.connection() as conn:
        try:
            row = record(
                conn,
                robot_id=robot,
                question=question,
                answer=answer,
                channel=channel,
                actor=actor,
                now=rt.clock.now(),
            )
        except (NotFoundError, ForbiddenError, ValueError) as exc:
            raise fail(str(exc)) from exc
    console.print(f"consultation {row['id']} recorded 咨询已记录 ({row['region']})")
