"""Turning what a window recorded into findings when the window closes."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

from ..deadline import virtual_sleep
from .findings import _FATE_RETURNED, Finding, LeakKind
from .sites import _defined_at, _qualname, _Site, _site_from_origin
from .window import _Created, _Window


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


def _handle_finding(window: _Window, created: _Created, fate: str,
                    kind: LeakKind = LeakKind.CALLBACK) -> Finding:
    handle = created.obj
    callback = getattr(handle, "_callback", None)
    name = _qualname(callback)
    if isinstance(handle, asyncio.TimerHandle):
        due = handle.when() - created.loop.time()
        what = f"timer {name}() due in {due:g} s" if due > 0 else f"timer {name}() due now"
    else:
        what = f"callback {name}() scheduled with call_soon"
    return window.finding(kind, name, what, created.site, fate, _defined_at(callback))


def _thread_finding(window: _Window, created: _Created, fate: str) -> Finding:
    thread: threading.Thread = created.obj
    target = getattr(thread, "_target", None)
    name = thread.name
    if target is virtual_sleep:
        # The user's code passed time.sleep, which the plugin's simulated sleep stands in for:
        # named as the user wrote it (threads are named after their target by default).
        name = name.replace(f"({virtual_sleep.__name__})", "(sleep)")
        running, defined = " running time.sleep()", ""
    elif target is not None:
        running, defined = f" running {_qualname(target)}()", _defined_at(target)
    else:
        running, defined = "", ""
    return window.finding(LeakKind.THREAD, name, f"thread {name!r}{running} still alive",
                          created.site, fate, defined)


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
             unfinished: tuple[list[_Created], list[_Created]] | None = None,
             lost: str | None = None) -> list[Finding]:
    """Findings of a window that is closing (the handler returned, or the watched block ended).

    `killed`: the invocation timed out or crashed, and Lambda resets the environment; with
    `lost` (how it was reset), the tasks and callbacks it left are reported as lost there.
    """
    findings = list(window.findings)
    if killed:
        findings = [f for f in findings if f.kind is LeakKind.NEVER_AWAITED]
        if lost is not None:
            tasks, handles = _unfinished(window) if unfinished is None else unfinished
            # A task something still waits for (gathered, run_until_complete's) was part of
            # what the handler was doing when it was stopped: the timeout or crash says so.
            findings.extend(_task_finding(window, created, lost, LeakKind.WORK_LOST)
                            for created in tasks if not getattr(created.obj, "_callbacks", None))
            findings.extend(_handle_finding(window, created, lost, LeakKind.WORK_LOST)
                            for created in handles)
        return findings
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


def _cancelling(task: asyncio.Task[Any]) -> bool:
    cancelling = getattr(task, "cancelling", None)
    if cancelling is not None:
        return bool(cancelling())
    waiter = getattr(task, "_fut_waiter", None)  # Python 3.10
    return bool(getattr(task, "_must_cancel", False)) or (waiter is not None and waiter.cancelled())
