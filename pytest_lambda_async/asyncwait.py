"""Awaiting the simulation: what `ainvoke` and `arun_until_idle` do while they wait.

They are awaited in one of two places:

- On the test's own event loop (pytest-asyncio's). The simulation then runs in steps, and the
  test's loop runs between them: a step runs the simulation until something awaited is done,
  or until the simulation would wait in real time (for a thread, a socket). The step ends
  there and the real wait happens on the test's loop instead, so a server the test started
  with `asyncio.start_server`, or a fixture's task, can answer the handler. Simulated time
  then moves on by the real time that passed, as a synchronous wait would have moved it.
  Concurrent awaits (`asyncio.gather` of `ainvoke`s) share the steps: one of them steps the
  simulation while the others wait for that step to end.
- In handler code, on an environment's loop that the simulation steps. The simulation is
  already running: the invocation is begun and the handler's task waits for a future that the
  invocation's end resolves, so invocations gathered there overlap in simulated time.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

from . import deadline
from .clock import RealTime, VirtualClock
from .loop import VirtualEventLoop

# Real seconds the test's loop sleeps in one slice while the simulation waits on real work.
# A slice cannot end early when the work completes, so it is short: simulated time moves on
# by the real time that passed, and the slice only adds that much latency to a real wait.
_REAL_WAIT_SLICE = 0.002


class _RealWait(Exception):
    """Leaves `VirtualClock.run` where it would wait in real time."""

    def __init__(self, limit: float | None) -> None:
        super().__init__()
        self.limit = limit


class _Ended:
    """A step that ended without a real wait to make."""


_ENDED = _Ended()


def driven_loop(clock: VirtualClock) -> VirtualEventLoop | None:
    """The running loop, if it is an environment loop of `clock` that the simulation steps.

    Handler code awaiting there must not run the simulation itself: it already runs.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    if isinstance(loop, VirtualEventLoop) and loop.clock is clock and loop._driven:
        return loop
    return None


async def in_simulation(loop: VirtualEventLoop, until_done: Callable[[Callable[[], None]], None]) -> None:
    """Wait on `loop` (a driven environment loop) until `until_done` calls back."""
    future: asyncio.Future[None] = loop.create_future()

    def done() -> None:
        if not future.done():
            future.set_result(None)

    until_done(done)
    await future


class SimulationStepper:
    """Steps one clock's simulation from the test's event loop (one per clock)."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        # What the steps ask after each thing they run: predicates of the waiters that have no
        # callback, and whether a waiter's callback has come since the step began.
        self._waiting: list[Callable[[], bool]] = []
        self._called_back = False
        self._waiters = 0
        self._step_ended: asyncio.Future[None] | None = None

    def wake(self) -> None:
        """Something a waiter awaits is done: end the step once its instant is over."""
        self._called_back = True

    async def until(self, done: Callable[[], bool], *, calls_back: bool = False) -> None:
        """Run the simulation until `done()`, letting the running loop run meanwhile.

        With `calls_back`, the caller arranges for `wake()` to be called when `done()` becomes
        true (cheaper than asking `done()` after each thing the simulation runs, with many
        waiters). Returns early when the simulation has nothing left to run (the caller
        checks `done()`).
        """
        waiting = self._waiting
        if not calls_back:
            waiting.append(done)
        self._waiters += 1
        try:
            while True:
                # One tick first: invocations gathered with this one begin before time moves on,
                # and the test's loop runs between steps.
                await asyncio.sleep(0)
                if done():
                    return
                ended = self._step_ended
                if ended is not None:
                    # Another waiter is stepping: wait for its step to end (shielded, so that
                    # this waiter being cancelled leaves the other's future alone).
                    await asyncio.shield(ended)
                    continue
                if not await self._step():
                    return
        finally:
            self._waiters -= 1
            if not calls_back:
                waiting.remove(done)

    def _any_done(self) -> bool:
        return self._called_back or any(done() for done in self._waiting)

    async def _step(self) -> bool:
        """One step of the simulation, then the real wait it ended on; False when it has
        nothing left to run."""
        self._step_ended = ended = asyncio.get_running_loop().create_future()
        try:
            wait = self._run()
            if wait is _ENDED:
                return self._any_done()
            await self._wait_real(wait)  # type: ignore[arg-type]
            return True
        finally:
            self._step_ended = None
            ended.set_result(None)

    def _run(self) -> float | _Ended | None:
        clock = self.clock
        previous = clock.on_real_wait
        clock.on_real_wait = _leave_run
        self._called_back = False
        try:
            clock.run(until=self._any_done)
            if self._waiters > 1 and self._any_done():
                # Finish what else is due at this instant (gathered requests that end together
                # end in one step), then let the waiters see it before time moves on.
                clock.run(until_time=clock.time())
        except _RealWait as wait:
            return wait.limit
        finally:
            clock.on_real_wait = previous
        return _ENDED

    async def _wait_real(self, limit: float | None) -> None:
        # The test's loop runs while real work proceeds; simulated time follows real time, up
        # to the next simulated deadline, as in VirtualClock's own real waits.
        clock = self.clock
        now = clock.time()
        slice_ = _REAL_WAIT_SLICE
        if limit is not None:
            slice_ = max(0.0, min(slice_, limit - now))
        started = RealTime.monotonic()
        await asyncio.sleep(slice_)
        target = now + RealTime.monotonic() - started
        if limit is not None:
            target = min(target, limit)
        clock.set_time(max(target, clock.time()))


def _leave_run(limit: float | None) -> None:
    # Only the outermost run leaves: a run nested in handler code (a synchronous invoke made
    # by a handler) waits where it is, as it always did.
    if deadline.current() is None:
        raise _RealWait(limit)


_STEPPERS: weakref.WeakKeyDictionary[VirtualClock, SimulationStepper] = weakref.WeakKeyDictionary()


def stepper(clock: VirtualClock) -> SimulationStepper:
    """The stepper of `clock`, shared by everything awaiting it."""
    found = _STEPPERS.get(clock)
    if found is None:
        found = _STEPPERS[clock] = SimulationStepper(clock)
    return found
