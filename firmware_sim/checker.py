"""Delivery checker: what the simulator published against what the database stored, per robot.

Driven by ``seq`` (one counter per robot over telemetry and events): for each
robot, ``lost`` are seqs published (and well-formed) but not stored, and
``duplicated`` are stored rows beyond one per (robot, seq).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from firmware_sim.repository import stored_seqs as stored_seqs
from firmware_sim.specs import SimMessage


@dataclass(frozen=True)
class RobotDelivery:
    robot_id: str
    published: int
    stored: int
    lost: int
    duplicated: int


def published_seqs(messages: Iterable[SimMessage]) -> dict[str, set[int]]:
    """Seqs of every well-formed reading and event the simulator sent (resends count once)."""
    out: dict[str, set[int]] = defaultdict(set)
    for m in messages:
        if m.malformed or m.kind == "status":
            continue
        body = json.loads(m.payload)
        items = body["batch"] if isinstance(body, dict) and "batch" in body else [body]
        out[m.robot_id].update(int(i["seq"]) for i in items)
    return dict(out)


def check(published: dict[str, set[int]], stored: dict[str, list[int]]) -> list[RobotDelivery]:
    """Per-robot published / stored / lost / duplicated.

    >>> check({"a": {1, 2, 3}}, {"a": [1, 2, 2]})
    [RobotDelivery(robot_id='a', published=3, stored=3, lost=1, duplicated=1)]
    """
    out = []
    for robot in sorted(set(published) | set(stored)):
        pub = published.get(robot, set())
        got = stored.get(robot, [])
        distinct = set(got)
        out.append(
            RobotDelivery(robot, len(pub), len(got), len(pub - distinct), len(got) - len(distinct))
        )
    return out
