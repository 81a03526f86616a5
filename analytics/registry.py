"""Fault-model registry: trained artifacts in the database, one active version per robot
model and firmware scope (a version, or NULL for every version without its own model)."""

from __future__ import annotations

import hashlib
import io
import pickle
from datetime import datetime

import numpy as np
import sklearn

from analytics import registry_repository as rr
from analytics.detectors import IsolationForestDetector
from analytics.registry_repository import ModelInfo as ModelInfo
from analytics.registry_repository import list_models as list_models
from analytics.registry_repository import set_metrics as set_metrics
from core.db import Conn
from core.errors import NotFoundError

NAME = "iforest"


class ModelLoadError(RuntimeError):
    """A stored model cannot be used here (e.g. trained under another scikit-learn version)."""


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
    return rr.insert(
        conn,
        name=NAME,
        robot_model=robot_model,
        firmware=firmware,
        params=detector.get_params(),
        train_from=train_from,
        train_to=train_to,
        data_hash=data_hash(X),
        n_train=len(X),
        sklearn_version=sklearn.__version__,
        artifact=buf.getvalue(),
        created_by=created_by,
    )


def activate(conn: Conn, *, model_id: int) -> ModelInfo:
    """Make this version the active one of its (name, robot model, firmware scope)."""
    scope = rr.scope(conn, model_id=model_id)
    if scope is None:
        raise NotFoundError("fault model", model_id)
    rr.make_active(conn, model_id=model_id, name=scope[0], robot_model=scope[1], firmware=scope[2])
    return next(m for m in list_models(conn) if m.id == model_id)


def rollback(
    conn: Conn, *, robot_model: str, name: str = NAME, firmware: str | None = None
) -> ModelInfo:
    """Activate the version before the active one (of the same firmware scope)."""
    before = rr.version_before_active(conn, name=name, robot_model=robot_model, firmware=firmware)
    if before is None:
        scope = f"{name}/{robot_model}" + (f"/{firmware}" if firmware else "")
        raise NotFoundError("earlier active-able version of", scope)
    return activate(conn, model_id=before)


def load_active(
    conn: Conn,
) -> dict[tuple[str, str | None], tuple[str, IsolationForestDetector]]:
    """Active detectors by (robot model, firmware or None), as (label, detector).
    Unloadable ones raise ModelLoadError."""
    out: dict[tuple[str, str | None], tuple[str, IsolationForestDetector]] = {}
    for robot_model, firmware, version, skl, artifact in rr.active_artifacts(conn, name=NAME):
        label = f"{NAME}/{robot_model}" + (f"@{firmware}" if firmware else "") + f"/{version}"
        out[(robot_model, firmware)] = (label, _unpickle(artifact, skl, label))
    return out


def load_one(
    conn: Conn, *, model_id: int
) -> tuple[tuple[str, str | None], tuple[str, IsolationForestDetector]]:
    """One stored detector, active or not (a candidate): ((robot model, firmware), (label,
    detector)). Unknown id: NotFoundError."""
    found = rr.artifact(conn, model_id=model_id)
    if found is None:
        raise NotFoundError("fault model", model_id)
    robot_model, firmware, version, skl, blob = found
    label = f"{NAME}/{robot_model}" + (f"@{firmware}" if firmware else "") + f"/{version}"
    return (robot_model, firmware), (label, _unpickle(blob, skl, label))


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
