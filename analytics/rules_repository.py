"""SQL of the versioned rule sets (``rule_sets``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import errors
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from analytics.rules import RuleSet
from core.db import Conn


def store_rule_set(
    conn: Conn,
    *,
    rules: RuleSet,
    source: str | None,
    loaded_by: str | None,
    now: datetime,
    activate: bool = True,
) -> None:
    """Store a new version (a version is never overwritten) and make it the active one."""
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO rule_sets (version, body, source, loaded_by, loaded_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                (
                    rules.version,
                    Jsonb(rules.model_dump(exclude_defaults=True)),
                    source,
                    loaded_by,
                    now,
                ),
            )
    except errors.UniqueViolation:
        raise ValueError(
            f"rules version {rules.version} is already loaded: bump `version` in the file"
        ) from None
    if activate:
        activate_rule_set(conn, version=rules.version)


def activate_rule_set(conn: Conn, *, version: int) -> None:
    row = conn.execute("SELECT 1 FROM rule_sets WHERE version = %s", (version,)).fetchone()
    if row is None:
        raise ValueError(f"no rules version {version} loaded")
    conn.execute("UPDATE rule_sets SET active = false WHERE active")
    conn.execute("UPDATE rule_sets SET active = true WHERE version = %s", (version,))


def active_rule_set(conn: Conn) -> RuleSet | None:
    row = conn.execute("SELECT body FROM rule_sets WHERE active").fetchone()
    return RuleSet.model_validate(row[0]) if row else None


def list_rule_sets(conn: Conn) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT version, active, source, loaded_by, loaded_at,
                      jsonb_array_length(body->'rules') AS rules
               FROM rule_sets ORDER BY version"""
        ).fetchall()
