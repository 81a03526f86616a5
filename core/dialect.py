"""Which time-series dialect the database speaks: TimescaleDB or plain PostgreSQL.

The differences live in the ``*.timescale.sql`` / ``*.plain.sql`` migration
pairs; both define the same tables and the same maintenance functions
(``aic_ensure_partitions``, ``aic_drop_partitions_before``,
``aic_refresh_rollups``), so every other module is dialect-agnostic.
"""

from __future__ import annotations

import logging
from typing import Literal

import psycopg

from core.db import Conn

logger = logging.getLogger(__name__)

Dialect = Literal["plain", "timescale"]


def detect(conn: Conn, *, prefer: str = "auto") -> Dialect:
    """Return ``timescale`` when the extension is installed or can be created, else ``plain``.

    ``prefer`` is ``auto`` (default), ``timescale`` (required) or ``plain`` (never use it).
    """
    if prefer == "plain":
        return "plain"
    row = conn.execute(
        "SELECT installed_version FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if row is None:
        if prefer == "timescale":
            raise RuntimeError("TimescaleDB requested but the extension is not available")
        return "plain"
    if row[0] is None:
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except psycopg.Error as exc:
            # Typically: the library is not in shared_preload_libraries.
            if prefer == "timescale":
                raise
            logger.warning("TimescaleDB present but not loadable (%s); using plain tables", exc)
            return "plain"
    return "timescale"


def current(conn: Conn) -> Dialect:
    """Return the dialect the schema was built with (recorded by the migration runner)."""
    row = conn.execute(
        "SELECT dialect FROM schema_migrations ORDER BY version DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise RuntimeError("schema not migrated: run `aic db migrate`")
    return "timescale" if row[0] == "timescale" else "plain"
