"""``aic parts``: the regional spare-parts stock (备件管理) and faulty-part returns (坏料回仓)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from cli.context import console, fail, runtime

app = typer.Typer(
    help="Spare parts: catalog, stock, deliveries, faulty returns, forecast.", no_args_is_help=True
)


@app.command("load")
def load(file: Path = typer.Argument(..., help="e.g. examples/parts.yaml")) -> None:
    """Load the parts catalog, task parts, stock minimums (opening stock) and fee schedule."""
    from service.parts import load_parts, read_parts_file

    try:
        doc = read_parts_file(file)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    with runtime() as rt, rt.pool.connection() as conn:
        try:
            n = load_parts(conn, doc, now=rt.clock.now())
        except ValueError as exc:
            raise fail(str(exc)) from exc
    console.print(
        f"loaded {n.parts} parts, {n.task_parts} task-part lines, {n.stock_lines} stock lines"
        + (f", fee schedule v{n.fee_version}" if n.fee_version else "")
    )


@app.command("receive")
def receive(
    region: str,
    part: str,
    qty: int = typer.Argument(..., min=1),
    actor: str = typer.Option(..., help="who received it (a staff id: HQ or the region's lead)"),
    note: str | None = typer.Option(None),
) -> None:
    """A delivery to the region's warehouse (物料补充备存)."""
    from service.parts import receive as do_receive

    _move(
        lambda conn, now: do_receive(
            conn, region=region, part_code=part, qty=qty, actor=actor, note=note, now=now
        ),
        region,
        part,
    )


@app.command("adjust")
def adjust(
    region: str,
    part: str,
    qty: int = typer.Argument(..., help="+/- correction"),
    actor: str = typer.Option(...),
    reason: str = typer.Option(..., help="why the count changed"),
) -> None:
    """Correct the stock after a count (a negative quantity goes after ``--``)."""
    from service.parts import adjust as do_adjust

    _move(
        lambda conn, now: do_adjust(
            conn, region=region, part_code=part, qty=qty, actor=actor, note=reason, now=now
        ),
        region,
        part,
    )


def _move(do: Callable[[Any, datetime], int], region: str, part: str) -> None:
    from service.errors import ForbiddenError, StockError

    with runtime() as rt, rt.pool.connection() as conn:
        try:
            on_hand = do(conn, rt.clock.now())
        except (StockError, ValueError, ForbiddenError) as exc:
            raise fail(str(exc)) from exc
    console.print(f"{region} {part}: {on_hand} on hand")


@app.command("returned")
def returned(
    return_id: int,
    actor: str = typer.Option(...),
    note: str | None = typer.Option(None),
) -> None:
    """A faulty part is back in the regional warehouse (坏料回仓); ids from
    ``aic report faulty-returns``."""
    from core.errors import NotFoundError
    from service.errors import ForbiddenError
    from service.parts import receive_faulty_return

    with runtime() as rt, rt.pool.connection() as conn:
        try:
            row = receive_faulty_return(
                conn, return_id=return_id, actor=actor, note=note, now=rt.clock.now()
            )
        except (NotFoundError, ForbiddenError) as exc:
            raise fail(str(exc)) from exc
    console.print(f"return {row['id']}: {row['qty']} × {row['part_code']} back in {row['region']}")
