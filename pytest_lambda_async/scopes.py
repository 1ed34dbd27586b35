"""The scopes handler code runs in: one environment's process state, and the simulation's.

`UserCode` holds while one environment's code runs (its init, a handler, a thawed task): Lambda's
environment variables, that environment's loop policy, `/tmp`, modules, working directory and
`sys.path`, output routed to the invocation's log, and the deadline. `simulation_scope` holds
while the simulation runs at all, on one thread at a time. Both are entered for every
invocation: every microsecond in them is paid by every test.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from asyncio import events as _events
from asyncio.events import _get_running_loop, _set_running_loop
from typing import TYPE_CHECKING, Any

from . import threads
from .clock import RealTime
from .deadline import RunningHandler, _running, real_time_guard
from .exits import interrupts
from .logs import lambda_log_handler, restore_output, route_output
from .loop import no_running_loop
from .process import chdir_watch

if TYPE_CHECKING:
    from .environment import ExecutionEnvironment
    from .invocation import Invocation

_TRACE_KEY = os.environ.encodekey("_X_AMZN_TRACE_ID")

# Module globals of libraries (imported once per test process) that on Lambda live once per
# execution environment, each being a process of its own: (module, name, the value a fresh
# process starts with). Every environment keeps its own value of each, so that Powertools marks
# the first invocation of every environment as its cold start, and only that one.
PER_ENVIRONMENT_GLOBALS: list[tuple[str, str, Any]] = [
    ("aws_lambda_powertools.logging.logger", "is_cold_start", True),
    ("aws_lambda_powertools.tracing.tracer", "is_cold_start", True),
    ("aws_lambda_powertools.metrics.base", "is_cold_start", True),
    ("aws_lambda_powertools.metrics.provider.cold_start", "is_cold_start", True),
]
_MISSING = object()
# The one library they belong to: until it is imported there is nothing to swap.
_GLOBALS_PACKAGE = "aws_lambda_powertools"
assert all(module.startswith(_GLOBALS_PACKAGE + ".") for module, _, _ in PER_ENVIRONMENT_GLOBALS)


def enter_globals(kept: dict[tuple[str, str], Any]) -> dict[tuple[str, str], Any]:
    """Put an environment's own values (`kept`) of `PER_ENVIRONMENT_GLOBALS`; return what was
    there."""
    previous: dict[tuple[str, str], Any] = {}
    for modname, name, fresh in PER_ENVIRONMENT_GLOBALS:
        module = sys.modules.get(modname)
        if module is not None:
            previous[modname, name] = getattr(module, name, _MISSING)
            setattr(module, name, kept.get((modname, name), fresh))
    return previous


def leave_globals(kept: dict[tuple[str, str], Any], previous: dict[tuple[str, str], Any]) -> None:
    """Keep the environment's values in `kept`, and put back what `enter_globals` found."""
    for modname, name, _fresh in PER_ENVIRONMENT_GLOBALS:
        module = sys.modules.get(modname)
        if module is None or not hasattr(module, name):
            continue
        # This environment's value, whether its code imported the module just now or not.
        kept[modname, name] = getattr(module, name)
        if (modname, name) in previous:
            value = previous[modname, name]
            if value is _MISSING:
                delattr(module, name)
            else:
                setattr(module, name, value)


_FS_ENCODING = sys.getfilesystemencoding()
# os.environ encodes keys and values alike, as bytes in the file system encoding (not Windows).
_POSIX_ENVIRON = os.name != "nt" and os.environ.encodekey is os.environ.encodevalue


def encode_environ(variables: dict[str, str]) -> dict[Any, Any]:
    """`variables` as `os.environ` stores them (its `_data`), for the scope to swap in."""
    if _POSIX_ENVIRON and all(isinstance(k, str) and isinstance(v, str) for k, v in variables.items()):
        # What os.environ.encodekey/encodevalue do on POSIX (check for str, then this), without
        # two Python calls a variable.
        return {k.encode(_FS_ENCODING, "surrogateescape"): v.encode(_FS_ENCODING, "surrogateescape")
                for k, v in variables.items()}
    encodekey, encodevalue = os.environ.encodekey, os.environ.encodevalue
    return {encodekey(k): encodevalue(v) for k, v in variables.items()}


