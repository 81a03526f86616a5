"""Request dependencies as Annotated aliases: database connection, current user, roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from api.security import Principal, TokenError, Tokens
from core.clock import Clock
from core.db import Conn

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_conn(request: Request) -> Iterator[Conn]:
    """One pooled connection per request; committed when the request succeeds.

    Waiting for a connection and every statement are bounded (``statement_timeout_s`` of
    the app): a locked table or a slow database answers 503 with Retry-After, never a hang.
    """
    from api.repository import limit_statements

    timeout_s: float = request.app.state.statement_timeout_s
    with request.app.state.pool.connection(timeout=timeout_s) as conn:
        limit_statements(conn, timeout_s=timeout_s)
        yield conn


def get_now(request: Request) -> datetime:
    """The request's one instant, from the app's clock: every write and decision uses it."""
    clock: Clock = request.app.state.clock
    return clock.now()


Now = Annotated[datetime, Depends(get_now)]


def get_tokens(request: Request) -> Tokens:
    tokens: Tokens = request.app.state.tokens
    return tokens


COOKIE = "aic_token"


def current_user(
    request: Request,
    token: Annotated[str | None, Depends(oauth2)],
    tokens: Annotated[Tokens, Depends(get_tokens)],
) -> Principal:
    """The bearer token, or the dashboard's cookie (HttpOnly, SameSite=Strict)."""
    token = token or request.cookies.get(COOKIE)
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "not authenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return tokens.decode(token)
    except TokenError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from exc


User = Annotated[Principal, Depends(current_user)]


def scoped_conn(request: Request, user: User) -> Iterator[Conn]:
    """A connection whose transaction runs as ``aic_api`` with the caller's region set, so
    PostgreSQL row-level security backs up the region filter of every query."""
    from api.repository import enter_scope

    for conn in get_conn(request):
        enter_scope(conn, p=user)
        yield conn


DbConn = Annotated[Conn, Depends(scoped_conn)]
LoginConn = Annotated[Conn, Depends(get_conn)]


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that lets only ``roles`` through (403 otherwise)."""

    def check(user: User) -> Principal:
        if user.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {user.role!r} may not do this (needs {', '.join(roles)})",
            )
        return user

    return check
