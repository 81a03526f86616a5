"""A short atheris (libFuzzer) run of the parser harness; the long run is documented there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_atheris_short_run(tmp_path: Path) -> None:
    """20,000 coverage-guided inputs: the parser never raises."""
    seed = tmp_path / "corpus"
    seed.mkdir()
    (seed / "reading").write_bytes(
        b'{"v":1,"robot_id":"aic-bj-00001","seq":1,"ts":"2026-11-29T04:00:00Z",'
        b'"state":"cooking","m":{"wok_temp_c":200},"c":{"cycles_total":1},"err":[]}'
    )
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "fuzz" / "fuzz_parser.py"),
            "-runs=20000",
            "-seed=1",
            str(seed),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done 20000 runs" in proc.stderr
