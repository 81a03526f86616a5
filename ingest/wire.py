"""The fast path of the telemetry parser: decode and validate in one pass, in C (msgspec).

A telemetry payload is decoded straight into typed structs whose types and bounds are the
contract's (``ingest.messages``: measurement ranges, states, lengths, error-code pattern);
only what a type cannot say — the robot id against the topic, the time against ``now``,
NUL in a string, an integral cycle count — is checked in Python afterwards. Anything the
fast path does not accept in full (a bad field, an unknown measurement, one bad reading of
a batch, JSON it cannot read) returns ``None`` and the message is parsed again by the
reference parser in ``ingest.messages``, which gives the precise reason, keeps extra
measurements and keeps a batch's good readings. So this path may only be stricter than the
reference, never looser; ``tests/ingest/test_wire.py`` checks that on mutated messages.

Measured in docs/performance.md: a 100-reading batch parses in about half the time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from ingest.contract import (
    COUNTERS,
    ERROR_CODE,
    MAX_BATCH,
    MEASUREMENTS,
    STATES,
    ContractError,
    Reading,
    parse_ts,
)


def _bounded_fields(bounds: dict[str, tuple[float, float]], **config: Any) -> type[Struct]:
    """A struct of optional floats, one per name, each within its bounds (inclusive)."""
    return msgspec.defstruct(
        "Bounded",
        [
            (name, Annotated[float, Meta(ge=lo, le=hi)] | UnsetType, UNSET)
            for name, (lo, hi) in bounds.items()
        ],
        gc=False,
        **config,
    )


# An unknown measurement is refused here (the reference parser keeps it in ``extra``).
_Measurements = _bounded_fields(
    {name: (lo, hi) for name, (_, lo, hi) in MEASUREMENTS.items()}, forbid_unknown_fields=True
)
# Unknown counters are ignored, as the reference parser ignores them.
_Counters = _bounded_fields({name: (0.0, 1e12) for name in COUNTERS})
_Text64 = Annotated[str, Meta(max_length=64)]
_ErrorCodes = Annotated[list[Annotated[str, Meta(pattern=ERROR_CODE.pattern)]], Meta(max_length=32)]


class _Reading(Struct, gc=False):
    v: Literal[1]
    robot_id: str
    seq: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    ts: Annotated[str, Meta(max_length=40)]
    state: Literal[tuple(sorted(STATES))]  # type: ignore[valid-type]
    model: _Text64 | None = None
    fw: _Text64 | None = None
    recipe: _Text64 | None = None
    m: _Measurements = msgspec.field(default_factory=_Measurements)  # type: ignore[valid-type]
    c: _Counters = msgspec.field(default_factory=_Counters)  # type: ignore[valid-type]
    err: _ErrorCodes = msgspec.field(default_factory=list)
    # A single reading never has a batch key: a message that has one is a batch, which the
    # reference parser reads as such, so its presence sends the message there.
    batch: UnsetType = UNSET


class _Batch(Struct, gc=False):
    batch: Annotated[list[_Reading], Meta(min_length=1, max_length=MAX_BATCH)]


_single = msgspec.json.Decoder(_Reading)
_batch = msgspec.json.Decoder(_Batch)
_MEASUREMENT_NAMES = tuple(MEASUREMENTS)
_COUNTER_NAMES = tuple(COUNTERS)


def _present(struct: object, names: tuple[str, ...]) -> dict[str, float]:
    out = {}
    for name in names:
        value = getattr(struct, name)
        if value is not UNSET:
            out[name] = value
    return out


def _clean(text: str | None) -> bool:
    return text is None or "\x00" not in text


def _reading(r: _Reading, robot_id: str, now: datetime) -> Reading | None:
    if r.robot_id != robot_id or not (_clean(r.model) and _clean(r.fw) and _clean(r.recipe)):
        return None
    counters = _present(r.c, _COUNTER_NAMES)
    cycles = counters.get("cycles_total")
    if cycles is not None and cycles != int(cycles):
        return None
    try:
        ts = parse_ts(r.ts, now=now)
    except ContractError:
        return None
    return Reading(
        robot_id=robot_id,
        seq=r.seq,
        ts=ts,
        model=r.model,
        fw=r.fw,
        state=r.state,
        recipe=r.recipe,
        m=_present(r.m, _MEASUREMENT_NAMES),
        extra={},
        counters=counters,
        err=r.err,
    )


def decode_readings(payload: bytes, robot_id: str, *, now: datetime) -> list[Reading] | None:
    """The readings of a telemetry payload (one reading or a batch) if every one of them is
    valid and plain; ``None`` otherwise (the reference parser then decides)."""
    try:
        items = _batch.decode(payload).batch if b'"batch"' in payload else [_single.decode(payload)]
    except msgspec.MsgspecError:
        return None
    out = []
    for item in items:
        reading = _reading(item, robot_id, now)
        if reading is None:
            return None
        out.append(reading)
    return out
