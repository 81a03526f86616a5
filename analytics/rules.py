"""Threshold rules written by engineers in a versioned YAML file (``analytics/rules.yaml``).

A rule fires on a feature window when a feature crosses a value, or when the
robot reported an error code. Rules apply to all robot models unless ``models``
names some.
"""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_RULES = Path(__file__).with_name("rules.yaml")
_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    models: list[str] = Field(default_factory=list)
    feature: str | None = None
    op: Literal[">", ">=", "<", "<="] | None = None
    value: float | None = None
    error_code: str | None = None
    component: str
    kind: str
    severity: Literal["low", "medium", "high", "critical"] = "medium"

    @model_validator(mode="after")
    def _one_condition(self) -> Rule:
        feature_rule = self.feature is not None and self.op is not None and self.value is not None
        if feature_rule == (self.error_code is not None):
            raise ValueError("a rule has either feature/op/value or error_code")
        return self

    def fires(self, window: dict[str, Any]) -> bool:
        if self.models and window.get("model") not in self.models:
            return False
        if self.error_code is not None:
            return self.error_code in (window.get("err_codes") or [])
        value = window.get(self.feature or "")
        if value is None or self.value is None:
            return False
        return bool(_OPS[self.op or ">"](value, self.value))


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    rules: list[Rule]

    @property
    def label(self) -> str:
        return f"rules/{self.version}"


def load_rules(path: Path = DEFAULT_RULES) -> RuleSet:
    try:
        return RuleSet.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ValueError(f"{path}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from exc
