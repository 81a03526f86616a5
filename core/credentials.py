"""Per-robot MQTT credentials in a Mosquitto password file (``mosquitto_passwd``).

The robot id is the MQTT username, so the ACL pattern ``aic/v1/%u/#`` confines
each robot to its own topics.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from pathlib import Path

ROBOT_ID = re.compile(r"^[a-z0-9-]{3,64}$")  # no MQTT wildcards, no '/', no '%'


class CredentialError(ValueError):
    """A robot id or password file that cannot be used; names the value."""


def _passwd() -> str:
    tool = shutil.which("mosquitto_passwd") or (
        "/usr/bin/mosquitto_passwd" if Path("/usr/bin/mosquitto_passwd").exists() else None
    )
    if tool is None:
        raise CredentialError("mosquitto_passwd not found (Debian: apt-get install mosquitto)")
    return tool


def provision(password_file: Path, robot_id: str, *, password: str | None = None) -> str:
    """Create or replace a robot's credentials; return the password (generated if not given)."""
    if not ROBOT_ID.match(robot_id):
        raise CredentialError(f"robot id {robot_id!r} must match {ROBOT_ID.pattern}")
    secret = password or secrets.token_urlsafe(24)
    password_file.parent.mkdir(parents=True, exist_ok=True)
    if not password_file.exists():
        password_file.touch(mode=0o600)
    subprocess.run(
        [_passwd(), "-b", str(password_file), robot_id, secret], check=True, capture_output=True
    )
    return secret


def revoke(password_file: Path, robot_id: str) -> None:
    """Remove a robot's credentials (the broker applies it on reload: SIGHUP)."""
    if not password_file.exists():
        raise CredentialError(f"no password file {password_file}")
    subprocess.run([_passwd(), "-D", str(password_file), robot_id], check=True, capture_output=True)
