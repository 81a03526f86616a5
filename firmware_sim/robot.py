"""One simulated robot: power sessions, dishes, physics, faults, and its messages in time order."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from firmware_sim.faults import Fault
from firmware_sim.kitchen import Session, power_sessions
from firmware_sim.physics import Physics, Severity
from firmware_sim.specs import FirmwareUpdate, NetworkOptions, RobotSpec, SimMessage

# name, wok setpoint °C, cooking seconds, food load (0..1)
RECIPES = (
    ("gongbao-chicken", 210.0, 180.0, 0.8),
    ("yuxiang-pork", 200.0, 200.0, 0.7),
    ("egg-fried-rice", 230.0, 150.0, 0.6),
    ("mapo-tofu", 185.0, 240.0, 0.9),
    ("garlic-greens", 240.0, 90.0, 0.4),
    ("tomato-egg", 195.0, 150.0, 0.5),
)
PREHEAT_TIMEOUT_S = 420.0
MAX_SUBSTEP_S = 10.0
CLEAN_S = 60.0
DOSING_S = 30.0


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dumps(obj: object) -> bytes:
    """Compact UTF-8 JSON (orjson: the same bytes as the stdlib's compact dumps here)."""
    return orjson.dumps(obj)


@dataclass
class _Cycle:
    """Where the kitchen is in its cooking cycle: phase, time in it, recipe, orders waiting."""

    phase: str = "idle"
    phase_t: float = 0.0
    recipe: tuple[str, float, float, float] = RECIPES[0]
    queue: int = 0


class SimRobot:
    """Generates one robot's messages between ``start`` and ``end`` (deterministic per seed)."""

    def __init__(
        self,
        spec: RobotSpec,
        *,
        seed: int,
        faults: list[Fault],
        updates: list[FirmwareUpdate],
        sample_s: float = 10.0,
        batch: int = 1,
        network: NetworkOptions = NetworkOptions(),
        origin: datetime | None = None,
        noise: float = 1.0,
        aging_per_100_days: float = 0.0,
    ) -> None:
        self.spec = spec
        self.seed = seed
        self.faults = faults
        self.all_updates = sorted(
            (u for u in updates if u.applies_to(spec.robot_id, spec.model)), key=lambda u: u.at
        )
        self.sample_s = sample_s
        self.batch = max(1, batch)
        self.net = network
        self.origin = origin
        self.noise = noise
        self.aging = aging_per_100_days
        self._reset()

    def _reset(self) -> None:
        """Start state: every run of messages() from here is identical."""
        spec = self.spec
        self.rng = random.Random(f"robot:{self.seed}:{spec.robot_id}")
        self.updates = list(self.all_updates)
        self.skew = (
            timedelta(seconds=self.rng.gauss(0.0, self.net.clock_skew_s))
            if self.net.clock_skew_s
            else timedelta(0)
        )
        self.physics = Physics(spec.heater_max_w, self.rng, drift_sign=1.0, noise=self.noise)
        self.fw = spec.firmware
        self.seq = self.rng.randrange(1, 10_000) * 1000
        # Counters start from the robot's age at the window start (deterministic).
        origin_day = (self.origin or datetime.now(UTC)).date()
        age_days = max(0.0, (origin_day - spec.install).days)
        self.cycles = int(age_days * self.rng.uniform(40, 80))
        self.heater_h = age_days * self.rng.uniform(2.5, 4.5)
        self.run_h = age_days * self.rng.uniform(8, 12)
        self.failed_codes: list[str] = []
        self.counts = {"readings": 0, "events": 0, "duplicates": 0, "malformed": 0}

    # -- message builders ------------------------------------------------------
    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def _reading(
        self, t: datetime, state: str, recipe: str | None, m: dict[str, float]
    ) -> dict[str, object]:
        self.counts["readings"] += 1
        return {
            "v": 1,
            "robot_id": self.spec.robot_id,
            "seq": self._next_seq(),
            "ts": iso(t + self.skew),
            "model": self.spec.model,
            "fw": self.fw,
            "state": state,
            "recipe": recipe,
            "m": m,
            "c": {
                "cycles_total": self.cycles,
                "heater_hours": round(self.heater_h, 4),
                "run_hours": round(self.run_h, 4),
            },
            "err": list(self.failed_codes),
        }

    def _event(
        self, t: datetime, kind: str, code: str | None = None, detail: str | None = None
    ) -> SimMessage:
        self.counts["events"] += 1
        body = {
            "v": 1,
            "robot_id": self.spec.robot_id,
            "seq": self._next_seq(),
            "ts": iso(t + self.skew),
            "type": kind,
            "code": code,
            "detail": detail,
            "fw": self.fw,
        }
        return SimMessage(
            t, self.spec.robot_id, f"aic/v1/{self.spec.robot_id}/event", _dumps(body), kind="event"
        )

    def _status(self, t: datetime, online: bool) -> SimMessage:
        body = {"online": online, "ts": iso(t + self.skew)}
        return SimMessage(
            t,
            self.spec.robot_id,
            f"aic/v1/{self.spec.robot_id}/status",
            _dumps(body),
            retain=True,
            kind="status",
        )

    def _telemetry(self, t: datetime, readings: list[dict[str, object]]) -> SimMessage:
        body: object = (
            readings[0] if len(readings) == 1 and self.batch == 1 else {"batch": readings}
        )
        payload = _dumps(body)
        malformed = False
        if self.net.malformed_rate and self.rng.random() < self.net.malformed_rate:
            payload, malformed = self._corrupt(payload), True
            self.counts["malformed"] += 1
        return SimMessage(
            t,
            self.spec.robot_id,
            f"aic/v1/{self.spec.robot_id}/telemetry",
            payload,
            malformed=malformed,
            body=None if malformed else body,
        )

    def _corrupt(self, payload: bytes) -> bytes:
        choice = self.rng.randrange(4)
        if choice == 0:
            return payload[: len(payload) // 2]  # truncated
        if choice == 1:
            return payload.replace(b'"wok_temp_c":', b'"wok_temp_c":NaN,"x":', 1)
        if choice == 2:
            return payload.replace(b'"v":1', b'"v":7', 1)
        return payload.replace(b'"state":"', b'"state":"exploded', 1)

    # -- simulation ---------------------------------------------------------------
    def _severity(self, t: datetime) -> Severity:
        sev = Severity()
        if self.aging and self.origin is not None:
            # Healthy wear of every robot: filter dust, bearing play, tube deposits.
            worn = min(1.0, self.aging * max(0.0, (t - self.origin).total_seconds()) / 8.64e6)
            sev.cooling = sev.bearing = sev.clog = worn
        for f in self.faults:
            s = f.severity(t)
            if f.kind == "cooling_degradation":
                sev.cooling = max(sev.cooling, s)
            elif f.kind == "stir_bearing_wear":
                sev.bearing = max(sev.bearing, s)
            elif f.kind == "dosing_tube_clog":
                sev.clog = max(sev.clog, s)
            elif f.kind == "wok_sensor_drift":
                sev.drift = max(sev.drift, s)
            elif f.kind == "heating_coil_degradation":
                sev.coil = max(sev.coil, s)
            elif f.kind == "exhaust_fan_failure":
                sev.fan_failed = sev.fan_failed or f.failed(t)
        return sev

    def messages(self, start: datetime, end: datetime) -> Iterator[SimMessage]:
        """All messages of this robot in [start, end), in publish order, with network effects."""
        self._reset()
        begin = max(
            start, datetime.combine(self.spec.install, datetime.min.time(), UTC) + timedelta(days=1)
        )
        outages = self._outages(begin, end)
        held: list[SimMessage] = []
        for msg in self._raw(begin, end):
            outage = next((o for o in outages if o[0] <= msg.at < o[1]), None)
            if outage is not None:
                held.append(msg)
                continue
            if held:
                yield from self._replay(held, msg.at)
                held = []
            yield msg
            if (
                self.net.duplicate_rate
                and msg.kind != "status"
                and self.rng.random() < self.net.duplicate_rate
            ):
                self.counts["duplicates"] += 1
                yield msg
        if held:
            yield from self._replay(held, held[-1].at)

    def _replay(self, held: list[SimMessage], at: datetime) -> Iterator[SimMessage]:
        """The outbox after a reconnect: the held messages in seq order (statuses: the last only)."""
        statuses = [m for m in held if m.kind == "status"]
        for m in held:
            if m.kind != "status":
                yield SimMessage(
                    max(at, m.at), m.robot_id, m.topic, m.payload, m.retain, m.kind, m.malformed
                )
        if statuses:
            last = statuses[-1]
            yield SimMessage(
                max(at, last.at), last.robot_id, last.topic, last.payload, True, "status"
            )

    def _outages(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        if not self.net.flaps_per_day:
            return []
        rng = random.Random(f"flaps:{self.spec.robot_id}:{start.isoformat()}")
        out: list[tuple[datetime, datetime]] = []
        t = start
        while True:
            t += timedelta(days=rng.expovariate(self.net.flaps_per_day))
            if t >= end:
                return out
            out.append((t, t + timedelta(minutes=rng.expovariate(1.0 / self.net.flap_minutes))))

    def _raw(self, start: datetime, end: datetime) -> Iterator[SimMessage]:
        dt = timedelta(seconds=self.sample_s)
        last_off: datetime | None = None
        for session in power_sessions(self.spec.kitchen, start, end):
            on = max(session.on, start)
            off = min(session.off, end)
            if last_off is not None:
                self.physics.cool_down((on - last_off).total_seconds())
            self.physics.ambient_c = 28.0 + 6.0 * self.rng.random()
            yield self._status(on, True)
            yield self._event(on, "boot", detail=f"firmware {self.fw}")
            yield from self._apply_updates(on)
            orders = self._orders(session, on)
            pending: list[dict[str, object]] = []
            cycle = _Cycle()
            t = on
            fault_announced = bool(self.failed_codes)
            while t < off:
                sev = self._severity(t)
                for f in self.faults:
                    if f.failed(t) and f.error_code not in self.failed_codes:
                        self.failed_codes.append(f.error_code)
                if self.failed_codes and not fault_announced:
                    fault_announced = True
                    if pending:
                        yield self._telemetry(t, pending)
                        pending = []
                    yield self._event(
                        t,
                        "fault",
                        code=self.failed_codes[-1],
                        detail="functional failure: cooking stopped",
                    )
                while orders and orders[0] <= t:
                    orders.pop(0)
                    cycle.queue += 1
                state, name, m = self._sample(cycle, sev)
                pending.append(
                    self._reading(t, state, name if state in ("preheat", "cooking") else None, m)
                )
                if len(pending) >= self.batch:
                    yield self._telemetry(t, pending)
                    pending = []
                t += dt
            if pending:
                yield self._telemetry(off, pending)
            yield self._event(off, "cleaning_done", detail="end-of-service clean")
            yield self._status(off, False)
            last_off = off

    def _apply_updates(self, on: datetime) -> Iterator[SimMessage]:
        """Firmware updates due by power-on install at boot (and may change the physics)."""
        while self.updates and self.updates[0].at <= on:
            upd = self.updates.pop(0)
            if upd.version != self.fw:
                old = self.fw
                self.fw = upd.version
                self.physics.igbt_offset_c = upd.igbt_offset_c
                yield self._event(on, "firmware_updated", detail=f"{old} -> {upd.version}")

    def _sample(self, c: _Cycle, sev: Severity) -> tuple[str, str, dict[str, float]]:
        """One sample interval of cooking cycles: (state at the sample, recipe, measurements).

        Physics runs in sub-steps of at most 10 s, so the heating controller stays stable
        and phases end on time whatever the sample interval.
        """
        n_sub = max(1, math.ceil(self.sample_s / MAX_SUBSTEP_S))
        step = self.sample_s / n_sub
        state, name, m = c.phase, c.recipe[0], {}
        phys = self.physics
        last = n_sub - 1
        first = 0
        if last and (self.failed_codes or (c.phase == "idle" and not c.queue)):
            # Idle (or stopped by a fault) for the whole sample: the sub-steps before the
            # measured one in a tight loop, with the same arithmetic as below.
            if self.failed_codes:
                c.phase, c.queue = "fault", 0
            phys.idle(step, last, sev)
            for _ in range(last):
                self.run_h += step / 3600.0
                c.phase_t += step
            first = last
        for i in range(first, n_sub):
            if self.failed_codes:
                c.phase = "fault"
                c.queue = 0
            elif c.phase == "idle" and c.queue:
                c.queue -= 1
                c.recipe = RECIPES[self.rng.randrange(len(RECIPES))]
                c.phase, c.phase_t = "preheat", 0.0
            name, setpoint, cook_s, load = c.recipe
            state = phase = c.phase
            before, wok = phys.advance(
                step, "idle" if phase == "fault" else phase, setpoint, load, sev
            )
            if i == last:
                m = phys._measure(
                    phase="idle" if phase == "fault" else phase,
                    load=load,
                    dosing=(phase == "cooking" and c.phase_t < DOSING_S)
                    or (phase == "cleaning" and c.phase_t < 20.0),
                    sev=sev,
                    measured=before,
                )
                wok = m["wok_temp_c"]
            self.run_h += step / 3600.0
            if phys.power_w > 0:
                self.heater_h += step / 3600.0
            c.phase_t += step
            if phase == "preheat" and (wok >= setpoint - 8.0 or c.phase_t >= PREHEAT_TIMEOUT_S):
                c.phase, c.phase_t = "cooking", 0.0
            elif phase == "cooking" and c.phase_t >= cook_s:
                c.phase, c.phase_t = "cleaning", 0.0
            elif phase == "cleaning" and c.phase_t >= CLEAN_S:
                c.phase, c.phase_t = "idle", 0.0
                self.cycles += 1
        return state, name, m

    def _orders(self, session: Session, on: datetime) -> list[datetime]:
        out: list[datetime] = []
        for w in session.windows:
            t = max(w.opens, on)
            while (nxt := self.spec.kitchen.next_order(w, t, self.rng)) is not None:
                out.append(nxt)
                t = nxt
        return out
