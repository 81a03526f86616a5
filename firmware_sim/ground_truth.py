"""The simulator's ground truth: which faults were injected, to a file and to the database."""

from __future__ import annotations

import json
from pathlib import Path

from core.db import Conn
from firmware_sim import repository
from firmware_sim.faults import Fault


def fault_record(f: Fault, *, run_id: str, seed: int) -> dict[str, object]:
    return {
        "run_id": run_id,
        "robot_id": f.robot_id,
        "kind": f.kind,
        "component": f.component,
        "error_code": f.error_code,
        "onset": f.onset.isoformat(),
        "failure": f.failure.isoformat(),
        "seed": seed,
    }


def write_file(path: Path, faults: list[Fault], *, run_id: str, seed: int) -> None:
    """Write the ground truth as JSON lines, one fault per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for f in sorted(faults, key=lambda f: (f.robot_id, f.onset)):
            out.write(
                json.dumps(fault_record(f, run_id=run_id, seed=seed), ensure_ascii=False) + "\n"
            )


def store(conn: Conn, faults: list[Fault], *, run_id: str, seed: int) -> int:
    """Insert (or replace) the run's faults in ``fault_ground_truth``."""
    return repository.store_ground_truth(conn, faults, run_id=run_id, seed=seed)
