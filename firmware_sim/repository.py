"""SQL of the simulator: its ground truth (fault_ground_truth) and what the service stored
of its messages (for the delivery checker)."""

from __future__ import annotations

from collections import defaultdict

from core.db import Conn
from firmware_sim.faults import Fault


def stored_seqs(conn: Conn, *, robot_ids: list[str]) -> dict[str, list[int]]:
    """Every stored seq (telemetry and events), with repeats if a key were stored twice."""
    out: dict[str, list[int]] = defaultdict(list)
    for robot, seq in conn.execute(
        """SELECT robot_id, seq FROM telemetry WHERE robot_id = ANY(%(r)s)
           UNION ALL SELECT robot_id, seq FROM robot_events WHERE robot_id = ANY(%(r)s)""",
        {"r": robot_ids},
    ):
        out[robot].append(int(seq))
    return dict(out)


def store_ground_truth(conn: Conn, faults: list[Fault], *, run_id: str, seed: int) -> int:
    """Insert (or replace) the run's faults in ``fault_ground_truth``."""
    conn.execute("DELETE FROM fault_ground_truth WHERE run_id = %s", (run_id,))
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO fault_ground_truth
                   (run_id, robot_id, kind, component, error_code, onset, failure, seed)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
            [
                (run_id, f.robot_id, f.kind, f.component, f.error_code, f.onset, f.failure, seed)
                for f in faults
            ],
        )
    return len(faults)
