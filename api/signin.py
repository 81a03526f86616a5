"""Sign-in for the API and the dashboard alike: throttled, then checked, on the app's clock."""

from __future__ import annotations

import re

from fastapi import Request

from api import repository as repo
from api.security import Principal, dummy_hash, verify_password
from api.throttle import LoginThrottle
from core.clock import Clock

STAFF_ID = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


def sign_in(request: Request, *, staff_id: str, password: str) -> Principal | None:
    """The principal for valid credentials, None for wrong ones; TooManyAttemptsError when
    this staff id or address has failed too often — checked before a database connection
    is taken or a password hashed, so a flood of refused attempts costs almost nothing."""
    throttle: LoginThrottle = request.app.state.throttle
    clock: Clock = request.app.state.clock
    address = request.client.host if request.client else None
    now = clock.now()
    throttle.check(user=staff_id, address=address, now=now)
    if not STAFF_ID.fullmatch(staff_id):
        # No staff id looks like this (a NUL byte, 5 kB of text): no query, the same cost.
        verify_password(dummy_hash(), password)
        throttle.failed(user=staff_id, address=address, now=now)
        return None
    timeout_s: float = request.app.state.statement_timeout_s
    with request.app.state.pool.connection(timeout=timeout_s) as conn:
        repo.limit_statements(conn, timeout_s=timeout_s)
        p = repo.authenticate(conn, staff_id=staff_id, password=password)
    if p is None:
        throttle.failed(user=staff_id, address=address, now=now)
        return None
    throttle.succeeded(user=staff_id)
    return p
