"""Daily preventive generation for a large synthetic fleet.

    python -m bench.scheduler [--robots 10000]

Builds a fresh database with a synthetic fleet (``core.fleet_synth``), the example
plans, and robot counters; then times ``generate_preventive`` (first run: creates
the orders and proposes windows; second run: finds them all existing).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta

import psycopg

from bench.services import REPO, bench_database
from core.fleet import load_fleet_file, parse_fleet
from core.fleet_repository import upsert_fleet
from core.fleet_synth import synthesize
from scheduler.orders import generate_preventive
from scheduler.repository import load_plan_directory


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--robots", type=int, default=10_000)
    args = ap.parse_args()
    now = datetime.now(UTC)
    with bench_database() as db, psycopg.connect(db) as conn:
        fleet = parse_fleet(
            synthesize(
                load_fleet_file(REPO / "examples" / "fleet.yaml"), robots=args.robots, seed=1
            )
        )
        upsert_fleet(conn, fleet=fleet)
        load_plan_directory(conn, REPO / "examples" / "plans", now=now - timedelta(days=20))
        conn.execute(
            "INSERT INTO robot_state (robot_id, last_seen, cycles_total, run_hours, heater_hours)"
            " SELECT robot_id, %s, 1000, 100, 50 FROM robots ON CONFLICT DO NOTHING",
            (now,),
        )
        conn.commit()
        t = time.perf_counter()
        first = generate_preventive(conn, now=now)
        conn.commit()
        t1 = time.perf_counter() - t
        t = time.perf_counter()
        second = generate_preventive(conn, now=now)
        conn.commit()
        t2 = time.perf_counter() - t
    print(
        json.dumps(
            {
                "robots": args.robots,
                "orders_created": len(first.created),
                "first_run_s": round(t1, 2),
                "second_run_s": round(t2, 2),
                "second_run_existing": second.existing,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
