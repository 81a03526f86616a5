"""Settings: one typed object from AIC_* variables; wrong URLs name the setting."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.settings import Settings, load_settings, parse_mqtt_url


def test_reads_aic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """AIC_DATABASE_URL and AIC_MQTT_URL come from the environment."""
    monkeypatch.setenv("AIC_DATABASE_URL", "postgresql://aic@db:5432/aic")
    monkeypatch.setenv("AIC_MQTT_URL", "mqtts://ingest:pw@broker.example:8884")
    settings = load_settings()
    assert settings.database_url == "postgresql://aic@db:5432/aic"
    endpoint = settings.mqtt_endpoint()
    assert (endpoint.host, endpoint.port, endpoint.tls) == ("broker.example", 8884, True)
    assert (endpoint.username, endpoint.password) == ("ingest", "pw")


def test_unset_urls_mean_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset (or empty) URLs are None: the CLI then starts embedded services."""
    monkeypatch.delenv("AIC_DATABASE_URL", raising=False)
    monkeypatch.setenv("AIC_MQTT_URL", "")
    settings = load_settings()
    assert settings.database_url is None and settings.mqtt_url is None


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("AIC_DATABASE_URL", "mysql://root@localhost/aic"),
        ("AIC_DATABASE_URL", "localhost:5432"),
        ("AIC_MQTT_URL", "tcp://broker:1883"),
        ("AIC_MQTT_URL", "mqtt://"),
        ("AIC_MQTT_URL", "mqtt://broker:notaport"),
    ],
)
def test_wrong_url_names_the_setting(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    """A wrong URL fails at start-up with a message that names the setting."""
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert var in str(info.value)


def test_mqtt_default_ports() -> None:
    """mqtt:// defaults to 1883 and mqtts:// to 8883."""
    assert parse_mqtt_url("mqtt://h").port == 1883
    assert parse_mqtt_url("mqtts://h").port == 8883


def test_settings_built_directly() -> None:
    """Tests build Settings(...) directly, without the environment."""
    s = Settings(database_url="postgres://x@y/z", pool_max_size=3)
    assert s.pool_max_size == 3
