"""The contract parser: valid messages parse; any bad input is a quarantine reason, never an exception."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.messages import MAX_PAYLOAD_BYTES, parse_message
from tests.ingest.helpers import reading

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
TOPIC = "aic/v1/aic-sz-00017/telemetry"


def _ok(**over: object) -> dict[str, object]:
    r = reading("aic-sz-00017", 18234, NOW - timedelta(seconds=1))
    r.update(over)
    return r


def test_contract_example_parses() -> None:
    """The example of DESIGN.md §4 parses with units kept, counters and error codes."""
    doc = {
        "v": 1,
        "robot_id": "aic-sz-00017",
        "seq": 18234,
        "ts": "2026-11-30T04:00:00.250Z",
        "model": "AIC-W1",
        "fw": "3.2.1",
        "state": "cooking",
        "recipe": "gongbao-chicken",
        "m": {
            "wok_temp_c": 212.5,
            "heater_power_w": 3480,
            "igbt_temp_c": 71.2,
            "stir_current_a": 2.1,
            "stir_rpm": 42,
            "stir_vib_mm_s": 1.8,
            "pump_pressure_kpa": 152,
            "exhaust_fan_rpm": 2400,
            "cabinet_temp_c": 38,
        },
        "c": {"cycles_total": 15233, "heater_hours": 3120.4, "run_hours": 5210.2},
        "err": ["E203"],
    }
    p = parse_message(TOPIC, json.dumps(doc).encode(), now=NOW)
    assert not p.rejections
    (r,) = p.readings
    assert r.seq == 18234 and r.ts == datetime(2026, 11, 30, 4, 0, 0, 250000, tzinfo=UTC)
    assert r.m["heater_power_w"] == 3480.0 and r.counters["cycles_total"] == 15233
    assert r.err == ["E203"]


def test_unknown_measurements_are_kept() -> None:
    """Newer firmware's measurement names go to extra, not to quarantine."""
    doc = _ok()
    doc["m"] = {"wok_temp_c": 100, "oil_level_pct": 40.5}  # type: ignore[index]
    p = parse_message(TOPIC, json.dumps(doc).encode(), now=NOW)
    assert p.readings[0].extra == {"oil_level_pct": 40.5}


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (TOPIC, b"x" * (MAX_PAYLOAD_BYTES + 1), "too_large"),
        (TOPIC, b"{not json", "bad_json"),
        (TOPIC, b'{"v":1,"m":{"wok_temp_c":NaN}}', "bad_json"),
        (TOPIC, b'{"v":1,"m":{"wok_temp_c":Infinity}}', "bad_json"),
        (TOPIC, b"\xff\xfe", "bad_json"),
        (TOPIC, b"[1,2]", "bad_field"),
        ("aic/v1/aic-sz-00017/other", b"{}", "bad_topic"),
        ("aic/v2/aic-sz-00017/telemetry", b"{}", "bad_topic"),
        ("aic/v1/AIC_SZ/telemetry", b"{}", "bad_robot_id"),
        ("aic/v1/ab/telemetry", b"{}", "bad_robot_id"),
        (TOPIC, json.dumps(_ok(robot_id="aic-sz-99999")).encode(), "robot_mismatch"),
        (TOPIC, json.dumps(_ok(v=2)).encode(), "unsupported_version"),
        (TOPIC, json.dumps(_ok(v=True)).encode(), "unsupported_version"),
        (TOPIC, json.dumps(_ok(v=1.0)).encode(), "unsupported_version"),
        (TOPIC, json.dumps(_ok(seq=-1)).encode(), "out_of_range"),
        (TOPIC, json.dumps(_ok(seq="12")).encode(), "bad_field"),
        (TOPIC, json.dumps(_ok(seq=1.5)).encode(), "bad_field"),
        (TOPIC, json.dumps(_ok(ts="yesterday")).encode(), "bad_field"),
        (TOPIC, json.dumps(_ok(ts="2026-11-30T04:00:00")).encode(), "bad_field"),
        (TOPIC, json.dumps(_ok(ts="2026-11-30T04:06:00Z")).encode(), "ts_future"),
        (TOPIC, json.dumps(_ok(state="dancing")).encode(), "bad_field"),
        (TOPIC, json.dumps(_ok(m={"wok_temp_c": 9000})).encode(), "out_of_range"),
        (TOPIC, json.dumps(_ok(m={"wok_temp_c": "hot"})).encode(), "bad_field"),
        (TOPIC, json.dumps(_ok(m={"wok_temp_c": True})).encode(), "bad_field"),
        (TOPIC, json.dumps(_ok(m={"Bad Name": 1})).encode(), "bad_field"),
        (TOPIC, json.dumps(_ok(c={"cycles_total": -5})).encode(), "out_of_range"),
        (TOPIC, json.dumps(_ok(err=["not a code"])).encode(), "bad_field"),
        (TOPIC, json.dumps(_ok(recipe="x" * 100)).encode(), "bad_field"),
        (TOPIC, json.dumps({"batch": []}).encode(), "bad_field"),
        (TOPIC, json.dumps({"batch": [{"v": 1}] * 501}).encode(), "batch_too_large"),
        ("aic/v1/aic-sz-00017/status", b'{"online":"yes"}', "bad_field"),
        ("aic/v1/aic-sz-00017/event", json.dumps(_ok(type="explode")).encode(), "bad_field"),
    ],
)
def test_bad_input_has_a_reason(topic: str, payload: bytes, reason: str) -> None:
    """Each way to break the contract yields its quarantine reason and keeps the raw bytes
    (at most the first 64 KiB of them)."""
    p = parse_message(topic, payload, now=NOW)
    assert not p.readings and p.event is None and p.status is None
    assert [r.reason for r in p.rejections] == [reason]
    assert p.rejections[0].payload == payload[:MAX_PAYLOAD_BYTES]


