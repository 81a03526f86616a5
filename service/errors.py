"""Errors of the service domain; the API maps them to HTTP in one place (api/errors.py)."""

from __future__ import annotations


class InvalidTransitionError(ValueError):
    """A work-order status change the lifecycle does not allow, with the reason."""

    def __init__(self, order: str, current: str, target: str, reason: str) -> None:
        super().__init__(f"work order {order}: {current} → {target} refused: {reason}")
        self.order = order
        self.current = current
        self.target = target
        self.reason = reason


class StockError(ValueError):
    """A stock movement the regional stock cannot cover (or an unknown part)."""

    def __init__(self, region: str, part: str, reason: str) -> None:
        super().__init__(f"stock of {part} in {region}: {reason}")
        self.region = region
        self.part = part
        self.reason = reason


class ForbiddenError(PermissionError):
    """The actor may not do this (role, region or assignment), with the reason."""

    def __init__(self, actor: str, reason: str) -> None:
        super().__init__(f"{actor}: {reason}")
        self.actor = actor
        self.reason = reason


class UnknownActorError(ForbiddenError):
    """An actor that is no active staff member: nothing of theirs enters the audit trail."""

    def __init__(self, actor: str) -> None:
        super().__init__(actor, f"no active staff member {actor!r} 非在职员工")
