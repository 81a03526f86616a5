"""PNG plots of an evaluation for engineers (matplotlib, headless).

- ``lead_times.png``: the distribution of detection lead times per fault kind, with the
  72-hour target marked;
- ``timeline_<robot>_<kind>.png``: one faulty robot per kind — its health indicator
  (relative to the robot's own baseline) over time, the failure level, the fault's
  onset and functional failure, and the anomaly windows of that kind.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from analytics.components import INDICATORS
from analytics.evaluation import Report
from analytics.segments import ScoringConfig, usable_segments


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def lead_time_plot(report: Report, path: Path) -> Path | None:
    """Histogram of lead times per kind; None if nothing was detected ahead of time."""
    kinds = {k: r.lead_hours for k, r in sorted(report.kinds.items()) if r.lead_hours}
    if not kinds:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.hist(list(kinds.values()), bins=12, stacked=True, label=list(kinds))
    ax.axvline(72, color="black", linestyle="--", linewidth=1)
    ax.text(73, ax.get_ylim()[1] * 0.92, "72 h target", fontsize=8)
    ax.set_xlabel("lead time before functional failure (h)")
    ax.set_ylabel("faults")
    ax.set_title("Warning lead time per fault kind (error codes excluded)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@dataclass(frozen=True)
class Timeline:
    """A faulty robot's health indicator over time, as the detectors see it."""

    robot_id: str
    kind: str
    feature: str
    failure_level: float
    times: list[datetime]
    health: list[float]
    onset: datetime
    failure: datetime | None
    anomalies: list[tuple[datetime, datetime]]


def timeline(
    fault: dict[str, Any],
    features: list[dict[str, Any]],
    anomalies: list[dict[str, Any]],
    cfg: ScoringConfig = ScoringConfig(),
) -> Timeline | None:
    """The health indicator of the fault's kind relative to the robot's baseline on each
    firmware version; None without a baseline."""
    indicator = next((i for i in INDICATORS if i.kind == fault["kind"]), None)
    usable = [r for r in features if r["n_cooking"] >= cfg.min_cooking]
    if indicator is None or len(usable) <= cfg.baseline_windows:
        return None
    times: list[datetime] = []
    health: list[float] = []
    for segment in usable_segments(features, cfg):
        base_rows = segment[: cfg.baseline_windows]
        values = sorted(float(r[indicator.feature]) for r in base_rows if r[indicator.feature])
        if len(segment) <= cfg.baseline_windows or not values:
            continue
        base = values[len(values) // 2]
        for r in segment:
            if r[indicator.feature] is not None:
                times.append(r["window_start"])
                health.append(indicator.direction * (float(r[indicator.feature]) / base - 1))
    if not times:
        return None
    return Timeline(
        fault["robot_id"],
        fault["kind"],
        indicator.feature,
        cfg.degradation_model(indicator.kind).level,
        times,
        health,
        fault["onset"],
        fault.get("failure"),
        [(a["window_start"], a["window_end"]) for a in anomalies if a["kind"] == fault["kind"]],
    )


def timeline_plot(
    fault: dict[str, Any],
    features: list[dict[str, Any]],
    anomalies: list[dict[str, Any]],
    path: Path,
    cfg: ScoringConfig = ScoringConfig(),
) -> Path | None:
    """One robot's health indicator for its fault's kind; None without enough windows."""
    t = timeline(fault, features, anomalies, cfg)
    if t is None:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(t.times, t.health, marker=".", linewidth=1, label=f"health ({t.feature})")
    ax.axhline(t.failure_level, color="red", linestyle=":", label="failure level")
    ax.axvline(t.onset, color="orange", linestyle="--", label="onset")
    if t.failure:
        ax.axvline(t.failure, color="red", linestyle="--", label="functional failure")
    for i, (a_start, a_end) in enumerate(t.anomalies):
        ax.axvspan(
            a_start, a_end, color="purple", alpha=0.15, label="anomaly window" if i == 0 else None
        )
    ax.set_title(f"{t.robot_id} · {t.kind}")
    ax.set_ylabel("relative to the robot's baseline")
    ax.legend(fontsize=7, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(
    report: Report,
    truth: list[dict[str, Any]],
    features: list[dict[str, Any]],
    anomalies: list[dict[str, Any]],
    out: Path,
) -> list[Path]:
    """The lead-time plot and one timeline per fault kind (its first fault that failed)."""
    out.mkdir(parents=True, exist_ok=True)
    written = [p for p in [lead_time_plot(report, out / "lead_times.png")] if p]
    for fault, rows, robot_anomalies in one_fault_per_kind(truth, features, anomalies):
        path = out / f"timeline_{fault['robot_id']}_{fault['kind']}.png"
        if timeline_plot(fault, rows, robot_anomalies, path):
            written.append(path)
    return written


def one_fault_per_kind(
    truth: list[dict[str, Any]], features: list[dict[str, Any]], anomalies: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]]:
    """(fault, its robot's windows, its robot's anomalies) for the first failed fault of
    each gradual kind that has windows to show."""
    by_robot: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in features:
        by_robot[r["robot_id"]].append(r)
    anomalies_by_robot: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in anomalies:
        anomalies_by_robot[a["robot_id"]].append(a)
    seen: set[str] = set()
    out = []
    for fault in sorted(truth, key=lambda f: (f["kind"], f["robot_id"])):
        if fault["kind"] in seen or not fault.get("failure"):
            continue
        rows = sorted(by_robot.get(fault["robot_id"], []), key=lambda r: r["window_start"])
        robot_anomalies = anomalies_by_robot.get(fault["robot_id"], [])
        if timeline(fault, rows, robot_anomalies) is not None:
            out.append((fault, rows, robot_anomalies))
            seen.add(fault["kind"])
    return out
