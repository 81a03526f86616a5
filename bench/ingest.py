"""Ingest benchmark: publish → commit throughput and latency, with the raw ceilings.

    python -m bench.ingest [--readings 300000] [--singles 100000] [--seconds 10]

Runs a private Mosquitto (project settings), a fresh database on the local
PostgreSQL (or an embedded one), `aic ingest` as a separate process, and load
generator processes, all on this machine. Prints one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from bench.services import (
    REPO,
    bench_broker,
    bench_database,
    proc_cpu_seconds,
    proc_peak_rss_mb,
    wait_rows,
)
from core.settings import parse_mqtt_url

M = {
    "wok_temp_c": 212.5,
    "heater_power_w": 3480.0,
    "igbt_temp_c": 71.2,
    "stir_current_a": 2.1,
    "stir_rpm": 42.0,
    "stir_vib_mm_s": 1.8,
    "pump_pressure_kpa": 152.0,
    "dose_flow_ml_s": 0.0,
    "exhaust_fan_rpm": 2400.0,
    "cabinet_temp_c": 38.0,
}


def robot_ids(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT robot_id FROM robots ORDER BY 1")]


def reading(robot: str, seq: int, ts: str) -> dict[str, Any]:
    m = dict(M)
    m["wok_temp_c"] = 180.0 + seq % 50
    return {
        "v": 1,
        "robot_id": robot,
        "seq": seq,
        "ts": ts,
        "model": "AIC-W1",
        "fw": "3.2.1",
        "state": "cooking",
        "recipe": "gongbao-chicken",
        "m": m,
        "c": {"cycles_total": seq, "heater_hours": 10.5, "run_hours": 20.25},
        "err": [],
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def publisher(
    url: str, robots: list[str], total: int, per_msg: int, rate: float, seq0: int, out: Any
) -> None:
    """Publish ``total`` readings (``per_msg`` per message) at ``rate`` readings/s (0 = max)."""
    ep = parse_mqtt_url(url)
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}", protocol=mqtt.MQTTv5
    )
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect(ep.host, ep.port)
    c.loop_start()
    sent = 0
    seqs = dict.fromkeys(robots, seq0)
    started = time.monotonic()
    infos = []
    i = 0
    while sent < total:
        robot = robots[i % len(robots)]
        i += 1
        n = min(per_msg, total - sent)
        ts = _now()
        items = []
        for _ in range(n):
            seqs[robot] += 1
            items.append(reading(robot, seqs[robot], ts))
        body = items[0] if per_msg == 1 else {"batch": items}
        infos.append(c.publish(f"aic/v1/{robot}/telemetry", json.dumps(body), qos=1))
        sent += n
        if rate:
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        if len(infos) > 5000:
            infos[0].wait_for_publish(60)
            infos = [x for x in infos if not x.is_published()]
    for info in infos:
        info.wait_for_publish(120)
    c.disconnect()
    c.loop_stop()
    out.put(time.monotonic() - started)


def load(
    url: str, robots: list[str], total: int, per_msg: int, rate: float, procs: int, seq0: int
) -> float:
    """Run ``procs`` publisher processes; return the slowest one's seconds."""
    q: Any = mp.get_context("fork").Queue()
    ps = [
        mp.get_context("fork").Process(
            target=publisher,
            args=(url, robots[k::procs], total // procs, per_msg, rate / procs, seq0, q),
        )
        for k in range(procs)
    ]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    return max(q.get() for _ in ps)


class Ingest:
    """`aic ingest` as its own process, so its CPU and memory can be measured."""

    def __init__(self, db: str, mqtt_url: str, log: Path) -> None:
        env = dict(os.environ, AIC_DATABASE_URL=db, AIC_MQTT_URL=mqtt_url, AIC_LOG_LEVEL="WARNING")
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli.main",
                "ingest",
                "--client-id",
                "bench-ingest",
                "--insecure-broker",
            ],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while b"ingest running" not in log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text())
            time.sleep(0.05)
        self.cpu0 = proc_cpu_seconds(self.proc.pid)

    def stop(self) -> tuple[float, float]:
        cpu = proc_cpu_seconds(self.proc.pid) - self.cpu0
        rss = proc_peak_rss_mb(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()
        return cpu, rss


def latency(db: str) -> dict[str, float]:
    with psycopg.connect(db) as conn:
        row = conn.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY e),"
            "       percentile_cont(0.99) WITHIN GROUP (ORDER BY e), max(e)"
            " FROM (SELECT extract(epoch FROM received_at - ts) AS e FROM telemetry) x"
        ).fetchone()
    assert row is not None
    return {
        "p50_s": round(float(row[0]), 3),
        "p99_s": round(float(row[1]), 3),
        "max_s": round(float(row[2]), 3),
    }


