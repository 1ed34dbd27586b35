"""What stops handler code: its invocation's deadline, in simulated and in real time.

While handler code runs, the innermost running invocation is known here. Any wait in that
code (an idle event loop, `time.sleep`) may take simulated time up to the deadline and no
further: reaching it raises `InvocationTimeout` inside the handler, as Lambda stops a handler
at its timeout. Code that blocks the thread for real (a busy loop, a blocking call) is stopped
by an alarm after a real-time budget, so no test hangs.
"""

from __future__ import annotations

# The C functions under `signal`: the module's wrappers convert to and from enums, which costs
# more than the system calls themselves, and the guard is entered for every synchronous invoke.
import _signal  # type: ignore[import-not-found]
import atexit
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, NoReturn

from .clock import RealTime, VirtualClock


class InvocationTimeout(BaseException):
    """Raised inside handler code when its invocation reaches its timeout.

    A BaseException, so that a handler's `except Exception` cannot swallow it: on Lambda the
    runtime is stopped, not asked.
    """


class RunningHandler:
    """Marks handler code as running until `deadline` while entered (a `with` scope); the code
    may hold the thread `real_budget` seconds of real time in one stretch."""

    __slots__ = ("blocked", "clock", "deadline", "poll_at", "poll_base", "poll_reads", "poll_started",
                 "real_budget", "real_started", "thread", "timed_out", "waiting_real")

    def __init__(self, clock: VirtualClock, deadline: float, real_budget: float) -> None:
        self.clock = clock
        self.deadline = deadline
        self.real_budget = real_budget
        self.real_started = RealTime.monotonic()
        self.thread = threading.get_ident()
        self.timed_out = False
        self.blocked = False
        # True while the code waits on real work through the plugin, which enforces the cap itself.
        self.waiting_real = False
        # Reads of the clock in a row at one simulated instant (see `time_read`).
        self.poll_at = -1.0
        self.poll_reads = 0
        self.poll_base = self.poll_started = 0.0

    def __enter__(self) -> RunningHandler:
        _running.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _running.remove(self)


_running: list[RunningHandler] = []


def current() -> RunningHandler | None:
    """The innermost invocation whose code runs on this thread, if any."""
    if _running and _running[-1].thread == threading.get_ident():
        return _running[-1]
    return None


def check_wait(now: float, target: float | None, *, blocking: bool) -> float:
    """Handler code wants to wait until `target` (None: for ever).

    Returns the simulated time it may wait until; raises `InvocationTimeout` (after moving
    the clock to the deadline) when the wait reaches the running invocation's deadline.
    """
    running = current()
    if running is None:
        if target is None:
            raise RuntimeError(
                "An event loop is waiting for something that can never happen: every task is "
                "blocked and no timer is pending. Await what you started, or give it a timeout."
            )
        return target
    if now >= running.deadline or (blocking and (target is None or target >= running.deadline)):
        running.clock.set_time(max(now, running.deadline))
        running.timed_out = True
        raise InvocationTimeout
    if target is None:
        return running.deadline
    return min(target, running.deadline)


def virtual_sleep(seconds: float) -> None:
    """`time.sleep` while the plugin runs: simulated inside handler code, real elsewhere."""
    running = current()
    if running is None:
        RealTime.sleep(seconds)
        return
    now = running.clock._now
    running.clock.set_time(check_wait(now, now + max(0.0, seconds), blocking=True))


def blocking_limit_line(budget: float, what: str) -> str:
    """The log line of an invocation stopped by `lambda_blocking_limit` while waiting on `what`."""
    return (
        f"pytest-lambda-async: lambda_blocking_limit ({budget:g} s of real time) reached while "
        f"waiting on {what}; simulated time jumped to the deadline and the invocation was "
        "stopped as timed out\n"
    )


def cut_short(running: RunningHandler, what: str) -> NoReturn:
    """Stop handler code whose real waits used up its budget: the clock jumps to the deadline."""
    running.clock.set_time(max(running.clock._now, running.deadline))
    running.timed_out = True
    running.blocked = True
    # Handler output is routed to its invocation's log.
    sys.stderr.write(blocking_limit_line(running.real_budget, what))
    raise InvocationTimeout


def real_wait_allowance(running: RunningHandler, what: str, seconds: float | None) -> float:
    """Real seconds handler code may now wait on `what` (at most `seconds`; None: as long as it
    may). Raises `InvocationTimeout` at the deadline, and past the real-time cap with a log line."""
    now = running.clock._now
    if now >= running.deadline:
        running.clock.set_time(now)
        running.timed_out = True
        raise InvocationTimeout
    left = running.real_budget - (RealTime.monotonic() - running.real_started)
    if left <= 0:
        cut_short(running, what)
    allowed = min(left, running.deadline - now)
    return allowed if seconds is None else max(0.0, min(seconds, allowed))


def waiter_name(frame: FrameType | None) -> str:
    """Name the caller of a blocking wait (Future.result, Event.wait...) for the cap's log line."""
    if frame is None:
        return "a thread"
    code = frame.f_code
    owner = frame.f_locals.get("self")
    name = code.co_name if owner is None else f"{type(owner).__name__}.{code.co_name}"
    return f"a thread ({name}())"


