"""Ingest benchmark: publish → commit throughput and latency, with the ceilings.

    python -m bench.ingest [--readings 300000] [--singles 100000] [--seconds 10]

Runs a private Mosquitto (project settings), a fresh database on the local
PostgreSQL (or an embedded one), and `aic ingest` (1 and 2 workers) as separate
processes, all on this machine. The load generator is C: one `mosquitto_pub -l`
(QoS 1) per robot (Debian's mosquitto-clients). In the same run it measures the
ceilings — raw COPY into telemetry, and a bare paho subscriber that only counts the
same C publishers' messages — and prints ingest's figures as ratios of them; then
publish→commit latency at half of the best maximum. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from bench.services import (
    REPO,
    CpuMeter,
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


def _messages(
    robots: list[str], total: int, per_msg: int, seq0: int
) -> Iterator[tuple[str, bytes]]:
    """``total`` readings as (robot, one-line JSON message) with ``per_msg`` readings each,
    round robin over the robots; each message is timestamped when it is generated."""
    seqs = dict.fromkeys(robots, seq0)
    sent, i = 0, 0
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
        yield robot, json.dumps(body).encode() + b"\n"
        sent += n


def _c_publishers(
    url: str, robots: list[str], inputs: dict[str, Path] | None = None
) -> list[subprocess.Popen[bytes]]:
    """One ``mosquitto_pub -l`` (C, QoS 1) per robot, reading messages from a file (all at
    once, in parallel) or from a pipe (paced)."""
    ep = parse_mqtt_url(url)
    procs = []
    for r in robots:
        cmd = ["mosquitto_pub", "-h", ep.host, "-p", str(ep.port), "-q", "1", "-l",
               "-i", f"bench-pub-{r}", "-t", f"aic/v1/{r}/telemetry"]  # fmt: skip
        if inputs is None:
            procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE))
        else:
            with inputs[r].open("rb") as f:
                procs.append(subprocess.Popen(cmd, stdin=f))
    return procs


def load(
    url: str, robots: list[str], total: int, per_msg: int, rate: float, seq0: int,
    on_start: Callable[[], object] = lambda: None,
) -> tuple[datetime, float]:  # fmt: skip
    """Publish with C clients, one per robot: as fast as they go (rate 0: each reads its
    messages from a file written beforehand, timestamped when built), or paced at ``rate``
    readings/s (each message timestamped as it is handed over). Returns when publishing
    began (after the files were written: building them is not ingest's time) and the
    seconds until all publishers exit; ``on_start`` is called as publishing begins."""
    if not rate:
        lines: dict[str, list[bytes]] = {r: [] for r in robots}
        for robot, line in _messages(robots, total, per_msg, seq0):
            lines[robot].append(line)
        tmp = Path(tempfile.mkdtemp(prefix="bench-pub-"))
        inputs = {r: tmp / f"{r}.jsonl" for r in robots}
        for r, path in inputs.items():
            path.write_bytes(b"".join(lines[r]))
        on_start()
        began, started = datetime.now(UTC), time.monotonic()
        pubs = _c_publishers(url, robots, inputs)
    else:
        pubs = _c_publishers(url, robots)
        by_robot = dict(zip(robots, pubs, strict=True))
        time.sleep(3.0)  # let every publisher connect first: messages are stamped when sent
        on_start()
        began, started = datetime.now(UTC), time.monotonic()
        sent = 0
        for robot, line in _messages(robots, total, per_msg, seq0):
            stdin = by_robot[robot].stdin
            assert stdin is not None
            stdin.write(line)
            stdin.flush()
            sent += per_msg
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        for proc in pubs:
            assert proc.stdin is not None
            proc.stdin.close()
    for proc in pubs:
        proc.wait(timeout=600)
    return began, time.monotonic() - started


def _count_messages(url: str, n: int, ready: Any, out: Any) -> None:
    """A bare paho subscriber (QoS 1, acks automatically, stores nothing): the ceiling of
    any paho-based ingest on this machine."""
    ep = parse_mqtt_url(url)
    got = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(c: mqtt.Client, u: object, m: mqtt.MQTTMessage) -> None:
        nonlocal got, first, last
        got += 1
        last = time.monotonic()
        if got == 1:
            first = last
        if got >= n:
            done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: ready.set()
    sub.connect(ep.host, ep.port)
    sub.subscribe("aic/v1/+/telemetry", qos=1)
    sub.loop_start()
    done.wait(600)
    sub.disconnect()
    sub.loop_stop()
    out.put((got, last - first))


def bare_subscriber(url: str, robots: list[str], n: int, seq0: int) -> dict[str, float]:
    """The same C publishers and singles, received by the bare paho subscriber."""
    ctx = mp.get_context("fork")
    ready, out = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_count_messages, args=(url, n, ready, out))
    proc.start()
    ready.wait(30)
    _, pub_s = load(url, robots, n, 1, 0.0, seq0)
    got, seconds = out.get(timeout=600)
    proc.join()
    return {
        "messages": got,
        "publish_s": round(pub_s, 2),
        "bare_paho_msgs_s": round(got / seconds) if seconds else 0,
        "c_publishers_msgs_s": round(n / pub_s),
    }


def _tree(pid: int) -> list[int]:
    """The process and its children (``aic ingest --workers N`` forks N-1)."""
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(int(k) for k in kids)]


class Ingest:
    """`aic ingest` as its own process, so its CPU and memory can be measured."""

    def __init__(
        self, db: str, mqtt_url: str, log: Path, workers: int = 1, client_id: str = "bench-ingest"
    ) -> None:
        self.mqtt_url = mqtt_url
        self.client_ids = (
            [client_id] if workers == 1 else [f"{client_id}-w{k}" for k in range(workers)]
        )
        env = dict(os.environ, AIC_DATABASE_URL=db, AIC_MQTT_URL=mqtt_url, AIC_LOG_LEVEL="WARNING")
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli.main",
                "ingest",
                "--client-id",
                client_id,
                "--insecure-broker",
                "--workers",
                str(workers),
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
        time.sleep(0.5 if workers > 1 else 0)  # the other workers' subscriptions
        self.pids = _tree(self.proc.pid)
        self.cpu0 = sum(proc_cpu_seconds(p) for p in self.pids)

    def stop(self) -> tuple[float, float]:
        cpu = sum(proc_cpu_seconds(p) for p in self.pids) - self.cpu0
        rss = sum(proc_peak_rss_mb(p) for p in self.pids)
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()
        # Its persistent sessions would keep collecting every later run's messages and hand
        # them to the next run with the same id (duplicates that delay the new messages).
        ep = parse_mqtt_url(self.mqtt_url)
        for cid in self.client_ids:
            c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
            c.connect(ep.host, ep.port, clean_start=True)
            c.disconnect()
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
    received = datetime.now(UTC)
    rows = [repo._row(r, received) for r in readings]
    with psycopg.connect(db, autocommit=True) as conn:
        repo.ensure_days(conn, days=[readings[0].ts.date()])
        t = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            repo.copy_readings(cur, "telemetry", rows)  # the COPY ingest does, nothing else
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


def run(
    db: str, broker: str, robots: list[str], *, name: str, total: int, per_msg: int,
    rate: float, workers: int, seq0: int,
) -> dict[str, Any]:  # fmt: skip
    reset(db)
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-ingest-{name}.log"
    ingest = Ingest(db, broker, log, workers=workers, client_id=f"bench-ingest-{name}")
    meter = CpuMeter()
    t0, pub_s = load(broker, robots, total, per_msg, rate, seq0, on_start=meter.start)
    wait_rows(db, total)
    machine = meter.stop()
    elapsed = span(db, t0)  # from the first publish to the last commit
    cpu, rss = ingest.stop()
    out = {
        "readings": total,
        "per_message": per_msg,
        "workers": workers,
        "target_rate": rate or None,
        "publish_s": round(pub_s, 2),
        "end_to_end_s": round(elapsed, 2),
        "readings_s": round(total / elapsed),
        "messages_s": round(total / per_msg / elapsed),
        "ingest_cpu_s": round(cpu, 1),
        "ingest_cpu_pct": round(100 * cpu / elapsed),
        "ingest_peak_rss_mb": round(rss),
        **latency(db),
        # What limits on this machine: cores busy in all while the run lasted, and by whom
        # (the C publishers are the exited children).
        "cpu": machine | {"ingest_cores": round(cpu / machine["seconds"], 2)},
    }
    print(name, json.dumps(out), file=sys.stderr, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--readings", type=int, default=300_000, help="readings in batch messages")
    ap.add_argument("--singles", type=int, default=100_000, help="single-reading messages")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each latency run")
    ap.add_argument("--robots", type=int, default=100, help="C publishers, one per robot")
    args = ap.parse_args()
    out: dict[str, Any] = {}
    with bench_database() as db, bench_broker() as broker:
        robots = robot_ids(db)[: args.robots]
        out["ceilings"] = copy_ceiling(db, robots, 100_000)
        seq = iter(range(0, 10**9, 10_000_000))
        out["ceilings"].update(bare_subscriber(broker, robots, args.singles, next(seq)))
        kw: dict[str, Any] = {"db": db, "broker": broker, "robots": robots}
        for w in (1, 2):
            out[f"batch_max_w{w}"] = run(
                **kw, name=f"batch_max_w{w}", total=args.readings, per_msg=100, rate=0.0,
                workers=w, seq0=next(seq),
            )  # fmt: skip
            out[f"single_max_w{w}"] = run(
                **kw, name=f"single_max_w{w}", total=args.singles, per_msg=1, rate=0.0,
                workers=w, seq0=next(seq),
            )  # fmt: skip
        best = max((1, 2), key=lambda w: out[f"single_max_w{w}"]["readings_s"])
        for kind, per_msg in (("batch", 100), ("single", 1)):
            half = out[f"{kind}_max_w{best}"]["readings_s"] / 2
            out[f"{kind}_half_max"] = run(
                **kw, name=f"{kind}_half_max", total=int(half * args.seconds),
                per_msg=per_msg, rate=half, workers=best, seq0=next(seq),
            )  # fmt: skip
        c = out["ceilings"]
        out["ratios"] = (
            {
                f"single_w{w}_of_bare_paho": round(
                    out[f"single_max_w{w}"]["messages_s"] / c["bare_paho_msgs_s"], 2
                )
                for w in (1, 2)
            }
            | {
                f"batch_w{w}_of_raw_copy": round(
                    out[f"batch_max_w{w}"]["readings_s"] / c["raw_copy_rows_s"], 2
                )
                for w in (1, 2)
            }
            | {
                "single_two_workers_over_one": round(
                    out["single_max_w2"]["readings_s"] / out["single_max_w1"]["readings_s"], 2
                ),
                "batch_two_workers_over_one": round(
                    out["batch_max_w2"]["readings_s"] / out["batch_max_w1"]["readings_s"], 2
                ),
            }
        )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
