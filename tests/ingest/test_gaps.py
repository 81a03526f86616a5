"""seq gap planning on hand-built cases."""

from __future__ import annotations

from ingest.gaps import OpenGap, plan_gaps


def test_first_seq_opens_no_gap() -> None:
    """A robot's first seq can be anything; nothing is missing yet."""
    plan = plan_gaps(None, [500, 501], [])
    assert plan.new_max == 501 and plan.opened == []


def test_jumps_open_gaps() -> None:
    """Every jump above the highest seq opens the missing range."""
    plan = plan_gaps(10, [12, 13, 20], [])
    assert plan.new_max == 20
    assert plan.opened == [OpenGap(11, 11), OpenGap(14, 19)]


def test_late_data_fills_open_gaps() -> None:
    """Seqs at or below the highest count towards the gap that holds them; others are ignored."""
    plan = plan_gaps(20, [11, 15, 16, 3], [OpenGap(11, 11), OpenGap(14, 19)])
    assert plan.new_max == 20 and plan.opened == []
    assert plan.filled == {11: 1, 14: 2}


def test_duplicates_in_a_batch_count_once() -> None:
    plan = plan_gaps(20, [15, 15], [OpenGap(14, 19)])
    assert plan.filled == {14: 1}
