"""Sign-in for the API and the dashboard alike: throttled, then checked, on the app's clock."""

from __future__ import annotations

from fastapi import Request

from api import repository as repo
from api.security import Principal
from api.throttle import LoginThrottle
from core.clock import Clock
from core.db import Conn


def sign_in(conn: Conn, request: Request, *, staff_id: str, password: str) -> Principal | None:
    """The principal for valid credentials, None for wrong ones; TooManyAttemptsError when
    this staff id or address has failed too often (checked before any hashing)."""
    throttle: LoginThrottle = request.app.state.throttle
    clock: Clock = request.app.state.clock
    address = request.client.host if request.client else None
    now = clock.now()
    throttle.check(user=staff_id, address=address, now=now)
    p = repo.authenticate(conn, staff_id=staff_id, password=password)
    if p is None:
        throttle.failed(user=staff_id, address=address, now=now)
        return None
    throttle.succeeded(user=staff_id)
    return p
