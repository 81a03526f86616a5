"""``seq`` gap bookkeeping: which ranges are missing per robot, opened and filled."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class OpenGap:
    seq_from: int
    seq_to: int


@dataclass(slots=True)
class GapPlan:
    """What one batch does to a robot's seq bookkeeping."""

    new_max: int | None
    opened: list[OpenGap] = field(default_factory=list)
    filled: dict[int, int] = field(default_factory=dict)  # gap seq_from -> seqs filled


def plan_gaps(prev_max: int | None, seqs: list[int], open_gaps: list[OpenGap]) -> GapPlan:
    """Given the highest seq stored before, the seqs this batch stored, and the open gaps.

    Seqs above ``prev_max`` advance it and open a gap wherever they jump; seqs at or
    below it are late data and count towards the open gap that contains them. The
    very first seq a robot sends opens no gap (its counter may start anywhere).

    >>> plan = plan_gaps(10, [11, 12, 15, 13], [OpenGap(5, 7)])
    >>> plan.new_max, plan.opened, plan.filled
    (15, [OpenGap(seq_from=14, seq_to=14)], {})
    >>> plan_gaps(15, [6, 14], [OpenGap(5, 7), OpenGap(14, 14)]).filled
    {5: 1, 14: 1}
    """
    plan = GapPlan(new_max=prev_max)
    starts = sorted(g.seq_from for g in open_gaps)
    by_start = {g.seq_from: g for g in open_gaps}
    high = prev_max
    late: list[int] = []
    for seq in sorted(set(seqs)):
        if high is None:
            high = seq
        elif seq > high:
            if seq > high + 1:
                plan.opened.append(OpenGap(high + 1, seq - 1))
            high = seq
        else:
            late.append(seq)
    for seq in late:
        i = bisect.bisect_right(starts, seq) - 1
        if i >= 0:
            gap = by_start[starts[i]]
            if gap.seq_from <= seq <= gap.seq_to:
                plan.filled[gap.seq_from] = plan.filled.get(gap.seq_from, 0) + 1
    plan.new_max = high
    return plan