class UserCode(RunningHandler):
    """The scope of `ExecutionEnvironment.user_code`, which is also the running handler code's
    `RunningHandler` (`deadline.current()`). A class, not a generator, with every step inline:
    it is entered at least once per invocation, and every microsecond here is paid by every
    test."""

    __slots__ = ("_cwd", "_env", "_globals", "_init", "_invocation", "_loop", "_modules_mark",
                 "_moves", "_output", "_path", "_path_copy", "_policy", "_saved_environ",
                 "_shadowed", "_tempdir")

    def __init__(self, env: ExecutionEnvironment, invocation: Invocation, deadline: float,
                 init: bool, budget: float) -> None:
        self._env = env
        self._invocation = invocation
        self.clock = env.clock
        self.deadline = deadline
        self.real_budget = budget
        self._init = init

    def __enter__(self) -> UserCode:
        env, invocation = self._env, self._invocation
        function = env.function
        # What can fail comes first, before anything is swapped.
        if function.on_first_code is not None:
            function.on_first_code()
        if env.tmp is None:
            env._make_tmp()
        environ = os.environ
        self._saved_environ = saved_data = environ._data  # type: ignore[attr-defined]
        data = saved_data.copy()
        data.update(env._encoded_env)
        if self._init:
            data.pop(_TRACE_KEY, None)
        else:
            data[_TRACE_KEY] = invocation.trace_header
        # The mapping is swapped, not edited key by key (putenv per variable would dominate the
        # cost of an invocation): code inside sees Lambda's variables through os.environ, and
        # whatever it sets there is gone when it returns.
        environ._data = data  # type: ignore[attr-defined]
        modules = sys.modules
        self._shadowed = None
        if env.user_modules:
            self._shadowed = {name: modules.get(name) for name in env.user_modules}
            modules.update(env.user_modules)
        # What tells, on the way out, whether the code imported anything: modules are
        # appended to sys.modules, so the new ones are those after today's last.
        self._modules_mark = (len(modules), next(reversed(modules)))
        # cwd and sys.path: the environment's own once its code changed them (a process of its
        # own on Lambda); the test's everywhere else.
        watch = chdir_watch
        self._cwd = cwd = watch.cwd()
        self._moves = watch.moves
        if env.cwd is not None and env.cwd != cwd:
            watch.real_chdir(env.cwd)
        self._path = path = sys.path
        if env.sys_path is not None:
            sys.path = env.sys_path
            self._path_copy = None
        else:
            self._path_copy = path[:]
        self._policy = _events._event_loop_policy  # type: ignore[attr-defined]
        _events._event_loop_policy = env.policy  # type: ignore[attr-defined]
        self._globals = enter_globals(env._globals) if _GLOBALS_PACKAGE in modules else None
        self._tempdir = tempfile.tempdir
        tempfile.tempdir = env.tmp
        # A loop marked running on this thread (a test's, or the loop of a handler that made a
        # nested invoke) is hidden: handler code may start its own.
        self._loop = loop = _get_running_loop()
        if loop is not None:
            _set_running_loop(None)
        self._output = route_output(invocation.log, "" if self._init else invocation.request_id)
        # As RunningHandler.__init__ does, now that the code is about to run.
        self.real_started = RealTime.monotonic()
        self.thread = threading.get_ident()
        self.timed_out = self.blocked = self.waiting_real = False
        self.poll_at = -1.0
        self.poll_reads = 0
        self.poll_base = self.poll_started = 0.0
        _running.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if _running[-1] is self:
            _running.pop()
        else:
            _running.remove(self)
        restore_output(self._output)
        if self._loop is not None:
            _set_running_loop(self._loop)
        env = self._env
        # cwd and sys.path
        if env.cwd is not None or chdir_watch.moves != self._moves:
            self._leave_cwd(env)
        path, copy = self._path, self._path_copy
        current = sys.path
        if copy is None:
            env.sys_path = current
            sys.path = path
        elif current is not path or current != copy:
            env.sys_path = list(current)
            sys.path = path
            path[:] = copy
        modules = sys.modules
        if (len(modules), next(reversed(modules))) != self._modules_mark:
            env._adopt_imported(self._modules_mark[1])
        tempfile.tempdir = self._tempdir
        if self._globals is not None or _GLOBALS_PACKAGE in modules:
            leave_globals(env._globals, self._globals or {})
        _events._event_loop_policy = self._policy  # type: ignore[attr-defined]
        shadowed = self._shadowed
        if shadowed is not None:
            for name, module in shadowed.items():
                if module is None:
                    modules.pop(name, None)
                else:
                    modules[name] = module
        os.environ._data = self._saved_environ  # type: ignore[attr-defined]

    def _leave_cwd(self, env: ExecutionEnvironment) -> None:
        test_cwd = self._cwd
        try:
            cwd: str | None = os.getcwd()
        except OSError:  # the code removed the directory it moved to
            cwd = None
        if cwd != test_cwd or env.cwd is not None:
            env.cwd = cwd
        if cwd != test_cwd and test_cwd is not None:
            chdir_watch.real_chdir(test_cwd)
        chdir_watch.known(test_cwd)


