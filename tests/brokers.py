"""A private Mosquitto started with the project's own configuration (deploy/mosquitto/).

Delivery-guarantee tests need it: the stock configuration drops queued QoS 1
messages and saves to disk only every 30 minutes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from core.embedded import free_port, port_open, wait_for_port

REPO = Path(__file__).resolve().parent.parent
CONF = REPO / "deploy" / "mosquitto" / "mosquitto.conf"
ACL = REPO / "deploy" / "mosquitto" / "acl"


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )


def render_config(
    data_dir: Path, port: int, *, auth: bool, password_file: Path | None = None
) -> str:
    """The deploy configuration with this broker's port, data dir and credential files."""
    out: list[str] = []
    for line in CONF.read_text().splitlines():
        key = line.split(" ", 1)[0]
        if key == "listener":
            line = f"listener {port} 127.0.0.1"
        elif key == "persistence_location":
            line = f"persistence_location {data_dir}/"
        elif key == "allow_anonymous" and not auth:
            line = "allow_anonymous true"
        elif key == "password_file":
            line = f"password_file {password_file}" if auth else ""
        elif key == "acl_file":
            line = f"acl_file {data_dir / 'acl'}" if auth else ""
        elif key == "use_username_as_clientid" and not auth:
            line = ""  # anonymous load-test brokers: clients keep the ids they choose
        out.append(line)
    out.append(f"log_dest file {data_dir}/mosquitto.log")
    if os.geteuid() == 0:
        # Started as root, Mosquitto drops to the `mosquitto` user, which cannot write
        # the test's private directory: its persistence would silently not happen.
        out.append("user root")
    return "\n".join(out) + "\n"


@dataclass
class ProjectBroker:
    data_dir: Path
    port: int
    auth: bool = False
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto is not installed")
        conf = self.data_dir / "mosquitto.conf"
        if not conf.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if self.auth:
                shutil.copy(ACL, self.data_dir / "acl")
            pw = self.data_dir / "passwords"
            pw.touch(mode=0o600)
            conf.write_text(
                render_config(self.data_dir, self.port, auth=self.auth, password_file=pw)
            )
        self.process = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port("127.0.0.1", self.port, timeout_s=10)

    def add_user(self, username: str, password: str) -> None:
        """Add credentials; takes effect at the next (re)start or SIGHUP."""
        subprocess.run(
            ["mosquitto_passwd", "-b", str(self.data_dir / "passwords"), username, password],
            check=True,
            capture_output=True,
        )
        if self.process is not None:
            self.process.send_signal(signal.SIGHUP)
            time.sleep(0.2)

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(timeout=15)
        self.process = None
        deadline = time.monotonic() + 5
        while port_open("127.0.0.1", self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self, *, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start()


def start_project_broker(tmp: Path, *, auth: bool = False) -> ProjectBroker:
    broker = ProjectBroker(tmp, free_port(), auth=auth)
    broker.start()
    return broker
