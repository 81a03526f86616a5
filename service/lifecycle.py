"""The work-order lifecycle of the manual's forms (维修工单, 维护保养工作单, 客户回访记录表).

new → scheduled (window proposed) → confirmed (window agreed with the customer) →
dispatched (technician) → in_progress → completed (cause, resolution, parts, time,
rating and signer; priced by scheduler.service_records) → verified (callback done); on_hold and cancelled on the way.
"""

from __future__ import annotations

from typing import Any

from service.commissioning import checklist_problems
from service.errors import InvalidTransitionError

OPEN = ("new", "scheduled", "confirmed", "dispatched", "in_progress", "on_hold")
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"scheduled", "on_hold", "cancelled"}),
    "scheduled": frozenset({"scheduled", "confirmed", "on_hold", "cancelled"}),
    "confirmed": frozenset({"scheduled", "dispatched", "on_hold", "cancelled"}),
    "dispatched": frozenset({"in_progress", "scheduled", "on_hold", "cancelled"}),
    "in_progress": frozenset({"completed", "on_hold"}),
    "completed": frozenset({"verified"}),
    "on_hold": frozenset(
        {"new", "scheduled", "confirmed", "dispatched", "in_progress", "cancelled"}
    ),
    "verified": frozenset(),
    "cancelled": frozenset(),
}
COMPLETION_FIELDS = ("cause", "resolution", "parts_used", "time_spent_min")


def check(
    order: dict[str, Any],
    target: str,
    *,
    completion: dict[str, Any] | None = None,
    window: tuple[Any, Any] | None = None,
    technician_id: str | None = None,
) -> None:
    """Raise InvalidTransitionError with the reason if ``order`` cannot move to ``target``.

    >>> check({"number": "WO-1", "status": "new"}, "completed")
    Traceback (most recent call last):
    ...
    service.errors.InvalidTransitionError: work order WO-1: new → completed refused: allowed from new: cancelled, on_hold, scheduled
    """
    current = order["status"]
    number = order["number"]
    if target not in TRANSITIONS:
        raise InvalidTransitionError(number, current, target, f"unknown status {target!r}")
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (final)"
        raise InvalidTransitionError(number, current, target, f"allowed from {current}: {allowed}")
    if current == "on_hold" and target not in (order.get("held_from"), "cancelled"):
        raise InvalidTransitionError(
            number, current, target, f"resume to {order.get('held_from')!r} or cancel"
        )
    if target in ("scheduled", "confirmed") and not (window or order.get("window_start")):
        raise InvalidTransitionError(number, current, target, "needs a visit window")
    if target == "dispatched" and not (technician_id or order.get("technician_id")):
        raise InvalidTransitionError(number, current, target, "needs a technician")
    if target == "completed":
        missing = [f for f in COMPLETION_FIELDS if (completion or {}).get(f) in (None, "")]
        if missing:
            raise InvalidTransitionError(
                number, current, target, "completion needs " + ", ".join(missing)
            )
        problem = _customer_sign_off(completion or {})
        if problem:
            raise InvalidTransitionError(number, current, target, problem)
        if order.get("type") == "commissioning":
            problem = checklist_problems((completion or {}).get("checklist"))
            if problem:
                raise InvalidTransitionError(number, current, target, problem)
        if order.get("type") == "software_update" and not (completion or {}).get(
            "firmware_version"
        ):
            raise InvalidTransitionError(
                number, current, target, "a software update needs the firmware_version installed"
            )


def _customer_sign_off(completion: dict[str, Any]) -> str | None:
    """The customer's rating (1–5) and signature are asked for, never forced (4.2.8C): when
    either is missing, the form records that the customer declined, and why.

    >>> _customer_sign_off({"rating": 5, "signer": "王店长"}) is None
    True
    >>> _customer_sign_off({"rating": None, "signer": None})
    'no rating or signature: record that the customer declined (customer_declined) 客户拒签请注明'
    >>> _customer_sign_off({"customer_declined": "店长不在，不愿签字"}) is None
    True
    """
    rating = completion.get("rating")
    if rating is not None and (not isinstance(rating, int) or not 1 <= rating <= 5):
        return "rating must be 1 to 5"
    signed = rating is not None and (
        bool((completion.get("signer") or "").strip()) or bool(completion.get("signature"))
    )
    declined = bool((completion.get("customer_declined") or "").strip())
    if not signed and not declined:
        return (
            "no rating or signature: record that the customer declined (customer_declined)"
            " 客户拒签请注明"
        )
    return None
