"""Evaluation metrics on hand-built cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.evaluation import combine, episodes, evaluate, to_markdown

T0 = datetime(2026, 1, 1, tzinfo=UTC)
D = timedelta(days=1)
H = timedelta(hours=1)


def anomaly(
    robot: str,
    kind: str,
    day: int,
    pred_day: float | None = None,
    error_code: str | None = None,
) -> dict[str, object]:
    return {
        "robot_id": robot,
        "kind": kind,
        "window_start": T0 + day * D,
        "window_end": T0 + (day + 1) * D,
        "predicted_failure": T0 + pred_day * D if pred_day is not None else None,
        "error_code": error_code,
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
    assert (k.warned_24h, k.warned_72h, k.warned_72h_share) == (1, 1, 0.5)
    # 30 days x 10 robots, minus the two faulty robots from 2 days before onset
    assert rep.healthy_robot_days == pytest.approx(300 - 22 - 27)
    assert rep.healthy_days_alarmed == 1  # robot c, day 3
    md = to_markdown(rep, title="t")
    assert "| cooling_degradation | 2 | 0.50 | 0.50 | 120.0 | 0.10 | 0.18 | 0.50 |" in md


def test_an_error_code_is_not_a_prediction() -> None:
    """Error-code rules (before or at the failure) detect the fault but never warn of it;
    only the baseline alarm ending 72 h before the failure counts as a warning."""
    truth = [fault("a", "dosing_tube_clog", 2, 12), fault("b", "dosing_tube_clog", 2, 12)]
    anomalies = [
        anomaly("a", "dosing_tube_clog", 5, error_code="E310"),  # an early code: still no
        anomaly("a", "dosing_tube_clog", 11, error_code="E310"),
        anomaly("a", "dosing_tube_clog", 12, error_code="E310"),  # the failure's own window
        anomaly("b", "dosing_tube_clog", 8),  # ends day 9: 72 h ahead
        anomaly("b", "dosing_tube_clog", 12),  # the failure's window: not a warning
    ]
    rep = evaluate(truth, anomalies, start=T0, end=T0 + 20 * D, robots=2)
    k = rep.kinds["dosing_tube_clog"]
    assert k.detected == 2 and k.recall == 1.0
    assert (k.warned_24h, k.warned_72h) == (1, 1)
    assert k.lead_hours == [72.0]
    only_codes = evaluate(truth, anomalies[:3], start=T0, end=T0 + 20 * D, robots=2)
    assert only_codes.kinds["dosing_tube_clog"].warned_24h_share == 0.0
    assert only_codes.kinds["dosing_tube_clog"].recall == 0.5


def test_late_estimates_are_counted_from_the_early_end() -> None:
    """An estimate whose early end is after the failure would plan the visit too late."""
    truth = [fault("a", "cooling_degradation", 2, 20)]
    late = {**anomaly("a", "cooling_degradation", 15, pred_day=26), "failure_low": T0 + 22 * D}
    early = {**anomaly("a", "cooling_degradation", 16, pred_day=23), "failure_low": T0 + 19 * D}
    rep = evaluate(truth, [late, early], start=T0, end=T0 + 30 * D, robots=1)
    k = rep.kinds["cooling_degradation"]
    assert k.ttf_late == 1 and k.ttf_late_share == 0.5


def test_a_warning_inside_the_last_day_is_not_24h_ahead() -> None:
    truth = [{**fault("a", "stir_bearing_wear", 2, 12), "failure": T0 + 12 * D + 12 * H}]
    rep = evaluate(
        truth, [anomaly("a", "stir_bearing_wear", 11)], start=T0, end=T0 + 20 * D, robots=1
    )
    k = rep.kinds["stir_bearing_wear"]
    assert k.lead_hours == [12.0] and (k.warned_24h, k.warned_72h) == (0, 0)


def test_sudden_faults_are_reported_as_such() -> None:
    """The exhaust fan has no precursor: detected at failure, no warned share."""
    truth = [fault("a", "exhaust_fan_failure", 9, 9)]
    rep = evaluate(
        truth,
        [anomaly("a", "exhaust_fan_failure", 9, error_code="E401")],
        start=T0,
        end=T0 + 20 * D,
        robots=1,
    )
    k = rep.kinds["exhaust_fan_failure"]
    assert k.sudden and k.recall == 1.0 and k.warned_72h_share is None
    assert "sudden: not predicted" in to_markdown(rep, title="t")


def test_healthy_robot_days_under_alarm_count_days_not_episodes() -> None:
    """One episode of 5 days on a healthy robot is one false alarm but 5 alarmed days."""
    anomalies = [anomaly("h", "dosing_tube_clog", d) for d in range(3, 8)]
    rep = evaluate([], anomalies, start=T0, end=T0 + 10 * D, robots=4)
    assert rep.false_episodes == 1
    assert rep.healthy_robot_days == 40 and rep.healthy_days_alarmed == 5
    assert rep.healthy_days_under_alarm == pytest.approx(5 / 40)


def test_combine_gives_a_confidence_interval_over_seeds() -> None:
    runs = [
        {"false_alarms_per_100_robot_days": v, "healthy_days_under_alarm": None, "kinds": {}}
        for v in (1.0, 2.0, 3.0)
    ]
    out = combine(runs)["false_alarms_per_100_robot_days"]
    assert out["mean"] == 2.0 and out["runs"] == 3
    # t(0.975, 2) = 4.303, sd 1, n 3; a rate is never negative: the low end is clipped
    assert out["ci95"] == pytest.approx([0.0, 2 + 4.303 / 3**0.5], abs=1e-3)
    shares = [
        {"false_alarms_per_100_robot_days": 0, "healthy_days_under_alarm": v, "kinds": {}}
        for v in (0.9, 1.0, 1.0)
    ]
    assert combine(shares)["healthy_days_under_alarm"]["ci95"][1] == 1.0


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


def test_error_code_after_failure_is_detection_without_lead() -> None:
    """A sudden fault caught in the failure window: detected, but no warning (no lead)."""
    truth = [fault("a", "exhaust_fan_failure", 9, 9)]
    rep = evaluate(
        truth, [anomaly("a", "exhaust_fan_failure", 9)], start=T0, end=T0 + 20 * D, robots=1
    )
    k = rep.kinds["exhaust_fan_failure"]
    assert k.detected == 1 and k.lead_hours == []


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
    E401 when it powers on at 10:00 on day 11: detected (no lead). Without knowing when the
    robot came back it would count as missed."""
    failure = T0 + 9 * D + timedelta(hours=21, minutes=40)
    truth = [{"robot_id": "a", "kind": "exhaust_fan_failure", "onset": failure, "failure": failure}]
    on_day_11 = [anomaly("a", "exhaust_fan_failure", 11)]
    missed = evaluate(truth, on_day_11, start=T0, end=T0 + 20 * D, robots=1)
    assert missed.kinds["exhaust_fan_failure"].detected == 0
    truth[0]["reported_at"] = T0 + 11 * D + timedelta(hours=10)
    caught = evaluate(truth, on_day_11, start=T0, end=T0 + 20 * D, robots=1)
    k = caught.kinds["exhaust_fan_failure"]
    assert (k.detected, k.lead_hours) == (1, [])
