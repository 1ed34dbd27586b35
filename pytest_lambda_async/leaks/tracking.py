"""Tracking what handler code creates: wrappers around the places work is created.

While a watch window is open, the wrappers installed here around `create_task`,
`call_soon`/`call_at`, `Thread.start` and `ThreadPoolExecutor.submit` record each piece of
work with its creation site in the window whose code created it; loop closes, asyncio.run()'s
final cancellation and never-awaited coroutines are turned into findings on the spot.
"""

from __future__ import annotations

import asyncio
import asyncio.events as _events
import concurrent.futures
import sys
import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import threads
from ..loop import EnvironmentLoopPolicy
from .collect import _cancelling, _handle_finding, _pending_handle_ids, _task_finding
from .findings import _FATE_CANCELLED, _FATE_CLOSED, _FATE_NEVER_RAN, LeakKind
from .sites import _defined_at, _is_internal_callback, _qualname, _site_from_frame, _site_from_origin
from .window import _Created, _Window

if TYPE_CHECKING:
    from .detector import LeakDetector


class _Tracker:
    """The wrappers, installed while at least one window is open."""

    # How many frames of each coroutine's creation stack CPython records (`cr_origin`) while a
    # window is open. Every coroutine created pays for each frame (its line number is worked
    # out there and then), and past the first frames the stack is the event loop's and the
    # plugin's, which a site never needs: three frames reach user code through two frames of
    # library code (say, a sync call that returns a coroutine, and its helper). With
    # `stacks=True` the stack itself is wanted, and eight frames are recorded.
    ORIGIN_DEPTH = 3
    ORIGIN_DEPTH_STACKS = 8

    def __init__(self) -> None:
        self.windows: list[_Window] = []
        self._saved: list[tuple[Any, str, Any]] = []
        self._saved_depth = 0
        self._depth = 0  # the origin tracking depth last set here (nested windows may change it)
        self.holders: set[int] = set()
        # here()'s index when windows are nested (it is asked on every task and timer created
        # while a window is open): environment windows by the id of their environment's loop
        # policy, and the latest window of test code.
        self._by_policy: dict[int, tuple[Any, _Window]] = {}
        self._plain: _Window | None = None

    # -- windows ---------------------------------------------------------------------------
    # One window opens and closes per invocation, usually with no other window open: that
    # case needs no index; nested windows rebuild here()'s index and the tracking depth.
    def open(self, window: _Window) -> None:
        detector = window.detector
        if id(detector) not in self.holders:
            # The wrappers stay installed while a detector that opened a window is alive (they
            # do nothing outside windows); coroutine origin tracking is on only inside windows.
            if not self._saved:
                self._install()
            self.holders.add(id(detector))
        windows = self.windows
        windows.append(window)
        if len(windows) > 1:
            self._index()
            return
        self._saved_depth = saved = sys.get_coroutine_origin_tracking_depth()
        depth = self.ORIGIN_DEPTH_STACKS if detector.stacks else self.ORIGIN_DEPTH
        if saved > depth:
            depth = saved
        self._depth = depth
        sys.set_coroutine_origin_tracking_depth(depth)

    def close(self, window: _Window) -> None:
        windows = self.windows
        if windows and windows[-1] is window:
            windows.pop()
        elif window in windows:
            windows.remove(window)
        else:
            return
        if windows:
            self._index()
            return
        self._depth = self._saved_depth
        sys.set_coroutine_origin_tracking_depth(self._saved_depth)

    def _index(self) -> None:
        """Rebuild here()'s index and the tracking depth from the open windows."""
        by_policy: dict[int, tuple[Any, _Window]] = {}
        plain = None
        stacks = False
        for window in self.windows:  # the latest window wins
            if window.env is None:
                plain = window
            else:
                by_policy[id(window.env.policy)] = (window.env.policy, window)
            stacks = stacks or window.detector.stacks
        self._by_policy, self._plain = by_policy, plain
        self._track_origins(stacks)

    def _track_origins(self, stacks: bool) -> None:
        """Origin tracking for the open windows (nested: changed only when it must be)."""
        depth = max(self._saved_depth, self.ORIGIN_DEPTH_STACKS if stacks else self.ORIGIN_DEPTH)
        if depth != self._depth:
            sys.set_coroutine_origin_tracking_depth(depth)
            self._depth = depth

    def release(self, detector: LeakDetector) -> None:
        """`detector` is done: remove the wrappers when no detector needs them any more."""
        self.holders.discard(id(detector))
        if not self.holders and not self.windows and self._saved:
            self._uninstall()

    def here(self) -> _Window | None:
        """The window whose code is running now: on the window's own thread, or a thread
        working for it (one its code started). Other threads' work is nobody's leak."""
        window = self._here_by_policy()
        if window is None or threads.works_for(window.thread):
            return window
        return None

    def _here_by_policy(self) -> _Window | None:
        policy = _events._event_loop_policy  # type: ignore[attr-defined]
        windows = self.windows
        window: _Window | None
        if len(windows) == 1:
            window = windows[0]
            env = window.env
            if env is not None:
                return window if env.policy is policy else None
        elif not windows:
            return None
        else:
            known = self._by_policy.get(id(policy))
            if known is not None and known[0] is policy:
                return known[1]
            window = self._plain
        # Not an environment's window: test code (its own loops) is the latest `watch()` window's.
        return None if isinstance(policy, EnvironmentLoopPolicy) else window

    # -- installing ------------------------------------------------------------------------
    def _patch(self, owner: Any, name: str, wrapper: Any) -> None:
        self._saved.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, wrapper)

    def _install(self) -> None:
        base = asyncio.BaseEventLoop
        self._patch(base, "create_task", _wrap_create_task(base.create_task))
        self._patch(base, "call_soon", _wrap_call_soon(base.call_soon))
        self._patch(base, "call_at", _wrap_call_at(base.call_at))
        self._patch(base, "close", _wrap_close(base.close))
        self._patch(threading.Thread, "start", _wrap_thread_start(threading.Thread.start))
        tpe = concurrent.futures.ThreadPoolExecutor
        self._patch(tpe, "submit", _wrap_submit(tpe.submit))
        runners = sys.modules["asyncio.runners"]
        if "_cancel_all_tasks" in runners.__dict__:
            self._patch(runners, "_cancel_all_tasks", _wrap_cancel_all(runners._cancel_all_tasks))
        if "_warn_unawaited_coroutine" in warnings.__dict__:
            self._patch(warnings, "_warn_unawaited_coroutine",
                        _wrap_unawaited(warnings.__dict__["_warn_unawaited_coroutine"]))

    def _uninstall(self) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved.clear()


