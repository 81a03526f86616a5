"""API latency with a real HTTP client against uvicorn.

    python -m bench.api [--robots 2000] [--requests 300]

A synthetic fleet of N robots with 30 days of hourly and 2 days of minute
rollups (generated in SQL: the endpoints read the rollups, not raw telemetry),
preventive work orders, then p50/p99 of a 90-day telemetry series (500 points)
and of a page of 50 work orders, for a lead and for HQ; then the same page for the
lead while 16 threads try wrong passwords as fast as they can (sign-in throttling
must keep the lead's p99 where it was), with the attackers' request rate beside it.
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
from typing import Any

import httpx2 as httpx  # the HTTP client Starlette 1.x's test client uses too
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
        from scheduler.repository import load_plan_directory

        load_plan_directory(conn, REPO / "examples" / "plans", now=now - timedelta(days=20))
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
            set_password(conn, staff_id=staff, password_hash=hashed, now=now)
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


def _attack(base: str, loops: int, seconds: float, rate: float, out: Any) -> None:
    """In its own process (so the attackers' GIL is not the measuring thread's): ``loops``
    threads post wrong passwords for ``seconds``, as fast as answered (``rate`` 0) or paced to
    ``rate`` requests/s in all; the status counts go to ``out``."""
    import threading

    codes: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop(i: int) -> None:
        gap = loops / rate if rate else 0.0
        with httpx.Client(base_url=base, timeout=10) as c:
            while time.monotonic() < deadline:
                if gap:
                    time.sleep(gap)
                user = "deng-keming" if i % 2 else f"nobody-{i}"
                r = c.post("/api/v1/auth/token", data={"username": user, "password": "wrong"})
                with lock:
                    codes[r.status_code] = codes.get(r.status_code, 0) + 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(loops)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(codes)


def under_attack(
    client: httpx.Client, base: str, headers: dict[str, str], n: int, rate: float = 0.0
) -> dict[str, object]:
    """The lead's page of orders while 16 loops in another process post wrong passwords
    (bounded in time: they stop by themselves)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    seconds = 20.0
    attacker = ctx.Process(target=_attack, args=(base, 16, seconds, rate, out))
    attacker.start()
    time.sleep(3.0)  # let the loops get going (and the per-address budget run out)
    result: dict[str, object] = dict(
        timed(client, "/api/v1/work-orders", headers, n, {"limit": 50, "sort": "due_at"})
    )
    codes: dict[int, int] = out.get(timeout=seconds + 30)
    attacker.join(timeout=30)
    result["bad_logins"] = sum(codes.values())
    result["bad_logins_per_s"] = round(sum(codes.values()) / seconds, 1)
    result["bad_login_status_counts"] = {str(k): v for k, v in sorted(codes.items())}
    return result


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
                out["work_orders_page50_lead_under_16_bad_login_loops"] = under_attack(
                    client, base, lead, args.requests
                )
                out["work_orders_page50_lead_under_200_bad_logins_per_s"] = under_attack(
                    client, base, lead, args.requests, rate=200.0
                )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
