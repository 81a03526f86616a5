"""API latency with a real HTTP client against uvicorn.

    python -m bench.api [--robots 2000] [--requests 300]

A synthetic fleet of N robots with 30 days of hourly and 2 days of minute
rollups (generated in SQL: the endpoints read the rollups, not raw telemetry),
preventive work orders, then p50/p99 of a 90-day telemetry series (500 points)
and of a page of 50 work orders, for a lead and for HQ.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from bench.services import REPO, bench_database
from core.embedded import free_port, wait_for_port
from core.fleet import load_fleet_file, parse_fleet
from core.fleet_repository import upsert_fleet
from core.fleet_synth import synthesize


def load(db: str, robots: int) -> list[str]:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with psycopg.connect(db) as conn:
        fleet = parse_fleet(
            synthesize(load_fleet_file(REPO / "examples" / "fleet.yaml"), robots=robots, seed=1)
        )
        upsert_fleet(conn, fleet=fleet)
        cols = "wok_temp_c, igbt_temp_c, heater_power_w"
        for table, step, span in (
            ("telemetry_1h", "1 hour", "30 days"),
            ("telemetry_1m", "1 minute", "2 days"),
        ):
            conn.execute(
                f"""
                INSERT INTO {table} (robot_id, bucket, n, {", ".join(f"{c}_avg, {c}_min, {c}_max" for c in cols.split(", "))}, err_count)
                SELECT r.robot_id, b, 60,
                       200 + 10 * random(), 150, 240, 60 + 5 * random(), 40, 80,
                       3000 * random(), 0, 5000, 0
                FROM robots r, generate_series(%s::timestamptz - interval '{span}', %s, interval '{step}') b
            """,
                (now, now),
            )
        from scheduler.orders import generate_preventive
        from scheduler.plans import load_plan_directory

        load_plan_directory(conn, REPO / "examples" / "plans")
        conn.execute("UPDATE maintenance_plans SET loaded_at = %s", (now - timedelta(days=20),))
        conn.execute(
            "INSERT INTO robot_state (robot_id, last_seen, cycles_total, run_hours,"
            " heater_hours) SELECT robot_id, %s, 1000, 100, 50 FROM robots",
            (now,),
        )
        generate_preventive(conn, now=now)
        from api.repository import set_password
        from api.security import hash_password

        hashed = hash_password("bench-password")
        for staff in ("deng-keming", "hq-manager"):
            set_password(conn, staff_id=staff, password_hash=hashed)
        conn.execute("ANALYZE")
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT robot_id FROM robots r JOIN sites s"
                " ON s.id = r.site_id WHERE s.region = 'north'"
            )
        ]
    return ids


def timed(
    client: httpx.Client, url: str, headers: dict[str, str], n: int, params: object = None
) -> dict[str, float]:
    samples = []
    for i in range(n):
        p = params(i) if callable(params) else params
        t = time.perf_counter()
        r = client.get(url(i) if callable(url) else url, headers=headers, params=p)
        samples.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p99_ms": round(samples[int(0.99 * (len(samples) - 1))], 1),
        "requests": n,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--robots", type=int, default=2000)
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()
    out: dict[str, object] = {"robots": args.robots}
    with bench_database() as db:
        t = time.perf_counter()
        north = load(db, args.robots)
        out["load_s"] = round(time.perf_counter() - t, 1)
        port = free_port()
        env = dict(
            os.environ,
            AIC_DATABASE_URL=db,
            AIC_LOG_LEVEL="WARNING",
            AIC_JWT_SECRET="bench-secret-0123456789abcdef0123456789",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "api", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port("127.0.0.1", port, timeout_s=30)
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=10) as client:

                def auth(staff: str) -> dict[str, str]:
                    tok = client.post(
                        "/api/v1/auth/token", data={"username": staff, "password": "bench-password"}
                    )
                    tok.raise_for_status()
                    return {"Authorization": f"Bearer {tok.json()['access_token']}"}

                lead, hq = auth("deng-keming"), auth("hq-manager")
                now = datetime.now(UTC)
                rng = random.Random(1)
                series = {
                    "metric": "igbt_temp_c",
                    "from": (now - timedelta(days=90)).isoformat(),
                    "to": now.isoformat(),
                    "max_points": 500,
                }
                for who, headers in (("lead", lead), ("hq", hq)):
                    out[f"telemetry_90d_500pts_{who}"] = timed(
                        client,
                        lambda i: f"/api/v1/robots/{rng.choice(north)}/telemetry",
                        headers,
                        args.requests,
                        series,
                    )
                    out[f"work_orders_page50_{who}"] = timed(
                        client,
                        "/api/v1/work-orders",
                        headers,
                        args.requests,
                        lambda i: {"limit": 50, "offset": (i % 10) * 50, "sort": "due_at"},
                    )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
