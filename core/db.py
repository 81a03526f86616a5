"""PostgreSQL connection pool with an explicit lifecycle that fails fast."""

from __future__ import annotations

import logging

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolTimeout

from core.errors import ConfigError, ServiceUnavailableError

logger = logging.getLogger(__name__)


def redact(url: str) -> str:
    """Return the URL without its password, for logs and errors."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


def check_connection(url: str, *, timeout_s: float = 5.0) -> None:
    """Connect once and run ``SELECT 1``; raise ServiceUnavailableError naming the setting."""
    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout_s))) as conn:
            conn.execute("SELECT 1")
    except psycopg.ProgrammingError as exc:
        raise ConfigError("AIC_DATABASE_URL", f"invalid URL: {exc}") from exc
    except psycopg.OperationalError as exc:
        raise ServiceUnavailableError(
            f"AIC_DATABASE_URL: cannot connect to {redact(url)}: {exc}".strip()
        ) from exc


def open_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 8,
    timeout_s: float = 10.0,
    name: str = "aic",
) -> ConnectionPool:
    """Open a pool and wait until it holds ``min_size`` connections.

    A wrong URL fails here, at start-up, with a message naming ``AIC_DATABASE_URL``.
    The caller closes the pool (``with open_pool(...) as pool:``).
    """
    check_connection(url, timeout_s=timeout_s)
    pool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        name=name,
        check=ConnectionPool.check_connection,
        timeout=timeout_s,
    )
    pool.open()
    try:
        pool.wait(timeout=timeout_s)
    except PoolTimeout as exc:
        pool.close()
        raise ServiceUnavailableError(
            f"AIC_DATABASE_URL: pool for {redact(url)} not ready after {timeout_s:.0f} s"
        ) from exc
    logger.debug("database pool %s open (%d..%d connections)", name, min_size, max_size)
    return pool


Conn = psycopg.Connection[TupleRow]
"""The connection type every repository takes (tuple rows unless a cursor says otherwise)."""
