"""What each feature says about which component, in which direction, towards which fault."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Indicator:
    feature: str
    direction: int  # +1: rising is bad, -1: falling is bad
    component: str
    kind: str
    failure_level: float  # relative deviation from baseline at functional failure
    sudden: bool = False


INDICATORS: tuple[Indicator, ...] = (
    Indicator("igbt_rise_per_kw", +1, "igbt_cooling", "cooling_degradation", 1.1),
    Indicator("stir_vib_p90", +1, "stir_drive", "stir_bearing_wear", 3.5),
    Indicator("pressure_per_flow", +1, "dosing_pump", "dosing_tube_clog", 3.5),
    Indicator("power_per_degree", -1, "wok_temp_sensor", "wok_sensor_drift", 0.15),
    Indicator("power_per_degree", +1, "induction_coil", "heating_coil_degradation", 0.75),
    Indicator("fan_rpm_p50", -1, "exhaust_fan", "exhaust_fan_failure", 0.9, sudden=True),
)
