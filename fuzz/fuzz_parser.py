"""atheris harness for the telemetry parser: any bytes on any topic give a result, never an exception.

Short run (CI does this):   python fuzz/fuzz_parser.py -runs=20000
Long run:                   python fuzz/fuzz_parser.py -max_total_time=3600 fuzz/corpus
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import atheris

with atheris.instrument_imports():
    from ingest.messages import parse_message

NOW = datetime(2026, 11, 30, tzinfo=UTC)
TOPICS = (
    "aic/v1/aic-bj-00001/telemetry",
    "aic/v1/aic-bj-00001/event",
    "aic/v1/aic-bj-00001/status",
)


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    topic = TOPICS[fdp.ConsumeIntInRange(0, 2)] if fdp.ConsumeBool() else fdp.ConsumeUnicode(40)
    payload = fdp.ConsumeBytes(fdp.remaining_bytes())
    parsed = parse_message(topic, payload, now=NOW)
    if not (parsed.readings or parsed.event or parsed.status or parsed.rejections):
        raise AssertionError(f"no result and no reason for {topic!r} {payload[:80]!r}")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
