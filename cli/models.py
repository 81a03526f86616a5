"""``aic models``: score, train, evaluate, list, activate, roll back fault models."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.table import Table

from cli.context import console, fail, runtime
from cli.rules import app as rules_app

app = typer.Typer(
    help="Fault models for engineers: score, train, evaluate, activate.", no_args_is_help=True
)
app.add_typer(rules_app, name="rules")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@app.command()
def score(
    days: float = typer.Option(2.0, help="recompute feature windows of the last N days"),
    end: datetime | None = typer.Option(None, help="score up to this time (default now)"),
    rules: Path | None = typer.Option(
        None, help="rules YAML for this run (default: the active loaded set, or the shipped one)"
    ),
    live: bool = typer.Option(
        False,
        "--live",
        help="what the scheduler runs every 5 minutes: only the hours that received readings"
        " since the last live run, then the robots whose windows changed (--days/--end unused)",
    ),
    workers: int = typer.Option(
        1, min=1, max=4, help="database connections computing the feature windows at once"
    ),
) -> None:
    """Score recent windows of every robot and store new anomalies (idempotent)."""
    from analytics.rules import load_rules
    from analytics.service import score as run
    from analytics.service import score_live

    try:
        ruleset = load_rules(rules) if rules else None
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from exc
    with runtime() as rt, rt.pool.connection() as conn:
        now = rt.clock.now()
        stop = _utc(end) or now
        if live:
            res = score_live(conn, now=now, rules=ruleset)
        else:
            res = run(
                conn, start=stop - timedelta(days=days), end=stop, now=now, rules=ruleset,
                pool=rt.pool, workers=workers,
            )  # fmt: skip
    console.print(
        f"{res.feature_rows} feature windows; {res.anomalies_found} anomalies, "
        f"{res.anomalies_inserted} new; {len(res.robots_without_baseline)} robots "
        "without a baseline yet"
    )


@app.command()
def train(
    robot_model: str = typer.Option(..., "--robot-model", help="e.g. AIC-W1"),
    start: datetime | None = typer.Option(None, "--from", help="training windows from"),
    end: datetime | None = typer.Option(None, "--to", help="training windows until"),
    seed: int = typer.Option(0),
    firmware: str | None = typer.Option(
        None, help="only this firmware version (default: one model for every version)"
    ),
    min_windows: int = typer.Option(
        200, min=8, help="refuse with fewer healthy windows (a quarter sets the threshold)"
    ),
) -> None:
    """Train an IsolationForest for a robot model (and firmware) on healthy windows
    (stored inactive); its threshold comes from a held-out quarter of the windows."""
    from analytics.service import train_forest

    with runtime() as rt, rt.pool.connection() as conn:
        try:
            model_id = train_forest(
                conn,
                robot_model=robot_model,
                start=_utc(start),
                end=_utc(end),
                random_state=seed,
                firmware=firmware,
                min_windows=min_windows,
            )
        except ValueError as exc:
            raise fail(str(exc)) from exc
    console.print(
        f"trained model {model_id} for {robot_model}; activate with "
        f"`aic models activate {model_id}`"
    )


@app.command("list")
def list_() -> None:
    """List stored models with their versions and which one is active."""
    from analytics.registry import list_models

    with runtime() as rt, rt.pool.connection() as conn:
        models = list_models(conn)
    table = Table(title="fault models")
    for col in (
        "id",
        "name",
        "robot model",
        "firmware",
        "version",
        "active",
        "trained on",
        "sklearn",
        "data hash",
        "created",
    ):
        table.add_column(col)
    for m in models:
        table.add_row(
            str(m.id),
            m.name,
            m.robot_model,
            m.firmware or "all",
            str(m.version),
            "yes" if m.active else "",
            str(m.n_train),
            m.sklearn_version,
            m.data_hash,
            f"{m.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@app.command()
def activate(model_id: int) -> None:
    """Make a model version the one live scoring uses for its robot model."""
    from analytics.registry import activate as do
    from core.errors import NotFoundError

    with runtime() as rt, rt.pool.connection() as conn:
        try:
            m = do(conn, model_id=model_id)
        except NotFoundError as exc:
            raise fail(str(exc)) from exc
    console.print(f"active: {m.name} {m.robot_model} v{m.version}")


@app.command()
def rollback(
    robot_model: str = typer.Option(..., "--robot-model"),
    firmware: str | None = typer.Option(None, help="the firmware-specific model's version"),
) -> None:
    """Re-activate the previous version for a robot model."""
    from analytics.registry import rollback as do
    from core.errors import NotFoundError

    with runtime() as rt, rt.pool.connection() as conn:
        try:
            m = do(conn, robot_model=robot_model, firmware=firmware)
        except NotFoundError as exc:
            raise fail(str(exc)) from exc
    console.print(f"active: {m.name} {m.robot_model} v{m.version}")


@app.command()
def backtest(
    run_id: str = typer.Option(..., help="simulator run whose ground truth to score against"),
    start: datetime = typer.Option(..., "--from"),
    end: datetime = typer.Option(..., "--to"),
    out: Path | None = typer.Option(None, help="write the report (Markdown + JSON) here"),
    forests: bool = typer.Option(True, help="also use the active IsolationForests"),
    workers: int = typer.Option(
        1, min=1, max=4, help="database connections computing the feature windows at once"
    ),
) -> None:
    """Score a past period as if live and evaluate it against the simulator's ground truth."""
    from analytics.evaluation import to_markdown
    from analytics.service import backtest as run

    s, e = _utc(start), _utc(end)
    assert s is not None and e is not None
    with runtime() as rt, rt.pool.connection() as conn:
        try:
            report = run(
                conn, run_id=run_id, start=s, end=e, use_forests=forests, pool=rt.pool,
                workers=workers,
            )  # fmt: skip
        except ValueError as exc:
            raise fail(str(exc)) from exc
    md = to_markdown(report, title=f"Backtest of {run_id} ({s:%Y-%m-%d} → {e:%Y-%m-%d})")
    console.print(md, markup=False)
    if out is not None:
        _write_report(run_id, s, e, out)


