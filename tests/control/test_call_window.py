"""Requests in the last hour / minute, from once-a-second samples of the call counters (the
live screen's and the control socket's figures: one copy)."""

from __future__ import annotations

from sync.control.call_window import CallWindow


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_requests_in_a_window_are_the_counters_less_the_oldest_sample_within_it():
    clock = Clock()
    window = CallWindow(clock)
    assert window.used(60) == (0, 0)  # nothing sampled yet
    for second in range(120):  # two minutes: 2 Autotask and 1 QBO request a second
        clock.t = float(second)
        window.sample(2 * second, second)
    assert window.used(60) == (120, 60)  # the newest sample (t=119) less the one at t=59
    assert window.used(3600) == (238, 119)  # since the first sample
    assert window.used(60, now=(250, 130)) == (132, 71)  # the counters now, less t=59's (118, 59)
    clock.t = 500.0  # a quiet spell: no sample within the window
    assert window.used(60, now=(250, 130)) == (0, 0)


def test_an_hour_of_samples_is_kept_not_more():
    clock = Clock()
    window = CallWindow(clock, keep=10)
    for second in range(100):
        clock.t = float(second)
        window.sample(second, 0)
    assert window.used(3600) == (9, 0)  # the oldest kept is t=90
    window.clear()
    assert window.used(3600) == (0, 0)
