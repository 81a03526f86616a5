"""Signing in and out of the dashboard (a session cookie holding the access token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.dashboard import repository as pages_repo
from api.dashboard.common import DbConn, FormUser, templates
from api.deps import COOKIE, get_tokens
from api.security import Tokens
from api.signin import sign_in
from api.throttle import TooManyAttemptsError

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home() -> Response:
    return RedirectResponse("/ui/orders", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, error: str | None = None) -> Response:
    return templates.TemplateResponse(request, "login.html", {"error": error})


@router.post("/login")
def login(
    request: Request,
    tokens: Annotated[Tokens, Depends(get_tokens)],
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    try:
        p = sign_in(request, staff_id=username, password=password)
    except TooManyAttemptsError as exc:
        return templates.TemplateResponse(
            request,
            "login.html",
            {"error": str(exc)},
            status_code=429,
            headers={"Retry-After": str(exc.seconds)},
        )
    if p is None:
        return templates.TemplateResponse(
            request,
            "login.html",
            {"error": "Wrong staff id or password 账号或密码错误"},
            status_code=401,
        )
    response = RedirectResponse("/ui/orders", status_code=303)
    response.set_cookie(
        COOKIE,
        tokens.issue(p),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",  # behind TLS (uvicorn --proxy-headers)
        max_age=tokens.access_minutes * 60,
    )
    return response


@router.post("/logout")
def logout(user: FormUser) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.post("/ui/lang")
def switch_language(
    request: Request,
    conn: DbConn,
    user: FormUser,
    lang: Annotated[str, Form(pattern=r"^(zh|en)$")],
    back: Annotated[str, Form(pattern=r"^/ui/[A-Za-z0-9/_?=&%.-]*$")] = "/ui/orders",
) -> Response:
    """中文 / English, remembered for this staff member (on every device)."""
    pages_repo.set_staff_lang(conn, staff_id=user.staff_id, lang=lang)
    return RedirectResponse(back, status_code=303)
