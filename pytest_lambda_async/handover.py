"""Synchronous invokes from threads other than the one running the simulation.

Handler code and the process's state are one thread's at a time (see `SimulationScope`). A
synchronous invoke from another thread (a test's server thread answering a handler, a pool a
`def` handler fans requests out to) is handed over to the thread in the simulation, which
begins it at its next step; or it runs the simulation itself once that is free.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .clock import RealTime, VirtualClock
from .errors import LambdaUsageError
from .scopes import simulation_scope

if TYPE_CHECKING:
    from .environment import ExecutionEnvironment
    from .invocation import Invocation

# What a request ends with (the invoker's InvokeResult).
_R = TypeVar("_R")

# Real seconds between a handing-over thread's looks at whether the simulation is free, and
# how long the simulation's thread must stay in handler code before the request runs on the
# handing-over thread instead.
_HANDOVER_POLL = 0.01
_BORROW_AFTER = 0.1
# Real seconds after which a request nobody serves is refused rather than waited for.
_HANDOVER_GIVE_UP = 10.0


class HandedOver(Generic[_R]):
    """A synchronous request made from a thread while another thread runs the simulation:
    `start` makes its invocation and picks its environment, `finish` makes its result."""

    def __init__(self, start: Callable[[], tuple[Invocation, ExecutionEnvironment]],
                 finish: Callable[[Invocation], _R]) -> None:
        self.start = start
        self.finish = finish
        self.ended = threading.Event()
        self.result: _R | None = None
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._state = "waiting"  # then "begun", or "withdrawn" by the requesting thread

    def withdraw(self) -> bool:
        """Take the request back if it has not begun (True then)."""
        with self._lock:
            if self._state != "waiting":
                return False
            self._state = "withdrawn"
            return True

    def begin(self, *, force: bool = False) -> None:
        """Begin the request (on the thread in the simulation, or, withdrawn, on its own)."""
        with self._lock:
            if self._state != "waiting" and not force:
                return
            self._state = "begun"
        try:
            invocation, env = self.start()
            invocation.add_done_callback(self._end)
            env.begin(invocation)
        except Exception as exc:  # a throttle or a bad event: raised on the requesting thread
            self.error = exc
            self.ended.set()

    def _end(self, invocation: Invocation) -> None:
        self.result = self.finish(invocation)
        self.ended.set()


class Handover:
    """The requests handed over, waiting for the simulation; a driver of its clock while any
    wait, which begins them at its next step."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self._waiting: collections.deque[HandedOver[Any]] = collections.deque()

    def hand_over(self, handed: HandedOver[Any]) -> None:
        self._waiting.append(handed)
        self.clock.attach(self)

    def take(self) -> bool:
        """Begin the requests handed over by other threads; True if there were any."""
        took = False
        while self._waiting:
            try:
                handed = self._waiting.popleft()
            except IndexError:  # taken by another look at the same time
                break
            handed.begin()
            took = True
        if not self._waiting:
            self.clock.detach(self)
        return took

    # -- as a ClockDriver ----------------------------------------------------------------------
    def run_ready(self) -> bool:
        return self.take()

    def next_wakeup(self) -> float | None:
        return None

    def real_work(self) -> str | None:
        return None

    def real_wait_allowed(self, what: str) -> bool:  # pragma: no cover - never has real work
        return True

    def wait_real(self, seconds: float, what: str) -> None:  # pragma: no cover - never waits
        pass


def invoke_from_another_thread(name: str, clock: VirtualClock, handover: Handover,
                               start: Callable[[], tuple[Invocation, ExecutionEnvironment]],
                               finish: Callable[[Invocation], _R]) -> _R:
    """A synchronous invoke of function `name` made on this thread, which is not the one in
    the simulation now."""
    # Another thread runs the simulation, perhaps waiting on this very thread (a server
    # thread answering its handler): hand the request over to it, and run the simulation
    # here once it is free, if the request has not ended by then. A thread that a `def`
    # handler started and waits for (a pool fanning requests out) cannot be served by
    # that handler's thread: after a while it runs the request itself, on its behalf.
    handed = HandedOver(start, finish)
    handover.hand_over(handed)
    blocked_since: float | None = None
    give_up = RealTime.monotonic() + _HANDOVER_GIVE_UP
    while not handed.ended.wait(_HANDOVER_POLL):
        if RealTime.monotonic() > give_up and handed.withdraw():
            raise LambdaUsageError(
                f"invoke() of {name!r} from thread {threading.current_thread().name!r} "
                f"waited {_HANDOVER_GIVE_UP:g} s for the simulation, which another thread holds "
                "without serving it (its handler code waits for this thread, which the plugin "
                "could not tell). Invoke from the handler's own thread (`await fn.ainvoke(...)` "
                "in an async handler), or keep leak detection on: it tells the plugin which "
                "threads a handler started."
            )
        if simulation_scope.enter_if_free():
            try:
                handover.take()
                clock.run(until=handed.ended.is_set)
            finally:
                simulation_scope.__exit__()
        elif simulation_scope.owner_runs_handler_code_for_this_thread():
            now = RealTime.monotonic()
            if blocked_since is None:
                blocked_since = now
            elif now - blocked_since >= _BORROW_AFTER:
                simulation_scope.borrow()
                try:
                    if handed.withdraw():
                        handed.begin(force=True)
                    # Begun here, or by a borrower before: run it to its end.
                    clock.run(until=handed.ended.is_set)
                finally:
                    simulation_scope.__exit__()
        else:
            blocked_since = None
    if handed.error is not None:
        raise handed.error
    assert handed.result is not None
    return handed.result
