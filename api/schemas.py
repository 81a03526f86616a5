"""What every API operation answers, as models: /openapi.json documents each response.

Repositories hand back rows; FastAPI checks them against these models on the way out,
so a column renamed in SQL fails a test instead of silently changing the API.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Row(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RegionRead(Row):
    code: str
    name_zh: str
    name_en: str


class RobotRead(Row):
    robot_id: str
    model: str
    serial: str
    site_id: str
    site_name: str
    region: str
    timezone: str
    customer: str
    firmware: str
    purchase_date: date
    install_date: date
    warranty_end: date
    in_warranty: bool = Field(description="on the site's local date at the request's instant")
    state: str | None
    last_seen: datetime | None
    online: bool | None
    err: list[str] | None
    open_anomalies: int
    next_maintenance_due: datetime | None


class TelemetryPoint(Row):
    t: datetime
    avg: float | None
    min: float | None
    max: float | None


class TelemetryRead(Row):
    model_config = ConfigDict(populate_by_name=True)

    robot_id: str
    metric: str
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    points: list[TelemetryPoint]


class CustomerRead(Row):
    id: str
    name: str
    contact: str | None
    phone: str | None


class ServiceHoursRead(Row):
    weekday: int = Field(description="1 = Monday … 7 = Sunday")
    opens: time
    closes: time


class SiteRead(Row):
    id: str
    customer_id: str
    region: str
    name: str
    city: str | None
    address: str | None
    contact: str | None
    phone: str | None
    timezone: str
    service_hours: list[ServiceHoursRead]


class EventRead(Row):
    ts: datetime
    seq: int
    type: str
    code: str | None
    detail: str | None
    fw: str | None


class PlanTaskRead(Row):
    robot_model: str
    version: int
    loaded_at: datetime
    code: str
    title_zh: str
    title_en: str
    interval_days: int | None
    interval_cycles: int | None
    interval_run_hours: float | None
    interval_heater_hours: float | None
    anchor: str
    duration_min: int
    parts: list[dict[str, Any]]
    checklist: list[Any]


class FaultModelRead(Row):
    id: int
    name: str
    robot_model: str
    firmware: str | None
    version: int
    n_train: int
    sklearn_version: str
    data_hash: str
    active: bool
    created_at: datetime
    train_from: datetime | None
    train_to: datetime | None
    metrics: dict[str, Any] | None


class QuarantineRead(Row):
    id: int
    received_at: datetime
    topic: str
    reason: str
    detail: str | None
    payload: str = Field(description="the first 2,000 bytes, as UTF-8 (invalid bytes replaced)")


class AnomalyRead(Row):
    id: int
    robot_id: str
    detector: str
    model_version: str
    component: str
    kind: str
    window_start: datetime
    window_end: datetime
    score: float
    severity: str
    predicted_failure: datetime | None
    status: str
    evidence: dict[str, Any]
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    cleared_by: str | None
    cleared_at: datetime | None


class AnomalyStatusRead(Row):
    id: int
    status: str


class WorkOrderSummary(Row):
    id: int
    number: str
    type: str
    status: str
    priority: int
    robot_id: str
    site_id: str
    region: str
    title: str
    due_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    window_late: bool
    lead_id: str | None
    technician_id: str | None
    warranty: str | None
    created_at: datetime
    updated_at: datetime


class WorkOrderEventRead(Row):
    at: datetime
    actor: str
    from_status: str | None
    to_status: str
    note: str | None


class CallbackRead(Row):
    kind: str
    due_at: datetime
    done_at: datetime | None
    done_by: str | None
    satisfied: bool | None
    notes: str | None
    unreachable_reason: str | None = Field(default=None, description="why none was possible")
    revisit_order_id: int | None = None


class WorkOrderRead(WorkOrderSummary):
    dedup_key: str
    customer_id: str
    tasks: list[str]
    symptom: str | None
    customer_requests: str | None
    anomaly_id: int | None
    evidence: dict[str, Any] | None
    completion: dict[str, Any] | None = Field(
        description="the completed form, with in_warranty, quote and charged"
    )
    held_from: str | None
    escalated_at: datetime | None
    escalated_to: str | None
    created_by: str | None
    customer_name: str
    customer_phone: str | None
    address: str | None
    site_phone: str | None
    timezone: str
    model: str
    purchase_date: date
    origin: str = Field(default="scheduler", description="scheduler, phone, wechat, … revisit")
    reported_by: str | None = None
    parent_id: int | None = Field(default=None, description="the order a revisit follows")
    quote: dict[str, Any] | None = Field(default=None, description="out of warranty: the fee")
    quote_accepted_at: datetime | None = None
    quote_accepted_by: str | None = None
    history: list[WorkOrderEventRead]
    callbacks: list[CallbackRead]


class TransitionRead(Row):
    id: int
    number: str
    status: str
    completion: dict[str, Any] | None = Field(
        default=None, description="after completion: the form with in_warranty, quote, charged"
    )


class CallbackDoneRead(Row):
    kind: str
    due_at: datetime
    done_at: datetime
    satisfied: bool
    revisit_order_id: int | None = Field(
        default=None, description="the revisit order an unsatisfied customer gets"
    )


class ReportInfo(Row):
    name: str
    title: str
    period: str | None = Field(description="month, week, or null (as of now)")
    columns: dict[str, str] = Field(description="column key → its 中文/English header")


class StockRead(Row):
    region: str
    part_code: str
    on_hand: int


class FaultyReturnRead(Row):
    id: int
    region: str
    part_code: str
    qty: int
    work_order_id: int
    robot_id: str
    removed_at: datetime
    received_at: datetime | None
    received_by: str | None
    note: str | None


class WarrantyEntryRead(Row):
    at: datetime
    work_order: str
    type: str
    description: str
    in_warranty: bool
    charged: float


class WarrantyCardRead(Row):
    robot_id: str
    card_no: str
    customer_id: str
    start_date: date
    end_date: date
    cycle_cap: int | None
    issued_at: datetime
    serial: str
    model: str
    site_id: str
    customer: str
    entries: list[WarrantyEntryRead]


class CustomerFileEntryRead(Row):
    at: datetime
    region: str
    robot_id: str
    work_order: str
    kind: str
    summary: str
    rating: int | None
    charged: float | None


class CreatedRead(Row):
    id: int


class HealthRead(Row):
    status: str
    reason: str | None = None


class QuoteRead(Row):
    """A quote for out-of-warranty work: amounts in yuan as decimal strings."""

    schedule_version: int
    currency: str
    minutes: int
    labour_hours: str
    labour: str
    parts: list[dict[str, Any]] = Field(description="[{code, qty}]")
    parts_total: str | None = None
    travel: str
    total: str
    accepted_by: str | None = None
    accepted_at: datetime | None = None


class ConsultationRead(Row):
    id: int
    customer_id: str
    region: str
    robot_id: str | None
    at: datetime
    channel: str
    question: str
    answer: str
    staff_id: str