def _write_report(run_id: str, start: datetime | None, end: datetime | None, out: Path) -> None:
    """report.md + report.json + PNG plots of the stored anomalies against the ground truth."""
    from analytics.evaluation import to_markdown
    from analytics.plots import write_plots
    from analytics.repository import load_features
    from analytics.service import evaluate_run

    with runtime() as rt, rt.pool.connection() as conn:
        try:
            report, data = evaluate_run(conn, run_id=run_id, start=start, end=end)
        except ValueError as exc:
            raise fail(str(exc)) from exc
        faulty = sorted({f["robot_id"] for f in data["truth"]})
        features = [
            r
            for r in load_features(conn, start=data["start"], end=data["end"])
            if r["robot_id"] in faulty
        ]
    plots = write_plots(report, data["truth"], features, data["anomalies"], out)
    title = f"Evaluation of {run_id} ({data['start']:%Y-%m-%d} → {data['end']:%Y-%m-%d})"
    md = to_markdown(report, title=title)
    md += "\n\n## Plots\n\n" + "\n\n".join(f"![{p.stem}]({p.name})" for p in plots) + "\n"
    (out / "report.md").write_text(md, encoding="utf-8")
    (out / "report.json").write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
    console.print(md, markup=False)
    console.print(f"report and {len(plots)} plots written to {out}")


@app.command()
def evaluate(
    run_id: str = typer.Option(..., help="simulator run whose ground truth to compare with"),
    out: Path = typer.Option(..., help="directory for report.md, report.json and the PNGs"),
    start: datetime | None = typer.Option(None, "--from", help="default: first scored window"),
    end: datetime | None = typer.Option(None, "--to", help="default: last scored window"),
    candidate: int | None = typer.Option(
        None, help="score the run with this trained, inactive forest (nothing is written)"
    ),
) -> None:
    """Evaluate the anomalies already scored against a run's ground truth as prediction:
    per fault kind the share of failures warned >= 24 h and >= 72 h ahead (error-code
    rules and the failure's own window excluded), median lead, TTF error (median, p90);
    false alarms per 100 robot-days and the share of healthy robot-days under an alarm;
    sudden kinds reported as detected at failure. Markdown report with PNG plots. With
    --candidate, the run is rescored in memory with that model instead (report only)."""
    if candidate is not None:
        _candidate_report(run_id, candidate, _utc(start), _utc(end), out)
        return
    _write_report(run_id, _utc(start), _utc(end), out)


def _candidate_report(
    run_id: str, model_id: int, start: datetime | None, end: datetime | None, out: Path
) -> None:
    from analytics.evaluation import to_markdown
    from analytics.service import evaluate_candidate
    from core.errors import NotFoundError

    with runtime() as rt, rt.pool.connection() as conn:
        try:
            report = evaluate_candidate(
                conn, run_id=run_id, model_id=model_id, start=start, end=end
            )
        except (ValueError, NotFoundError) as exc:
            raise fail(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    md = to_markdown(report, title=f"Candidate model {model_id} on {run_id} (not active)")
    (out / "report.md").write_text(md, encoding="utf-8")
    (out / "report.json").write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
    console.print(md, markup=False)


@app.command("fit-levels")
def fit_levels(
    run_id: str = typer.Option(..., help="labelled history: a simulator run's ground truth"),
    dry_run: bool = typer.Option(False, help="show the fitted levels without storing them"),
) -> None:
    """Fit each fault kind's degradation model (failure level, saturation, power, trend
    windows, calibrated interval) from labelled history; time-to-failure uses them from
    the next scoring on (a kind keeps its default unless the fit predicted that history
    at least 20 % better)."""
    from analytics.service import fit_failure_levels

    with runtime() as rt, rt.pool.connection() as conn:
        try:
            fitted = fit_failure_levels(
                conn, run_id=run_id, now=rt.clock.now(), store_them=not dry_run
            )
        except ValueError as exc:
            raise fail(str(exc)) from exc
    table = Table(title="degradation models" + (" (not stored)" if dry_run else ""))
    for col in ("kind", "faults", "level", "25–75 %", "power", "saturation", "windows"):
        table.add_column(col)
    for col in ("interval ×", "TTF error", "default's error"):
        table.add_column(col)
    for f in fitted:
        m = f.model
        table.add_row(
            f.kind + ("" if m != f.default else " (default kept)"),
            str(f.n_faults),
            f"{m.level:.3g}",
            f"{f.low:.3g}–{f.high:.3g}",
            f"{m.power:g}",
            "–" if m.saturation is None else f"{m.saturation:g}",
            str(m.windows),
            "–" if m.early is None else f"{m.early:.2f}–{m.late:.2f}",
            "–" if f.error is None else f"{f.error:.2f}",
            "–" if f.default_error is None else f"{f.default_error:.2f}",
        )
    console.print(table)
