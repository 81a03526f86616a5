"""Domain errors shared by every stage; the API maps them to HTTP in one place."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting has a value the service cannot use; names the setting."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting


class FleetFileError(ValueError):
    """An entry of a fleet file is invalid; carries its path inside the file."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class NotFoundError(LookupError):
    """A named object does not exist (or is not visible to the caller)."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class ServiceUnavailableError(RuntimeError):
    """A service the command needs (database, broker) cannot be reached or started."""
