"""The parts file (parts.yaml): catalog, parts per task, stock levels and the fee schedule
(非保费用结算标准), validated and loaded."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

PART_CODE = r"^[A-Z0-9][A-Z0-9._-]{1,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Part(_Strict):
    code: str = Field(pattern=PART_CODE)
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    unit: str = "pcs"
    unit_price: Decimal = Field(ge=0, max_digits=10, decimal_places=2)
    returnable: bool = True


class PartQty(_Strict):
    code: str = Field(pattern=PART_CODE)
    qty: int = Field(default=1, ge=1, le=1000)


class StockLevel(_Strict):
    on_hand: int = Field(ge=0)
    min: int = Field(default=0, ge=0)


class FeeSchedule(_Strict):
    version: int = Field(ge=1)
    effective_from: date
    currency: str = "CNY"
    labour_per_hour: Decimal = Field(ge=0)
    min_labour_hours: Decimal = Field(default=Decimal(1), ge=0)
    parts_markup: Decimal = Field(default=Decimal(1), gt=0)
    travel: dict[str, Decimal] = Field(default_factory=dict)
    travel_default: Decimal = Field(default=Decimal(0), ge=0)


class PartsFile(_Strict):
    version: int = Field(ge=1, le=1)
    parts: list[Part] = Field(min_length=1)
    task_parts: dict[str, list[PartQty]] = Field(default_factory=dict)
    stock: dict[str, dict[str, StockLevel]] = Field(default_factory=dict)
    fees: FeeSchedule | None = None


def read_parts_file(path: Path) -> PartsFile:
    """Validate a parts file completely; an error names the entry (``stock.north.X.min``)."""
    try:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = PartsFile.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ValueError(f"{path}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    known = {p.code for p in parsed.parts}
    for where, codes in [
        *((f"task_parts.{t}", [q.code for q in lines]) for t, lines in parsed.task_parts.items()),
        *((f"stock.{r}", list(levels)) for r, levels in parsed.stock.items()),
    ]:
        unknown = sorted(set(codes) - known)
        if unknown:
            raise ValueError(f"{path}: {where}: unknown part {unknown[0]!r}")
    return parsed
