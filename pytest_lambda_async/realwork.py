"""What counts as real work in flight: the things simulated time must wait for in real time.

The simulated clock may jump to its next timer only when nothing real is in flight (see
README, "Virtual time and real work"). This module answers "is anything real in flight, and
what?" for an event loop's registered file descriptors and for threads.

Threads. A thread that handler code started (or a thread it started started) is real work
while it runs code; parked on a queue, a condition, a selector or `accept()` it waits for
someone else and is not. Threads the test started (its servers, moto's) are not the handler's
work: when one of them serves the handler, the socket the handler waits on says so.

Connections. A connection this loop opened is in flight while a send is pending (its writer
is registered), from each send until its reply starts to arrive, and, while some task awaits
something other than a timer, until it has been quiet for `REPLY_QUIET` real seconds after
the last data came (the rest of a reply may be on its way). A connection at rest (a pooled
keep-alive connection after its reply), a listening socket and a connection that a server in
the loop accepted are not. Any other reader registered with the loop (`sock_recv`, a pipe of a
subprocess, a child watcher, a raw fd a driver waits on) is in flight while it is registered.
"""

from __future__ import annotations

import asyncio
import asyncio.futures as _futures
import asyncio.tasks as _tasks
import concurrent.futures.thread as _pool
import selectors
import socket
import sys
import threading
import weakref
from collections.abc import Callable, Iterable
from types import CodeType, FrameType
from typing import Any

from . import deadline, leftover_threads
from .clock import RealTime

# After the last data of a reply arrived, how long a connection stays in flight (real seconds)
# while some task still awaits something other than a timer: a reply may come in several parts.
REPLY_QUIET = 0.5

def _codes(*functions: Any) -> frozenset[CodeType]:
    return frozenset(code for code in (getattr(f, "__code__", None) for f in functions) if code is not None)


# Functions a parked thread waits in (its innermost Python frame).
_CONDITION_WAIT = threading.Condition.wait.__code__
_POOL_WORKER = _pool._worker.__code__
_IDLE_CODES = _codes(
    *(getattr(cls, "select", None) for cls in vars(selectors).values()
      if isinstance(cls, type) and issubclass(cls, selectors.BaseSelector)),
    socket.socket.accept,
    # Where a joining thread waits: a helper before 3.13, join itself (in C below it) from 3.13.
    getattr(threading.Thread, "_wait_for_tstate_lock", threading.Thread.join),
)


def _parked(frame: FrameType) -> bool:
    code = frame.f_code
    if code is _CONDITION_WAIT:
        # Parked until notified: notify() takes the waiter off the condition's list.
        local = frame.f_locals
        condition, waiter = local.get("self"), local.get("waiter")
        return waiter is not None and waiter in getattr(condition, "_waiters", ())
    if code is _POOL_WORKER:
        return leftover_threads.pool_worker_between_jobs(frame)
    return code in _IDLE_CODES


def busy_threads(clock: object) -> list[threading.Thread]:
    """Threads that handler code on `clock` started (directly or through threads it started)
    and that are running code now: not parked, not finished."""
    if not _handler_threads:
        return []
    frames = sys._current_frames()
    busy = []
    for thread, owner in list(_handler_threads.items()):
        if owner is not clock or thread.ident is None:
            continue
        frame = frames.get(thread.ident)
        if frame is not None and not _parked(frame):
            busy.append(thread)
    return busy


# Threads handler code started, with the clock of the test that ran it. Only these are real
# work of the handler: a thread the test started (its server, moto's) serves the handler through
# a socket, and the socket counts.
_handler_threads: weakref.WeakKeyDictionary[threading.Thread, object] = weakref.WeakKeyDictionary()


class ThreadWaits:
    """Thread bookkeeping while handler code runs, installed at the first handler code of the
    process and kept (outside handler code every wrapper calls straight through):

    - `Thread.start` notes the threads handler code starts (see `busy_threads`), and the
      non-daemon ones among them, which must not keep pytest alive (see `leftover_threads`);
    - a `def` handler that blocks on a thread (`Future.result()`, `Event.wait()`, `Queue.get()`,
      `Thread.join()`) waits in real time: that time passes on the simulated clock too, counts
      in the invocation's duration, ends at its deadline and is capped by `lambda_blocking_limit`.

    They stay installed because other wrappers (the leak detector's) may be installed over them
    and restore what they found: taking ours out under theirs would break either.
    """

    installed = False

    def install(self) -> None:
        if self.installed:
            return
        self.installed = True
        condition_wait, join, start = threading.Condition.wait, threading.Thread.join, threading.Thread.start

        def wait(self: threading.Condition, timeout: float | None = None) -> bool:
            running = deadline.current()
            if running is None or running.waiting_real:
                return condition_wait(self, timeout)
            return deadline.timed_wait(running, timeout, lambda seconds: condition_wait(self, seconds))

        def join_thread(self: threading.Thread, timeout: float | None = None) -> None:
            running = deadline.current()
            if running is None or running.waiting_real or self.ident == threading.get_ident():
                join(self, timeout)
                return

            def joined(seconds: float) -> bool:
                join(self, seconds)
                return not self.is_alive()

            deadline.timed_wait(running, timeout, joined, what=f"a thread ({self.name}).join()")

        def start_thread(self: threading.Thread) -> None:
            if deadline._running:
                running = deadline.current()
                if running is not None:
                    _handler_threads[self] = running.clock
                else:
                    owner = _handler_threads.get(threading.current_thread())
                    if owner is not None:
                        _handler_threads[self] = owner
                if not self.daemon and self in _handler_threads:
                    leftover_threads.note(self)
            start(self)

        wait.__wrapped__ = condition_wait  # type: ignore[attr-defined]
        threading.Condition.wait = wait  # type: ignore[method-assign]
        threading.Thread.join = join_thread  # type: ignore[method-assign]
        threading.Thread.start = start_thread  # type: ignore[method-assign]


