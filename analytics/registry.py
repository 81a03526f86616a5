"""Fault-model registry: trained artifacts in the database, one active version per robot
model and firmware scope (a version, or NULL for every version without its own model)."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import sklearn
from psycopg.rows import class_row

from analytics.detectors import IsolationForestDetector
from core.db import Conn
from core.errors import NotFoundError

NAME = "iforest"


class ModelLoadError(RuntimeError):
    """A stored model cannot be used here (e.g. trained under another scikit-learn version)."""


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


def data_hash(X: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(X, dtype=np.float64).tobytes()).hexdigest()[:16]


def save(
    conn: Conn,
    *,
    robot_model: str,
    detector: IsolationForestDetector,
    X: np.ndarray,
    train_from: datetime | None,
    train_to: datetime | None,
    created_by: str | None = None,
    firmware: str | None = None,
) -> int:
    """Store a fitted detector as the next version (inactive); return its id."""
    buf = io.BytesIO()
    pickle.dump(detector, buf)
    row = conn.execute(
        """INSERT INTO fault_models (name, robot_model, firmware, version, params, train_from,
               train_to, data_hash, n_train, sklearn_version, artifact, created_by)
           VALUES (%s, %s, %s, (SELECT coalesce(max(version), 0) + 1 FROM fault_models
                                WHERE name = %s AND robot_model = %s),
                   %s, %s, %s, %s, %s, %s, %s, %s)
           RETURNING id""",
        (
            NAME,
            robot_model,
            firmware,
            NAME,
            robot_model,
            json.dumps(detector.get_params()),
            train_from,
            train_to,
            data_hash(X),
            len(X),
            sklearn.__version__,
            buf.getvalue(),
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


def activate(conn: Conn, *, model_id: int) -> ModelInfo:
    """Make this version the active one of its (name, robot model, firmware scope)."""
    row = conn.execute(
        "SELECT name, robot_model, firmware FROM fault_models WHERE id = %s", (model_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError("fault model", model_id)
    conn.execute(
        "UPDATE fault_models SET active = false WHERE name = %s AND robot_model = %s"
        " AND firmware IS NOT DISTINCT FROM %s",
        (row[0], row[1], row[2]),
    )
    conn.execute("UPDATE fault_models SET active = true WHERE id = %s", (model_id,))
    return next(m for m in list_models(conn) if m.id == model_id)


def rollback(
    conn: Conn, *, robot_model: str, name: str = NAME, firmware: str | None = None
) -> ModelInfo:
    """Activate the version before the active one (of the same firmware scope)."""
    row = conn.execute(
        """SELECT id FROM fault_models
           WHERE name = %(n)s AND robot_model = %(m)s AND firmware IS NOT DISTINCT FROM %(f)s
             AND version < (SELECT version FROM fault_models
                            WHERE name = %(n)s AND robot_model = %(m)s AND active
                              AND firmware IS NOT DISTINCT FROM %(f)s)
           ORDER BY version DESC LIMIT 1""",
        {"n": name, "m": robot_model, "f": firmware},
    ).fetchone()
    if row is None:
        scope = f"{name}/{robot_model}" + (f"/{firmware}" if firmware else "")
        raise NotFoundError("earlier active-able version of", scope)
    return activate(conn, model_id=int(row[0]))


def set_metrics(conn: Conn, *, model_id: int, metrics: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE fault_models SET metrics = %s WHERE id = %s", (json.dumps(metrics), model_id)
    )


def load_active(
    conn: Conn,
) -> dict[tuple[str, str | None], tuple[str, IsolationForestDetector]]:
    """Active detectors by (robot model, firmware or None), as (label, detector).
    Unloadable ones raise ModelLoadError."""
    out: dict[tuple[str, str | None], tuple[str, IsolationForestDetector]] = {}
    for robot_model, firmware, version, skl, artifact in conn.execute(
        "SELECT robot_model, firmware, version, sklearn_version, artifact FROM fault_models"
        " WHERE active AND name = %s",
        (NAME,),
    ).fetchall():
        label = f"{NAME}/{robot_model}" + (f"@{firmware}" if firmware else "") + f"/{version}"
        out[(robot_model, firmware)] = (label, _unpickle(bytes(artifact), skl, label))
    return out


def _unpickle(blob: bytes, trained_with: str, label: str) -> IsolationForestDetector:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # InconsistentVersionWarning becomes an error here
            model = pickle.loads(blob)
    except Exception as exc:
        raise ModelLoadError(
            f"model {label} was trained with scikit-learn {trained_with} and cannot be loaded "
            f"with {sklearn.__version__}: {exc}. Retrain it: aic models train"
        ) from exc
    if not isinstance(model, IsolationForestDetector):
        raise ModelLoadError(f"model {label} is not an IsolationForestDetector")
    return model
