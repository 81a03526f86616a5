"""The web dashboard: server-rendered pages (English first, Chinese labels) on the same app."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote_plus

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api import repository as repo
from api.deps import COOKIE, Now, get_conn, get_tokens
from api.security import AccountDisabledError, Principal, TokenError, Tokens
from api.signin import sign_in
from api.throttle import TooManyAttemptsError
from core.clock import zone, zone_label
from core.db import Conn
from core.errors import NotFoundError
from core.labels import both, label
from service.errors import ForbiddenError, InvalidTransitionError
from service.orders import transition

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


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


@router.get("/ui/orders", response_class=HTMLResponse)
def orders(request: Request, conn: DbConn, user: PageUser, status: str | None = None) -> Response:
    """The lead's job queue: open orders with proposed visit windows and one-click actions."""
    allowed = {"new", "scheduled", "confirmed", "dispatched", "in_progress", "completed"}
    rows = repo.work_orders(
        conn,
        p=user,
        status=status if status in allowed else None,
        type_=None,
        robot_id=None,
        sort="priority",
        descending=False,
        limit=200,
        offset=0,
    )
    if status not in allowed:
        rows = [r for r in rows if r["status"] not in ("completed", "verified", "cancelled")]
    sites: dict[str, str] = dict(conn.execute("SELECT id, timezone FROM sites").fetchall())
    for r in rows:
        r["tz"] = sites.get(r["site_id"])
    return templates.TemplateResponse(
        request, "orders.html", {"user": user, "orders": rows, "status": status}
    )


