"""One typed settings object, read from ``AIC_*`` environment variables.

Built at the entry point (the CLI or a test) and passed down; nothing here
connects to anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.clock import Clock, FixedClock, SystemClock
from core.errors import ConfigError


def _default_state_dir() -> Path:
    return Path.home() / ".local" / "state" / "aic-fleet-care"


@dataclass(frozen=True)
class MqttEndpoint:
    """Parsed ``AIC_MQTT_URL``."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @property
    def url(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        auth = f"{self.username}@" if self.username else ""
        return f"{scheme}://{auth}{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> MqttEndpoint:
    """Parse ``mqtt://user:password@host:port`` (``mqtts://`` for TLS).

    >>> parse_mqtt_url("mqtt://ingest:s3cret@broker:1884").port
    1884
    """
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ConfigError(
            "AIC_MQTT_URL", f"scheme must be mqtt:// or mqtts://, got {parts.scheme or url!r}"
        )
    if not parts.hostname:
        raise ConfigError("AIC_MQTT_URL", f"no host in {url!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError("AIC_MQTT_URL", f"bad port in {url!r}") from exc
    tls = parts.scheme == "mqtts"
    return MqttEndpoint(
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class Settings(BaseSettings):
    """Everything a deployment configures. Environment prefix ``AIC_``."""

    model_config = SettingsConfigDict(env_prefix="AIC_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="libpq URL, e.g. postgresql://aic@db:5432/aic; unset = embedded PostgreSQL",
    )
    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://user:password@host:port (mqtts:// for TLS); unset = embedded broker",
    )
    state_dir: Path = Field(default_factory=_default_state_dir)
    pool_min_size: int = Field(default=1, ge=1)
    pool_max_size: int = Field(default=8, ge=1)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    log_level: str = "INFO"
    jwt_secret: str | None = Field(
        default=None,
        min_length=32,
        description="HMAC key for API tokens (32+ characters); unset = a random key per process",
    )
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    api_statement_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="longest an API request waits for a connection or a statement (then 503)",
    )
    refresh_token_hours: int = Field(default=12, ge=1, le=24 * 30)
    notify_config: Path | None = Field(
        default=None, description="YAML of notification channels (scheduler/notify.py)"
    )
    now: datetime | None = Field(
        default=None,
        description="freeze the clock at this ISO instant (reproducible demos, back-fills, "
        "tests); unset = the system clock",
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in ("postgresql", "postgres"):
            raise ValueError(
                "AIC_DATABASE_URL must be a libpq URL starting with postgresql:// "
                f"(got {value.split('@')[-1]!r})"
            )
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            parse_mqtt_url(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("now")
    @classmethod
    def _check_now(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("AIC_NOW needs a zone, e.g. 2026-12-01T02:00:00Z or …+08:00")
        return value

    def clock(self) -> Clock:
        """The one clock of this process: fixed at ``AIC_NOW`` when set, else the system's."""
        return SystemClock() if self.now is None else FixedClock(self.now)

    def mqtt_endpoint(self) -> MqttEndpoint:
        """Return the parsed broker endpoint; the URL must be set."""
        if self.mqtt_url is None:
            raise ConfigError("AIC_MQTT_URL", "not set")
        return parse_mqtt_url(self.mqtt_url)


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, raising ConfigError that names the setting."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        raise ConfigError(f"AIC_{field.upper()}", first["msg"]) from exc
