"""Apply the SQL migrations in ``core/migrations`` in order, each exactly once.

Files are named ``NNNN_name.sql`` (every dialect) or ``NNNN_name.plain.sql`` /
``NNNN_name.timescale.sql`` (one per dialect). Each migration runs in its own
transaction under an advisory lock, so two processes migrating at once apply
each file once.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources

from core import dialect as dialects
from core.db import Conn

logger = logging.getLogger(__name__)

_NAME = re.compile(
    r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)(?:\.(?P<dialect>plain|timescale))?\.sql$"
)
_LOCK_KEY = 0x41494331  # "AIC1"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str = field(repr=False)

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationStatus:
    version: int
    name: str
    state: str  # applied | pending | modified
    applied_at: datetime | None


def available(dialect: dialects.Dialect) -> list[Migration]:
    """Return the migrations for ``dialect`` in version order."""
    found: dict[int, Migration] = {}
    for entry in resources.files("core.migrations").iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        if match["dialect"] not in (None, dialect):
            continue
        version = int(match["version"])
        if version in found:
            raise RuntimeError(f"two migrations share version {version:04d}")
        found[version] = Migration(version, match["name"], entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def _ensure_table(conn: Conn) -> None:
    conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version    integer PRIMARY KEY,
               name       text NOT NULL,
               dialect    text NOT NULL,
               checksum   text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )


def _applied(conn: Conn) -> dict[int, tuple[str, datetime]]:
    rows = conn.execute("SELECT version, checksum, applied_at FROM schema_migrations").fetchall()
    return {int(r[0]): (str(r[1]), r[2]) for r in rows}


def migrate(conn: Conn, *, prefer_dialect: str = "auto") -> list[Migration]:
    """Apply pending migrations; return those applied (empty when up to date).

    ``conn`` must be in autocommit mode: each migration gets its own transaction.
    """
    if not conn.autocommit:
        raise ValueError("migrate() needs an autocommit connection")
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        with conn.transaction():
            _ensure_table(conn)
        applied_rows = _applied(conn)
        dialect = (
            dialects.current(conn) if applied_rows else dialects.detect(conn, prefer=prefer_dialect)
        )
        done: list[Migration] = []
        for mig in available(dialect):
            if mig.version in applied_rows:
                if applied_rows[mig.version][0] != mig.checksum:
                    logger.warning(
                        "migration %04d_%s changed since it was applied; not re-run",
                        mig.version,
                        mig.name,
                    )
                continue
            with conn.transaction():
                conn.execute(mig.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, dialect, checksum)"
                    " VALUES (%s, %s, %s, %s)",
                    (mig.version, mig.name, dialect, mig.checksum),
                )
            logger.info("applied migration %04d_%s (%s)", mig.version, mig.name, dialect)
            done.append(mig)
        return done
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def status(conn: Conn) -> tuple[str | None, list[MigrationStatus]]:
    """Return the schema's dialect (None before the first migration) and each migration's state."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    applied_rows = _applied(conn) if exists and exists[0] else {}
    dialect = dialects.current(conn) if applied_rows else None
    result: list[MigrationStatus] = []
    for mig in available(dialect or "plain"):
        if mig.version not in applied_rows:
            result.append(MigrationStatus(mig.version, mig.name, "pending", None))
            continue
        checksum, at = applied_rows[mig.version]
        state = "applied" if checksum == mig.checksum else "modified"
        result.append(MigrationStatus(mig.version, mig.name, state, at))
    return dialect, result
