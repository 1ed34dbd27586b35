"""The leaked-work detector: work a handler started and left pending when it returned.

On Lambda the execution environment is frozen the moment the handler returns. Whatever the
handler left running (a task, a timer, a thread, an executor job) stops there: it resumes
during some later invocation if the environment is reused, or it is lost. A coroutine that
was never awaited never runs at all. The detector finds each of these and names the line of
user code that created it.

How it sees creation sites cheaply (no asyncio debug mode): while a watch window is open it
wraps the few places where work is created (`create_task`, `call_soon`/`call_at`,
`Thread.start`, `ThreadPoolExecutor.submit`) and records the first frame of user code
above the call; coroutines get their origin from CPython's coroutine origin tracking (the
first three frames of their creation stack; eight with `stacks=True`). The wrappers are
installed when the first window opens and removed when the last one closes.

A window is either one invocation in an execution environment (the invoker's environments
call `LeakObserver`), or a block of test code (`LeakDetector.watch()`). Work is charged to
the window whose code created it: an environment's window sees only what that environment's
code did, so work the test itself starts is never reported as the handler's.
"""

from __future__ import annotations

import asyncio
import asyncio.events as _events
import concurrent.futures
import enum
import fnmatch
import inspect
import os
import sys
import sysconfig
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from types import CodeType, FrameType
from typing import Any

from .environment import EnvironmentObserver, ExecutionEnvironment, Invocation
from .loop import EnvironmentLoopPolicy


class LeakKind(str, enum.Enum):
    """What a finding is."""

    PENDING_TASK = "pending-task"
    CANCELLED_AT_EXIT = "cancelled-at-exit"
    NEVER_AWAITED = "never-awaited"
    AWAITABLE_RETURNED = "awaitable-returned"
    THREAD = "thread"
    EXECUTOR_JOB = "executor-job"
    CALLBACK = "callback"
    WORK_LOST = "work-lost"


_FIXES = {
    LeakKind.PENDING_TASK: "await the task (asyncio.gather for several) before returning",
    LeakKind.CANCELLED_AT_EXIT: "await the task inside the coroutine you pass to asyncio.run()",
    LeakKind.NEVER_AWAITED: "add `await` where the coroutine is called",
    LeakKind.AWAITABLE_RETURNED: "await it in the handler and return its result",
    LeakKind.THREAD: "join() the thread before returning",
    LeakKind.EXECUTOR_JOB: "wait for the job: `await loop.run_in_executor(...)` or `future.result()`",
    LeakKind.CALLBACK: "cancel the handle, or await the work (`await asyncio.sleep(delay)`, then call it)",
    LeakKind.WORK_LOST: "finish this work inside the invocation that starts it",
}

FROZEN = ("frozen with the environment when the handler returned: it resumes during a later "
          "invocation if the environment is reused, and is lost if it is not")
_FATE_CLOSED = "lost: its event loop was closed before it ran"
_FATE_CANCELLED = "lost: asyncio.run() cancelled it when its main coroutine returned"
_FATE_NEVER_RAN = "never ran: a coroutine does nothing until something awaits it"
_FATE_RETURNED = ("never ran: the runtime cannot serialise an awaitable (Runtime.MarshalError) "
                  "and nothing awaits it")


@dataclass(frozen=True)
class Finding:
    """One piece of leaked work."""

    kind: LeakKind
    name: str  # coroutine or function qualname, or thread name
    what: str  # how it reads in a message: "task send_metrics()", "timer flush() due in 5 s"
    site: str  # "path/to/app.py:12" in user code, or "" when unknown
    fate: str  # what Lambda does with it
    function: str | None = None
    request_id: str | None = None
    stack: tuple[str, ...] = ()
    defined: str = ""  # where the function is defined: the fallback when `site` is unknown

    @property
    def fix(self) -> str:
        return _FIXES[self.kind]

    def __str__(self) -> str:
        where = f"created at {self.site}" if self.site else (
            f"creation site unknown (defined at {self.defined})" if self.defined else "creation site unknown"
        )
        scope = ", ".join(part for part in (
            f"function {self.function}" if self.function else "",
            f"request {self.request_id}" if self.request_id else "",
        ) if part)
        text = f"[{self.kind.value}] {self.what}, {where}"
        if scope:
            text += f" ({scope})"
        text += f": {self.fate}. Fix: {self.fix}."
        for line in self.stack:
            text += f"\n      {line}"
        return text

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["stack"] = list(self.stack)
        return data

    def matches(self, pattern: str) -> bool:
        """True if the `ignore` pattern (fnmatch) matches its name, kind, site or site's file name."""
        candidates = [self.name, self.kind.value, self.site, os.path.basename(self.site)]
        return any(candidate and fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates)


