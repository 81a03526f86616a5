"""Who may do what with a work order: one policy for the API, the dashboard and the CLI.

Roles are the API's (docs/api.md): ``admin`` (the HQ after-sales manager, every region),
``lead`` (their region: every transition, callbacks), ``technician`` (their own orders:
start, hold, complete), ``engineer`` (anomalies and fault models, no work orders) and
``viewer`` (read-only). The actor is always a staff member looked up in the registry:
the role and region come from there, never from what the caller says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.errors import ForbiddenError

ROLES = ("admin", "engineer", "lead", "technician", "viewer")
# The service's own writes (order generation, merging a preventive order into a visit).
SYSTEM_ACTORS = frozenset({"scheduler", "loader"})  # loader: opening stock of a parts file
TECHNICIAN_MOVES = frozenset({"in_progress", "completed", "on_hold"})


def role_of(staff_role: str) -> str:
    """Staff roles of the registry → roles of the policy (the HQ manager administers)."""
    return {"manager": "admin"}.get(staff_role, staff_role)


@dataclass(frozen=True)
class Actor:
    staff_id: str
    role: str  # one of ROLES
    region: str | None  # leads and technicians: their only region

    @property
    def regional(self) -> bool:
        return self.role in ("lead", "technician")


def move_refusal(actor: Actor, order: Mapping[str, Any], to: str) -> str | None:
    """Why ``actor`` may not move ``order`` to ``to``; None when they may.

    >>> lead = Actor("deng-keming", "lead", "north")
    >>> move_refusal(lead, {"region": "north", "technician_id": "t"}, "confirmed") is None
    True
    >>> move_refusal(lead, {"region": "east", "technician_id": "t"}, "confirmed")
    'the order belongs to another region 非本区域工单'
    """
    if actor.role == "viewer":
        return "viewers are read-only 只读账号"
    if actor.role == "engineer":
        return "engineers work on anomalies and fault models, not work orders 工程师不处理工单"
    if actor.role == "admin":
        return None
    if actor.region != order["region"]:
        return "the order belongs to another region 非本区域工单"
    if actor.role == "lead":
        return None
    if actor.role == "technician":
        if order.get("technician_id") != actor.staff_id:
            return "technicians move only the orders assigned to them 只能处理派给自己的工单"
        if to not in TECHNICIAN_MOVES:
            return "technicians start, hold and complete their orders 技工只能开工、暂停、完工"
        return None
    return f"unknown role {actor.role!r}"


def callback_refusal(actor: Actor, order: Mapping[str, Any]) -> str | None:
    """Callbacks (客户回访) are the lead's (or HQ's) job."""
    if actor.role == "admin":
        return None
    if actor.role != "lead":
        return "leads record callbacks 回访由组长记录"
    if actor.region != order["region"]:
        return "the order belongs to another region 非本区域工单"
    return None


def may_move(actor: Actor, order: Mapping[str, Any], to: str) -> bool:
    return move_refusal(actor, order, to) is None


def authorize_move(actor: Actor, order: Mapping[str, Any], to: str) -> None:
    reason = move_refusal(actor, order, to)
    if reason is not None:
        raise ForbiddenError(actor.staff_id, reason)


def authorize_callback(actor: Actor, order: Mapping[str, Any]) -> None:
    reason = callback_refusal(actor, order)
    if reason is not None:
        raise ForbiddenError(actor.staff_id, reason)


def stock_refusal(actor: Actor, region: str | None) -> str | None:
    """Stock movements by hand (deliveries, counts, faulty parts back): HQ, or the lead of
    the region's warehouse."""
    if actor.role == "admin":
        return None
    if actor.role != "lead":
        return "leads keep the regional stock 库存由组长管理"
    if region is not None and actor.region != region:
        return "another region's stock 非本区域库存"
    return None


def authorize_stock(actor: Actor, region: str | None) -> None:
    reason = stock_refusal(actor, region)
    if reason is not None:
        raise ForbiddenError(actor.staff_id, reason)


def intake_refusal(actor: Actor, region: str) -> str | None:
    """A customer's report (报修, complaint) is taken by HQ or the region's lead."""
    if actor.role == "admin":
        return None
    if actor.role != "lead":
        return "leads and HQ take customers' reports 报修由组长或总部受理"
    if actor.region != region:
        return "the robot belongs to another region 非本区域设备"
    return None
