"""The fleet registry as a typed document: regions, staff, customers, sites, models, robots.

``load_fleet_file`` validates a YAML fleet file completely before anything is
written and reports the first bad entry by its path (``sites[3].robots[0].model``).
"""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import FleetFileError

ROBOT_ID = re.compile(r"^[a-z0-9-]{3,64}$")
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Region(_Strict):
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{1,31}$")]
    name_zh: str
    name_en: str


class StaffMember(_Strict):
    id: Slug
    name: str
    role: Literal["manager", "lead", "technician", "engineer", "viewer", "admin"]
    region: str | None = None
    phone: str | None = None
    email: str | None = None

    @model_validator(mode="after")
    def _region_for_field_roles(self) -> StaffMember:
        if self.role in ("lead", "technician") and not self.region:
            raise ValueError(f"a {self.role} needs a region")
        return self


class Customer(_Strict):
    id: Slug
    name: str
    contact: str | None = None
    phone: str | None = None


class Interval(_Strict):
    """A service interval; ``closes <= opens`` runs past midnight."""

    opens: time
    closes: time


def _parse_interval(text: str) -> Interval:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", text.strip())
    if not match:
        raise ValueError(f"service interval must look like 10:30-14:00, got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h2 == 24 and m2 == 0:
        h2 = 0
    if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60):
        raise ValueError(f"not a time of day in {text!r}")
    if (h1, m1) == (h2, m2):
        raise ValueError(f"empty interval {text!r}")
    return Interval(opens=time(h1, m1), closes=time(h2, m2))


class RobotEntry(_Strict):
    id: str
    serial: str
    model: str
    purchase_date: date
    install_date: date
    warranty_end: date | None = None
    warranty_cycles: int | None = Field(default=None, gt=0)
    firmware: str
    commissioning: Literal["pending", "pass", "fail"] = "pending"

    @field_validator("id")
    @classmethod
    def _robot_id(cls, value: str) -> str:
        if not ROBOT_ID.match(value):
            raise ValueError(f"robot id must match {ROBOT_ID.pattern}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _dates(self) -> RobotEntry:
        if self.install_date < self.purchase_date:
            raise ValueError("install_date is before purchase_date")
        return self


class Site(_Strict):
    id: Slug
    customer: str
    region: str
    name: str
    city: str
    address: str
    contact: str | None = None
    phone: str | None = None
    timezone: str = "Asia/Shanghai"
    hours: dict[str, list[Interval]]
    robots: list[RobotEntry] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("hours", mode="before")
    @classmethod
    def _hours(cls, value: object) -> dict[str, list[Interval]]:
        """Expand ``default`` plus per-day overrides into one list per weekday."""
        if not isinstance(value, dict):
            raise ValueError("hours must map weekdays (or 'default') to lists like ['10:30-14:00']")
        unknown = set(value) - {"default", *WEEKDAYS}
        if unknown:
            raise ValueError(
                f"unknown weekday keys {sorted(unknown)}; use default, {', '.join(WEEKDAYS)}"
            )
        default = value.get("default", [])
        out: dict[str, list[Interval]] = {}
        for day in WEEKDAYS:
            entries = value.get(day, default) or []
            if not isinstance(entries, list):
                raise ValueError(f"hours.{day} must be a list")
            out[day] = [e if isinstance(e, Interval) else _parse_interval(str(e)) for e in entries]
        return out


class RobotModel(_Strict):
    code: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")]
    name: str
    description: str | None = None
    heater_max_w: float = Field(gt=0)
    wok_capacity_l: float | None = Field(default=None, gt=0)
    warranty_months: int = Field(default=12, ge=0)
    # Warranty runs from the purchase date or from a passed commissioning visit.
    warranty_from: Literal["purchase", "commissioning"] = "purchase"
    warranty_cycles: int | None = Field(default=None, gt=0)  # optional usage cap


class Fleet(_Strict):
    version: Literal[1]
    regions: list[Region] = Field(min_length=1)
    staff: list[StaffMember] = Field(default_factory=list)
    models: list[RobotModel] = Field(min_length=1)
    customers: list[Customer] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)

    def robots(self) -> list[tuple[Site, RobotEntry]]:
        return [(site, robot) for site in self.sites for robot in site.robots]


def _check_references(fleet: Fleet) -> None:
    """Cross-entry rules pydantic cannot see; raise FleetFileError with the entry's path."""
    regions = {r.code for r in fleet.regions}
    models = {m.code for m in fleet.models}
    customers = {c.id for c in fleet.customers}

    def unique(kind: str, keys: list[str]) -> None:
        seen: set[str] = set()
        for i, key in enumerate(keys):
            if key in seen:
                raise FleetFileError(f"{kind}[{i}]", f"duplicate id {key!r}")
            seen.add(key)

    unique("regions", [r.code for r in fleet.regions])
    unique("staff", [s.id for s in fleet.staff])
    unique("customers", [c.id for c in fleet.customers])
    unique("sites", [s.id for s in fleet.sites])
    leads: dict[str, int] = {}
    for i, member in enumerate(fleet.staff):
        if member.region is not None and member.region not in regions:
            raise FleetFileError(f"staff[{i}].region", f"unknown region {member.region!r}")
        if member.role == "lead" and member.region is not None:
            if member.region in leads:
                raise FleetFileError(f"staff[{i}].role", f"region {member.region!r} has two leads")
            leads[member.region] = i
    robot_ids: set[str] = set()
    serials: set[str] = set()
    for i, site in enumerate(fleet.sites):
        if site.customer not in customers:
            raise FleetFileError(f"sites[{i}].customer", f"unknown customer {site.customer!r}")
        if site.region not in regions:
            raise FleetFileError(f"sites[{i}].region", f"unknown region {site.region!r}")
        for j, robot in enumerate(site.robots):
            where = f"sites[{i}].robots[{j}]"
            if robot.model not in models:
                raise FleetFileError(f"{where}.model", f"unknown model {robot.model!r}")
            if robot.id in robot_ids:
                raise FleetFileError(f"{where}.id", f"duplicate robot id {robot.id!r}")
            if robot.serial in serials:
                raise FleetFileError(f"{where}.serial", f"duplicate serial {robot.serial!r}")
            robot_ids.add(robot.id)
            serials.add(robot.serial)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def parse_fleet(document: object) -> Fleet:
    """Validate a parsed YAML/JSON document; raise FleetFileError naming the bad entry."""
    try:
        fleet = Fleet.model_validate(document)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        raise FleetFileError(_loc(loc), err["msg"]) from exc
    _check_references(fleet)
    return fleet


def load_fleet_file(path: Path) -> Fleet:
    """Read and validate a fleet YAML file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FleetFileError(str(path), f"not valid YAML: {exc}") from exc
    except OSError as exc:
        raise FleetFileError(str(path), f"cannot read: {exc.strerror}") from exc
    return parse_fleet(document)


def warranty_end(robot: RobotEntry, model: RobotModel) -> date:
    """Return the explicit warranty end, or purchase date plus the model's warranty months."""
    if robot.warranty_end is not None:
        return robot.warranty_end
    return add_months(robot.purchase_date, model.warranty_months)


def add_months(start: date, months: int) -> date:
    """``start`` plus whole months (day clamped to 28 so every month has it).

    >>> add_months(date(2026, 1, 31), 12)
    datetime.date(2027, 1, 28)
    """
    total = start.month - 1 + months
    return date(start.year + total // 12, total % 12 + 1, min(start.day, 28))
