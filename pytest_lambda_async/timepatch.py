"""What handler code sees as the time: freezegun on the simulated clock, and a simulated `time.sleep`.

Both start lazily, at most once per test, when the first handler code runs: entering
freezegun costs milliseconds with boto3 loaded, so a test that never invokes never pays.
While handler code runs, `time.time()`, `datetime.now()` and friends read the simulated
clock; the test's own code keeps reading real time, and so do asyncio loops other than the
plugin's (freezegun's `real_asyncio`), so a pytest-asyncio test loop never hangs. A test's
own `freeze_time` or `time_machine.travel` is what handler code reads while it is on. Modules
imported meanwhile are imported with the real datetime classes (`imports.ImportGuard`).

Each start has freezegun look at every module in `sys.modules` for its names bound to the real
time functions and classes. freezegun caches what it found per module, but checking its cache
costs a `dir()` of the module, which over the ~900 modules of a suite with boto3 loaded was most
of the cost of a test that invokes. `_ModuleScans` answers those checks from the plugin's own
memo while the plugin's freezer starts, and leaves out of freezegun's walk the modules it knows
have nothing to patch (see there).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import functools
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from . import deadline
from .clock import VirtualClock
from .deadline import virtual_sleep
from .imports import ImportGuard
from .realwork import thread_waits

_EPOCH = _dt.datetime(1970, 1, 1)


class _SimulatedTimeFactory:
    """Stands in for freezegun's frozen-time factory: simulated time inside handler code only."""

    def __init__(self, clock: VirtualClock, real_datetime: Any) -> None:
        self._clock = clock
        self._real_datetime = real_datetime

    def __call__(self) -> _dt.datetime:
        if deadline.current() is not None and not _time_machine_travelling():
            deadline.time_read()  # a polling loop sees time move
            return _EPOCH + _dt.timedelta(seconds=self._clock._now)
        # Outside handler code, or while the test travels with time-machine (which patches
        # the real functions underneath freezegun): what the test itself reads.
        return self._real_datetime.now(_dt.timezone.utc).replace(tzinfo=None)  # type: ignore[no-any-return]


def _time_machine_travelling() -> bool:
    """True while a `time_machine.travel()` is active: handler code sees it, as a `freeze_time`."""
    time_machine = sys.modules.get("time_machine")
    if time_machine is None:
        return False
    hatch = getattr(time_machine, "escape_hatch", None)
    if hatch is not None:
        return bool(hatch.is_travelling())
    return bool(getattr(time_machine, "coordinates_stack", ()))


