"""SQL of the fault-model registry (table ``fault_models``).

Repositories never commit: callers own the transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import class_row

from core.db import Conn


@dataclass(frozen=True)
class ModelInfo:
    id: int
    name: str
    robot_model: str
    firmware: str | None
    version: int
    n_train: int
    sklearn_version: str
    data_hash: str
    active: bool
    created_at: datetime
    train_from: datetime | None
    train_to: datetime | None
    metrics: dict[str, Any] | None


def insert(
    conn: Conn,
    *,
    name: str,
    robot_model: str,
    firmware: str | None,
    params: dict[str, Any],
    train_from: datetime | None,
    train_to: datetime | None,
    data_hash: str,
    n_train: int,
    sklearn_version: str,
    artifact: bytes,
    created_by: str | None,
) -> int:
    """Store an artifact as the next version of (name, robot model), inactive; its id."""
    row = conn.execute(
        """INSERT INTO fault_models (name, robot_model, firmware, version, params, train_from,
               train_to, data_hash, n_train, sklearn_version, artifact, created_by)
           VALUES (%s, %s, %s, (SELECT coalesce(max(version), 0) + 1 FROM fault_models
                                WHERE name = %s AND robot_model = %s),
                   %s, %s, %s, %s, %s, %s, %s, %s)
           RETURNING id""",
        (
            name,
            robot_model,
            firmware,
            name,
            robot_model,
            json.dumps(params),
            train_from,
            train_to,
            data_hash,
            n_train,
            sklearn_version,
            artifact,
            created_by,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def list_models(conn: Conn) -> list[ModelInfo]:
    with conn.cursor(row_factory=class_row(ModelInfo)) as cur:
        return cur.execute(
            """SELECT id, name, robot_model, firmware, version, n_train, sklearn_version,
                      data_hash, active, created_at, train_from, train_to, metrics
               FROM fault_models ORDER BY robot_model, name, version"""
        ).fetchall()


def scope(conn: Conn, *, model_id: int) -> tuple[str, str, str | None] | None:
    """(name, robot model, firmware or None) of a stored model."""
    row = conn.execute(
        "SELECT name, robot_model, firmware FROM fault_models WHERE id = %s", (model_id,)
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), row[2])


def make_active(
    conn: Conn, *, model_id: int, name: str, robot_model: str, firmware: str | None
) -> None:
    """``model_id`` becomes the one active model of its scope."""
    conn.execute(
        "UPDATE fault_models SET active = false WHERE name = %s AND robot_model = %s"
        " AND firmware IS NOT DISTINCT FROM %s",
        (name, robot_model, firmware),
    )
    conn.execute("UPDATE fault_models SET active = true WHERE id = %s", (model_id,))


def version_before_active(
    conn: Conn, *, name: str, robot_model: str, firmware: str | None
) -> int | None:
    """The id of the version just before the scope's active one, if any."""
    row = conn.execute(
        """SELECT id FROM fault_models
           WHERE name = %(n)s AND robot_model = %(m)s AND firmware IS NOT DISTINCT FROM %(f)s
             AND version < (SELECT version FROM fault_models
                            WHERE name = %(n)s AND robot_model = %(m)s AND active
                              AND firmware IS NOT DISTINCT FROM %(f)s)
           ORDER BY version DESC LIMIT 1""",
        {"n": name, "m": robot_model, "f": firmware},
    ).fetchone()
    return None if row is None else int(row[0])


def set_metrics(conn: Conn, *, model_id: int, metrics: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE fault_models SET metrics = %s WHERE id = %s", (json.dumps(metrics), model_id)
    )


def artifact(conn: Conn, *, model_id: int) -> tuple[str, str | None, int, str, bytes] | None:
    """(robot model, firmware, version, scikit-learn version, artifact) of one stored model,
    active or not."""
    row = conn.execute(
        "SELECT robot_model, firmware, version, sklearn_version, artifact FROM fault_models"
        " WHERE id = %s",
        (model_id,),
    ).fetchone()
    return None if row is None else (row[0], row[1], int(row[2]), str(row[3]), bytes(row[4]))


def active_artifacts(conn: Conn, *, name: str) -> list[tuple[str, str | None, int, str, bytes]]:
    """(robot model, firmware, version, scikit-learn version, artifact) of active models."""
    return [
        (r[0], r[1], int(r[2]), str(r[3]), bytes(r[4]))
        for r in conn.execute(
            "SELECT robot_model, firmware, version, sklearn_version, artifact FROM fault_models"
            " WHERE active AND name = %s ORDER BY robot_model, firmware",
            (name,),
        )
    ]
