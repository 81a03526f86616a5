"""Maintenance plans per robot model: versioned YAML with whichever-first intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class PartLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    qty: int = Field(default=1, ge=1)


class Task(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    title_zh: str
    title_en: str
    interval_days: int | None = Field(default=None, gt=0)
    interval_cycles: int | None = Field(default=None, gt=0)
    interval_run_hours: float | None = Field(default=None, gt=0)
    interval_heater_hours: float | None = Field(default=None, gt=0)
    anchor: Literal["fixed", "floating"] = "floating"
    duration_min: int = Field(gt=0, le=8 * 60)
    parts: list[PartLine] = Field(default_factory=list)
    checklist: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_interval(self) -> Task:
        if not any(
            (
                self.interval_days,
                self.interval_cycles,
                self.interval_run_hours,
                self.interval_heater_hours,
            )
        ):
            raise ValueError(f"task {self.code} has no interval")
        if self.anchor == "fixed" and not self.interval_days:
            raise ValueError(f"task {self.code}: a fixed anchor needs interval_days")
        return self


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    robot_model: str
    version: int = Field(ge=1)
    tasks: list[Task] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Plan:
        codes = [t.code for t in self.tasks]
        if len(codes) != len(set(codes)):
            raise ValueError("task codes repeat")
        return self


def load_plan(path: Path) -> Plan:
    """Read and validate a plan file; errors name the field."""
    try:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Plan.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ValueError(f"{path}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
