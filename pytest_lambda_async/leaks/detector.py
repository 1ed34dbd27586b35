"""The public side of the leak detector: `LeakDetector` (the `lambda_leaks` fixture), its
environment observer, and `Watch` for blocks of test code."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from ..environment import ExecutionEnvironment
from ..invocation import EnvironmentObserver, Invocation
from .collect import _NOT_AWAITABLE, _collect, _is_awaitable, _unfinished
from .findings import FROZEN, Finding, LeakKind
from .sites import _defined_at, _is_internal_callback, _qualname, _site_from_origin
from .tracking import _TRACKER
from .window import _Created, _Window


def _keeping(obj: Any) -> Callable[[], Any]:
    return lambda: obj


# -- the public side ----------------------------------------------------------------------
class LeakObserver(EnvironmentObserver):
    """Opens a window for every invocation in the environments it observes."""

    def __init__(self, detector: LeakDetector) -> None:
        self.detector = detector
        self._open: dict[int, _Window] = {}
        # Pending work already reported (or deliberately not), so shutdown does not repeat it:
        # weak references by id (an id alone could be a later object's, once this one is gone).
        self._known: dict[int, Callable[[], Any]] = {}

    def before_handler(self, env: ExecutionEnvironment, invocation: Invocation) -> None:
        detector = self.detector
        if detector.mode == "off":
            return
        window = _Window(detector, env, invocation)
        previous = self._open.pop(id(env), None)
        if previous is not None:
            _TRACKER.close(previous)
        self._open[id(env)] = window
        _TRACKER.open(window)

    def after_handler(self, env: ExecutionEnvironment, invocation: Invocation) -> None:
        window = self._open.pop(id(env), None)
        if window is None:
            return
        if window.invocation is not invocation:
            self._open[id(env)] = window
            return
        _TRACKER.close(window)
        for handle in window.housekeeping:
            self._know(handle)  # a library's own timer: not lost work when the environment goes
        returned = invocation.returned
        if type(returned) not in _NOT_AWAITABLE and _is_awaitable(returned):
            window.returned.append(returned)
        if not (window.handles or window.threads or window.futures or window.findings
                or window.returned):
            for created in window.tasks:
                if not created.obj.done():
                    break
            else:
                return  # it made nothing, or only tasks that are all done: nothing to report
        tasks, handles = _unfinished(window)
        self._remember(tasks, handles)
        killed = invocation.timed_out or invocation.error_type == "Runtime.ExitError"
        # What the reset takes with it: the environment goes right after this.
        lost = f"lost: the environment was reset after {'timeout' if invocation.timed_out else 'a crash'}"
        self.detector._add(_collect(window, FROZEN, killed=killed, unfinished=(tasks, handles),
                                    lost=lost if killed else None))

    def _remember(self, *pending: list[_Created]) -> None:
        for group in pending:
            for created in group:
                self._know(created.obj)

    def _know(self, obj: Any) -> None:
        try:
            self._known[id(obj)] = weakref.ref(obj)
        except TypeError:  # cannot be weakly referenced: keep the object itself
            self._known[id(obj)] = _keeping(obj)

    def _knows(self, obj: Any) -> bool:
        ref = self._known.get(id(obj))
        return ref is not None and ref() is obj

    def work_lost(self, env: ExecutionEnvironment, pending: list[Any], reason: str) -> None:
        window = self._open.pop(id(env), None)
        if window is not None:
            # The invocation never finished (the test ended first): its work goes with the environment.
            _TRACKER.close(window)
            for handle in window.housekeeping:
                self._know(handle)
            self._remember(*_unfinished(window))
            self.detector._add(_collect(window, f"lost: the environment was {reason}", killed=True))
        if not self.detector.active:
            return
        function = env.function.settings.name
        for item in pending:
            if self._knows(item):
                continue
            self._know(item)
            if isinstance(item, asyncio.Task):
                coro = item.get_coro()
                name = getattr(coro, "__qualname__", None) or item.get_name()
                site = _site_from_origin(getattr(coro, "cr_origin", None), self.detector.stacks)
                what, defined = f"task {name}()", _defined_at(coro)
            else:
                callback = getattr(item, "_callback", None)
                if _is_internal_callback(callback):
                    continue
                name, site, defined = _qualname(callback), None, _defined_at(callback)
                what = f"callback {name}()"
            self.detector._add([Finding(
                kind=LeakKind.WORK_LOST, name=name, what=f"{what} frozen in environment {env.id}",
                site=site.site if site else "", fate=f"lost: the environment was {reason}",
                function=function, stack=site.stack if site else (), defined=defined,
            )])

    def close(self) -> None:
        for window in self._open.values():
            _TRACKER.close(window)
        self._open.clear()


class LeakDetector:
    """Finds work that handler code left pending when it returned (the `lambda_leaks` fixture).

    `mode` is "fail", "warn" or "off" (off: nothing is watched); `ignore` takes fnmatch
    patterns for deliberate work, matched against a finding's name, kind and creation site;
    `stacks=True` records the full creation stack of each finding, not just its line.
    `library=True` also reports work that is not the handler's own: timers library code sets
    for itself (a cache's TTL eviction) and, in a watched block of test code, tasks with no
    user code on the stack (a test runner's, such as anyio's pytest plugin).
    """

    def __init__(self, *, mode: str = "fail", ignore: Iterable[str] = (), stacks: bool = False,
                 library: bool = False) -> None:
        from ..errors import LambdaUsageError

        if mode not in ("fail", "warn", "off"):
            raise LambdaUsageError(
                f"lambda_leaks mode={mode!r} is not a leak mode; use 'fail' (the default), 'warn' or 'off'."
            )
        if isinstance(ignore, str):
            raise LambdaUsageError(f"ignore takes a list of patterns, got the string {ignore!r}; "
                                   f"write ignore=[{ignore!r}].")
        self.mode = mode
        self.ignore = tuple(ignore)
        self.stacks = bool(stacks)
        self.library = bool(library)
        self.findings: list[Finding] = []
        self.ignored: list[Finding] = []
        self.listeners: list[Callable[[Finding], None]] = []
        self.observer = LeakObserver(self)

    @property
    def active(self) -> bool:
        return self.mode != "off"

    def __repr__(self) -> str:
        return f"<LeakDetector mode={self.mode} findings={len(self.findings)}>"

    def _add(self, findings: list[Finding]) -> None:
        for finding in findings:
            if any(finding.matches(pattern) for pattern in self.ignore):
                self.ignored.append(finding)
                continue
            self.findings.append(finding)
            for listener in self.listeners:
                listener(finding)

    def _window(self, context: Any) -> _Window:
        return _Window(self, context=context)

    def watch(self, context: Any = None) -> Watch:
        """Watch a block of test code that calls a handler itself: `with` or `async with`.

        Work created in the block and still pending at its end is a finding. Pass the
        handler's `context` to name its function and request id in the findings, and its
        return value through `Watch.returned()` to catch an awaitable return.
        """
        return Watch(self, context)

    def close(self) -> None:
        """Stop watching (the end of a test)."""
        self.observer.close()
        _TRACKER.release(self)


class Watch:
    """A block of code watched for leaked work (see `LeakDetector.watch`)."""

    def __init__(self, detector: LeakDetector, context: Any) -> None:
        self.detector = detector
        self.context = context
        self._window: _Window | None = None

    def returned(self, value: Any) -> Any:
        """Note the handler's return value (an awaitable return is a finding); returns it."""
        if self._window is not None:
            self._window.returned.append(value)
        return value

    def __enter__(self) -> Watch:
        if self.detector.active:
            self._window = self.detector._window(self.context)
            _TRACKER.open(self._window)
        return self

    def __exit__(self, *exc: object) -> None:
        window, self._window = self._window, None
        if window is not None:
            _TRACKER.close(window)
            self.detector._add(_collect(window, "still pending when the handler returned: on Lambda "
                                        "it would be " + FROZEN))

    async def __aenter__(self) -> Watch:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)
