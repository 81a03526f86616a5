"""Feature windows computed in PostgreSQL: one operating point per feature, the update's
window marked (issue 21)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from analytics.features_repository import compute_features
from analytics.repository import load_features
from ingest.messages import Reading
from ingest.repository import ensure_days, insert_readings

DAY = datetime(2026, 9, 3, tzinfo=UTC)
ROBOT = "aic-bj-00001"


def reading(seq: int, minute: int, *, fw: str, state: str, flow: float, kpa: float) -> Reading:
    return Reading(
        robot_id=ROBOT,
        seq=seq,
        ts=DAY + timedelta(hours=2, minutes=minute),
        model="AIC-W1",
        fw=fw,
        state=state,
        recipe=None,
        m={"dose_flow_ml_s": flow, "pump_pressure_kpa": kpa, "stir_vib_mm_s": 1.0},
        extra={},
        counters={},
        err=[],
    )


def test_pressure_per_flow_only_while_cooking_and_the_update_window_marked(
    fresh_db: str,
) -> None:
    # Cooking doses at 12 ml/s (98 kPa → 8.17 kPa per ml/s); cleaning rinses at 20 ml/s
    # (150 kPa → 7.5): a median over both would move with the day's mix of the two.
    rows = [reading(i, i, fw="3.2.1", state="cooking", flow=12.0, kpa=98.0) for i in range(5)]
    rows += [
        reading(10 + i, 10 + i, fw="3.3.0", state="cleaning", flow=20.0, kpa=150.0)
        for i in range(9)
    ]
    with psycopg.connect(fresh_db) as conn:
        ensure_days(conn, days=[DAY.date()])
        insert_readings(conn, readings=rows, now=DAY + timedelta(days=1))
        compute_features(conn, start=DAY, end=DAY + timedelta(days=1), now=DAY + timedelta(days=1))
        (row,) = load_features(conn, robots=[ROBOT])
    assert abs(row["pressure_per_flow"] - 98.0 / 12.0) < 1e-9
    assert row["fw_versions"] == 2 and row["fw"] == "3.3.0"  # the version it ended on
