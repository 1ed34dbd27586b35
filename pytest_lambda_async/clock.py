"""The simulated clock: one per test, shared by every invocation, record and event loop.

Time only moves when the simulation says so. `VirtualClock.run` is a small discrete-event
simulator: it runs every busy environment's event loop until nothing is ready, fires the
clock's own timers (queued async events, retries, back-offs) in time order, and jumps
straight to the next thing that is due. A 6-hour retry schedule costs microseconds.
"""

from __future__ import annotations

import datetime as _dt
import heapq
import itertools
import math
import time as _time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

from .errors import LambdaUsageError


class RealTime:
    """The real time functions, captured at import.

    They live on a class, not as module globals, because freezegun's start-up scan replaces
    module-level references to `time.time` and friends; it does not look inside classes.
    """

    time = staticmethod(_time.time)
    monotonic = staticmethod(_time.monotonic)
    perf_counter = staticmethod(_time.perf_counter)
    sleep = staticmethod(_time.sleep)


class ClockDriver(Protocol):
    """Something the simulation steps: the event loop of a busy execution environment."""

    def run_ready(self) -> bool:
        """Run whatever is ready now; return True if anything ran."""

    def next_wakeup(self) -> float | None:
        """The simulated time of the earliest pending timer, or None."""

    def real_work(self) -> str | None:
        """What real work (a socket, a thread...) is in flight in this loop, or None."""

    def real_wait_allowed(self, what: str) -> bool:
        """The simulation is about to wait in real time on `what`: False if that wait is cut short
        (its invocation used up `lambda_blocking_limit`; the driver has ended it)."""

    def wait_real(self, seconds: float, what: str) -> None:
        """Block for up to `seconds` of real time on `what`, returning early when it wakes the loop."""


def _cancelled_callback() -> None:
    """What a cancelled timer holds instead of its callback."""


