"""What each feature says about which component, in which direction, towards which fault."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.ttf import Degradation


@dataclass(frozen=True)
class Indicator:
    feature: str
    direction: int  # +1: rising is bad, -1: falling is bad
    component: str
    kind: str
    model: Degradation  # how its health runs to failure (analytics/ttf.py)
    sudden: bool = False

    @property
    def failure_level(self) -> float:
        """Relative deviation from baseline at functional failure."""
        return self.model.level


# Default degradation models, fitted from simulated labelled history that no evaluation
# uses (docs/fault-models.md, "Degradation models"):
#   python -m bench.evaluation --robots 200 --days 90 --seeds 8 --faults 0.9 --quick --keep
#   AIC_DATABASE_URL=<the kept database> aic models fit-levels --run-id eval --dry-run
# (182 faults, 19–31 failures per kind; refitted on that run now, each kind keeps
# these). A fleet's own history replaces them per kind (aic models fit-levels). The exhaust fan fails suddenly: its level only marks the plot.
COOLING = Degradation(1.14, power=0.25, saturation=3.0, windows=7, early=0.817, late=1.29)
BEARING = Degradation(4.57, power=0.25, saturation=None, windows=5, early=0.804, late=1.352)
CLOG = Degradation(3.5, power=0.25, saturation=1.5, windows=5, early=0.886, late=1.67)
DRIFT = Degradation(0.149, power=0.5, saturation=1.0, windows=10, early=0.51, late=1.36)
# The coil's model refitted on 2026-12-03 when power per degree became recipe-conditioned
# (the old one, 0.86 / 0.4 / 1.0 / 7, erred 0.154 on the conditioned indicator; this 0.093).
COIL = Degradation(0.876, power=0.25, saturation=3.0, windows=5, early=0.735, late=1.196)

INDICATORS: tuple[Indicator, ...] = (
    Indicator("igbt_rise_per_kw", +1, "igbt_cooling", "cooling_degradation", COOLING),
    Indicator("stir_vib_p90", +1, "stir_drive", "stir_bearing_wear", BEARING),
    Indicator("pressure_per_flow", +1, "dosing_pump", "dosing_tube_clog", CLOG),
    Indicator("power_per_degree", -1, "wok_temp_sensor", "wok_sensor_drift", DRIFT),
    Indicator("power_per_degree", +1, "induction_coil", "heating_coil_degradation", COIL),
    Indicator(
        "fan_rpm_p50", -1, "exhaust_fan", "exhaust_fan_failure", Degradation(0.9), sudden=True
    ),
)

# Evidence that is not a time-to-failure indicator but says which component a
# multivariate (forest) anomaly is about: a worn bearing draws more stir current under
# load, a weak coil heats up slower, a sensor reading high reaches its setpoint sooner.
SECONDARY: tuple[Indicator, ...] = (
    Indicator("stir_current_p50", +1, "stir_drive", "stir_bearing_wear", BEARING),
    Indicator("heatup_s", +1, "induction_coil", "heating_coil_degradation", COIL),
    Indicator("heatup_s", -1, "wok_temp_sensor", "wok_sensor_drift", DRIFT),
)


def attribute(z: dict[str, float]) -> Indicator:
    """The indicator (primary or secondary) pushed furthest in its bad direction by the
    standardised deviations ``z`` (feature → z): which component an anomaly found on all
    features together is about. Issue 21: attributing among the primary indicators only
    blamed a stir-current anomaly on the wok sensor."""
    return max(
        (*INDICATORS, *SECONDARY),
        key=lambda ind: ind.direction * (z.get(ind.feature) or 0.0),
    )
