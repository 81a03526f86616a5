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
    if not preloaded(conn):
        # CREATE EXTENSION would fail with FATAL and close this very connection (the one
        # the migration runs on): ask the server first.
        message = (
            "TimescaleDB is installed on this server but not preloaded: add "
            "shared_preload_libraries = 'timescaledb' to postgresql.conf and restart "
            "PostgreSQL to use it"
        )
        if prefer == "timescale":
            raise RuntimeError(message)
        logger.warning("%s; using plain tables", message)
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


def preloaded(conn: Conn) -> bool:
    """Whether the server loads the TimescaleDB library at start (it must, to use it)."""
    row = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
    names = str(row[0] if row else "").split(",")
    return any(n.strip().strip('"').split("-")[0] == "timescaledb" for n in names)


def current(conn: Conn) -> Dialect:
    """Return the dialect the schema was built with (recorded by the migration runner)."""
    row = conn.execute(
        "SELECT dialect FROM schema_migrations ORDER BY version DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise RuntimeError("schema not migrated: run `aic db migrate`")
    return "timescale" if row[0] == "timescale" else "plain"
