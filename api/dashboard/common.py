"""What every dashboard page shares: templates and their filters, the signed-in user from
the session cookie, form tokens (CSRF), and the region-scoped connection."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.templating import Jinja2Templates

from api import repository as repo
from api.deps import COOKIE, get_conn, get_tokens
from api.security import AccountDisabledError, Principal, TokenError, Tokens
from core.clock import zone
from core.db import Conn
from core.labels import both, label

HERE = Path(__file__).resolve().parents[1]  # the api package: templates/, static/
templates = Jinja2Templates(directory=HERE / "templates")


class LoginRequiredError(Exception):
    """No valid dashboard session: the handler redirects to the login page."""


def page_user(request: Request, tokens: Annotated[Tokens, Depends(get_tokens)]) -> Principal:
    token = request.cookies.get(COOKIE)
    if not token:
        raise LoginRequiredError
    try:
        return tokens.decode(token)
    except TokenError as exc:
        raise LoginRequiredError from exc


PageUser = Annotated[Principal, Depends(page_user)]


def csrf_token(request: Request) -> str:
    """The form token of this session: an HMAC of the session cookie with the app's key,
    so another site can neither read nor make it (forms carry it, POSTs must match)."""
    tokens: Tokens = request.app.state.tokens
    session = request.cookies.get(COOKIE, "")
    return hmac.new(tokens.secret.encode(), session.encode(), hashlib.sha256).hexdigest()[:32]


templates.env.globals["csrf_token"] = csrf_token


class CsrfError(PermissionError):
    """A dashboard POST without this session's form token."""


def csrf_checked(
    request: Request, user: PageUser, csrf: Annotated[str, Form(max_length=64)] = ""
) -> Principal:
    """The signed-in user, once the form's token matches the session (403 otherwise)."""
    if not hmac.compare_digest(csrf, csrf_token(request)):
        raise CsrfError("form token missing or wrong: reload the page 表单已过期，请刷新页面")
    return user


FormUser = Annotated[Principal, Depends(csrf_checked)]


def page_conn(request: Request, user: PageUser) -> Iterator[Conn]:
    """Like the API's scoped connection: role aic_api and the user's region (RLS backstop)."""
    for conn in get_conn(request):
        try:
            repo.enter_scope(conn, p=user)
        except AccountDisabledError as exc:
            raise LoginRequiredError from exc
        yield conn


DbConn = Annotated[Conn, Depends(page_conn)]


def _local(ts: datetime | None, tz: str | None, fmt: str = "%m-%d %H:%M") -> str:
    if ts is None:
        return "-"
    return ts.astimezone(zone(tz)).strftime(fmt)


templates.env.filters["local"] = _local
templates.env.globals["label"] = label
templates.env.globals["both"] = both