thread_waits = ThreadWaits()


# -- connections ---------------------------------------------------------------------------
class ConnectionState:
    """What a connection opened by the loop last did (kept on its transport)."""

    __slots__ = ("peer", "received_at", "sent")

    def __init__(self, peer: str) -> None:
        self.peer = peer
        self.sent = False
        self.received_at = -1e300


_STATE = "_lambda_connection_state"


def track_connection(transport: asyncio.BaseTransport, sock: socket.socket) -> None:
    """Follow what `transport` (a connection this loop opened) sends; see `note_received`."""
    try:
        address = sock.getpeername()
    except OSError:
        address = None
    peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address or "?")
    state = ConnectionState(peer)
    setattr(transport, _STATE, state)
    for name in ("write", "writelines", "sendto"):
        method = getattr(transport, name, None)
        if method is not None:
            setattr(transport, name, _sending(method, state))


def _sending(method: Callable[..., Any], state: ConnectionState) -> Callable[..., Any]:
    def send(*args: Any, **kwargs: Any) -> Any:
        state.sent = True
        return method(*args, **kwargs)

    return send


def note_received(ready: Iterable[tuple[selectors.SelectorKey, int]]) -> None:
    """Data (or the end) arrived on these registrations: their replies have started."""
    for key, events in ready:
        if events & selectors.EVENT_READ and key.data is not None:
            reader = key.data[0]
            state = getattr(getattr(getattr(reader, "_callback", None), "__self__", None), _STATE, None)
            if state is not None:
                state.sent = False
                state.received_at = RealTime.monotonic()


def fd_in_flight(key: selectors.SelectorKey, loop: asyncio.AbstractEventLoop,
                 awaiting: Callable[[], bool]) -> str | None:
    """What real work this registration stands for, or None if it is at rest."""
    reader, writer = key.data
    if writer is not None and not writer._cancelled:
        owner = getattr(writer._callback, "__self__", None)
        state = getattr(owner, _STATE, None)
        if state is not None:
            return f"a send on a connection to {state.peer}"
        return f"a connection being opened or written (fd {key.fd})"
    if reader is None or reader._cancelled:
        return None
    callback = reader._callback
    owner = getattr(callback, "__self__", None)
    if owner is loop:
        if getattr(callback, "__name__", "") == "_accept_connection":
            return None  # a listening socket: nobody waits on it
        return f"a socket read the handler awaits (fd {key.fd})"
    state = getattr(owner, _STATE, None)
    if state is not None:
        if state.sent:
            return f"a reply on a connection to {state.peer}"
        if RealTime.monotonic() - state.received_at < REPLY_QUIET and awaiting():
            return f"the rest of a reply on a connection to {state.peer}"
        return None
    if isinstance(owner, asyncio.Transport) and owner.get_extra_info("peername") is not None and (
        getattr(owner, "_server", None) is not None
    ):
        return None  # a connection a server in this loop accepted, waiting for its client
    return f"a pipe, subprocess or socket the loop reads (fd {key.fd})"


def awaiting_other_than_time(loop: Any) -> bool:
    """True if some task of `loop` waits for something other than a timer (asyncio.sleep)."""
    sleepers = {
        id(handle._args[0]) for handle in loop._scheduled
        if handle._callback is _futures._set_result_unless_cancelled and handle._args  # type: ignore[attr-defined]
    }
    for task in loop.pending_tasks():
        waiter = getattr(task, "_fut_waiter", None)
        if waiter is None or id(waiter) in sleepers:
            continue
        if isinstance(waiter, (asyncio.Task, _tasks._GatheringFuture)):  # type: ignore[attr-defined]
            continue  # the awaited tasks are looked at themselves
        return True
    return False
