"""Scoring fault models against the simulator's ground truth.

Definitions (also in docs/fault-models.md):

- A fault *counts for recall* when it failed inside the evaluated period. It is
  *detected* when an anomaly of the same robot and fault kind starts at most one
  window after the failure — or after the robot's first reading after the failure
  (``reported_at``), when it was switched off: a fan that dies at night before a
  closed day is reported at the next power-on, and that counts, with lead time 0.
- *Lead time*: failure time minus the end of the first matching anomaly window
  (floored at 0).
- Anomalies of a robot and kind form *episodes* (gaps ≤ 2 days). An episode is
  a true alarm when the robot has a fault of that kind with onset − 2 days ≤
  episode start ≤ failure + 2 days (faults still degrading at the end count);
  otherwise it is a false alarm.
- *TTF error*: for matching anomalies in the last 7 days before failure that
  carry a predicted failure, ``|predicted − failure| / (failure − window end)``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

GRACE = timedelta(days=2)


@dataclass
class KindReport:
    kind: str
    faults: int = 0
    detected: int = 0
    lead_hours: list[float] = field(default_factory=list)
    ttf_errors: list[float] = field(default_factory=list)
    true_episodes: int = 0

    @property
    def recall(self) -> float | None:
        return self.detected / self.faults if self.faults else None

    @property
    def median_lead_h(self) -> float | None:
        return median(self.lead_hours) if self.lead_hours else None

    @property
    def median_ttf_error(self) -> float | None:
        return median(self.ttf_errors) if self.ttf_errors else None


@dataclass
class Report:
    kinds: dict[str, KindReport]
    episodes: int
    false_episodes: int
    robot_days: float

    @property
    def precision(self) -> float | None:
        return (self.episodes - self.false_episodes) / self.episodes if self.episodes else None

    @property
    def false_alarms_per_100_robot_days(self) -> float:
        return 100 * self.false_episodes / self.robot_days if self.robot_days else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "false_alarms_per_100_robot_days": round(self.false_alarms_per_100_robot_days, 3),
            "episodes": self.episodes,
            "false_episodes": self.false_episodes,
            "kinds": {
                k: {
                    "faults": r.faults,
                    "detected": r.detected,
                    "recall": r.recall,
                    "median_lead_h": r.median_lead_h,
                    "median_ttf_error": r.median_ttf_error,
                }
                for k, r in sorted(self.kinds.items())
            },
        }


def episodes(anomalies: list[dict[str, Any]]) -> list[tuple[str, str, datetime, datetime]]:
    """Group anomalies into (robot, kind, start, end) episodes with gaps of at most 2 days."""
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for a in anomalies:
        by_key[(a["robot_id"], a["kind"])].append(a)
    out = []
    for (robot, kind), items in by_key.items():
        items.sort(key=lambda a: a["window_start"])
        start, end = items[0]["window_start"], items[0]["window_end"]
        for a in items[1:]:
            if a["window_start"] - end > GRACE:
                out.append((robot, kind, start, end))
                start = a["window_start"]
            end = max(end, a["window_end"])
        out.append((robot, kind, start, end))
    return out


def evaluate(
    truth: list[dict[str, Any]],
    anomalies: list[dict[str, Any]],
    *,
    start: datetime,
    end: datetime,
    robots: int,
    window: timedelta = timedelta(days=1),
) -> Report:
    """Compare anomalies (dicts with robot_id, kind, window_start, window_end, predicted_failure)
    with ground-truth faults (robot_id, kind, onset, failure) over [start, end)."""
    kinds: dict[str, KindReport] = {}
    by_robot_kind: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for a in anomalies:
        by_robot_kind[(a["robot_id"], a["kind"])].append(a)
    for f in truth:
        rep = kinds.setdefault(f["kind"], KindReport(f["kind"]))
        if not (start <= f["failure"] < end):
            continue
        rep.faults += 1
        matches = sorted(
            (
                a
                for a in by_robot_kind[(f["robot_id"], f["kind"])]
                if a["window_end"] >= f["onset"] - GRACE
                and a["window_start"]
                <= max(f["failure"], f.get("reported_at") or f["failure"]) + window
            ),
            key=lambda a: a["window_end"],
        )
        if not matches:
            continue
        rep.detected += 1
        lead = (f["failure"] - matches[0]["window_end"]).total_seconds() / 3600
        rep.lead_hours.append(max(0.0, lead))
        for a in matches:
            left = f["failure"] - a["window_end"]
            pred = a.get("predicted_failure")
            if pred is not None and timedelta(0) < left <= timedelta(days=7):
                rep.ttf_errors.append(
                    abs((pred - f["failure"]).total_seconds()) / left.total_seconds()
                )
    faults_by_robot: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in truth:
        faults_by_robot[f["robot_id"]].append(f)
    eps = episodes(anomalies)
    false = 0
    for robot, kind, ep_start, _ in eps:
        ok = any(
            f["kind"] == kind and f["onset"] - GRACE <= ep_start <= f["failure"] + GRACE
            for f in faults_by_robot[robot]
        )
        if ok:
            kinds.setdefault(kind, KindReport(kind)).true_episodes += 1
        else:
            false += 1
    days = (end - start).total_seconds() / 86400
    return Report(kinds, len(eps), false, robots * days)


def to_markdown(report: Report, *, title: str) -> str:
    lines = [
        f"# {title}",
        "",
        f"- precision (alarm episodes): {_fmt(report.precision)}",
        f"- false alarms per 100 robot-days: {report.false_alarms_per_100_robot_days:.2f}",
        f"- episodes: {report.episodes} ({report.false_episodes} false)",
        "",
        "| fault kind | failed in period | detected | recall | median lead (h) | median TTF error |",
        "|---|---|---|---|---|---|",
    ]
    for k, r in sorted(report.kinds.items()):
        lines.append(
            f"| {k} | {r.faults} | {r.detected} | {_fmt(r.recall)} | "
            f"{_fmt(r.median_lead_h, 1)} | {_fmt(r.median_ttf_error)} |"
        )
    return "\n".join(lines) + "\n"


def _fmt(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"
