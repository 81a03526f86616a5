"""Shared fixtures: a real PostgreSQL (local or embedded) and a real MQTT broker.

On this machine PostgreSQL (127.0.0.1:5432) and Mosquitto (127.0.0.1:1883) are
running; elsewhere the embedded ones are started. Under ``CI=true`` a service
that cannot be had is a failure, never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import ConnectionPool

from core.clock import FixedClock, parse_instant
from core.db import Conn
from core.embedded import EmbeddedBroker, EmbeddedPostgres, port_open
from core.errors import ServiceUnavailableError
from core.migrate import migrate

pytest_plugins = ["tests.fixtures_ingest"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--now",
        default=os.environ.get("AIC_TEST_NOW") or None,
        help="ISO instant the tests' clock stands at, e.g. 2027-02-28T15:59:00Z "
        "(default: the process clock when the session starts)",
    )


@pytest.fixture(scope="session")
def session_now(request: pytest.FixtureRequest) -> datetime:
    """The instant this test session runs at: ``--now``, else the process clock at start.

    Tests that are not pinned to a date of their own take time from here (through
    ``clock``), never from ``datetime.now()`` or the database's ``now()``, so the suite
    can be run at chosen instants (scripts/test does: see the ``clock`` marker).
    """
    text = request.config.getoption("--now")
    at = parse_instant(text) if text else datetime.now(UTC)
    return at.replace(microsecond=0)


@pytest.fixture
def clock(session_now: datetime) -> FixedClock:
    """A clock standing at the session's instant; a test may move it."""
    return FixedClock(session_now)


def unavailable(message: str) -> None:
    """Fail under CI, skip elsewhere: a missing service must never pass silently in CI."""
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a maintenance database on a real server (local if reachable, else embedded)."""
    url = os.environ.get("AIC_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        yield url
        return
    except psycopg.OperationalError:
        pass
    embedded = EmbeddedPostgres(tmp_path_factory.mktemp("pg"), database="postgres")
    try:
        url = embedded.start()
    except ServiceUnavailableError as exc:
        unavailable(f"no PostgreSQL: {exc}")
    yield url
    embedded.stop()


def create_database(admin_url: str, prefix: str) -> str:
    """Create a fresh database and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_dbname(admin_url, name)


def with_dbname(url: str, name: str) -> str:
    """Return the libpq URL with another database name."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(admin_url: str, url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
        )


@pytest.fixture
def empty_database_url(pg_admin_url: str) -> Iterator[str]:
    """A new, empty database for this test only."""
    url = create_database(pg_admin_url, "aic_empty")
    yield url
    drop_database(pg_admin_url, url)


@pytest.fixture(scope="session")
def database_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, migrated database for the whole test session (dropped at the end)."""
    url = create_database(pg_admin_url, "aic_test")
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn)
    yield url
    drop_database(pg_admin_url, url)


@pytest.fixture(scope="session")
def pool(database_url: str) -> Iterator[ConnectionPool]:
    with ConnectionPool(database_url, min_size=1, max_size=6, open=True) as p:
        p.wait(timeout=10)
        yield p


@pytest.fixture
def conn(pool: ConnectionPool) -> Iterator[Conn]:
    """A connection inside a transaction that is rolled back after the test."""
    with pool.connection() as c:
        tx = c.transaction(force_rollback=True)
        with tx:
            yield c


@pytest.fixture(scope="session")
def fleet_file() -> Path:
    return REPO / "examples" / "fleet.yaml"


@pytest.fixture(scope="session")
def mqtt_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real MQTT broker: the local Mosquitto if reachable, else an embedded one."""
    if os.environ.get("AIC_TEST_MQTT_URL"):
        yield os.environ["AIC_TEST_MQTT_URL"]
        return
    if port_open("127.0.0.1", 1883):
        yield "mqtt://127.0.0.1:1883"
        return
    broker = EmbeddedBroker(tmp_path_factory.mktemp("broker"))
    try:
        url = broker.start()
    except ServiceUnavailableError as exc:
        unavailable(f"no MQTT broker: {exc}")
    yield url
    broker.stop()


@pytest.fixture(scope="session")
def fleet_template_url(pg_admin_url: str, fleet_file: Path, session_now: datetime) -> Iterator[str]:
    """A migrated database with the example fleet, used as a template (never connected to after)."""
    from core.fleet import load_fleet_file
    from core.fleet_repository import upsert_fleet
    from service.parts import load_parts, read_parts_file

    url = create_database(pg_admin_url, "aic_tpl")
    with psycopg.connect(url, autocommit=True) as c:
        migrate(c)
    with psycopg.connect(url) as c:
        upsert_fleet(c, fleet=load_fleet_file(fleet_file))
        load_parts(c, read_parts_file(REPO / "examples" / "parts.yaml"), now=session_now)
    seal_template(pg_admin_url, url)
    yield url
    drop_database(pg_admin_url, url)


def seal_template(admin_url: str, url: str) -> None:
    """No one connects to a template again: CREATE DATABASE … TEMPLATE fails while anyone
    is connected, and TimescaleDB's background workers connect to every database it is in."""
    name = str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name))
        )
        c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )


def clone_database(admin_url: str, template_url: str, prefix: str) -> str:
    """Create a database copied from a template database; return its URL."""
    import time

    template = psycopg.conninfo.conninfo_to_dict(template_url)["dbname"]
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as c:
        for attempt in range(20):
            try:
                c.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(str(template))
                    )
                )
                break
            except psycopg.errors.ObjectInUse:  # a worker still leaving the template
                if attempt == 19:
                    raise
                time.sleep(0.1)
    return with_dbname(admin_url, name)


@pytest.fixture
def fresh_db(pg_admin_url: str, fleet_template_url: str) -> Iterator[str]:
    """A new database copied from the fleet template, for tests whose processes commit."""
    url = clone_database(pg_admin_url, fleet_template_url, "aic_fresh")
    yield url
    drop_database(pg_admin_url, url)


@pytest.fixture
def project_broker(tmp_path: Path) -> Iterator[object]:
    """A Mosquitto started with deploy/mosquitto/mosquitto.conf (anonymous for load)."""
    from tests.brokers import mosquitto_binary, start_project_broker

    if mosquitto_binary() is None:
        unavailable("mosquitto is not installed (apt-get install mosquitto)")
    broker = start_project_broker(tmp_path / "broker")
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def fleet(fleet_file: Path) -> object:
    """The example fleet document."""
    from core.fleet import load_fleet_file

    return load_fleet_file(fleet_file)
