"""Who gets a work order: the region's lead, with a technician suggested by open workload."""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.repository import StaffCtx


@dataclass(frozen=True)
class Route:
    lead: StaffCtx | None
    technician: StaffCtx | None  # the lead covers when the region has no technician


def route(staff: list[StaffCtx], *, region: str) -> Route:
    """The region's lead, and its technician with the fewest open orders (ties: by id).

    >>> from datetime import time
    >>> s = [StaffCtx("l", "L", "lead", "east", time(8), time(20), 0),
    ...      StaffCtx("t1", "A", "technician", "east", time(8), time(20), 3),
    ...      StaffCtx("t2", "B", "technician", "east", time(8), time(20), 1)]
    >>> r = route(s, region="east")
    >>> (r.lead.id, r.technician.id)
    ('l', 't2')
    """
    lead = next((s for s in staff if s.role == "lead" and s.region == region), None)
    techs = sorted(
        (s for s in staff if s.role == "technician" and s.region == region),
        key=lambda s: (s.open_orders, s.id),
    )
    return Route(lead, techs[0] if techs else lead)
