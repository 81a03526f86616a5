"""Scoring fault models against the simulator's ground truth — as *prediction*.

Definitions (also in docs/fault-models.md):

- A fault *counts* when it failed inside the evaluated period.
- A *warning* is an anomaly of the same robot and fault kind that is not an error-code
  rule (a failure's own error code is not a prediction), whose window ends at or before
  the failure (the failure's own window is excluded) and at most 2 days before the onset.
  *Lead*: failure time minus the end of the first warning window. A fault is *warned
  ≥ 24 h / ≥ 72 h* when that lead is at least 24 / 72 hours.
- *Sudden* kinds (no precursor: the exhaust fan) are not predicted by design. They are
  reported as *detected at failure*: any anomaly of the kind, error codes included,
  starting at most one window after the failure — or after the robot's first reading
  after the failure (``reported_at``), when it was switched off. They are excluded from
  the predictive targets.
- Anomalies of a robot and kind form *episodes* (gaps ≤ 2 days). An episode is a true
  alarm when the robot has a fault of that kind with onset − 2 days ≤ episode start ≤
  failure + 2 days (faults still degrading at the end count); otherwise it is a false
  alarm.
- *Healthy robot-days under alarm*: of the robot-days outside every fault's span
  (onset − 2 days onward), the share that an anomaly window of that robot overlaps.
- *TTF error*: for warnings in the last 7 days before failure that carry a predicted
  failure, ``|predicted − failure| / (failure − window end)``; median and 90th percentile.
  *Late estimates*: the share of those whose early end (``failure_low``, from which the
  scheduler sets due dates) is after the real failure.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import mean, median, stdev
from typing import Any

from analytics.components import INDICATORS

GRACE = timedelta(days=2)
SUDDEN_KINDS = frozenset(i.kind for i in INDICATORS if i.sudden)


def is_prediction(anomaly: dict[str, Any]) -> bool:
    """False for an error-code rule: the robot reporting its own failure predicts nothing."""
    return not anomaly.get("error_code")


@dataclass
class KindReport:
    kind: str
    faults: int = 0
    detected: int = 0  # any anomaly by one window after the failure (error codes included)
    warned_24h: int = 0
    warned_72h: int = 0
    lead_hours: list[float] = field(default_factory=list)  # of warned faults (predictive)
    ttf_errors: list[float] = field(default_factory=list)
    ttf_late: int = 0  # estimates whose early end (what due dates use) is after the failure
    true_episodes: int = 0

    @property
    def sudden(self) -> bool:
        return self.kind in SUDDEN_KINDS

    @property
    def recall(self) -> float | None:
        """Detected at or before failure (error codes included) — not a prediction measure."""
        return self.detected / self.faults if self.faults else None

    @property
    def warned_24h_share(self) -> float | None:
        return self.warned_24h / self.faults if self.faults and not self.sudden else None

    @property
    def warned_72h_share(self) -> float | None:
        return self.warned_72h / self.faults if self.faults and not self.sudden else None

    @property
    def median_lead_h(self) -> float | None:
        return median(self.lead_hours) if self.lead_hours else None

    @property
    def median_ttf_error(self) -> float | None:
        return median(self.ttf_errors) if self.ttf_errors else None

    @property
    def ttf_late_share(self) -> float | None:
        return self.ttf_late / len(self.ttf_errors) if self.ttf_errors else None

    @property
    def p90_ttf_error(self) -> float | None:
        return quantile(self.ttf_errors, 0.9) if self.ttf_errors else None


@dataclass
class Report:
    kinds: dict[str, KindReport]
    episodes: int
    false_episodes: int
    robot_days: float
    healthy_robot_days: float = 0.0
    healthy_days_alarmed: int = 0

    @property
    def precision(self) -> float | None:
        return (self.episodes - self.false_episodes) / self.episodes if self.episodes else None

    @property
    def false_alarms_per_100_robot_days(self) -> float:
        return 100 * self.false_episodes / self.robot_days if self.robot_days else 0.0

    @property
    def healthy_days_under_alarm(self) -> float | None:
        if not self.healthy_robot_days:
            return None
        return self.healthy_days_alarmed / self.healthy_robot_days

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "false_alarms_per_100_robot_days": round(self.false_alarms_per_100_robot_days, 3),
            "healthy_days_under_alarm": _round(self.healthy_days_under_alarm, 4),
            "healthy_robot_days": round(self.healthy_robot_days, 1),
            "episodes": self.episodes,
            "false_episodes": self.false_episodes,
            "kinds": {
                k: {
                    "sudden": r.sudden,
                    "faults": r.faults,
                    "detected": r.detected,
                    "warned_24h": _round(r.warned_24h_share, 3),
                    "warned_72h": _round(r.warned_72h_share, 3),
                    "median_lead_h": _round(r.median_lead_h, 1),
                    "median_ttf_error": _round(r.median_ttf_error, 3),
                    "p90_ttf_error": _round(r.p90_ttf_error, 3),
                    "ttf_early_end_after_failure": _round(r.ttf_late_share, 3),
                }
                for k, r in sorted(self.kinds.items())
            },
        }


def quantile(values: list[float], q: float) -> float:
    """Linear-interpolated quantile (numpy's default) of a non-empty list."""
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


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


def _score_fault(
    rep: KindReport, f: dict[str, Any], matches: list[dict[str, Any]], window: timedelta
) -> None:
    """Detection (any anomaly by one window after failure), warning lead, TTF errors."""
    reported = max(f["failure"], f.get("reported_at") or f["failure"])
    if any(a["window_start"] <= reported + window for a in matches):
        rep.detected += 1
    warnings = [a for a in matches if is_prediction(a) and a["window_end"] <= f["failure"]]
    if not warnings:
        return
    lead_h = (f["failure"] - warnings[0]["window_end"]).total_seconds() / 3600
    rep.lead_hours.append(lead_h)
    rep.warned_24h += lead_h >= 24
    rep.warned_72h += lead_h >= 72
    for a in warnings:
        left = f["failure"] - a["window_end"]
        pred = a.get("predicted_failure")
        if pred is not None and timedelta(0) < left <= timedelta(days=7):
            rep.ttf_errors.append(abs((pred - f["failure"]).total_seconds()) / left.total_seconds())
            rep.ttf_late += min(pred, a.get("failure_low") or pred) > f["failure"]


def _healthy_days(
    truth: list[dict[str, Any]],
    anomalies: list[dict[str, Any]],
    *,
    start: datetime,
    end: datetime,
    robots: int,
) -> tuple[float, int]:
    """Healthy robot-days (outside every fault's span) and how many of them an anomaly covers."""
    days = (end - start).total_seconds() / 86400
    sick_from: dict[str, datetime] = {}
    for f in truth:
        t = max(start, f["onset"] - GRACE)
        sick_from[f["robot_id"]] = min(sick_from.get(f["robot_id"], end), t)
    healthy = robots * days - sum(
        max(0.0, (end - t).total_seconds() / 86400) for t in sick_from.values()
    )
    alarmed: set[tuple[str, int]] = set()
    one = timedelta(days=1)
    for a in anomalies:
        limit = min(end, sick_from.get(a["robot_id"], end))
        t = max(start, a["window_start"])
        while t < min(a["window_end"], limit):
            day = int((t - start) / one)
            if start + (day + 1) * one <= limit:  # whole day healthy
                alarmed.add((a["robot_id"], day))
            t = start + (day + 1) * one
    return healthy, len(alarmed)


def evaluate(
    truth: list[dict[str, Any]],
    anomalies: list[dict[str, Any]],
    *,
    start: datetime,
    end: datetime,
    robots: int,
    window: timedelta = timedelta(days=1),
) -> Report:
    """Compare anomalies (dicts with robot_id, kind, window_start, window_end,
    predicted_failure and, for rules, error_code) with ground-truth faults (robot_id, kind,
    onset, failure) over [start, end)."""
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
            ),
            key=lambda a: a["window_end"],
        )
        _score_fault(rep, f, matches, window)
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
    healthy, alarmed = _healthy_days(truth, anomalies, start=start, end=end, robots=robots)
    days = (end - start).total_seconds() / 86400
    return Report(kinds, len(eps), false, robots * days, healthy, alarmed)