# -- where code lives -----------------------------------------------------------------------
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_STDLIB_DIRS = tuple(
    os.path.abspath(path) + os.sep
    for key in ("stdlib", "platstdlib")
    if (path := sysconfig.get_paths().get(key))
)
_USER, _STDLIB, _LIBRARY, _PLUGIN = 0, 1, 2, 3
# Plugin modules that handler code calls through (its event loops, patched time): frames in
# them are passed over like the standard library's, not taken as the plugin's own machinery.
_PASS_THROUGH = tuple(_PACKAGE_DIR + name for name in ("loop.py", "timepatch.py", "deadline.py",
                                                        "logs.py", "context.py"))
_origins: dict[str, int] = {}


def _origin(filename: str) -> int:
    kind = _origins.get(filename)
    if kind is None:
        path = os.path.abspath(filename)
        if filename.startswith("<") or path.startswith(_PASS_THROUGH):
            kind = _STDLIB
        elif path.startswith(_PACKAGE_DIR):
            kind = _PLUGIN
        elif f"{os.sep}site-packages{os.sep}" in path or f"{os.sep}dist-packages{os.sep}" in path:
            kind = _LIBRARY
        elif path.startswith(_STDLIB_DIRS):
            kind = _STDLIB
        else:
            kind = _USER
        _origins[filename] = kind
    return kind


_shown: dict[tuple[str, str], str] = {}


def _show_path(filename: str) -> str:
    """`filename` relative to the current directory when it is inside it."""
    key = (os.getcwd(), filename)
    shown = _shown.get(key)
    if shown is None:
        try:
            relative = os.path.relpath(filename)
        except ValueError:  # another drive (Windows)
            relative = ".."
        shown = _shown[key] = filename if relative.startswith("..") else relative
    return shown


class _Site:
    """Where work was created: the first user frame, and who made the call.

    Kept raw and turned into text only when a finding is made: most work that is recorded
    finishes in time and is never reported. A site found by walking the stack keeps the
    frame's code and last instruction, and its line number is worked out only when asked
    for (`frame.f_lineno` scans the code's line table: in a long function, that costs more
    than the rest of the walk).
    """

    __slots__ = ("_lineno", "by_library", "code", "filename", "frames", "lasti")

    def __init__(self, filename: str = "", lineno: int = 0, by_library: bool = False,
                 frames: tuple[tuple[str, int, str], ...] = (), code: CodeType | None = None,
                 lasti: int = -1) -> None:
        self.filename = filename
        self._lineno = lineno
        self.by_library = by_library
        self.frames = frames  # the creation stack, innermost first, when `stacks` is on
        self.code = code  # with `lasti`, instead of `lineno`
        self.lasti = lasti

    @property
    def lineno(self) -> int:
        if self.code is not None:
            self._lineno = _line_of(self.code, self.lasti)
            self.code = None
        return self._lineno

    @property
    def site(self) -> str:
        """The site as a finding shows it ("path/to/app.py:12"), or "" when unknown."""
        return f"{_show_path(self.filename)}:{self.lineno}" if self.filename else ""

    @property
    def stack(self) -> tuple[str, ...]:
        return tuple(f"{_show_path(filename)}:{lineno} in {name}" for filename, lineno, name in self.frames)


def _line_of(code: CodeType, lasti: int) -> int:
    """The line of the instruction at byte offset `lasti`: what `frame.f_lineno` says."""
    for start, end, line in code.co_lines():
        if start <= lasti < end:
            return code.co_firstlineno if line is None else line
    return code.co_firstlineno


_STACK_LIMIT = 12


