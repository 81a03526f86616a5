"""The parser's fast path (ingest.wire) is never looser than the reference parser and gives
the same readings whenever it accepts a message."""

from __future__ import annotations

import json
from datetime import timedelta

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.messages import parse_message
from ingest.wire import decode_readings
from tests.ingest.test_messages import NOW, TOPIC, _ok

ROBOT = "aic-sz-00017"

# Values a mutation may put in a field: valid-looking ones near the contract's edges as well
# as wrong types, so that both paths get to accept and refuse.
edge_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**65), max_value=2**65),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, 1.0, -0.0, 450, 450.0, 450.0000001, 1e12, 1e12 + 1, 2**63 - 1, 2**63]),
    st.text(max_size=70),
    st.sampled_from(
        ["cooking", "idle", "COOKING", "E203", "e203", "E2", "E203\n", "a\x00b", "x" * 64, "é" * 64]
    ),
    st.sampled_from(
        [
            (NOW - timedelta(seconds=1)).isoformat(),
            "2026-11-30T03:59:59Z",
            "2026-11-30T03:59:59",
            "2026-11-30 03:59:59+08:00",
            "1999-12-31T23:59:59Z",
            "2026-11-30T04:06:00Z",
            "2026-11-30T03:59:59.1234567Z",
        ]
    ),
    st.lists(st.sampled_from(["E203", "W1", "bad", 7]), max_size=3),
    st.dictionaries(
        st.sampled_from(["wok_temp_c", "stir_rpm", "cycles_total", "heater_hours", "new_sensor"]),
        st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(), st.none()),
        max_size=3,
    ),
)
FIELDS = ["v", "robot_id", "seq", "ts", "state", "model", "fw", "recipe", "m", "c", "err", "batch"]
mutations = st.dictionaries(st.sampled_from(FIELDS), edge_values, max_size=3)
nested = st.tuples(st.sampled_from(["m", "c"]), st.text(max_size=20), edge_values)


def _same_or_refused(payload: bytes) -> bool:
    """Whether the fast path accepted; when it did, its readings are the reference's."""
    fast = decode_readings(payload, ROBOT, now=NOW)
    if fast is None:
        return False
    reference = parse_message(TOPIC, payload, now=NOW, decoded=orjson.loads(payload))
    assert not reference.rejections, (payload, reference.rejections)
    assert reference.readings == fast, payload
    return True


def test_plain_readings_take_the_fast_path() -> None:
    """A valid single reading and a valid batch are accepted by the fast path (so the
    comparisons below are not vacuous) and give the reference parser's readings."""
    batch = {"batch": [_ok(seq=s) for s in range(1, 4)]}
    assert _same_or_refused(json.dumps(_ok()).encode())
    assert _same_or_refused(json.dumps(batch).encode())


@settings(max_examples=400, deadline=None)
@given(over=mutations, inner=st.lists(nested, max_size=2), in_batch=st.booleans())
def test_the_fast_path_is_never_looser_than_the_reference(
    over: dict[str, object], inner: list[tuple[str, str, object]], in_batch: bool
) -> None:
    doc = _ok()
    doc.update(over)
    for key, name, value in inner:
        if isinstance(doc.get(key), dict):
            doc[key][name] = value  # type: ignore[index]
    body = {"batch": [_ok(seq=1), doc]} if in_batch else doc
    _same_or_refused(json.dumps(body).encode())


def test_what_the_fast_path_leaves_to_the_reference() -> None:
    """Unknown measurements, one bad reading of a batch, a 'batch' key spelt with an escape
    and duplicate keys go to the reference parser, which keeps what it should."""
    extra = _ok()
    extra["m"]["new_sensor"] = 1.5  # type: ignore[index]
    payload = json.dumps(extra).encode()
    assert decode_readings(payload, ROBOT, now=NOW) is None
    assert parse_message(TOPIC, payload, now=NOW).readings[0].extra == {"new_sensor": 1.5}

    batch = {"batch": [_ok(seq=1), _ok(seq=2, state="frying")]}
    payload = json.dumps(batch).encode()
    assert decode_readings(payload, ROBOT, now=NOW) is None
    p = parse_message(TOPIC, payload, now=NOW)
    assert [r.seq for r in p.readings] == [1] and p.rejections[0].detail.startswith("batch[1]")

    payload = json.dumps(_ok()).encode()[:-1] + b', "\\u0062atch": "x"}'
    assert orjson.loads(payload)["batch"] == "x"
    assert decode_readings(payload, ROBOT, now=NOW) is None
    assert parse_message(TOPIC, payload, now=NOW).rejections[0].reason == "bad_field"

    # Duplicate keys: the last one counts in both paths.
    payload = json.dumps(_ok()).encode()[:-1] + b', "state": "idle"}'
    assert _same_or_refused(payload)
    assert parse_message(TOPIC, payload, now=NOW).readings[0].state == "idle"


def test_measurement_columns_full_partial_and_odd() -> None:
    """The writer's column order (one C call when a reading has every measurement) is the
    same as reading them one by one, for full, partial and hand-built odd readings."""
    from ingest.contract import MEASUREMENT_NAMES
    from ingest.repository import _measurements

    full = {name: float(i) for i, name in enumerate(reversed(MEASUREMENT_NAMES))}
    partial = {"stir_rpm": 60.0, "wok_temp_c": 180.0}
    odd = {**dict(list(full.items())[1:]), "not_a_column": 1.0}  # as many keys, one unknown
    for m in (full, partial, odd, {}):
        assert list(_measurements(m)) == [m.get(name) for name in MEASUREMENT_NAMES]
