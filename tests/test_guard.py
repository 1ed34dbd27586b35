"""The real-time guard: what it leaves behind in the process's SIGALRM state."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from pytest_lambda_async import Invoker, VirtualClock
from pytest_lambda_async.clock import RealTime


def quick(event: Any, context: Any) -> int:
    return 1


def spin_for_half_a_second(event: Any, context: Any) -> int:
    started = RealTime.monotonic()
    while RealTime.monotonic() - started < 0.5:
        pass
    return 1


def test_alarm_state_is_put_back_when_the_invoker_closes() -> None:
    before = signal.getsignal(signal.SIGALRM)
    invoker = Invoker(VirtualClock())
    fn = invoker.deploy(quick)
    fn.invoke({})
    fn.invoke({})
    invoker.close()
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_guard_disarms_itself_once_the_simulation_is_left() -> None:
    before = signal.getsignal(signal.SIGALRM)
    invoker = Invoker(VirtualClock())
    invoker.deploy(quick).invoke({})
    RealTime.sleep(0.3)  # a few ticks with no simulation running
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    invoker.close()


def test_someone_elses_pending_alarm_still_fires_during_a_long_invocation() -> None:
    fired: list[float] = []

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        fired.append(RealTime.perf_counter())

    before = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        started = RealTime.perf_counter()
        invoker = Invoker(VirtualClock())
        result = invoker.deploy(spin_for_half_a_second).invoke({})
        invoker.close()
        assert result.function_error is None
        assert len(fired) == 1
        assert fired[0] - started < 0.45  # during the invocation, not after it
        assert signal.getsignal(signal.SIGALRM) is on_alarm
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)