class TimerHandle:
    """A callback the clock runs at a simulated time. `cancel()` drops it."""

    __slots__ = ("_clock", "callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None], clock: VirtualClock) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False
        self._clock: VirtualClock | None = clock  # None once out of the clock's heap

    def cancel(self) -> None:
        if self.cancelled:
            return
        self.cancelled = True
        # Let go of what the callback holds (an invocation, its task) at once.
        self.callback = _cancelled_callback
        if self._clock is not None:
            self._clock._timer_cancelled()


# Iterations in a row with something due and nothing run before the simulation gives up.
_MAX_STALLS = 10_000
# Real seconds to wait in one slice while a loop waits on real work (a socket, a thread).
REAL_WAIT_SLICE = 0.05


class VirtualClock:
    """Simulated epoch time for one test.

    `time()` is epoch seconds, `now()` an aware UTC datetime, `advance(seconds)` moves time on
    and runs everything that falls due on the way.
    """

    def __init__(self, start: float | None = None) -> None:
        # time.time() rather than RealTime.time(): under a user's freeze_time the clock starts
        # at the frozen instant.
        if start is not None and (isinstance(start, bool) or not isinstance(start, (int, float))
                                  or not math.isfinite(start)):
            raise LambdaUsageError(
                f"VirtualClock(start=...) takes epoch seconds (a finite number) or None, got "
                f"{start!r}. Fix: VirtualClock(start=datetime(...).timestamp())."
            )
        self._now = float(_time.time() if start is None else start)
        # Event loops count from here (see VirtualEventLoop.time).
        self.origin = self._now
        self._timers: list[tuple[float, int, TimerHandle]] = []
        self._cancelled_in_heap = 0
        self._seq = itertools.count()
        self._drivers: list[ClockDriver] = []
        # (real, simulated) time when the current stretch of real work in flight began: while it
        # lasts, simulated time follows all the real time that passes, handler code's included.
        self._real_anchor: tuple[float, float] | None = None
        self._last_step: tuple[float, float] | None = None
        # The latest time the running `run` may reach (-inf outside one): see jump_in_step.
        self._run_bound = -math.inf
        # What must hold while the simulation runs (set by the invoker).
        self.run_scope: Callable[[], AbstractContextManager[None]] = nullcontext
        # Called first by advance() (the invoker refuses a call from handler code there).
        self.before_advance: Callable[[], None] | None = None
        # Called instead of waiting in real time, with the simulated time to wait until at
        # most: an async test's driver (`asyncwait.py`) raises there to leave `run()` and wait
        # on the test's own event loop instead.
        self.on_real_wait: Callable[[float | None], None] | None = None

    # -- reading -------------------------------------------------------------------------
    def time(self) -> float:
        """Simulated epoch seconds."""
        return self._now

    def now(self) -> _dt.datetime:
        """Simulated time as an aware UTC datetime."""
        return _dt.datetime.fromtimestamp(self._now, _dt.timezone.utc)

    def __repr__(self) -> str:
        return f"<VirtualClock {self.now().isoformat()}>"

    # -- moving --------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move simulated time on by `seconds`, running everything that falls due by then."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                or not math.isfinite(seconds) or seconds < 0:
            raise LambdaUsageError(
                f"lambda_clock.advance() takes a finite number of seconds >= 0, got {seconds!r}: "
                "simulated time only moves forward. Fix: advance(60) moves the clock a minute on."
            )
        if self.before_advance is not None:
            self.before_advance()
        self.run(until_time=self._now + seconds)

    def set_time(self, when: float) -> None:
        """Set simulated time directly, without running anything (the simulation's own use)."""
        self._now = when

    # -- scheduling ----------------------------------------------------------------------
    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Run `callback` when simulated time reaches `when`."""
        handle = TimerHandle(when, callback, self)
        heapq.heappush(self._timers, (when, next(self._seq), handle))
        return handle

    def _timer_cancelled(self) -> None:
        # Cancelled timers leave the heap when they reach its top. Most timers are cancelled
        # (every invocation's timeout), and a clock that never moves never pops them: sweep
        # them out once they are half the heap, as asyncio does.
        self._cancelled_in_heap += 1
        if self._cancelled_in_heap > 64 and 2 * self._cancelled_in_heap > len(self._timers):
            self._timers = [entry for entry in self._timers if not entry[2].cancelled]
            heapq.heapify(self._timers)
            self._cancelled_in_heap = 0

    def _pop_timer(self) -> TimerHandle:
        handle = heapq.heappop(self._timers)[2]
        handle._clock = None
        if handle.cancelled:
            self._cancelled_in_heap -= 1
        return handle

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return self.call_at(self._now + delay, callback)

    def attach(self, driver: ClockDriver) -> None:
        """Step `driver` in the simulation (a busy environment's loop)."""
        if driver not in self._drivers:
            self._drivers.append(driver)

    def detach(self, driver: ClockDriver) -> None:
        if driver in self._drivers:
            self._drivers.remove(driver)

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0][2].cancelled:
            self._pop_timer()

    def _pop_due(self) -> TimerHandle | None:
        """The first timer, taken off the heap, if it is due now; else None. Cancelled timers
        at the top of the heap are dropped on the way (`_drop_cancelled`)."""
        timers = self._timers
        while timers:
            entry = timers[0]
            if entry[2].cancelled:
                self._pop_timer()
            elif entry[0] <= self._now:
                return self._pop_timer()
            else:
                return None
        return None

    def _next_time(self) -> float | None:
        self._drop_cancelled()
        best = self._timers[0][0] if self._timers else None
        for driver in self._drivers:
            wake = driver.next_wakeup()
            if wake is not None and (best is None or wake < best):
                best = wake
        return best

    def run(
        self,
        *,
        until_time: float | None = None,
        until: Callable[[], bool] | None = None,
    ) -> None:
        """Run the simulation.

        Stops when `until()` becomes true, when the next thing due lies after `until_time`
        (time is then set to `until_time`), or when nothing is left to run.
        """
        with self.run_scope():
            self.run_in_scope(until_time=until_time, until=until)

    def run_in_scope(self, *, until_time: float | None = None,
                     until: Callable[[], bool] | None = None) -> None:
        """`run`, for a caller that holds the run scope already."""
        self._real_anchor = self._last_step = None
        outer = self._run_bound
        self._run_bound = math.inf if until_time is None else until_time
        try:
            self._run(until_time, until)
        finally:
            self._run_bound = outer

    def jump_in_step(self, wake: float) -> bool:
        """Move time to `wake` within a step of the simulation, if the step's loop, idle but for
        timers the first of which is due at `wake`, is all the simulation would run before then
        (True); else the step must end and the simulation choose (False).

        The same jump the simulation would make once the step ended, without ending it: the
        loop goes on where it is, inside the same scope (see `VirtualEventLoop._idle`)."""
        if len(self._drivers) != 1 or self._real_anchor is not None or wake > self._run_bound:
            return False
        self._drop_cancelled()
        timers = self._timers
        if (timers and timers[0][0] <= wake) or self._drivers[0].real_work() is not None:
            return False
        if wake > self._now:
            self.set_time(wake)
        # Real work from here on counts from here, as from the start of a new step.
        self._last_step = (RealTime.monotonic(), self._now)
        return True

    def _run(self, until_time: float | None, until: Callable[[], bool] | None) -> None:
        stalled = 0
        drivers = self._drivers  # edited in place by attach and detach, never replaced
        monotonic = RealTime.monotonic
        # until() was asked after the last thing that ran, and said no: not asked again before
        # something else runs.
        asked = False
        while True:
            if until is not None and not asked and until():
                return
            asked = False
            if drivers:
                ran = False
                for driver in drivers[:] if len(drivers) > 1 else (drivers[0],):
                    if driver not in drivers:
                        continue
                    if self._real_anchor is not None:
                        self._follow_real_time()
                    step = (monotonic(), self._now)
                    asked = False
                    if driver.run_ready():
                        ran = True
                        # Real work this step starts counts from the step's start (its set-up too).
                        self._last_step = step
                        if until is not None:
                            if until():
                                return
                            asked = True
                if ran:
                    continue
            due = self._pop_due()
            if due is not None:
                due.callback()
                continue
            wake = self._next_time()
            if (wake is None or wake > self._now) and (until_time is None or self._now < until_time):
                # The clock may jump only when nothing real is in flight: else it follows real
                # time, up to the next thing due.
                waiting = self._real_work()
                if waiting is None:
                    self._real_anchor = self._last_step = None
                else:
                    if not waiting[0].real_wait_allowed(waiting[1]):
                        continue
                    limit = wake if until_time is None else min(wake or until_time, until_time)
                    self._wait_real(waiting[0], waiting[1], limit)
                    continue
            if until_time is not None:
                if wake is None or wake > until_time:
                    break
            elif wake is None:
                break
            if wake <= self._now:
                # Something claims to be due yet nothing ran: never spin for ever.
                stalled += 1
                if stalled > _MAX_STALLS:
                    raise RuntimeError(
                        f"The simulation is stuck at {self.now().isoformat()}: a timer is due but "
                        "nothing can run it. Please report this with the test that shows it."
                    )
            else:
                stalled = 0
            self.set_time(max(wake, self._now))
        if until_time is not None and until_time > self._now:
            self.set_time(until_time)

    def _follow_real_time(self) -> None:
        # In a stretch of real work: the real time handler code ran between two waits passes too,
        # up to the next thing due.
        assert self._real_anchor is not None
        real, simulated = self._real_anchor
        target = simulated + RealTime.monotonic() - real
        wake = self._next_time()
        if wake is not None and target > wake:
            target = wake
            self._real_anchor = (RealTime.monotonic(), wake)
        if target > self._now:
            self.set_time(target)

    def _real_work(self) -> tuple[ClockDriver, str] | None:
        for driver in self._drivers:
            what = driver.real_work()
            if what is not None:
                return driver, what
        return None

    def _wait_real(self, driver: ClockDriver, what: str, limit: float | None) -> None:
        # Real work takes real time: simulated time follows real time while a loop waits on it,
        # but never past the next simulated deadline.
        if self.on_real_wait is not None:
            # An async test's stepper waits on the test's own loop instead (asyncwait.py).
            self.on_real_wait(limit)
        slice_ = REAL_WAIT_SLICE
        if limit is not None:
            slice_ = max(0.0, min(slice_, limit - self._now))
        anchor = self._real_anchor
        if anchor is None:
            anchor = self._last_step or (RealTime.monotonic(), self._now)
        driver.wait_real(slice_, what)
        real_now = RealTime.monotonic()
        target = anchor[1] + real_now - anchor[0]
        if limit is not None and target >= limit:
            # Held at the next deadline: real time from here on counts from here.
            target = limit
            anchor = (real_now, limit)
        self._real_anchor = anchor
        self.set_time(max(target, self._now))