def combine(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and 95 % confidence interval (Student t over runs) of each figure of several
    runs' ``Report.as_dict()`` (seeds of one variant); None where a run has no value.
    Intervals of shares are clipped to [0, 1], of other figures to >= 0."""
    shares = {"healthy_days_under_alarm", "warned_24h", "warned_72h", "ttf_early_end_after_failure"}

    def stat(key: str, values: list[float | None]) -> dict[str, Any]:
        v = [x for x in values if x is not None]
        if not v:
            return {"mean": None, "ci95": None, "runs": 0}
        if len(v) == 1:
            return {"mean": round(v[0], 4), "ci95": None, "runs": 1}
        half = _T975.get(len(v) - 1, 1.96) * stdev(v) / math.sqrt(len(v))
        m = mean(v)
        hi = min(1.0, m + half) if key in shares else m + half
        return {
            "mean": round(m, 4),
            "ci95": [round(max(0.0, m - half), 4), round(hi, 4)],
            "runs": len(v),
        }

    out: dict[str, Any] = {
        key: stat(key, [r[key] for r in reports])
        for key in ("false_alarms_per_100_robot_days", "healthy_days_under_alarm")
    }
    per_kind: tuple[str, ...] = ("warned_24h", "warned_72h", "median_lead_h", "median_ttf_error")
    per_kind += ("p90_ttf_error", "ttf_early_end_after_failure")
    out["kinds"] = {
        k: {
            "faults": sum(r["kinds"].get(k, {}).get("faults", 0) for r in reports),
            **{m: stat(m, [r["kinds"].get(k, {}).get(m) for r in reports]) for m in per_kind},
        }
        for k in sorted({k for r in reports for k in r["kinds"]})
    }
    return out


_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def to_markdown(report: Report, *, title: str) -> str:
    lines = [
        f"# {title}",
        "",
        f"- false alarms per 100 robot-days: {report.false_alarms_per_100_robot_days:.2f}",
        f"- healthy robot-days under an active alarm: {_pct(report.healthy_days_under_alarm)}"
        f" (of {report.healthy_robot_days:.0f})",
        f"- alarm episodes: {report.episodes} ({report.false_episodes} false;"
        f" precision {_fmt(report.precision)})",
        "",
        "Warned = a non-error-code anomaly of the fault's kind ending before the failure.",
        "",
        "| fault kind | failed in period | warned ≥ 24 h | warned ≥ 72 h | median lead (h) |"
        " TTF error median | TTF error p90 | detected by failure (incl. error codes) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for k, r in sorted(report.kinds.items()):
        if r.sudden:
            warned = "sudden: not predicted"
            lines.append(
                f"| {k} | {r.faults} | {warned} | {warned} | – | – | – | {_fmt(r.recall)} |"
            )
            continue
        lines.append(
            f"| {k} | {r.faults} | {_fmt(r.warned_24h_share)} | {_fmt(r.warned_72h_share)} | "
            f"{_fmt(r.median_lead_h, 1)} | {_fmt(r.median_ttf_error)} | {_fmt(r.p90_ttf_error)} | "
            f"{_fmt(r.recall)} |"
        )
    return "\n".join(lines) + "\n"


def _fmt(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.2f} %"


def _round(v: float | None, digits: int) -> float | None:
    return None if v is None else round(v, digits)