def span(db: str, t0: datetime) -> float:
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT max(received_at) FROM telemetry").fetchone()
    assert row is not None
    return float((row[0] - t0).total_seconds())


def reset(db: str) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("TRUNCATE telemetry, robot_state, seq_gaps, quarantine")


def copy_ceiling(db: str, robots: list[str], n: int) -> dict[str, float]:
    """Raw COPY into telemetry, and the writer's staged path (COPY + INSERT ON CONFLICT)."""
    from ingest import repository as repo
    from ingest.messages import parse_message

    ts = _now()
    readings = []
    for i in range(n):
        robot = robots[i % len(robots)]
        body = json.dumps(reading(robot, 10_000_000 + i, ts)).encode()
        readings.extend(
            parse_message(f"aic/v1/{robot}/telemetry", body, now=datetime.now(UTC)).readings
        )
    cols = ", ".join(repo.TELEMETRY_COLUMNS)
    received = datetime.now(UTC)
    rows = [repo._row(r, received) for r in readings]
    with psycopg.connect(db, autocommit=True) as conn:
        repo.ensure_days(conn, days=[readings[0].ts.date()])
        t = time.perf_counter()
        with (
            conn.transaction(),
            conn.cursor() as cur,
            cur.copy(f"COPY telemetry ({cols}) FROM STDIN") as cp,
        ):
            for row in rows:
                cp.write_row(row)
        raw = n / (time.perf_counter() - t)
        conn.execute("TRUNCATE telemetry")
        repo.prepare_session(conn)
        t = time.perf_counter()
        for i in range(0, n, 5000):
            with conn.transaction():
                repo.insert_readings(conn, readings=readings[i : i + 5000], now=received)
        staged = n / (time.perf_counter() - t)
    reset(db)
    return {"raw_copy_rows_s": round(raw), "staged_insert_rows_s": round(staged)}


def broker_ceiling(url: str, n: int) -> float:
    """QoS 1 singles through the broker to a plain subscriber (auto ack): messages/s."""
    ep = parse_mqtt_url(url)
    got = 0
    done = mp.get_context("fork").Event()

    def on_message(c: mqtt.Client, u: object, m: mqtt.MQTTMessage) -> None:
        nonlocal got
        got += 1
        if got >= n:
            done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-ceiling", protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    sub.connect(ep.host, ep.port)
    sub.subscribe("ceiling/#", qos=1)
    sub.loop_start()
    time.sleep(0.3)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.max_inflight_messages_set(1000)
    pub.max_queued_messages_set(0)
    pub.connect(ep.host, ep.port)
    pub.loop_start()
    payload = json.dumps(reading("aic-bj-00001", 1, _now()))
    t = time.perf_counter()
    for _ in range(n):
        pub.publish("ceiling/x", payload, qos=1)
    done.wait(300)
    rate = n / (time.perf_counter() - t)
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--readings", type=int, default=300_000, help="readings in batch messages")
    ap.add_argument("--singles", type=int, default=100_000, help="single-reading messages")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each latency run")
    ap.add_argument("--publishers", type=int, default=2)
    args = ap.parse_args()
    out: dict[str, Any] = {}
    with bench_database() as db, bench_broker() as broker:
        robots = robot_ids(db)
        out["ceilings"] = copy_ceiling(db, robots, 100_000)
        out["ceilings"]["broker_qos1_msgs_s"] = round(broker_ceiling(broker, 50_000))
        log_dir = Path(os.environ.get("TMPDIR", "/tmp"))
        runs = [
            ("batch_max", args.readings, 100, 0.0),
            ("single_max", args.singles, 1, 0.0),
            ("batch_25k_per_s", int(25_000 * args.seconds), 100, 25_000.0),
            ("single_7500_per_s", int(7_500 * args.seconds), 1, 7_500.0),
        ]
        seq0 = 0
        for name, total, per_msg, rate in runs:
            reset(db)
            ingest = Ingest(db, broker, log_dir / f"bench-ingest-{name}.log")
            t0 = datetime.now(UTC)
            pub_s = load(broker, robots, total, per_msg, rate, args.publishers, seq0)
            seq0 += total
            wait_rows(db, total - total % args.publishers)
            elapsed = span(db, t0)
            cpu, rss = ingest.stop()
            stored = total - total % args.publishers
            out[name] = {
                "readings": stored,
                "per_message": per_msg,
                "target_rate": rate or None,
                "publish_s": round(pub_s, 2),
                "end_to_end_s": round(elapsed, 2),
                "readings_s": round(stored / elapsed),
                "messages_s": round(stored / per_msg / elapsed),
                "ingest_cpu_s": round(cpu, 1),
                "ingest_cpu_pct": round(100 * cpu / elapsed),
                "ingest_peak_rss_mb": round(rss),
                **latency(db),
            }
            print(name, json.dumps(out[name]), file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