class SimulationScope:
    """What holds while the simulation runs at all: no running loop marked on the thread (a
    test's pytest-asyncio loop), the real-time guard, and the runtime's root log handler.
    Re-entrant: only the outermost entry does the work.

    One thread at a time: what handler code changes (os.environ, sys.stdout, the loop policy,
    tempfile.tempdir) is the process's, so a second thread that enters waits here until the
    first one's simulation step has ended and put all of it back (a synchronous invoke from
    another thread hands its request over instead: see `LambdaFunction.invoke`)."""

    def __init__(self) -> None:
        self.depth = 0
        self._lock = threading.RLock()
        # The thread in the simulation, and the threads borrowing it (see enter_if_free).
        self._owner: int | None = None
        self._borrow_lock = threading.RLock()
        self._borrowers: dict[int, int] = {}  # thread -> how many entries deep
        self._no_loop = no_running_loop()
        self._log_handler = lambda_log_handler()

    def __call__(self) -> SimulationScope:
        return self

    def enter_if_free(self) -> bool:
        """Enter unless another thread is in the simulation now (then return False)."""
        if self._borrowers and threading.get_ident() in self._borrowers:
            self.__enter__()
            return True
        if self._lock.acquire(blocking=False):
            self._enter_locked()
            return True
        return False

    def owner_runs_handler_code_for_this_thread(self) -> bool:
        """True if the thread in the simulation is in handler code and this thread works for
        it (a pool thread that a handler started, and may be waiting for)."""
        owner = self._owner
        return owner is not None and threads.works_for(owner) and _runs_handler_code(owner)

    def borrow(self) -> None:
        """Enter on behalf of the thread in the simulation, whose handler code waits for this
        thread: the handler's own work, run one borrowing thread at a time. Leave with
        `__exit__` as usual."""
        self._borrow_lock.acquire()
        ident = threading.get_ident()
        self._borrowers[ident] = self._borrowers.get(ident, 0) + 1

    def __enter__(self) -> None:
        if self._borrowers and threading.get_ident() in self._borrowers:
            self._borrow_lock.acquire()
            self._borrowers[threading.get_ident()] += 1
            return
        self._lock.acquire()
        self._enter_locked()

    def _enter_locked(self) -> None:
        self.depth += 1
        if self.depth == 1:
            self._owner = threading.get_ident()
            self._no_loop.__enter__()
            real_time_guard.__enter__()
            self._log_handler.__enter__()
            interrupts.install()

    def __exit__(self, *exc: object) -> None:
        if self._borrowers:
            ident = threading.get_ident()
            if ident in self._borrowers:
                self._borrowers[ident] -= 1
                if not self._borrowers[ident]:
                    del self._borrowers[ident]
                self._borrow_lock.release()
                return
        self.depth -= 1
        if self.depth == 0:
            self._owner = None
            if not real_time_guard.armed:
                # Else the SIGINT wrapper stays until the guard's next tick finds the simulation
                # left, or the test ends: installing it costs two system calls per invoke.
                interrupts.uninstall()
            self._log_handler.__exit__()
            real_time_guard.__exit__()
            self._no_loop.__exit__()
        self._lock.release()


simulation_scope = SimulationScope()


def _runs_handler_code(thread: int) -> bool:
    """True while `thread` is inside handler code (blocked there, if it is not this thread)."""
    return bool(_running) and _running[-1].thread == thread