def _site_from_frame(frame: FrameType | None, stacks: bool) -> _Site | None:
    """Walk out from `frame` to user code. None when the plugin itself made the call."""
    first: int | None = None  # the first frame's origin that is not the standard library's
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename
        origin = _origins.get(filename)
        if origin is None:
            origin = _origin(filename)
        if origin == _USER:
            return _Site(filename, 0, first == _LIBRARY, _stack_from(frame) if stacks else (),
                         code, frame.f_lasti)
        if origin == _PLUGIN:
            return None if first is None else _Site(by_library=True)
        if first is None and origin == _LIBRARY:
            first = origin
        frame = frame.f_back
    return _Site(by_library=first == _LIBRARY)


def _stack_from(frame: FrameType | None) -> tuple[tuple[str, int, str], ...]:
    frames: list[tuple[str, int, str]] = []
    while frame is not None and len(frames) < _STACK_LIMIT:
        code = frame.f_code
        if _origin(code.co_filename) == _PLUGIN:
            break
        frames.append((code.co_filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    return tuple(frames)


def _site_from_origin(origin: tuple[tuple[str, int, str], ...] | None, stacks: bool) -> _Site | None:
    """The site of a coroutine from its `cr_origin` (innermost frame first)."""
    if not origin:
        return None
    for index, (filename, lineno, _name) in enumerate(origin):
        kind = _origin(filename)
        if kind == _PLUGIN:
            return None
        if kind == _USER:
            frames = origin[index:] if stacks else ()
            return _Site(filename, lineno, False, tuple(f for f in frames if _origin(f[0]) != _PLUGIN))
    return None


def _code_of(obj: Any) -> CodeType | None:
    for candidate in (obj, getattr(obj, "func", None), getattr(obj, "__func__", None)):
        code = getattr(candidate, "__code__", None) or getattr(candidate, "cr_code", None)
        if isinstance(code, CodeType):
            return code
    return None


def _defined_at(obj: Any) -> str:
    code = _code_of(obj)
    return f"{_show_path(code.co_filename)}:{code.co_firstlineno}" if code is not None else ""


def _qualname(obj: Any) -> str:
    target = getattr(obj, "func", obj)  # functools.partial
    return str(getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target))


_FUTURES = (asyncio.Future, concurrent.futures.Future)


_INTERNAL_MODULES = ("asyncio.", "pytest_lambda_async.")
_internal_modules: dict[str, bool] = {}


def _is_internal_callback(callback: Any) -> bool:
    """asyncio's own callbacks (task wake-ups, future callbacks, sleep timers) and the plugin's.

    Decided from the callback alone, before any frame walk: this runs on every call_soon.
    """
    callback = getattr(callback, "func", callback)  # look through functools.partial
    owner = getattr(callback, "__self__", None)
    if owner is not None and isinstance(owner, _FUTURES):
        return True
    try:
        return _internal_modules[callback.__module__]
    except (KeyError, AttributeError, TypeError):  # a module not seen yet, or none at all
        pass
    module = getattr(callback, "__module__", None)
    if not isinstance(module, str):
        return False
    internal = _internal_modules[module] = module.startswith(_INTERNAL_MODULES)
    return internal


# -- what is recorded while a window is open -------------------------------------------------
class _Created:
    """One piece of work created in a window."""

    __slots__ = ("detail", "loop", "obj", "site", "target")

    def __init__(self, obj: Any, site: _Site, loop: Any = None, detail: str = "", target: Any = None) -> None:
        self.obj = obj
        self.site = site
        self.loop = loop
        self.detail = detail
        self.target = target


class _Window:
    """What one window recorded. A plain slotted class: one is made per invocation."""

    __slots__ = ("context", "detector", "env", "findings", "futures", "handles", "invocation",
                 "returned", "tasks", "threads")

    def __init__(self, detector: LeakDetector, env: ExecutionEnvironment | None = None,
                 invocation: Invocation | None = None, context: Any = None) -> None:
        self.detector = detector
        self.env = env
        self.invocation = invocation
        self.context = context  # a watch()'s Lambda context, if it was given one
        self.tasks: list[_Created] = []
        self.handles: list[_Created] = []
        self.threads: list[_Created] = []
        self.futures: list[_Created] = []
        self.findings: list[Finding] = []
        self.returned: list[Any] = []

    @property
    def function(self) -> str | None:
        if self.env is not None:
            return self.env.function.settings.name
        return getattr(self.context, "function_name", None)

    @property
    def request_id(self) -> str | None:
        if self.invocation is not None:
            return self.invocation.request_id
        return getattr(self.context, "aws_request_id", None)

    @property
    def stacks(self) -> bool:
        return self.detector.stacks

    def finding(self, kind: LeakKind, name: str, what: str, site: _Site | None, fate: str,
                defined: str = "") -> Finding:
        return Finding(
            kind=kind, name=name, what=what, site=site.site if site else "", fate=fate,
            function=self.function, request_id=self.request_id,
            stack=site.stack if site else (), defined=defined,
        )


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
        """The window whose code is running now."""
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
                site = _site_from_frame(sys._getframe(1), window.detector.stacks)
                if site is not None:
                    window.tasks.append(_Created(task, site, self))
        return task

    return create_task


def _record_handle(loop: Any, handle: asyncio.Handle) -> None:
    window = _TRACKER.here()
    if window is None:
        return
    site = _site_from_frame(sys._getframe(2), window.detector.stacks)
    if site is not None and not site.by_library:
        window.handles.append(_Created(handle, site, loop))


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


def _cancelling(task: asyncio.Task[Any]) -> bool:
    cancelling = getattr(task, "cancelling", None)
    if cancelling is not None:
        return bool(cancelling())
    waiter = getattr(task, "_fut_waiter", None)  # Python 3.10
    return bool(getattr(task, "_must_cancel", False)) or (waiter is not None and waiter.cancelled())


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
        original(self)
        window = _TRACKER.here()
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


# -- turning what was recorded into findings -------------------------------------------------
def _pending_handle_ids(loop: Any) -> set[int]:
    ready = getattr(loop, "_ready", ())
    scheduled = getattr(loop, "_scheduled", ())
    return {id(h) for h in (*ready, *scheduled) if not h.cancelled()}


def _task_finding(window: _Window, created: _Created, fate: str,
                  kind: LeakKind = LeakKind.PENDING_TASK) -> Finding:
    task = created.obj
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", None) or task.get_name()
    site: _Site | None = created.site
    if not created.site.filename:
        site = _site_from_origin(getattr(coro, "cr_origin", None), window.stacks) or created.site
    cancelled = kind is LeakKind.PENDING_TASK and _cancelling(task)
    state = " (cancel requested, never awaited)" if cancelled else ""
    return window.finding(kind, name, f"task {name}(){state}", site, fate, _defined_at(coro))


def _handle_finding(window: _Window, created: _Created, fate: str) -> Finding:
    handle = created.obj
    callback = getattr(handle, "_callback", None)
    name = _qualname(callback)
    if isinstance(handle, asyncio.TimerHandle):
        due = handle.when() - created.loop.time()
        what = f"timer {name}() due in {due:g} s" if due > 0 else f"timer {name}() due now"
    else:
        what = f"callback {name}() scheduled with call_soon"
    return window.finding(LeakKind.CALLBACK, name, what, created.site, fate, _defined_at(callback))


def _thread_finding(window: _Window, created: _Created, fate: str) -> Finding:
    thread: threading.Thread = created.obj
    target = getattr(thread, "_target", None)
    running = f" running {_qualname(target)}()" if target is not None else ""
    return window.finding(LeakKind.THREAD, thread.name, f"thread {thread.name!r}{running} still alive",
                          created.site, fate, _defined_at(target) if target is not None else "")


def _future_finding(window: _Window, created: _Created, fate: str) -> Finding:
    name = created.detail
    return window.finding(LeakKind.EXECUTOR_JOB, name, f"executor job {name}() not done",
                          created.site, fate, _defined_at(created.target))


def _awaitable_finding(window: _Window, value: Any, tasks: dict[int, _Created]) -> Finding:
    if isinstance(value, asyncio.Task) and id(value) in tasks:
        created = tasks[id(value)]
        finding = _task_finding(window, created, _FATE_RETURNED, LeakKind.AWAITABLE_RETURNED)
        return Finding(**{**finding.__dict__, "what": f"task {finding.name}() returned by the handler"})
    coro = value.get_coro() if isinstance(value, asyncio.Task) else value
    name = getattr(coro, "__qualname__", None) or type(value).__name__
    kind_name = "coroutine" if inspect.iscoroutine(coro) else type(value).__name__.lower()
    site = _site_from_origin(getattr(coro, "cr_origin", None), window.stacks)
    return window.finding(LeakKind.AWAITABLE_RETURNED, name, f"{kind_name} {name}() returned by the handler",
                          site, _FATE_RETURNED, _defined_at(coro))


# The exact types handlers nearly always return: none is awaitable (a subclass may be, and is checked).
_NOT_AWAITABLE = frozenset({dict, list, str, bytes, int, float, bool, tuple, type(None)})


def _is_awaitable(value: Any) -> bool:
    return inspect.isawaitable(value) or isinstance(value, asyncio.Future)


def _unfinished(window: _Window) -> tuple[list[_Created], list[_Created]]:
    """The tasks and the callbacks created in `window` still pending on a loop that is open."""
    tasks = [c for c in window.tasks if not c.obj.done() and not c.obj.get_loop().is_closed()]
    handles: list[_Created] = []
    by_loop: dict[int, set[int]] = {}
    for created in window.handles:
        loop = created.loop
        if loop.is_closed():
            continue
        pending = by_loop.get(id(loop))
        if pending is None:
            pending = by_loop[id(loop)] = _pending_handle_ids(loop)
        if id(created.obj) in pending:
            handles.append(created)
    return tasks, handles


def _collect(window: _Window, fate: str, *, killed: bool = False,
             unfinished: tuple[list[_Created], list[_Created]] | None = None) -> list[Finding]:
    """Findings of a window that is closing (the handler returned, or the watched block ended)."""
    findings = list(window.findings)
    if killed:
        # The invocation timed out or crashed: Lambda resets the environment, so what the
        # handler was still doing is not a leak (the test sees the timeout or the crash).
        return [f for f in findings if f.kind is LeakKind.NEVER_AWAITED]
    tasks, handles = _unfinished(window) if unfinished is None else unfinished
    returned: set[int] = set()
    if window.returned:
        by_id = {id(created.obj): created for created in window.tasks}
        returned = {id(value) for value in window.returned}
        for value in window.returned:
            if _is_awaitable(value):
                findings.append(_awaitable_finding(window, value, by_id))
    for created in tasks:
        if id(created.obj) not in returned:
            findings.append(_task_finding(window, created, fate))
    for created in handles:
        findings.append(_handle_finding(window, created, fate))
    for created in window.threads:
        if created.obj.is_alive():
            findings.append(_thread_finding(window, created, fate))
    for created in window.futures:
        if not created.obj.done():
            findings.append(_future_finding(window, created, fate))
    return findings


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
        self.detector._add(_collect(window, FROZEN, killed=killed, unfinished=(tasks, handles)))

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
    """

    def __init__(self, *, mode: str = "fail", ignore: Iterable[str] = (), stacks: bool = False) -> None:
        from .errors import LambdaUsageError

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


def failure_message(findings: list[Finding]) -> str:
    """The teardown message for `findings`: what happened, why it matters, how to fix, how to opt out."""
    lines = [f"Handler code left {len(findings)} piece(s) of work unfinished when it returned:"]
    lines.extend(f"  {number}. {finding}" for number, finding in enumerate(findings, 1))
    lines.append(
        "Why it matters: Lambda freezes the execution environment as soon as the handler "
        "returns. Work still pending then does not run: it resumes during some later invocation "
        "that lands in the same environment (inside another request's time budget), or is lost "
        "when the environment goes away. A coroutine that is never awaited never runs at all."
    )
    lines.append(
        "How to fix: finish the work before the handler returns, as each line says: await tasks "
        "and coroutines, join threads, wait for executor jobs, cancel timers you do not need."
    )
    lines.append(
        "If it is deliberate: @pytest.mark.lambda_leaks(ignore=['<name or file:line pattern>']) "
        "for these findings; @pytest.mark.lambda_leaks(mode='warn') or mode='off' for a test "
        "(or pytestmark for a module); lambda_leaks = warn|off in ini or --lambda-leaks=warn|off "
        "for the suite."
    )
    return "\n".join(lines)