_TRACKER = _Tracker()


def _wrap_create_task(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_task(self: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        task = original(self, coro, **kwargs) if kwargs else original(self, coro)
        if _TRACKER.windows:
            window = _TRACKER.here()
            if window is not None:
                detector = window.detector
                site = _site_from_frame(sys._getframe(1), detector.stacks)
                # In a block of test code, a task made with no user code on the stack at all is
                # the test runner's own (anyio's pytest plugin, say), not the code under test.
                if site is not None and (site.filename or window.env is not None or detector.library):
                    window.tasks.append(_Created(task, site, self))
        return task

    return create_task


def _record_handle(loop: Any, handle: asyncio.Handle) -> None:
    window = _TRACKER.here()
    if window is None:
        return
    site = _site_from_frame(sys._getframe(2), window.detector.stacks)
    if site is None:
        return
    if not site.by_library or window.detector.library:
        window.handles.append(_Created(handle, site, loop))
    else:
        window.housekeeping.append(handle)


def _wrap_call_soon(original: Callable[..., Any]) -> Callable[..., Any]:
    def call_soon(self: Any, callback: Any, *args: Any, context: Any = None) -> Any:
        # asyncio's own calls (a task's step, a future's callbacks) pass at most one argument
        # and a context: passed on as they came, not re-packed (`*args, context=` builds a
        # tuple and a dict for every callback asyncio schedules).
        if len(args) == 1:
            handle = original(self, callback, args[0], context=context)
        elif not args:
            handle = original(self, callback, context=context)
        else:
            handle = original(self, callback, *args, context=context)
        if _TRACKER.windows and not _is_internal_callback(callback):
            _record_handle(self, handle)
        return handle

    return call_soon


def _wrap_call_at(original: Callable[..., Any]) -> Callable[..., Any]:
    def call_at(self: Any, when: float, callback: Any, *args: Any, context: Any = None) -> Any:
        if context is None:  # asyncio.sleep's timer: no context, so no keyword dict to build
            handle = original(self, when, callback, *args)
        else:
            handle = original(self, when, callback, *args, context=context)
        if _TRACKER.windows and not _is_internal_callback(callback):
            _record_handle(self, handle)
        return handle

    return call_at


def _wrap_close(original: Callable[..., Any]) -> Callable[..., Any]:
    def close(self: Any) -> None:
        window = _TRACKER.here()
        if window is not None and not self.is_closed() and not self.is_running():
            _report_dropped(window, self)
        original(self)

    return close


def _report_dropped(window: _Window, loop: Any) -> None:
    """`loop` is being closed: what was created in `window` and still pending there is lost."""
    pending = _pending_handle_ids(loop)
    keep: list[_Created] = []
    for created in window.handles:
        if created.loop is loop:
            if id(created.obj) in pending:
                window.findings.append(_handle_finding(window, created, _FATE_CLOSED))
        else:
            keep.append(created)
    window.handles = keep
    keep = []
    for created in window.tasks:
        if created.loop is loop:
            if not created.obj.done():
                window.findings.append(_task_finding(window, created, _FATE_CLOSED))
        else:
            keep.append(created)
    window.tasks = keep


def _wrap_cancel_all(original: Callable[[Any], None]) -> Callable[[Any], None]:
    def _cancel_all_tasks(loop: Any) -> None:
        window = _TRACKER.here()
        victims = [t for t in asyncio.all_tasks(loop) if not t.done() and not _cancelling(t)]
        original(loop)
        if window is None:
            return
        sites = {id(created.obj): created for created in window.tasks}
        for task in victims:
            created = sites.get(id(task))
            if created is not None and task.cancelled():
                window.findings.append(_task_finding(window, created, _FATE_CANCELLED,
                                                     LeakKind.CANCELLED_AT_EXIT))

    return _cancel_all_tasks


def _wrap_unawaited(original: Callable[[Any], None]) -> Callable[[Any], None]:
    def _warn_unawaited_coroutine(coro: Any) -> None:
        window = _TRACKER.here()
        site = _site_from_origin(getattr(coro, "cr_origin", None), window.stacks) if window else None
        if window is None or site is None:
            original(coro)
            return
        name = getattr(coro, "__qualname__", "coroutine")
        window.findings.append(window.finding(
            LeakKind.NEVER_AWAITED, name, f"coroutine {name}() was never awaited", site,
            _FATE_NEVER_RAN, _defined_at(coro),
        ))

    return _warn_unawaited_coroutine


def _wrap_thread_start(original: Callable[[threading.Thread], None]) -> Callable[[threading.Thread], None]:
    def start(self: threading.Thread) -> None:
        window = _TRACKER.here()
        if window is not None:
            threads.adopt(self)  # it works for the code that started it, and so do its threads
        original(self)
        if window is None:
            return
        caller = sys._getframe(1)
        if caller.f_code.co_filename == concurrent.futures.thread.__file__:
            return  # an executor's worker: its jobs are tracked, not the idle worker
        site = _site_from_frame(caller, window.stacks)
        if site is not None and not (site.by_library and self.daemon):
            window.threads.append(_Created(self, site))

    return start


def _wrap_submit(original: Callable[..., Any]) -> Callable[..., Any]:
    def submit(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        future = original(self, fn, *args, **kwargs)
        window = _TRACKER.here()
        if window is not None:
            site = _site_from_frame(sys._getframe(1), window.stacks)
            if site is not None and not site.by_library:
                window.futures.append(_Created(future, site, detail=_qualname(fn), target=fn))
        return future

    return submit
