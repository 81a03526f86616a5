"""Migrations: applied in order, each once, recorded; the plain dialect builds the full schema."""

from __future__ import annotations

import threading

import psycopg
import pytest

from core.migrate import available, migrate, status

PUBLIC_TABLES = {
    "regions",
    "staff",
    "customers",
    "sites",
    "site_service_hours",
    "robot_models",
    "robots",
    "telemetry",
    "robot_events",
    "quarantine",
    "telemetry_1m",
    "telemetry_1h",
}


def test_migrate_twice_is_a_noop(empty_database_url: str) -> None:
    """The first run applies every migration, the second applies none."""
    from core.dialect import detect

    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        expected = detect(conn)  # plain here and in CI; timescale on a TimescaleDB server
        first = migrate(conn)
        second = migrate(conn)
        dialect, rows = status(conn)
        tables = {  # tables, and on TimescaleDB the rollups are (materialized) views
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')"
            ).fetchall()
        }
    assert [m.version for m in first] == [m.version for m in available(expected)]
    assert second == []
    assert dialect == expected
    assert all(r.state == "applied" for r in rows)
    assert tables >= PUBLIC_TABLES


def test_status_on_empty_database_lists_pending(empty_database_url: str) -> None:
    """Before any migration, status reports every migration pending and no dialect."""
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        dialect, rows = status(conn)
    assert dialect is None
    assert rows and all(r.state == "pending" for r in rows)


def test_concurrent_migrations_apply_each_file_once(empty_database_url: str) -> None:
    """Two processes migrating at once: the advisory lock makes one do the work."""
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(empty_database_url, autocommit=True) as conn:
                results.append(len(migrate(conn)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [0, len(available("plain"))]


def test_migrate_needs_autocommit(empty_database_url: str) -> None:
    """migrate() owns its transactions and refuses a connection already in one."""
    with psycopg.connect(empty_database_url) as conn, pytest.raises(ValueError):
        migrate(conn)


def test_timescale_and_plain_variants_pair_up() -> None:
    """Every dialect-specific migration exists for both dialects, with the same functions."""
    plain = {m.version: m for m in available("plain")}
    timescale = {m.version: m for m in available("timescale")}
    assert plain.keys() == timescale.keys()
    for fn in ("aic_ensure_partitions", "aic_drop_partitions_before", "aic_refresh_rollups"):
        assert fn in plain[2].sql and fn in timescale[2].sql
    # Timescale-only SQL lives in the .timescale.sql files, nowhere else.
    for version, mig in plain.items():
        assert "create_hypertable" not in mig.sql, version
        assert "timescaledb" not in mig.sql.replace("TimescaleDB", ""), version


def test_auto_dialect_copes_with_an_installed_but_not_preloaded_timescaledb(
    empty_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 20: where TimescaleDB's files are installed but the library is not preloaded,
    `--dialect auto` used to try CREATE EXTENSION, whose FATAL closed the migration's
    connection. Now it asks the server first: such a server (this machine's shared
    PostgreSQL once TimescaleDB is built and installed into it) migrates on plain tables with
    a warning saying how to enable TimescaleDB, and `--dialect timescale` refuses with that
    message. A server without the extension migrates plain; one that preloads it, timescale."""
    import logging

    from core import dialect as dialects

    caplog.set_level(logging.WARNING, logger="core.dialect")
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        available_here = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone() == (1,)
        loaded = dialects.preloaded(conn)
        if available_here and not loaded:
            with pytest.raises(RuntimeError, match="shared_preload_libraries"):
                dialects.detect(conn, prefer="timescale")
        elif not available_here:
            with pytest.raises(RuntimeError, match="not available"):
                dialects.detect(conn, prefer="timescale")
        applied = migrate(conn)
        dialect, rows = status(conn)
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the connection survived
    assert applied and all(r.state == "applied" for r in rows)
    expected = "timescale" if available_here and loaded else "plain"
    assert dialect == expected
    if available_here and not loaded:
        assert "not preloaded" in caplog.text and "shared_preload_libraries" in caplog.text
