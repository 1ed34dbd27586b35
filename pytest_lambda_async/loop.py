"""Event loops on the simulated clock.

`VirtualEventLoop.time()` is the simulated clock. The loop never sleeps for real: when every
task is waiting, it either hands control back to the simulation (while the simulation is
stepping it: "driven"), or jumps the clock straight to its next timer (when handler code runs
the loop itself, as in `asyncio.run(main())` inside a `def` handler: "standalone").

`EnvironmentLoopPolicy` is the event loop policy of one execution environment: loops that
handler code creates are virtual loops, and `set_event_loop` in handler code stays inside
that environment.
"""

from __future__ import annotations

import asyncio
import asyncio.events as _events
import collections
import concurrent.futures
import heapq
import math
import selectors
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from .clock import REAL_WAIT_SLICE, RealTime, VirtualClock
from .deadline import check_wait, current, real_wait_allowance
from .realwork import awaiting_other_than_time, busy_threads, fd_in_flight, note_received, track_connection

_T = TypeVar("_T")


class _AutojumpSelector(selectors.DefaultSelector):
    """Polls real I/O without blocking, and turns every would-be wait into simulated time."""

    loop: VirtualEventLoop
    _fd_to_key: dict[Any, selectors.SelectorKey]  # the base selector's registrations

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if len(self._fd_to_key) <= 1:
            # The loop's own wake-up pipe is all there is to poll: the callbacks a thread sends
            # land in the ready queue before the pipe hears of them, and the pipe is drained by
            # the next real wait (a thread's work in flight).
            if timeout is not None and timeout <= 0:
                return []
            return self.loop._idle(timeout)
        ready = super().select(0)
        if ready:
            if len(self._fd_to_key) > 1:
                note_received(ready)
            return ready
        if timeout is not None and timeout <= 0:
            return ready
        return self.loop._idle(timeout)

    def select_real(self, timeout: float) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(timeout)
        if ready:
            note_received(ready)
        return ready


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose time is a `VirtualClock` and which jumps forward when idle."""

    # BaseEventLoop's own state, which the simulation reads to step the loop.
    _ready: collections.deque[asyncio.Handle]
    _scheduled: list[asyncio.TimerHandle]
    _timer_cancelled_count: int
    _closed: bool
    _thread_id: int | None

    def __init__(self, clock: VirtualClock) -> None:
        selector = _AutojumpSelector()
        selector.loop = self
        super().__init__(selector)
        self.clock = clock
        self._autojump_selector = selector
        self._driven = False
        self._may_jump = False
        self._threads_in_flight = 0
        # Set when the simulation's real wait saw I/O ready: the next step must run the loop.
        self._io_ready = False
        self._last_requested_when = self._last_assigned_when = -math.inf
        # This loop's tasks: asyncio.all_tasks(loop) scans every task of every loop.
        self._tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        # Called with each handle that was pending when the loop is discarded (leak detection).
        self.on_discard: list[Callable[[VirtualEventLoop], None]] = []

    def time(self) -> float:
        # Seconds since the clock began, not epoch seconds: at epoch magnitudes a float cannot
        # hold asyncio's clock resolution, and due timers would never fire.
        return self.clock._now - self.clock.origin

    # -- idle handling -------------------------------------------------------------------
    def _idle(self, timeout: float | None) -> list[tuple[selectors.SelectorKey, int]]:
        if self._driven:
            # Stepped by the simulation: go on to the next timer if nothing else could run
            # before it; else stop after this iteration and let the simulation decide.
            if timeout is None or not self._may_jump or not self.clock.jump_in_step(
                    self._epoch_at(self.time() + timeout)):
                self.stop()
            return []
        now = self.clock._now
        what = self.real_work()
        if what is not None:
            return self._wait_real_standalone(now, timeout, what)
        wake = None if timeout is None else self._epoch_at(self.time() + timeout)
        target = check_wait(now, wake, blocking=True)
        self.clock.set_time(max(target, now))
        return []

    def _wait_real_standalone(
        self, now: float, timeout: float | None, what: str
    ) -> list[tuple[selectors.SelectorKey, int]]:
        # Handler code runs this loop itself (asyncio.run in a def handler): real work is in
        # flight, so wait for it in real time, up to the next timer, and let the clock follow.
        # _epoch_at: a timer a hair away must still be reached (epoch seconds round coarsely).
        target = now + REAL_WAIT_SLICE
        if timeout is not None:
            target = min(target, self._epoch_at(self.time() + timeout))
        running = current()
        if running is not None:
            target = check_wait(now, target, blocking=False)
            target = now + real_wait_allowance(running, what, target - now)
        started = RealTime.monotonic()
        if running is not None:
            running.waiting_real = True
        try:
            ready = self._autojump_selector.select_real(max(0.0, target - now))
        finally:
            if running is not None:
                running.waiting_real = False
        self.clock.set_time(max(self.clock._now, min(target, now + RealTime.monotonic() - started)))
        return ready

    def _epoch_at(self, loop_time: float) -> float:
        """The earliest epoch time at which this loop's time() is at least `loop_time`.

        Epoch seconds round coarser than loop seconds: without this a jump could land a hair
        before a timer, and the loop would wait for it for ever.
        """
        origin = self.clock.origin
        wake = loop_time + origin
        while wake - origin < loop_time:
            wake = math.nextafter(wake, math.inf)
        return wake

    # -- stepping by the simulation --------------------------------------------------------
    def has_work(self) -> bool:
        """True if a step would run something: ready callbacks, due timers or I/O that came in."""
        if self._ready or self._io_ready or (self._scheduled and self._due()):
            return True
        if len(self._autojump_selector._fd_to_key) > 1 and self._autojump_selector.select_real(0):
            # Sockets or pipes became ready while the loop was not running.
            self._io_ready = True
            return True
        return False

    def run_driven(self, *, may_jump: bool = False) -> None:
        """Run iterations until the loop would wait (the simulation's step). With `may_jump`,
        a wait for a timer that nothing else in the simulation comes before moves the clock
        on there and the step goes on (`VirtualClock.jump_in_step`)."""
        running = _events._get_running_loop()
        if running is not None:
            _events._set_running_loop(None)
        self._driven = True
        self._may_jump = may_jump
        self._io_ready = False
        try:
            self.run_forever()
        finally:
            self._driven = False
            if running is not None:
                _events._set_running_loop(running)

    def _due(self) -> bool:
        scheduled = self._scheduled
        while scheduled and scheduled[0]._cancelled:
            self._timer_cancelled_count -= 1
            handle: Any = heapq.heappop(scheduled)
            handle._scheduled = False
        return bool(scheduled) and scheduled[0].when() <= self.time()

    def next_wakeup(self) -> float | None:
        if self.is_closed():
            return None
        self._due()
        if not self._scheduled:
            return None
        return self._epoch_at(self._scheduled[0].when())

    def real_work(self) -> str | None:
        """What real work this loop has in flight (see `realwork`), or None: then the clock may
        jump to the next timer."""
        if self._threads_in_flight:
            return "an executor job (run_in_executor or to_thread)"
        keys = self._autojump_selector._fd_to_key
        if len(keys) > 1:
            wakeup = self._ssock.fileno()  # type: ignore[attr-defined]
            awaiting = self._awaiting_other_than_time
            for fd, key in list(keys.items()):
                if fd != wakeup:
                    what = fd_in_flight(key, self, awaiting)
                    if what is not None:
                        return what
        threads = busy_threads(self.clock)
        if threads:
            return f"a thread that is still running ({threads[0].name})"
        return None

    def _awaiting_other_than_time(self) -> bool:
        return awaiting_other_than_time(self)

    def wait_real(self, seconds: float) -> None:
        """Wait up to `seconds` of real time for I/O or a thread's wake-up (the simulation's use)."""
        if self._autojump_selector.select_real(seconds):
            # Level-triggered: the loop's next step polls the same events again and handles them.
            self._io_ready = True

    def pending_handles(self) -> list[asyncio.Handle]:
        """Callbacks and timers not yet run (for leak detection and freeze/thaw)."""
        handles: list[asyncio.Handle] = [h for h in self._ready if not h._cancelled]
        handles.extend(h for h in self._scheduled if not h._cancelled)
        return handles

    def call_at(  # type: ignore[override]
        self, when: float, callback: Callable[..., Any], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        # Timers due at the same instant run in the order they were set, as they practically
        # always do with a real clock (asyncio's heap alone would not keep that order).
        if when == self._last_requested_when:
            self._last_assigned_when = math.nextafter(self._last_assigned_when, math.inf)
        else:
            self._last_requested_when = self._last_assigned_when = when
        return super().call_at(self._last_assigned_when, callback, *args, context=context)

    def create_task(self, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = super().create_task(coro, **kwargs)
        self._tasks.add(task)
        return task

    def pending_tasks(self) -> list[asyncio.Task[Any]]:
        """Tasks of this loop that have not finished."""
        return [task for task in self._tasks if not task.done()]

    # -- connections and threads --------------------------------------------------------------
    def _make_socket_transport(self, sock: Any, protocol: Any, *args: Any, **kwargs: Any) -> Any:
        transport = super()._make_socket_transport(  # type: ignore[misc]
            sock, protocol, *args, **kwargs
        )
        if kwargs.get("server") is None:
            # A connection this loop opened (not one a server here accepted): follow its sends.
            track_connection(transport, sock)
        return transport

    def _make_datagram_transport(self, sock: Any, protocol: Any, *args: Any, **kwargs: Any) -> Any:
        transport = super()._make_datagram_transport(  # type: ignore[misc]
            sock, protocol, *args, **kwargs
        )
        track_connection(transport, sock)
        return transport

    def run_in_executor(  # type: ignore[override]
        self, executor: concurrent.futures.Executor | None, func: Callable[..., _T], *args: Any
    ) -> asyncio.Future[_T]:
        future = super().run_in_executor(executor, func, *args)
        self._threads_in_flight += 1
        future.add_done_callback(self._thread_done)
        return future

    def _thread_done(self, _future: asyncio.Future[Any]) -> None:
        self._threads_in_flight -= 1


class EnvironmentLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """The event loop policy in force while an environment's code runs."""

    _local: Any  # the base policy's per-thread state

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self.clock = clock
        # Open loops that code in this environment created (asyncio.run's, module globals').
        self.created: list[VirtualEventLoop] = []
        # The environment's own loop (async def handlers run on it), made when first needed:
        # every loop holds file descriptors, and most `def` handlers never need one.
        self.environment_loop: VirtualEventLoop | None = None

    def new_event_loop(self) -> VirtualEventLoop:
        loop = VirtualEventLoop(self.clock)
        self.created = [old for old in self.created if not old.is_closed()]
        self.created.append(loop)
        return loop

    def get_environment_loop(self) -> VirtualEventLoop:
        if self.environment_loop is None or self.environment_loop.is_closed():
            self.environment_loop = self.new_event_loop()
        return self.environment_loop

    def get_event_loop(self) -> asyncio.AbstractEventLoop:
        # One loop for the life of the environment, as the async adapters people deploy keep.
        if self._local._loop is None and not self._local._set_called:
            self.set_event_loop(self.get_environment_loop())
        return super().get_event_loop()


class no_running_loop:
    """Hide the running loop (a test's pytest-asyncio loop) while the simulation runs.

    Handler code may call `asyncio.run()`, and environment loops are run from here: both refuse
    to start while another loop is marked running on the thread.
    """

    __slots__ = ("_saved",)

    def __enter__(self) -> None:
        self._saved = _events._get_running_loop()
        if self._saved is not None:
            _events._set_running_loop(None)

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            _events._set_running_loop(self._saved)
