"""The telemetry parser (``docs/telemetry.md``).

``parse_message`` turns the bytes of one MQTT message into readings, an event,
a status, and rejections; it never raises on bad input. Registry checks
(robot known, not before install date) happen later, in ``ingest.validate``.
Telemetry goes first through the fast path (``ingest.wire``: decoded and validated in
one pass); what it does not accept in full is parsed here, by the reference parser,
which gives every rejection its reason.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from typing import Any

import orjson

from ingest.contract import (
    COUNTERS,
    ERROR_CODE,
    EVENT_TYPES,
    MAX_BATCH,
    MAX_PAYLOAD_BYTES,
    MEASUREMENT_NAME,
    MEASUREMENT_NAMES,
    MEASUREMENTS,
    ROBOT_ID,
    STATES,
    TOPIC,
    ContractError,
    Event,
    Parsed,
    Reading,
    Rejection,
    Status,
    parse_ts,
)
from ingest.wire import decode_readings

__all__ = [  # the contract's names, re-exported for the modules that import them from here
    "COUNTERS",
    "MAX_PAYLOAD_BYTES",
    "MEASUREMENT_NAMES",
    "Event",
    "Parsed",
    "Reading",
    "Status",
    "parse_message",
]


def _reject_constant(name: str) -> float:
    raise ContractError("bad_json", f"{name} is not allowed in JSON")


def _loads(payload: bytes) -> Any:
    """Decode JSON: orjson (strict: no NaN/Infinity, valid UTF-8) on the hot path; anything
    it refuses is decoded again by the stdlib, which gives the precise reason (and accepts
    integers past 64 bits, which the field checks then refuse as out of range)."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        pass
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError("bad_json", f"not UTF-8 at byte {exc.start}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ContractError(
            "bad_json", f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise ContractError("bad_json", "nested too deeply") from None


def _int(obj: dict[str, Any], key: str, *, minimum: int = 0) -> int:
    value = obj.get(key)
    if type(value) is not int:
        raise ContractError("bad_field", f"{key} must be an integer")
    if value < minimum or value > 2**63 - 1:
        raise ContractError("out_of_range", f"{key} {value} out of range")
    return value


def _opt_str(obj: dict[str, Any], key: str, *, max_len: int = 64) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_len or "\x00" in value:
        raise ContractError("bad_field", f"{key} must be a string of at most {max_len} characters")
    return value


def _number(name: str, value: object) -> float:
    if type(value) not in (int, float):
        raise ContractError("bad_field", f"{name} must be a number")
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ContractError("bad_field", f"{name} must be finite")
    return number


def _header(
    obj: object, topic_robot: str, *, now: datetime
) -> tuple[dict[str, Any], int, datetime]:
    if not isinstance(obj, dict):
        raise ContractError("bad_field", "message must be a JSON object")
    version = obj.get("v")
    if type(version) is not int or version != 1:  # true and 1.0 are not the integer 1
        raise ContractError("unsupported_version", f"v must be 1, got {version!r}")
    robot_id = obj.get("robot_id")
    if robot_id != topic_robot:
        raise ContractError(
            "robot_mismatch", f"payload robot_id {robot_id!r} != topic {topic_robot!r}"
        )
    return obj, _int(obj, "seq"), parse_ts(obj.get("ts"), now=now)


def parse_reading(obj: object, topic_robot: str, *, now: datetime) -> Reading:
    """Validate one reading object."""
    data, seq, ts = _header(obj, topic_robot, now=now)
    state = data.get("state")
    if state not in STATES:
        raise ContractError("bad_field", f"state {state!r} is not one of {sorted(STATES)}")
    raw_m = data.get("m", {})
    if not isinstance(raw_m, dict):
        raise ContractError("bad_field", "m must be an object")
    m: dict[str, float] = {}
    extra: dict[str, float] = {}
    isfinite = math.isfinite
    for name, value in raw_m.items():
        # Hot loop (one pass per measurement of every reading): checks inlined.
        kind = type(value)
        if kind is float:
            if not isfinite(value):
                raise ContractError("bad_field", f"m.{name} must be finite")
        elif kind is int:
            value = float(value)
            if not isfinite(value):
                raise ContractError("bad_field", f"m.{name} must be finite")
        else:
            raise ContractError("bad_field", f"m.{name} must be a number")
        known = MEASUREMENTS.get(name)
        if known is None:
            if not MEASUREMENT_NAME.match(name) or len(extra) >= 64:
                raise ContractError("bad_field", f"measurement name {name[:80]!r} is not allowed")
            extra[name] = value
        elif known[1] <= value <= known[2]:
            m[name] = value
        else:
            raise ContractError(
                "out_of_range", f"m.{name} = {value} outside [{known[1]}, {known[2]}]"
            )
    raw_c = data.get("c", {})
    if not isinstance(raw_c, dict):
        raise ContractError("bad_field", "c must be an object")
    counters: dict[str, float] = {}
    for name in COUNTERS:
        if name in raw_c:
            value = _number(f"c.{name}", raw_c[name])
            if value < 0 or value > 1e12:
                raise ContractError("out_of_range", f"c.{name} = {value} out of range")
            if name == "cycles_total" and value != int(value):
                raise ContractError("bad_field", "c.cycles_total must be an integer")
            counters[name] = value
    raw_err = data.get("err", [])
    if not isinstance(raw_err, list) or len(raw_err) > 32:
        raise ContractError("bad_field", "err must be a list of at most 32 codes")
    for code in raw_err:
        if not isinstance(code, str) or not ERROR_CODE.match(code):
            raise ContractError("bad_field", f"error code {str(code)[:40]!r} is not like 'E203'")
    return Reading(
        robot_id=topic_robot,
        seq=seq,
        ts=ts,
        model=_opt_str(data, "model"),
        fw=_opt_str(data, "fw"),
        state=state,
        recipe=_opt_str(data, "recipe"),
        m=m,
        extra=extra,
        counters=counters,
        err=list(raw_err),
    )


def parse_event(obj: object, topic_robot: str, *, now: datetime) -> Event:
    """Validate one event object."""
    data, seq, ts = _header(obj, topic_robot, now=now)
    kind = data.get("type")
    if kind not in EVENT_TYPES:
        raise ContractError("bad_field", f"event type {kind!r} is not one of {sorted(EVENT_TYPES)}")
    code = _opt_str(data, "code", max_len=16)
    if code is not None and not ERROR_CODE.match(code):
        raise ContractError("bad_field", f"code {code!r} is not like 'E203'")
    return Event(
        robot_id=topic_robot,
        seq=seq,
        ts=ts,
        type=kind,
        code=code,
        detail=_opt_str(data, "detail", max_len=1000),
        fw=_opt_str(data, "fw"),
    )


def parse_status(obj: object, topic_robot: str, *, now: datetime) -> Status:
    """Validate a status object (``{"online": bool, "ts": …}``; ts optional in a last will)."""
    if not isinstance(obj, dict):
        raise ContractError("bad_field", "status must be a JSON object")
    online = obj.get("online")
    if not isinstance(online, bool):
        raise ContractError("bad_field", "online must be true or false")
    ts = parse_ts(obj["ts"], now=now) if obj.get("ts") is not None else None
    return Status(robot_id=topic_robot, online=online, ts=ts)


def _rejected(reason: str, detail: str, payload: bytes) -> Rejection:
    """A rejection that keeps at most MAX_PAYLOAD_BYTES of the payload: an oversized one is
    kept as its prefix, with its size and SHA-256 in the detail (quarantine stays bounded)."""
    if len(payload) <= MAX_PAYLOAD_BYTES:
        return Rejection(reason, detail, payload)
    digest = hashlib.sha256(payload).hexdigest()
    return Rejection(
        reason,
        f"{detail}; first {MAX_PAYLOAD_BYTES} of {len(payload)} bytes kept, sha256 {digest}",
        payload[:MAX_PAYLOAD_BYTES],
    )


def parse_message(topic: str, payload: bytes, *, now: datetime, decoded: object = None) -> Parsed:
    """Turn one MQTT message into readings/event/status plus rejections; never raises.
    ``decoded``: what ``payload`` encodes, when an in-process producer already has it (the
    simulator's backfill); validated all the same, only the JSON decoding is skipped."""
    match = TOPIC.match(topic)
    if not match:
        return Parsed(
            "invalid", None, rejections=[_rejected("bad_topic", f"topic {topic[:200]!r}", payload)]
        )
    robot_id, kind = match.group(1), match.group(2)
    if not ROBOT_ID.match(robot_id):
        return Parsed(
            "invalid",
            None,
            rejections=[_rejected("bad_robot_id", f"robot id {robot_id[:80]!r} in topic", payload)],
        )
    result = Parsed(kind, robot_id)
    if len(payload) > MAX_PAYLOAD_BYTES:
        result.rejections.append(
            _rejected("too_large", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}", payload)
        )
        return result
    if kind == "telemetry" and decoded is None:
        fast = decode_readings(payload, robot_id, now=now)
        if fast is not None:
            result.readings = fast
            return result
    try:
        obj = _loads(payload) if decoded is None else decoded
        if kind == "status":
            result.status = parse_status(obj, robot_id, now=now)
        elif kind == "event":
            result.event = parse_event(obj, robot_id, now=now)
        elif isinstance(obj, dict) and "batch" in obj:
            batch = obj["batch"]
            if not isinstance(batch, list) or not batch:
                raise ContractError("bad_field", "batch must be a non-empty list")
            if len(batch) > MAX_BATCH:
                raise ContractError("batch_too_large", f"{len(batch)} readings > {MAX_BATCH}")
            for index, item in enumerate(batch):
                try:
                    result.readings.append(parse_reading(item, robot_id, now=now))
                except ContractError as exc:
                    raw = json.dumps(item, ensure_ascii=False, default=str).encode()
                    result.rejections.append(
                        Rejection(exc.reason, f"batch[{index}]: {exc.detail}", raw)
                    )
        else:
            result.readings.append(parse_reading(obj, robot_id, now=now))
    except ContractError as exc:
        result.rejections.append(Rejection(exc.reason, exc.detail, payload))
    except (TypeError, ValueError, OverflowError) as exc:  # defence in depth: never raise
        result.rejections.append(Rejection("bad_field", f"{type(exc).__name__}: {exc}", payload))
    return result