def test_batch_keeps_good_readings_and_rejects_bad_ones() -> None:
    """One bad reading of a batch is quarantined alone, with its index."""
    batch = [_ok(seq=1), _ok(seq=2, state="dancing"), _ok(seq=3)]
    p = parse_message(TOPIC, json.dumps({"batch": batch}).encode(), now=NOW)
    assert [r.seq for r in p.readings] == [1, 3]
    assert len(p.rejections) == 1 and p.rejections[0].detail.startswith("batch[1]")


def test_event_and_status_parse() -> None:
    """Events carry type and code; status carries online and an optional ts (a last will has none)."""
    ev = dict(_ok(), type="fault", code="E203", detail="IGBT over temperature")
    p = parse_message("aic/v1/aic-sz-00017/event", json.dumps(ev).encode(), now=NOW)
    assert p.event is not None and p.event.code == "E203"
    s = parse_message("aic/v1/aic-sz-00017/status", b'{"online": false}', now=NOW)
    assert s.status is not None and s.status.online is False and s.status.ts is None


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=2048), kind=st.sampled_from(["telemetry", "event", "status"]))
def test_any_bytes_never_raise(payload: bytes, kind: str) -> None:
    """Arbitrary bytes give readings or a reason, never an exception."""
    p = parse_message(f"aic/v1/aic-x-1/{kind}", payload, now=NOW)
    assert p.readings or p.event or p.status or p.rejections


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    extra=st.dictionaries(
        st.sampled_from(
            ["v", "seq", "ts", "state", "m", "c", "err", "recipe", "robot_id", "batch", "fw"]
        ),
        json_values,
        max_size=4,
    )
)
def test_mutated_readings_never_raise(extra: dict[str, object]) -> None:
    """A valid reading with arbitrary fields replaced parses or is rejected with a reason."""
    doc = _ok()
    doc.update(extra)
    p = parse_message(TOPIC, json.dumps(doc).encode(), now=NOW)
    assert bool(p.readings) != bool(p.rejections) or (p.readings and p.rejections)
    for r in p.rejections:
        assert r.reason in {
            "bad_field",
            "out_of_range",
            "robot_mismatch",
            "unsupported_version",
            "ts_future",
            "bad_json",
            "batch_too_large",
        }


def test_oversized_payloads_are_quarantined_as_a_bounded_prefix_with_their_hash() -> None:
    """A 10 MB message (on a good topic, or a bad one) keeps only its first 64 KiB in
    quarantine, with the full size and SHA-256 in the reason's detail."""
    import hashlib

    big = b"{" + b"x" * 10_000_000
    digest = hashlib.sha256(big).hexdigest()
    for topic, reason in ((TOPIC, "too_large"), ("aic/v1/x/y/z", "bad_topic")):
        (rej,) = parse_message(topic, big, now=NOW).rejections
        assert rej.reason == reason
        assert rej.payload == big[:MAX_PAYLOAD_BYTES]
        assert f"of {len(big)} bytes kept, sha256 {digest}" in rej.detail
    small = parse_message("aic/v1/x/y/z", b"tiny", now=NOW).rejections[0]
    assert small.payload == b"tiny" and "sha256" not in small.detail
