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
from typing import TYPE_CHECKING

from . import deadline as deadline_module
from . import leftover_threads, threads
from .deadline import RunningHandler, real_time_guard
from .exits import interrupts
from .logs import LogRouting, lambda_log_handler
from .loop import no_running_loop, swap_policy
from .process import chdir_watch

if TYPE_CHECKING:
    from .environment import ExecutionEnvironment, Invocation

_TRACE_KEY = os.environ.encodekey("_X_AMZN_TRACE_ID")


class UserCode:
    """The scope of `ExecutionEnvironment.user_code`. A class, not a generator: it is entered
    at least once per invocation, and every microsecond there is paid by every test."""

    __slots__ = ("_budget", "_cwd", "_deadline", "_env", "_init", "_inner", "_invocation", "_modules_mark",
                 "_moves", "_path", "_path_copy", "_saved", "_threads")

    def __init__(self, env: ExecutionEnvironment, invocation: Invocation, deadline: float,
                 init: bool, budget: float) -> None:
        self._env = env
        self._invocation = invocation
        self._deadline = deadline
        self._init = init
        self._budget = budget

    def __enter__(self) -> None:
        env, invocation, init = self._env, self._invocation, self._init
        function = env.function
        # What can fail comes first, before anything is swapped.
        if function.on_first_code is not None:
            function.on_first_code()
        if env.tmp is None:
            env._make_tmp()
        environ = os.environ
        saved_data = environ._data  # type: ignore[attr-defined]
        data = saved_data.copy()
        data.update(env._encoded_env)
        if init:
            data.pop(_TRACE_KEY, None)
        else:
            data[_TRACE_KEY] = environ.encodevalue(invocation.trace_id)
        # The mapping is swapped, not edited key by key (putenv per variable would dominate the
        # cost of an invocation): code inside sees Lambda's variables through os.environ, and
        # whatever it sets there is gone when it returns.
        environ._data = data  # type: ignore[attr-defined]
        shadowed = None
        modules = sys.modules
        if env.user_modules:
            shadowed = {name: modules.get(name) for name in env.user_modules}
            modules.update(env.user_modules)
        # What tells, on the way out, whether the code imported anything: modules are
        # appended to sys.modules, so the new ones are those after today's last.
        self._modules_mark = (len(modules), next(reversed(modules)))
        self._enter_process(env)
        self._saved = (saved_data, shadowed, swap_policy(env.policy), env._enter_globals(),
                       tempfile.tempdir)
        tempfile.tempdir = env.tmp
        self._inner = inner = (
            no_running_loop(),
            LogRouting(invocation.log, "" if init else invocation.request_id),
            RunningHandler(env.clock, self._deadline, self._budget),
        )
        for scope in inner:
            scope.__enter__()
        self._threads = leftover_threads.snapshot()

    def __exit__(self, *exc: object) -> None:
        leftover_threads.note_new(self._threads)
        for scope in reversed(self._inner):
            scope.__exit__()
        saved_data, shadowed, previous_policy, previous_globals, previous_tempdir = self._saved
        env = self._env
        self._leave_process(env)
        modules = sys.modules
        if (len(modules), next(reversed(modules))) != self._modules_mark:
            env._adopt_imported(self._modules_mark[1])
        tempfile.tempdir = previous_tempdir
        env._leave_globals(previous_globals)
        swap_policy(previous_policy)
        if shadowed is not None:
            modules = sys.modules
            for name, module in shadowed.items():
                if module is None:
                    modules.pop(name, None)
                else:
                    modules[name] = module
        os.environ._data = saved_data  # type: ignore[attr-defined]

    # cwd and sys.path: the environment's own once its code changed them (a process of its own
    # on Lambda); the test's everywhere else.
    def _enter_process(self, env: ExecutionEnvironment) -> None:
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

    def _leave_process(self, env: ExecutionEnvironment) -> None:
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
        if self._lock.acquire(blocking=False):
            try:
                self.__enter__()
            finally:
                self._lock.release()
            return True
        if threading.get_ident() in self._borrowers:
            self.__enter__()
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
        ident = threading.get_ident()
        if ident in self._borrowers:
            self._borrow_lock.acquire()
            self._borrowers[ident] += 1
            return
        self._lock.acquire()
        self.depth += 1
        if self.depth == 1:
            self._owner = ident
            self._no_loop.__enter__()
            real_time_guard.__enter__()
            self._log_handler.__enter__()
            interrupts.install()

    def __exit__(self, *exc: object) -> None:
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
            interrupts.uninstall()
            self._log_handler.__exit__()
            real_time_guard.__exit__()
            self._no_loop.__exit__()
        self._lock.release()


simulation_scope = SimulationScope()


def _runs_handler_code(thread: int) -> bool:
    """True while `thread` is inside handler code (blocked there, if it is not this thread)."""
    running = deadline_module._running
    return bool(running) and running[-1].thread == thread
