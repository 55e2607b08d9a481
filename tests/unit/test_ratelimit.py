"""The per-token sliding window counter (entrypoints/api/ratelimit.py): the sums of `limits`'
SlidingWindowCounterRateLimiter, without its timer threads."""

from __future__ import annotations

from limits import parse

from shouhou.entrypoints.api.ratelimit import SlidingCounter


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_a_window_refuses_past_its_limit_and_ages_out_by_overlap() -> None:
    clock = Clock(600.0)  # the start of a one-minute window
    counter = SlidingCounter(parse("3/minute"), clock)
    assert [counter.hit("a") for _ in range(4)] == [True, True, True, False]
    assert counter.hit("b")  # every key its own count
    clock.t = 660.0  # the next window: the previous one still wholly overlaps
    assert not counter.hit("a")
    clock.t = 690.0  # half-way: 3 x 0.5 = 1.5 counts as 1, two more fit
    assert [counter.hit("a") for _ in range(3)] == [True, True, False]
    clock.t = 800.0  # two windows on: nothing counts any more, and stale keys are swept
    assert counter.hit("a")
    assert set(counter.counts) == {"a"}

