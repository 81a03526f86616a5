"""First-order physics of one AIC robot, with noise and fault effects.

Each signal relaxes towards an equilibrium with its own time constant (exact
discretisation, so any sample interval is stable):

- wok: equilibrium ``T_amb + eta * P * R_wok`` (eta: coil efficiency), tau 80 s;
  a heating controller drives P from the *measured* wok temperature, so sensor
  drift and coil losses both show up as power-versus-temperature residuals.
- IGBT: ``T_cab + P * R_th / cooling`` (cooling falls as the fan filter clogs), tau 25 s.
- stir drive: current and vibration grow with load and bearing wear.
- dosing pump: pressure ``p0 + k * flow / (1 - 0.85 * clog)``.
- exhaust fan: nominal speed while heating, 0 after a fan failure.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field


@dataclass
class Severity:
    """Fault severities in [0, 1] by kind, as seen at this instant."""

    cooling: float = 0.0
    bearing: float = 0.0
    clog: float = 0.0
    drift: float = 0.0
    coil: float = 0.0
    fan_failed: bool = False


@dataclass
class Physics:
    heater_max_w: float
    rng: random.Random
    ambient_c: float = 30.0
    wok_c: float = 30.0
    igbt_c: float = 32.0
    cabinet_c: float = 32.0
    power_w: float = 0.0
    igbt_offset_c: float = 0.0  # firmware effect (e.g. a PWM change that runs the IGBT hotter)
    drift_sign: float = 1.0
    noise: float = 1.0  # multiplies every sensor's noise sd (scenario `noise`)
    _integral: float = field(default=0.0, repr=False)
    _decay: dict[float, tuple[float, float, float]] = field(default_factory=dict, repr=False)

    @property
    def r_wok(self) -> float:
        # Full power holds the empty wok near 330 °C above ambient.
        return 330.0 / self.heater_max_w

    def step(
        self,
        dt: float,
        *,
        phase: str,
        setpoint_c: float,
        load: float,
        dosing: bool,
        sev: Severity,
        measure: bool = True,
    ) -> dict[str, float]:
        """Advance ``dt`` seconds in ``phase`` and return the measurements.

        With ``measure=False`` (inner sub-steps) only the noiseless measured wok
        temperature is returned, which the preheat logic needs.
        """
        before, after = self.advance(dt, phase, setpoint_c, load, sev)
        if not measure:
            return {"wok_temp_c": after}
        return self._measure(phase=phase, load=load, dosing=dosing, sev=sev, measured=before)

    def advance(
        self, dt: float, phase: str, setpoint_c: float, load: float, sev: Severity
    ) -> tuple[float, float]:
        """Advance ``dt`` seconds: the heating controller on the measured temperature, the
        wok's response, and the cabinet and IGBT following the heater power, the fan and the
        cooling path. Returns the noiseless measured wok temperature before and after.

        One function with cached decay factors: the simulator's inner loop (the same
        arithmetic, in the same order, as the three steps written apart)."""
        decay = self._decay.get(dt)
        if decay is None:
            decay = self._decay[dt] = (
                1.0 - math.exp(-dt / 80.0),
                1.0 - math.exp(-dt / 300.0),
                1.0 - math.exp(-dt / 25.0),
            )
        drift = self.drift_sign * 28.0 * sev.drift  # sensor error in °C
        measured = self.wok_c + drift
        ambient = self.ambient_c
        max_w = self.heater_max_w
        r_wok = 330.0 / max_w
        # Heating: the controller on the measured temperature, and the wok's response.
        eta = 1.0 - 0.45 * sev.coil  # coil efficiency
        if phase == "preheat":
            target_p = max_w * 0.95
        elif phase == "cooking":
            error = setpoint_c - measured
            self._integral = max(-200.0, min(400.0, self._integral + error * dt / 60.0))
            hold = (setpoint_c - ambient) / r_wok
            target_p = hold + 40.0 * error + 6.0 * self._integral
        else:
            self._integral = 0.0
            target_p = 0.0
        power = self.power_w = max(0.0, min(max_w, target_p))
        # Food load absorbs heat: lowers the equilibrium while cooking.
        sink = 25.0 * load if phase == "cooking" else 0.0
        wok_eq = ambient + eta * power * r_wok - sink
        if phase == "cleaning":
            wok_eq = ambient + 15.0  # water rinse
        self.wok_c += (wok_eq - self.wok_c) * decay[0]
        # Cooling: the cabinet and the IGBT follow the heater power and the cooling path.
        cooling = 1.0 - 0.55 * sev.cooling
        self.cabinet_c += (
            (
                ambient
                + 2.0
                + 0.0012 * power / cooling
                + (6.0 if sev.fan_failed and power > 0 else 0.0)
            )
            - self.cabinet_c
        ) * decay[1]
        igbt_eq = self.cabinet_c + power * 0.0085 / cooling + self.igbt_offset_c
        self.igbt_c += (igbt_eq - self.igbt_c) * decay[2]
        return measured, self.wok_c + drift

    def idle(self, dt: float, n: int, sev: Severity) -> None:
        """``n`` sub-steps of ``advance(dt, "idle", …)``: heater off, everything relaxing
        towards ambient (bit for bit the same floats, without the controller)."""
        if n <= 0:
            return
        self.advance(dt, "idle", 0.0, 0.0, sev)  # sets power and the integral to 0
        d_wok, d_cab, d_igbt = self._decay[dt]
        wok, cab, igbt = self.wok_c, self.cabinet_c, self.igbt_c
        wok_eq = self.ambient_c + 0.0 - 0.0
        cab_eq = self.ambient_c + 2.0
        offset = self.igbt_offset_c
        for _ in range(n - 1):
            wok += (wok_eq - wok) * d_wok
            cab += (cab_eq - cab) * d_cab
            igbt += ((cab + 0.0) + offset - igbt) * d_igbt
        self.wok_c, self.cabinet_c, self.igbt_c = wok, cab, igbt

    def _measure(
        self, *, phase: str, load: float, dosing: bool, sev: Severity, measured: float
    ) -> dict[str, float]:
        """What the sensors read, with their noise."""
        rng = self.rng
        fan = 0.0 if sev.fan_failed else 1.0
        active = phase in ("preheat", "cooking", "cleaning")
        stirring = phase in ("cooking", "cleaning")
        rpm = (48.0 if phase == "cooking" else 30.0) if stirring else 0.0
        wear = sev.bearing
        current = (0.35 + 1.1 * load + 0.9 * wear * load + 0.4 * wear) if stirring else 0.05
        vib = (0.9 + 0.8 * load + 7.5 * wear**1.5) if stirring else 0.1
        flow = (12.0 if phase == "cooking" else 20.0) if dosing else 0.0
        pressure = 20.0 + 6.5 * flow / (1.0 - 0.85 * sev.clog) if dosing else 18.0 + 4.0 * sev.clog
        fan_rpm = fan * (2400.0 if active or self.power_w > 0 else 900.0)

        scale = self.noise

        def noisy(value: float, sd: float, low: float = 0.0) -> float:
            return round(max(low, value + rng.gauss(0.0, sd * scale)), 2)

        return {
            "wok_temp_c": noisy(measured, 1.2, -10.0),
            "heater_power_w": noisy(self.power_w, 25.0) if self.power_w > 0 else 0.0,
            "igbt_temp_c": noisy(self.igbt_c, 0.6, -10.0),
            "stir_current_a": noisy(current, 0.05),
            "stir_rpm": noisy(rpm, 0.8) if rpm else 0.0,
            "stir_vib_mm_s": noisy(vib, 0.12),
            "pump_pressure_kpa": noisy(pressure, 2.0),
            "dose_flow_ml_s": round(flow, 2),
            "exhaust_fan_rpm": noisy(fan_rpm, 20.0) if fan_rpm else 0.0,
            "cabinet_temp_c": noisy(self.cabinet_c, 0.3, -10.0),
        }

    def cool_down(self, seconds: float) -> None:
        """Powered off: everything relaxes to ambient."""
        k = 1.0 - math.exp(-seconds / 600.0)
        self.wok_c += (self.ambient_c - self.wok_c) * k
        self.igbt_c += (self.ambient_c - self.igbt_c) * k
        self.cabinet_c += (self.ambient_c - self.cabinet_c) * k
        self.power_w = 0.0
