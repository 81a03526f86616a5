"""What every dashboard page shares: templates and their filters, the signed-in user from
the session cookie, form tokens (CSRF), and the region-scoped connection."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from api import repository as repo
from api.dashboard import repository as pages_repo
from api.deps import COOKIE, get_conn, get_tokens
from api.security import AccountDisabledError, Principal, TokenError, Tokens
from core.clock import zone
from core.db import Conn
from core.labels import Labels, Lang, both, label

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
    """Like the API's scoped connection: role aic_api and the user's region (RLS backstop).
    Also what every page shows in words: the user's language and the registry's names."""
    for conn in get_conn(request):
        try:
            repo.enter_scope(conn, p=user)
        except AccountDisabledError as exc:
            raise LoginRequiredError from exc
        request.state.lang = pages_repo.staff_lang(conn, staff_id=user.staff_id) or default_lang(
            user.role
        )
        request.state.names = Labels.load(conn)
        yield conn


def default_lang(role: str) -> str:
    """Chinese for leads, technicians and HQ; English for the fault-model engineers."""
    return "en" if role == "engineer" else "zh"


def _lang(ctx: Any) -> Lang:
    request = ctx.get("request")
    lang = getattr(getattr(request, "state", None), "lang", "zh") if request else "zh"
    return "en" if lang == "en" else "zh"


@pass_context
def _tr(ctx: Any, vocabulary: str, code: str | None) -> str:
    """A code in the page's language: tr("status", "in_progress") → 维修中."""
    return label(vocabulary, code, _lang(ctx))


@pass_context
def _t(ctx: Any, zh: str, en: str) -> str:
    """Words in the page's language: t("工单队列", "Job queue")."""
    return zh if _lang(ctx) == "zh" else en


def _names(ctx: Any) -> Labels:
    request = ctx.get("request")
    names = getattr(getattr(request, "state", None), "names", None) if request else None
    return names if isinstance(names, Labels) else Labels()


@pass_context
def _person(ctx: Any, staff_id: str | None) -> str:
    return _names(ctx).person(staff_id)


@pass_context
def _region(ctx: Any, code: str | None) -> str:
    return _names(ctx).region(code, _lang(ctx))


@pass_context
def _html_lang(ctx: Any) -> str:
    return "zh-CN" if _lang(ctx) == "zh" else "en"


@pass_context
def _title(ctx: Any, text: str | None) -> str:
    """'更换排烟风机 / Replace the exhaust fan' in the page's language."""
    if not text:
        return "-"
    zh, sep, en = text.partition(" / ")
    return (zh if _lang(ctx) == "zh" else en) if sep else text


@pass_context
def _bi(ctx: Any, text: str) -> str:
    """'区域 Region' (a bilingual label: Chinese, a space, English) in the page's language."""
    zh, sep, en = text.partition(" ")
    return (zh if _lang(ctx) == "zh" else en) if sep else text


@pass_context
def _value(ctx: Any, key: str, value: Any) -> str:
    """A report cell in the page's language: regions and codes by name, yes/no in words."""
    from reports.export import cell

    if value is None:
        return "-"
    return str(cell(_names(ctx).value(key, value, _lang(ctx))))


templates.env.globals.update(
    value=_value,
    tr=_tr,
    t=_t,
    person=_person,
    region=_region,
    html_lang=_html_lang,
    title=_title,
    bi=_bi,
)


DbConn = Annotated[Conn, Depends(page_conn)]


def _local(ts: datetime | None, tz: str | None, fmt: str = "%m-%d %H:%M") -> str:
    if ts is None:
        return "-"
    return ts.astimezone(zone(tz)).strftime(fmt)


templates.env.filters["local"] = _local
templates.env.globals["label"] = label
templates.env.globals["both"] = both
