"""Evaluation metrics on hand-built cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.evaluation import episodes, evaluate, to_markdown

T0 = datetime(2026, 1, 1, tzinfo=UTC)
D = timedelta(days=1)


def anomaly(robot: str, kind: str, day: int, pred_day: float | None = None) -> dict[str, object]:
    return {
        "robot_id": robot,
        "kind": kind,
        "window_start": T0 + day * D,
        "window_end": T0 + (day + 1) * D,
        "predicted_failure": T0 + pred_day * D if pred_day is not None else None,
    }


def fault(robot: str, kind: str, onset: int, failure: int) -> dict[str, object]:
    return {"robot_id": robot, "kind": kind, "onset": T0 + onset * D, "failure": T0 + failure * D}


def test_recall_lead_time_and_false_alarms() -> None:
    """Two faults (one caught 5 days early, one missed), one false alarm on a healthy robot."""
    truth = [fault("a", "cooling_degradation", 10, 20), fault("b", "cooling_degradation", 5, 15)]
    anomalies = [
        anomaly("a", "cooling_degradation", 14, pred_day=21),  # ends day 15: lead 5 days
        anomaly("a", "cooling_degradation", 15, pred_day=20),
        anomaly("c", "stir_bearing_wear", 3),  # healthy robot: false alarm
    ]
    rep = evaluate(truth, anomalies, start=T0, end=T0 + 30 * D, robots=10)
    k = rep.kinds["cooling_degradation"]
    assert (k.faults, k.detected, k.recall) == (2, 1, 0.5)
    assert k.lead_hours == [120.0]
    # TTF errors: |21-20|/5 = 0.2 and |20-20|/4 = 0
    assert sorted(k.ttf_errors) == pytest.approx([0.0, 0.2])
    assert rep.episodes == 2 and rep.false_episodes == 1
    assert rep.precision == 0.5
    assert rep.false_alarms_per_100_robot_days == pytest.approx(100 / 300)
    assert "cooling_degradation | 2 | 1 | 0.50 | 120.0" in to_markdown(rep, title="t")


def test_wrong_kind_is_neither_detection_nor_true_alarm() -> None:
    """An alarm of another kind on the faulty robot does not detect the fault."""
    truth = [fault("a", "dosing_tube_clog", 2, 8)]
    rep = evaluate(
        truth, [anomaly("a", "cooling_degradation", 6)], start=T0, end=T0 + 10 * D, robots=1
    )
    assert rep.kinds["dosing_tube_clog"].detected == 0
    assert rep.false_episodes == 1


def test_fault_failing_after_the_period_counts_for_precision_only() -> None:
    """Still degrading at the end: not in recall, but its alarms are true alarms."""
    truth = [fault("a", "stir_bearing_wear", 20, 40)]
    rep = evaluate(
        truth, [anomaly("a", "stir_bearing_wear", 25)], start=T0, end=T0 + 30 * D, robots=1
    )
    assert rep.kinds["stir_bearing_wear"].faults == 0
    assert rep.false_episodes == 0 and rep.precision == 1.0


def test_error_code_after_failure_counts_with_zero_lead() -> None:
    """A sudden fault caught by its error code in the failure window: detected, lead 0."""
    truth = [fault("a", "exhaust_fan_failure", 9, 9)]
    rep = evaluate(
        truth, [anomaly("a", "exhaust_fan_failure", 9)], start=T0, end=T0 + 20 * D, robots=1
    )
    k = rep.kinds["exhaust_fan_failure"]
    assert k.detected == 1 and k.lead_hours == [0.0]


def test_episodes_split_on_gaps() -> None:
    eps = episodes([anomaly("a", "x", d) for d in (1, 2, 3, 9, 10)])
    assert [(s.day, e.day) for _, _, s, e in eps] == [(2, 5), (10, 12)]


def test_failure_at_night_is_caught_by_the_next_window() -> None:
    """A fan that dies at 23:00 is reported at the next power-on: the window starting the
    next day still counts as detection."""
    truth = [
        {
            "robot_id": "a",
            "kind": "exhaust_fan_failure",
            "onset": T0 + 9 * D + timedelta(hours=23),
            "failure": T0 + 9 * D + timedelta(hours=23),
        }
    ]
    rep = evaluate(
        truth, [anomaly("a", "exhaust_fan_failure", 10)], start=T0, end=T0 + 20 * D, robots=1
    )
    assert rep.kinds["exhaust_fan_failure"].detected == 1
    late = evaluate(
        truth, [anomaly("a", "exhaust_fan_failure", 12)], start=T0, end=T0 + 20 * D, robots=1
    )
    assert late.kinds["exhaust_fan_failure"].detected == 0


def test_failure_before_a_closed_day_is_caught_at_the_next_power_on() -> None:
    """The fan dies at 21:40 on day 9, the kitchen is closed on day 10, the robot reports
    E401 when it powers on at 10:00 on day 11: detected (lead 0). Without knowing when the
    robot came back it would count as missed."""
    failure = T0 + 9 * D + timedelta(hours=21, minutes=40)
    truth = [{"robot_id": "a", "kind": "exhaust_fan_failure", "onset": failure, "failure": failure}]
    on_day_11 = [anomaly("a", "exhaust_fan_failure", 11)]
    missed = evaluate(truth, on_day_11, start=T0, end=T0 + 20 * D, robots=1)
    assert missed.kinds["exhaust_fan_failure"].detected == 0
    truth[0]["reported_at"] = T0 + 11 * D + timedelta(hours=10)
    caught = evaluate(truth, on_day_11, start=T0, end=T0 + 20 * D, robots=1)
    k = caught.kinds["exhaust_fan_failure"]
    assert (k.detected, k.lead_hours) == (1, [0.0])