@router.post("/ui/orders/{order_id}/move")
def move(
    order_id: Annotated[int, PathParam(ge=1, le=2**62)],
    conn: DbConn,
    user: FormUser,
    now: Now,
    to: Annotated[str, Form(max_length=32)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Move an order (confirm the proposed window, dispatch to the suggested technician,
    start, hold, …); who may is the domain's policy, as for the API and the CLI."""
    if repo.work_order(conn, p=user, order_id=order_id) is None:
        raise NotFoundError("work order", order_id)
    try:
        transition(conn, order_id=order_id, to=to, actor=user.staff_id, note=note or None, now=now)
    except (InvalidTransitionError, ForbiddenError) as exc:
        return RedirectResponse(f"/ui/orders?error={quote_plus(exc.reason)}", status_code=303)
    return RedirectResponse("/ui/orders", status_code=303)


@router.get("/ui/robots", response_class=HTMLResponse)
def robots(request: Request, conn: DbConn, user: PageUser, now: Now) -> Response:
    rows = repo.robots(conn, p=user, limit=500, offset=0, now=now)
    for r in rows:
        seen = r["last_seen"]
        r["badge"] = (
            "fault"
            if r["state"] == "fault" or r["err"]
            else "alert"
            if r["open_anomalies"]
            else "offline"
            if seen is None or (now - seen).total_seconds() > 3600
            else "ok"
        )
    return templates.TemplateResponse(request, "robots.html", {"user": user, "robots": rows})


@router.get("/ui/robots/{robot_id}", response_class=HTMLResponse)
def robot(robot_id: str, request: Request, conn: DbConn, user: PageUser, now: Now) -> Response:
    row = repo.robot(conn, p=user, robot_id=robot_id, now=now)
    if row is None:
        raise NotFoundError("robot", robot_id)
    anomalies = repo.anomalies(
        conn, p=user, status=None, robot_id=robot_id, kind=None, limit=50, offset=0
    )
    orders = repo.work_orders(
        conn,
        p=user,
        status=None,
        type_=None,
        robot_id=robot_id,
        sort="created_at",
        descending=True,
        limit=50,
        offset=0,
    )
    markers: list[dict[str, Any]] = [
        {"t": a["window_end"].timestamp(), "label": a["kind"], "kind": "anomaly"} for a in anomalies
    ] + [{"t": o["created_at"].timestamp(), "label": o["number"], "kind": "order"} for o in orders]
    return templates.TemplateResponse(
        request,
        "robot.html",
        {
            "user": user,
            "robot": row,
            "now_ts": now.timestamp(),
            "zone_label": zone_label(now, row["timezone"]),
            "anomalies": anomalies,
            "orders": orders,
            "markers": markers,
            "metrics": repo.ROBOT_METRICS,
        },
    )


@router.get("/ui/orders/{order_id}", response_class=HTMLResponse)
def order_page(
    order_id: Annotated[int, PathParam(ge=1, le=2**62)],
    request: Request,
    conn: DbConn,
    user: PageUser,
) -> Response:
    """Work-order detail (the manual's form) with the completion form while in progress."""
    order = repo.work_order(conn, p=user, order_id=order_id)
    if order is None:
        raise NotFoundError("work order", order_id)
    from service.commissioning import CHECKLIST

    return templates.TemplateResponse(
        request, "order.html", {"user": user, "order": order, "checklist": CHECKLIST}
    )


def _parts(text: str) -> list[dict[str, Any]]:
    """'FAN-FILTER-120:1, GREASE:2' → [{"code": …, "qty": …}]."""
    from service.parts import PartQty

    out = []
    for item in filter(None, (x.strip() for x in text.split(","))):
        code, _, qty = item.partition(":")
        line = PartQty(code=code.strip().upper(), qty=int(qty) if qty.strip() else 1)
        out.append(line.model_dump())
    return out


@router.post("/ui/orders/{order_id}/complete")
def complete(
    order_id: Annotated[int, PathParam(ge=1, le=2**62)],
    conn: DbConn,
    user: FormUser,
    now: Now,
    cause: Annotated[str, Form(max_length=2000)],
    resolution: Annotated[str, Form(max_length=2000)],
    time_spent_min: Annotated[int, Form(ge=1, le=1440)],
    rating: Annotated[int, Form(ge=1, le=5)],
    signer: Annotated[str, Form(max_length=100)],
    parts: Annotated[str, Form(max_length=2000)] = "",
    warranty_void_reason: Annotated[str, Form(max_length=500)] = "",
    firmware_version: Annotated[str, Form(max_length=32)] = "",
    checklist: Annotated[list[str] | None, Form()] = None,
    uncertain: Annotated[str, Form(max_length=1)] = "",
    phone_guided: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """Record the completion (cause, resolution, parts, time, rating, signer); the price
    comes from the fee schedule."""
    from service.commissioning import CHECKLIST
    from service.errors import StockError

    if repo.work_order(conn, p=user, order_id=order_id) is None:
        raise NotFoundError("work order", order_id)
    try:
        used = _parts(parts)
    except ValueError:
        return RedirectResponse(
            f"/ui/orders/{order_id}?error=parts look like FAN-FILTER-120:1", status_code=303
        )
    ticked = set(checklist or [])
    completion: dict[str, Any] = {
        "cause": cause,
        "resolution": resolution,
        "parts_used": used,
        "time_spent_min": time_spent_min,
        "warranty_void_reason": warranty_void_reason.strip() or None,
        "firmware_version": firmware_version.strip() or None,
        "checklist": {k: k in ticked for k in CHECKLIST},
        "rating": rating,
        "signer": signer,
        "uncertain": bool(uncertain),
        "phone_guided": bool(phone_guided),
    }
    try:
        transition(
            conn,
            order_id=order_id,
            to="completed",
            actor=user.staff_id,
            completion=completion,
            now=now,
        )
    except (InvalidTransitionError, StockError, ForbiddenError) as exc:
        return RedirectResponse(
            f"/ui/orders/{order_id}?error={quote_plus(exc.reason)}", status_code=303
        )
    return RedirectResponse(f"/ui/orders/{order_id}", status_code=303)


@router.get("/ui/models", response_class=HTMLResponse)
def models_page(request: Request, conn: DbConn, user: PageUser, run: str | None = None) -> Response:
    """Engineers: the model registry and an evaluation against a simulator run's ground truth."""
    from analytics.registry import list_models
    from analytics.service import evaluate_run

    if user.role not in ("admin", "engineer", "viewer"):
        return RedirectResponse("/ui/orders?error=engineers only", status_code=303)
    runs = repo.ground_truth_runs(conn)
    report = None
    lead_hours: dict[str, list[float]] = {}
    timelines: list[dict[str, Any]] = []
    chosen = run or (runs[0]["run_id"] if runs else None)
    if chosen:
        try:
            report, data = evaluate_run(conn, run_id=chosen)
        except ValueError:
            report = None  # no ground truth or nothing scored: the page says so
        else:
            lead_hours = {k: r.lead_hours for k, r in report.kinds.items() if r.lead_hours}
            timelines = _timelines(conn, data)
    return templates.TemplateResponse(
        request,
        "models.html",
        {
            "user": user,
            "models": list_models(conn),
            "runs": runs,
            "run": chosen,
            "report": report,
            "lead_hours": lead_hours,
            "timelines": timelines,
        },
    )


@router.get("/ui/reports", response_class=HTMLResponse)
def reports_page(request: Request, user: PageUser) -> Response:
    """The reports a lead owes HQ, each viewable and downloadable."""
    from reports.catalog import REPORT_LIST

    return templates.TemplateResponse(
        request, "reports.html", {"user": user, "reports": REPORT_LIST}
    )


@router.get("/ui/reports/{name}", response_class=HTMLResponse)
def report_page(
    name: str,
    request: Request,
    conn: DbConn,
    user: PageUser,
    now: Now,
    month: str | None = None,
    week: str | None = None,
) -> Response:
    """One report: period picker (this month or week in China time unless chosen), bar
    chart, table with totals, CSV/XLSX links."""
    from reports.catalog import REPORTS, run
    from reports.export import cell, totals
    from reports.periods import current_month, current_week

    report = REPORTS.get(name)
    if report is None:
        raise NotFoundError("report", name)
    period = (
        month or current_month(now)
        if report.period == "month"
        else week or current_week(now)
        if report.period == "week"
        else None
    )
    rows, error = None, None
    if report.period is None or period:
        try:
            rows = run(
                conn,
                name,
                now=now,
                region=user.region if user.regional else None,
                period=period,
            )
        except ValueError as exc:
            error = str(exc)
    chart = None
    if rows and report.chart:
        label, value = report.chart
        sums: dict[str, float] = {}
        for r in rows:
            v = r.get(value)
            sums[str(r.get(label))] = sums.get(str(r.get(label)), 0.0) + float(v or 0)
        labels = dict(report.columns)
        chart = {
            "labels": list(sums),
            "data": list(sums.values()),
            "title": f"{labels[value]} by {labels[label]}",
        }
    return templates.TemplateResponse(
        request,
        "report.html",
        {
            "user": user,
            "report": report,
            "rows": rows,
            "period": period,
            "query": f"&{report.period}={quote_plus(period)}" if report.period and period else "",
            "error": error,
            "chart": chart,
            "cell": cell,
            "totals": totals(rows, report.columns, report.no_total) if rows else [],
        },
    )


def _timelines(conn: Conn, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Score timelines for the engineer page: one failed fault per kind, as epoch seconds."""
    from analytics.plots import one_fault_per_kind, timeline
    from analytics.repository import load_features

    robots = sorted({f["robot_id"] for f in data["truth"] if f.get("failure")})
    features = load_features(conn, start=data["start"], end=data["end"], robots=robots)
    out = []
    for fault, rows, anomalies in one_fault_per_kind(data["truth"], features, data["anomalies"]):
        t = timeline(fault, rows, anomalies)
        assert t is not None

        def ts(d: datetime) -> float:
            return d.timestamp()

        out.append(
            {
                "robot_id": t.robot_id,
                "kind": t.kind,
                "feature": t.feature,
                "level": t.failure_level,
                "x": [ts(d) for d in t.times],
                "y": [round(h, 4) for h in t.health],
                "onset": ts(t.onset),
                "failure": ts(t.failure) if t.failure else None,
                "anomalies": [[ts(a), ts(b)] for a, b in t.anomalies],
            }
        )
    return out
