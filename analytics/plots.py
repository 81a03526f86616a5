"""PNG plots of an evaluation for engineers (matplotlib, headless).

- ``lead_times.png``: the distribution of detection lead times per fault kind, with the
  72-hour target marked;
- ``timeline_<robot>_<kind>.png``: one faulty robot per kind — its health indicator
  (relative to the robot's own baseline) over time, the failure level, the fault's
  onset and functional failure, and the anomaly windows of that kind.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from analytics.components import INDICATORS
from analytics.evaluation import Report
from analytics.scoring import ScoringConfig, firmware_segments


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
    ax.set_title("Detection lead time per fault kind")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def timeline_plot(
    fault: dict[str, Any],
    features: list[dict[str, Any]],
    anomalies: list[dict[str, Any]],
    path: Path,
    cfg: ScoringConfig = ScoringConfig(),
) -> Path | None:
    """One robot's health indicator for its fault's kind; None without enough windows."""
    indicator = next((i for i in INDICATORS if i.kind == fault["kind"]), None)
    usable = [r for r in features if r["n_cooking"] >= cfg.min_cooking]
    if indicator is None or len(usable) <= cfg.baseline_windows:
        return None
    times: list[datetime] = []
    health: list[float] = []
    for segment in firmware_segments(usable):
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
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(times, health, marker=".", linewidth=1, label=f"health ({indicator.feature})")
    ax.axhline(indicator.failure_level, color="red", linestyle=":", label="failure level")
    ax.axvline(fault["onset"], color="orange", linestyle="--", label="onset")
    if fault.get("failure"):
        ax.axvline(fault["failure"], color="red", linestyle="--", label="functional failure")
    for i, a in enumerate(x for x in anomalies if x["kind"] == fault["kind"]):
        ax.axvspan(
            a["window_start"],
            a["window_end"],
            color="purple",
            alpha=0.15,
            label="anomaly window" if i == 0 else None,
        )
    ax.set_title(f"{fault['robot_id']} · {fault['kind']}")
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
    by_robot: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in features:
        by_robot[r["robot_id"]].append(r)
    anomalies_by_robot: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in anomalies:
        anomalies_by_robot[a["robot_id"]].append(a)
    seen: set[str] = set()
    for fault in sorted(truth, key=lambda f: (f["kind"], f["robot_id"])):
        if fault["kind"] in seen or not fault.get("failure"):
            continue
        rows = sorted(by_robot.get(fault["robot_id"], []), key=lambda r: r["window_start"])
        path = out / f"timeline_{fault['robot_id']}_{fault['kind']}.png"
        if timeline_plot(fault, rows, anomalies_by_robot.get(fault["robot_id"], []), path):
            written.append(path)
            seen.add(fault["kind"])
    return written