def timed_wait(running: RunningHandler, timeout: float | None, wait: Any, what: str | None = None) -> bool:
    """Wait (real time) for at most `timeout`, moving the simulated clock with real time."""
    if what is None:
        what = waiter_name(sys._getframe(2))
    now = running.clock._now
    started = RealTime.monotonic()
    running.waiting_real = True
    try:
        while True:
            elapsed = RealTime.monotonic() - started
            running.clock.set_time(max(running.clock._now, min(running.deadline, now + elapsed)))
            remaining = None if timeout is None else timeout - elapsed
            if remaining is not None and remaining <= 0:
                return False
            # Raises at the deadline, and past the cap with a log line naming the wait.
            if wait(real_wait_allowance(running, what, remaining)):
                return True
    finally:
        running.waiting_real = False
        elapsed = RealTime.monotonic() - started
        running.clock.set_time(max(running.clock._now, min(running.deadline, now + elapsed)))


# Reads of the time in a row, with no simulated time passing between them, after which handler
# code is taken to be polling the clock (a real handler reads it a few times per invocation).
POLL_READS = 1000


def time_read() -> None:
    """Handler code reads the time (`time.time()`, `time.monotonic()`, `datetime.now()`).

    Code that polls the clock until a condition holds must see time move, as on AWS. CPU work
    costs no simulated time (durations stay exact and repeatable), so a few reads see one
    instant; once the same thread has read the same instant `POLL_READS` times in a row it is
    polling, and from then on simulated time follows real time until the clock moves on by
    itself (a sleep, a timer). Past the deadline the code is stopped as timed out.
    """
    running = current()
    if running is None:
        return
    clock = running.clock
    now = clock._now
    if now != running.poll_at:
        running.poll_at = now
        running.poll_reads = 0
        return
    running.poll_reads += 1
    if running.poll_reads < POLL_READS:
        return
    if running.poll_reads == POLL_READS:
        running.poll_base, running.poll_started = now, RealTime.monotonic()
        return
    target = running.poll_base + (RealTime.monotonic() - running.poll_started)
    if target >= running.deadline:
        clock.set_time(max(now, running.deadline))
        running.timed_out = True
        raise InvocationTimeout
    clock.set_time(max(now, target))
    running.poll_at = clock._now


_MAIN_THREAD = threading.main_thread().ident
# How often the real-time guard looks at the running handler code.
_GUARD_TICK = 0.1


def _on_alarm(_signum: int, _frame: FrameType | None) -> None:
    if real_time_guard._tick():
        return
    running = current()
    if running is None or running.timed_out or running.waiting_real:
        return
    if RealTime.monotonic() - running.real_started < running.real_budget:
        return
    running.clock.set_time(max(running.clock._now, running.deadline))
    running.timed_out = True
    running.blocked = True
    raise InvocationTimeout


class RealTimeGuard:
    """While the simulation runs, stop handler code that holds the thread past its budget.

    One periodic alarm (not one per invocation): each tick checks how long the running handler
    code has held the thread. Re-entrant. Leaving the simulation does not disarm it: arming
    costs two system calls, paid on every synchronous invoke. The first tick that finds the
    simulation left (at most one tick later), or `release()`, puts back the SIGALRM handler and
    timer that were there before. Signals reach only the main thread; elsewhere the simulated
    deadline is the only guard.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.armed = False
        self._exit_hook = False
        self._handler: Any = None
        # Called when the guard is taken down with the simulation left (its next tick, or
        # release()): what the simulation left installed along with it goes too.
        self.on_idle_disarm: list[Callable[[], None]] = []
        # The alarm someone else had set (pytest-timeout, say), as a monotonic time, or 0.
        self._previous_due = 0.0

    def __enter__(self) -> None:
        self.depth += 1
        if self.depth == 1 and threading.get_ident() == _MAIN_THREAD:
            if self.armed and _signal.getsignal(signal.SIGALRM) is _on_alarm:
                return
            # Not armed, or code in between installed its own handler: that one is now the
            # handler to put back.
            if not self._exit_hook:
                # A program that never calls release() must not be killed at exit by the alarm.
                atexit.register(self.release)
                self._exit_hook = True
            self._handler = _signal.signal(signal.SIGALRM, _on_alarm)
            previous, _ = _signal.setitimer(signal.ITIMER_REAL, _GUARD_TICK, _GUARD_TICK)
            self._previous_due = RealTime.monotonic() + previous if previous else 0.0
            self.armed = True

    def __exit__(self, *exc: object) -> None:
        self.depth -= 1

    def release(self) -> None:
        """Disarm now, if the simulation is not running (the end of a test)."""
        if self.depth == 0:
            if self.armed:
                self._disarm()
            for hook in self.on_idle_disarm:
                hook()

    def _disarm(self) -> None:
        self.armed = False
        _signal.setitimer(signal.ITIMER_REAL, 0)
        if _signal.getsignal(signal.SIGALRM) is _on_alarm:
            _signal.signal(signal.SIGALRM, self._handler)
        if self._previous_due:
            # Someone else's alarm was pending: put back what is left of it.
            _signal.setitimer(signal.ITIMER_REAL, max(self._previous_due - RealTime.monotonic(), 0.001))

    def _tick(self) -> bool:
        """Disarm when the simulation has been left, or when the alarm we displaced is due
        (then pass it on). True if the tick is dealt with."""
        if self.depth == 0:
            if self.armed:
                self._disarm()
            for hook in self.on_idle_disarm:
                hook()
            return True
        if self._previous_due and RealTime.monotonic() >= self._previous_due:
            # Give the alarm back to its owner; it arrives a moment later, as it would have.
            self._disarm()
            return True
        return False


real_time_guard = RealTimeGuard()
