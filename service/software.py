"""软件更新记录: software-update records and how each firmware version behaves.

Records come from the robots' ``firmware_updated`` events (over the air, operator
``ota``), from software-update work orders and from manual entries by the lead
(site, date, model, quantity, version, operator — the manual's list). Version
distribution is the firmware each robot reports now (registry value until it
reports). Per version: robot-days on it (daily feature windows), functional
failures and anomalies per 100 robot-days, and the fleet median of each health
indicator. A version is flagged *worse* than its predecessor (the previous version
number of the same model) when

- its failures + anomalies per robot-day are at least 1.5× the predecessor's and the
  excess is significant (one-sided binomial test on the events of the two versions
  split by their robot-days, p < 0.05), or
- a health indicator's fleet median moved 10 % or more in its bad direction (the
  IGBT running hotter per kW, more vibration…): with per-version baselines the
  robots' own detectors take such a step as the new normal, so the fleet view is
  where it shows.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from core.clock import local_date
from core.db import Conn
from core.errors import NotFoundError
from service import software_repository as sr
from service.software_repository import records as records
from service.software_repository import sync_from_events as sync_from_events

# A firmware version string, here and in the API: "3.3.0", "2.4.1-rc1".
VERSION = r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,31}$"
# What a person types for a release: 3.3.0, 2.4.1-rc1 (numbers first, 2 to 4 parts).
RELEASE = re.compile(r"^\d{1,4}(\.\d{1,4}){1,3}([-+][0-9A-Za-z.]{1,16})?$")
WORSE_RATIO = 1.5
P_VALUE = 0.05
SHIFT_LIMIT = 0.10


def record_manual(
    conn: Conn,
    *,
    site_id: str,
    model: str,
    updated_on: date | None,
    quantity: int,
    version: str,
    operator: str,
    now: datetime,
    from_version: str | None = None,
    region: str | None = None,
) -> int:
    """A lead's entry for an update done by hand (USB stick, service laptop); with no
    ``updated_on`` it is the site's local date at ``now``."""
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    for name, v in (("version", version), ("from_version", from_version)):
        if v is not None and not RELEASE.match(v):
            raise ValueError(
                f"{name} must be a release number like 3.3.0, got {v!r} 版本号格式错误"
            )
    site = sr.site_region_zone(conn, site_id=site_id)
    if site is None or (region is not None and site[0] != region):
        raise NotFoundError("site", site_id)
    if not sr.model_exists(conn, model=model):
        raise NotFoundError("robot model", model)
    robots = sr.robots_at_site(conn, site_id=site_id, model=model)
    if quantity > robots:
        raise ValueError(
            f"{quantity} units updated, but the site has {robots} {model} robots 数量超过该店设备数"
        )
    today = local_date(now, site[1])
    if updated_on is not None and updated_on > today:
        raise ValueError(f"the update date {updated_on} is after today {today} 日期不能晚于今天")
    return sr.insert_manual(
        conn,
        site_id=site_id,
        model=model,
        updated_on=updated_on or today,
        quantity=quantity,
        version=version,
        from_version=from_version,
        operator=operator,
        now=now,
    )


def record_from_order(
    conn: Conn, *, order: dict[str, Any], version: str, actor: str, at: datetime, on: date
) -> None:
    """The update done on a software-update order (its completion names the version)."""
    sr.insert_from_order(conn, order=order, version=version, actor=actor, at=at, on=on)


def version_distribution(conn: Conn, *, region: str | None = None) -> list[dict[str, Any]]:
    """Robots per region, model and the firmware they run now."""
    rows = sr.robots_per_version(conn, region=region)
    totals: dict[tuple[str, str], int] = {}
    for r in rows:
        totals[(r["region"], r["model"])] = totals.get((r["region"], r["model"]), 0) + r["robots"]
    for r in rows:
        r["share"] = round(r["robots"] / totals[(r["region"], r["model"])], 3)
    return sorted(rows, key=lambda r: (r["region"], r["model"], version_key(r["version"])))


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Sort key: numeric parts numerically ('2.10' after '2.9').

    >>> sorted(["2.10.0", "2.9.1", "2.9"], key=version_key)
    ['2.9', '2.9.1', '2.10.0']
    """
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.\-+]", version))


def version_rates(conn: Conn, *, region: str | None = None) -> list[dict[str, Any]]:
    """Failures and anomalies per 100 robot-days for each model and firmware version;
    ``worse`` marks a version doing worse than its predecessor."""
    rows = sr.activity_per_version(conn, region=region)
    medians = _indicator_medians(conn, region=region)
    rows.sort(key=lambda r: (r["model"], version_key(r["version"])))
    previous: dict[str, dict[str, Any]] = {}
    for r in rows:
        r["failures_per_100d"] = round(100 * r["failures"] / r["robot_days"], 2)
        r["anomalies_per_100d"] = round(100 * r["anomalies"] / r["robot_days"], 2)
        prev = previous.get(r["model"])
        r["predecessor"] = prev["version"] if prev else None
        r["p_value"] = None
        r["feature_shift"] = None
        worse = False
        if prev is not None:
            a = r["failures"] + r["anomalies"]
            b = prev["failures"] + prev["anomalies"]
            rate, prev_rate = a / r["robot_days"], b / prev["robot_days"]
            if a and rate >= WORSE_RATIO * prev_rate:
                r["p_value"] = round(excess_p_value(a, b, r["robot_days"], prev["robot_days"]), 4)
                worse = r["p_value"] < P_VALUE
            shift = worst_shift(
                medians.get((r["model"], r["version"]), {}),
                medians.get((r["model"], prev["version"]), {}),
            )
            if shift is not None:
                r["feature_shift"] = f"{shift[0]} {shift[1]:+.1%}"
                worse = worse or shift[2] >= SHIFT_LIMIT
        r["worse"] = worse
        previous[r["model"]] = r
    return rows


def excess_p_value(a: int, b: int, days_a: float, days_b: float) -> float:
    """P(at least ``a`` of the a + b events fall on version A) if both versions had the
    same rate, i.e. events split in proportion to robot-days.

    >>> round(excess_p_value(6, 1, 50, 100), 4)
    0.0069
    """
    from scipy.stats import binom

    return float(binom.sf(a - 1, a + b, days_a / (days_a + days_b)))


def worst_shift(new: dict[str, float], old: dict[str, float]) -> tuple[str, float, float] | None:
    """(feature, relative change, change in the bad direction) of the indicator that moved
    furthest in its bad direction between two versions' fleet medians."""
    from analytics.components import INDICATORS

    best: tuple[str, float, float] | None = None
    for ind in INDICATORS:
        n, o = new.get(ind.feature), old.get(ind.feature)
        if n is None or not o:
            continue
        change = n / o - 1
        bad = ind.direction * change
        if best is None or bad > best[2]:
            best = (ind.feature, change, bad)
    return best


def _indicator_medians(
    conn: Conn, *, region: str | None
) -> dict[tuple[str, str], dict[str, float]]:
    """Fleet median of each health indicator per model and firmware (cooking windows)."""
    from analytics.components import INDICATORS

    return sr.indicator_medians(
        conn, region=region, features=sorted({i.feature for i in INDICATORS})
    )