class TimePatches:
    """Started by the first handler code of a test, stopped at its end."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.started = False
        self._freezer: Any = None
        self._sleep: Any = None
        # The test's own freeze_time was in charge when handler code first ran: ours starts
        # at the first handler code after it ends.
        self._freezer_deferred = False
        self._imports = ImportGuard()

    def ensure_started(self) -> None:
        if self.started:
            if self._freezer_deferred:
                self._start_freezer()
            return
        self.started = True
        self._sleep = time.sleep
        time.sleep = virtual_sleep  # type: ignore[assignment]
        # Modules imported from here on (a handler string, a handler's lazy import) see the
        # real datetime classes while they execute, whoever runs freezegun.
        self._imports.install()
        thread_waits.install()
        self._start_freezer()

    def _start_freezer(self) -> None:
        import freezegun.api

        if freezegun.api.freeze_factories:
            # The test froze time itself: its freeze_time stays in charge of what code reads
            # while it stands; simulated time takes over at the first handler code after it.
            self._freezer_deferred = True
            return
        self._freezer_deferred = False
        freezer = freezegun.freeze_time(self.clock.now(), real_asyncio=True)
        started_with = len(freezegun.api.freeze_factories)
        try:
            with module_scans.answering(freezegun.api, freezer):
                freezer.start()
        except BaseException:
            # freezegun patches time and datetime before it walks the modules: a start that
            # failed on the way is undone here, or time would stay frozen for the session.
            if len(freezegun.api.freeze_factories) > started_with:
                freezer.stop()
            raise
        self._freezer = freezer
        # freezegun reads the time from the factory its start() pushed, and asks
        # _should_use_real_time() before faking time.time() and friends: ours answer per call,
        # simulated inside handler code, real elsewhere (unless the test froze time on top).
        api: Any = freezegun.api
        depth = len(api.freeze_factories)
        self._freezer._pytest_lambda_async_depth = depth
        api.freeze_factories[-1] = _SimulatedTimeFactory(self.clock, api.real_datetime)
        original = self._should_use_real_time = api._should_use_real_time

        def should_use_real_time() -> bool:
            if len(api.freeze_factories) > depth:
                return bool(original())
            # Decided per thread: other threads (the test's, a server's) read real time.
            return deadline.current() is None or bool(original())

        api._should_use_real_time = should_use_real_time

    def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        self._imports.uninstall()
        if self._sleep is not None:
            time.sleep = self._sleep
            self._sleep = None
        self._freezer_deferred = False
        if self._freezer is not None:
            import freezegun.api

            freezegun.api._should_use_real_time = self._should_use_real_time
            freezer, self._freezer = self._freezer, None
            _stop_in_turn(freezegun.api, freezer)


def _stop_in_turn(api: Any, freezer: Any) -> None:
    """Stop the plugin's freezer, even when the test's own freezers started after it still run.

    freezegun's stop() pops the newest entry, and only the first freezer started knows how to
    undo the patching. Stopped out of order, ours takes its own entry out now (the test's
    freezers keep time frozen), and the patching is undone when the last of theirs stops.
    """
    stacks = (api.freeze_factories, api.ignore_lists, api.tick_flags, api.tz_offsets)
    depth = freezer._pytest_lambda_async_depth
    if len(api.freeze_factories) <= depth:
        freezer.stop()
        return
    for stack in stacks:
        del stack[depth - 1]
    cls = api._freeze_time
    original_stop = cls.__dict__["stop"]

    def stop(self: Any) -> None:
        if len(api.freeze_factories) == 1:
            cls.stop = original_stop
            freezer.stop()  # pops the last entry, then undoes the patching as the first freezer
            return
        original_stop(self)

    cls.stop = stop


_Scan = Callable[[ModuleType], Any]


class _ModuleScans:
    """What freezegun's `_get_cached_module_attributes(module)` returned, kept for the session.

    freezegun's answer for a module is the list of its names bound to real time objects, found
    by its last full scan of the module, and is rescanned when the set of the module's names
    (its `dir()`) changed since. For a plain module, `dir()` is the keys of its `__dict__`, and
    this memo tells that they may have changed by the dict's length and its last key (dicts keep
    insertion order: a name added, even in place of one deleted, comes last; only deleting the
    last name too and binding it again after the new one hides a change). So it answers as
    freezegun would, without a `dir()`: when the module object is the one it saw (held weakly,
    so a module re-imported under the same name, even at the same address, is another) and
    neither has changed, it returns freezegun's list; else it asks freezegun and keeps what
    freezegun says. A module with its own `__dir__`, or anything in `sys.modules` that is not
    a plain `ModuleType` (a subclass may have its own `dir()`), is always asked of freezegun.

    `answering(api, freezer)` puts the memo in freezegun's place for the duration of one
    `start()` of the plugin's freezer, and puts freezegun's function back after it, whatever
    happens. Given the freezer, it also has freezegun walk a `sys.modules` without the modules
    whose still-valid answer names nothing (most of them: freezegun would patch nothing there),
    and gives the freezer the full set of modules at its start, which its `stop()` compares
    with. With a freezegun whose internals are not the ones this relies on, it changes nothing.
    """

    def __init__(self) -> None:
        self._seen: dict[int, tuple[weakref.ref[ModuleType], int, object, Any]] = {}

    @contextlib.contextmanager
    def answering(self, api: Any, freezer: Any = None) -> Iterator[None]:
        # Not re-entrant, and need not be: the plugin's freezer starts once per test, on the
        # one thread that is in the simulation.
        scan = getattr(api, "_get_cached_module_attributes", None)
        if not (callable(scan) and hasattr(api, "_get_module_attributes_hash")
                and isinstance(getattr(api, "_GLOBAL_MODULES_CACHE", None), dict)):
            yield
            return
        api._get_cached_module_attributes = self._answer_for(scan)
        # With the freezer that starts, freezegun's walk of sys.modules also leaves out the
        # modules this memo knows have no name to patch: freezegun would find nothing there.
        view = at_start = None
        if freezer is not None and api.__dict__.get("sys") is sys:
            modules = sys.modules
            at_start = set(modules)
            view = _SysWithModules(self._with_something_to_patch(modules))
            api.sys = view
        # freezegun makes (and closes) a loop to learn the class of the policy's loops: a
        # default policy's is known without one.
        loops = api.__dict__.get("asyncio") is asyncio and freezer is not None
        if loops:
            api.asyncio = _asyncio_with_known_loops
        try:
            yield
        finally:
            api._get_cached_module_attributes = scan
            if loops:
                api.asyncio = asyncio
            if view is not None:
                api.sys = sys
                # What freezegun's stop() takes for the modules there were at start (it looks
                # for fakes in the others, imported since): all of them, not the view's.
                if isinstance(getattr(freezer, "modules_at_start", None), set):
                    freezer.modules_at_start = at_start

    def _with_something_to_patch(self, modules: dict[str, Any]) -> dict[str, Any]:
        """`modules` but for those whose freezegun answer, still valid, names nothing (the
        check of `cached_module_attributes`, inline: it runs for every module at every start)."""
        seen = self._seen
        kept = {}
        for name, module in list(modules.items()):
            if type(module) is ModuleType:
                entry = seen.get(id(module))
                if entry is not None and not entry[3]:
                    names = module.__dict__
                    size = len(names)
                    if (size == entry[1] and entry[0]() is module
                            and (next(reversed(names)) if size else None) == entry[2]):
                        continue
            kept[name] = module
        return kept

    def _answer_for(self, scan: _Scan) -> _Scan:
        seen = self._seen

        def cached_module_attributes(module: ModuleType) -> Any:
            if type(module) is not ModuleType:
                return scan(module)  # a subclass may have its own dir()
            names = module.__dict__
            size = len(names)
            entry = seen.get(id(module))
            # The same module, with the same names as when freezegun last answered (no
            # `__dir__` came in: it would have changed the length or the last key).
            if (entry is not None and size == entry[1] and entry[0]() is module
                    and (next(reversed(names)) if size else None) == entry[2]
                    # and the names it found still hold what they held (rebound: ask again)
                    and (not entry[3] or all(names.get(name) is value for name, value in entry[3]))):
                return entry[3]
            if "__dir__" in names:
                return scan(module)  # dir() is not the keys of its __dict__
            found = scan(module)
            size = len(names)  # freezegun's answer is for the module as it is now
            key = id(module)
            # The entry goes with its module (a session that imports and drops many keeps none).
            forget: Callable[[Any], Any] = functools.partial(_forget, seen, key)
            seen[key] = (weakref.ref(module, forget), size,
                         next(reversed(names)) if size else None, found)
            return found

        return cached_module_attributes


def _forget(seen: dict[int, Any], key: int, _ref: Any) -> None:
    seen.pop(key, None)


class _SysWithModules:
    """`sys` as freezegun's start() sees it through the memo: the same module, but for a
    `modules` without the modules known to have nothing to patch."""

    def __init__(self, modules: dict[str, Any]) -> None:
        self.modules = modules

    def __getattr__(self, name: str) -> Any:
        return getattr(sys, name)


class _AsyncioWithKnownLoops:
    """`asyncio` as freezegun's start() sees it through the memo: `new_event_loop()` gives a
    closed loop of the class the policy's would be, made once, while the policy is asyncio's
    default one as asyncio made it (anything else: asyncio's own `new_event_loop`). freezegun
    only closes it and reads its type."""

    def __init__(self) -> None:
        self._closed: Any = None

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        policy = asyncio.events._event_loop_policy  # type: ignore[attr-defined]
        policy_type = type(policy)
        factory = policy_type.__dict__.get("_loop_factory") if policy is not None else None
        if not (policy_type is asyncio.DefaultEventLoopPolicy and isinstance(factory, type)
                and not vars(policy).keys() & {"_loop_factory", "new_event_loop"}
                and policy_type.new_event_loop is _DEFAULT_NEW_EVENT_LOOP
                and asyncio.new_event_loop is _NEW_EVENT_LOOP):
            return asyncio.new_event_loop()
        closed = self._closed
        if type(closed) is not factory:
            closed = asyncio.new_event_loop()
            closed.close()
            self._closed = closed
        return closed  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


_DEFAULT_NEW_EVENT_LOOP = asyncio.DefaultEventLoopPolicy.new_event_loop
_NEW_EVENT_LOOP = asyncio.events.new_event_loop
_asyncio_with_known_loops = _AsyncioWithKnownLoops()
module_scans = _ModuleScans()
