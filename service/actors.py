"""Who is acting: every write of the service names an active staff member, looked up in
the registry (the role and region come from there, never from the caller)."""

from __future__ import annotations

from core.db import Conn
from service import repository as repo
from service.errors import UnknownActorError
from service.policy import Actor


def require(conn: Conn, staff_id: str) -> Actor:
    """The active staff member ``staff_id``, or UnknownActorError."""
    who = repo.actor(conn, staff_id=staff_id)
    if who is None:
        raise UnknownActorError(staff_id)
    return who
