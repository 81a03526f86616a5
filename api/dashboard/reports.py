"""The reports a lead owes HQ: list, one report with chart, table, totals, downloads."""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.dashboard.common import DbConn, PageUser, templates
from api.deps import Now
from core.errors import NotFoundError

router = APIRouter(include_in_schema=False)


@router.get("/ui/reports", response_class=HTMLResponse)
def reports_page(request: Request, conn: DbConn, user: PageUser) -> Response:
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
    from reports.periods import last_month, last_week

    report = REPORTS.get(name)
    if report is None:
        raise NotFoundError("report", name)
    period = (
        month or last_month(now)
        if report.period == "month"
        else week or last_week(now)
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
            key = chart_label(request, label, r.get(label))
            sums[key] = sums.get(key, 0.0) + float(v or 0)
        labels = dict(report.columns)
        zh = getattr(request.state, "lang", "zh") == "zh"
        col = {k: (t.split(" ", 1)[0] if zh else t.split(" ", 1)[-1]) for k, t in labels.items()}
        col.setdefault("model_version", "机型与版本" if zh else "model and version")
        chart = {
            "labels": list(sums),
            "data": list(sums.values()),
            "title": f"{col[value]}（按{col[label]}）" if zh else f"{col[value]} by {col[label]}",
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


def chart_label(request: Request, key: str, code: object) -> str:
    """A bar's label in the page's language (regions and codes by name)."""
    from core.labels import Labels, Lang

    lang: Lang = "en" if getattr(request.state, "lang", "zh") == "en" else "zh"
    names = getattr(request.state, "names", None) or Labels()
    return str(names.value(key, code, lang))
