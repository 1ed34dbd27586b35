"""An execution environment: one warm or cold "sandbox" of a deployed function.

An environment owns its own instance of the handler's module (its top-level code is the init
phase), its own event loop on the simulated clock, its own `/tmp`, its Lambda environment
variables and its state. Between invocations it is frozen: nothing in it runs, so work a
handler left pending resumes only when the next invocation lands here (thaw), or is lost
when the environment is reset or shut down.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import inspect
import os
import sys
import uuid
from collections.abc import Callable
from functools import partial
from types import FunctionType, ModuleType
from typing import Any

from . import exits, runtime
from .config import FunctionSettings
from .context import LambdaContext
from .deadline import InvocationTimeout, blocking_limit_line
from .exits import interrupts
from .functionruntime import FunctionRuntime, PerSettings
from .invocation import Invocation
from .loop import EnvironmentLoopPolicy, VirtualEventLoop
from .loopdriver import LoopDriver
from .scopes import UserCode, encode_environ

# Lambda gives the init phase 10 seconds.
INIT_TIMEOUT = 10.0
# INIT_START's runtime version reads `python:3.11.v11`, and its ARN ends in a 64-digit hash
# (`test_invocation_type_event_error`); this runtime's own version and hash.
_RUNTIME_VERSION = f"python:{sys.version_info.major}.{sys.version_info.minor}.v1"
_RUNTIME_HASH = hashlib.sha256(f"pytest-lambda-async {_RUNTIME_VERSION}".encode()).hexdigest()
_LIBRARY_DIRS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")


class EnvironmentState(str, enum.Enum):
    INITIALISING = "initialising"
    BUSY = "busy"
    FROZEN = "frozen"
    GONE = "gone"


_INIT_DURATION = "\tInit Duration: "


class ExecutionEnvironment:
    """One execution environment of a deployed function."""

    def __init__(self, function: FunctionRuntime, number: int) -> None:
        self.function = function
        self.number = number
        self.clock = function.clock
        settings = function.settings
        self.id = f"{settings.name}#{number}"
        day = self.clock.now().strftime("%Y/%m/%d")
        self.log_stream_name = f"{day}/[{settings.version}]{uuid.uuid4().hex}"
        self.state = EnvironmentState.INITIALISING
        self.policy = EnvironmentLoopPolicy(self.clock)
        self.module: ModuleType | None = None
        self.handler: Callable[..., Any] | None = None
        # Whether the handler runs as a task on this environment's loop (set by init).
        self.is_async_handler = False
        self.current: Invocation | None = None
        self.invocations = 0
        self.last_used = self.clock.time()
        self.tmp: str | None = None
        self.user_modules: dict[str, ModuleType] = {}
        # The working directory and sys.path of this environment, once its code changed them.
        self.cwd: str | None = None
        self.sys_path: list[str] | None = None
        self._driver = LoopDriver(self)
        self._settings_cache: PerSettings | None = None
        # The handler is an `async def` function (not any other callable returning a coroutine).
        self._plain_coroutine_function = False
        self._timeout_timer: Any = None
        # The invocation whose async handler ended, until its loop has stopped.
        self._returned: Invocation | None = None
        self._handler_task: asyncio.Task[Any] | None = None
        self._shared_encoded: dict[Any, Any] = {}
        self._env_vars = self._lambda_environment()
        self._encoded_env: dict[Any, Any] = {}
        self._globals: dict[tuple[str, str], Any] = {}

    def __repr__(self) -> str:
        return f"<ExecutionEnvironment {self.id} {self.state.value}>"

    @property
    def loop(self) -> VirtualEventLoop | None:
        """The environment's own event loop, if it has one yet."""
        loop = self.policy.environment_loop
        return None if loop is None or loop.is_closed() else loop

    # -- the scope handler code runs in ------------------------------------------------------
    def _lambda_environment(self) -> dict[str, str]:
        # The function's shared variables (made once), and this environment's log stream;
        # TMPDIR is set when the directory is made.
        variables, self._shared_encoded = self.function.shared_environment(self.function.task_root())
        variables = variables.copy()  # every key keeps its place
        variables["AWS_LAMBDA_LOG_STREAM_NAME"] = self.log_stream_name
        return variables

    def _make_tmp(self) -> None:
        function = self.function
        self.tmp = tmp = function.tmp_dirs.make(f"lambda-{function.settings.name}-{self.number}-")
        self._env_vars["TMPDIR"] = tmp
        encoded = self._shared_encoded.copy()  # every key keeps its place
        encoded.update(encode_environ({"AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream_name,
                                       "TMPDIR": tmp}))
        self._encoded_env = encoded

    def user_code(self, invocation: Invocation, deadline: float, *, init: bool = False) -> UserCode:
        """Everything that holds while this environment's code runs (a `with` scope).

        Lambda's environment variables (and the invocation's trace id, not set during init),
        this environment's loop policy, `/tmp`, its own copies of the user's modules, output
        routed to the invocation's log, and the deadline. All of it is undone on the way out.
        """
        budget = min(self.function.real_time_budget, INIT_TIMEOUT) if init else self._per.budget
        return UserCode(self, invocation, deadline, init, budget)

    @property
    def _per(self) -> PerSettings:
        """What every invocation here derives from the function's settings, derived once."""
        settings = self.function.settings
        cached = self._settings_cache
        if cached is None or cached.settings is not settings:
            cached = self._settings_cache = PerSettings(
                settings, real_time_budget=self.function.real_time_budget,
                log_stream_name=self.log_stream_name, clock=self.clock)
        return cached

    # -- the life of an invocation ---------------------------------------------------------
    def begin(self, invocation: Invocation) -> None:
        """Start `invocation` here, now (called by the simulation)."""
        assert self.state in (EnvironmentState.INITIALISING, EnvironmentState.FROZEN), self.state
        invocation.environment = self
        invocation.started_at = self.clock._now
        self.current = invocation
        self.invocations += 1
        if self.state is EnvironmentState.INITIALISING:
            invocation.cold_start = True
            self._init(invocation)
            return
        self.state = EnvironmentState.BUSY
        self._start_handler(invocation)

    def _init(self, invocation: Invocation) -> None:
        clock = self.clock
        started = clock.time()
        invocation.log.write(f"INIT_START Runtime Version: {_RUNTIME_VERSION}\tRuntime Version ARN: "
                             f"arn:aws:lambda:{self.function.settings.region}::runtime:"
                             f"{_RUNTIME_HASH}\n")
        failure: dict[str, Any] | None = None
        with self.user_code(invocation, started + INIT_TIMEOUT, init=True):
            try:
                before = list(sys.modules)
                try:
                    self.handler = self._load_handler()
                    self.is_async_handler = _runs_as_task(self.handler, self.function.settings)
                    self._plain_coroutine_function = (
                        type(self.handler) is FunctionType
                        and bool(self.handler.__code__.co_flags & inspect.CO_COROUTINE))
                finally:
                    self._adopt_user_modules(before)
            except runtime.Fault as fault:
                failure = runtime.make_error(fault.message, fault.error_type, fault.trace, "")
            except InvocationTimeout:
                failure = runtime.make_error(
                    f"INIT timed out after {INIT_TIMEOUT:.2f} seconds", "Sandbox.Timedout", [], ""
                )
            except Exception as exc:
                failure = runtime.error_payload(exc, "")
            except BaseException as exc:
                if interrupts.is_real(exc):
                    raise
                # The runtime process ended during init: the invocation gets Runtime.ExitError.
                failure = runtime.exit_payload(invocation.request_id, exits.exit_reason(exc))
                invocation.log.write(exits.exit_output(exc) + failure["errorMessage"] + "\n")
            if failure is not None and failure["errorType"] != runtime.EXIT_ERROR:
                invocation.log.write(runtime.error_log_lines(failure))
        ended = clock.time()
        invocation.init_duration = ended - started
        # Init ran inline; the environment stays busy initialising until `ended`.
        clock.set_time(started)
        if failure is None:
            self.state = EnvironmentState.BUSY
            clock.call_at(ended, partial(self._start_handler, invocation))
        else:
            clock.call_at(ended, partial(self._fail_init, invocation, failure))

    def _adopt_user_modules(self, before: list[str]) -> None:
        # Modules of the user's own code that init imported become this environment's own:
        # on Lambda every environment is a process that imports them afresh.
        modules = sys.modules
        names = list(modules)
        if names == before:
            return  # the same names (in one comparison in C): nothing was imported
        root = self._env_vars["LAMBDA_TASK_ROOT"] + os.sep
        for name in set(names).difference(before):
            module = modules[name]
            path = getattr(module, "__file__", None) or ""
            if path.startswith(root) and not any(part in path for part in _LIBRARY_DIRS):
                self.user_modules[name] = modules.pop(name)

    def _adopt_imported(self, last_before: str) -> None:
        # Modules the code imported while it ran (lazily, inside a handler, say) are appended
        # after `last_before`: the user's own among them become this environment's too.
        modules = sys.modules
        new: list[str] = []
        for name in reversed(modules):
            if name == last_before:
                break
            new.append(name)
        else:
            return  # the mark itself was removed: nothing can be told apart safely
        root = self._env_vars["LAMBDA_TASK_ROOT"] + os.sep
        for name in new:
            path = getattr(modules[name], "__file__", None) or ""
            if path.startswith(root) and not any(part in path for part in _LIBRARY_DIRS):
                self.user_modules[name] = modules.pop(name)

    def _load_handler(self) -> Callable[..., Any]:
        handler = self.function.handler
        if not isinstance(handler, str):
            return handler
        modname, fname = runtime.split_handler(handler)
        self.module = runtime.load_module(modname)
        return runtime.get_handler(self.module, modname, fname)  # type: ignore[no-any-return]

    def _fail_init(self, invocation: Invocation, failure: dict[str, Any]) -> None:
        invocation.handler_started_at = self.clock.time()
        invocation.response = runtime.marshal_response(failure)
        invocation.function_error = "Unhandled"
        invocation.error_type = failure["errorType"]
        self._write_start(invocation)
        self._finish(invocation, reset="init error")

    def _write_start(self, invocation: Invocation) -> None:
        invocation.log.write(
            f"START RequestId: {invocation.request_id} Version: {self._per.version}\n"
        )

    def _start_handler(self, invocation: Invocation) -> None:
        per = self._per
        now = self.clock._now
        invocation.handler_started_at = now
        invocation.deadline = now + per.timeout
        invocation.log.write(f"START RequestId: {invocation.request_id} Version: {per.version}\n")
        event_or_fault = self._event(invocation)
        context = LambdaContext(
            aws_request_id=invocation.request_id,
            deadline_ms=int(invocation.deadline * 1000),
            client_context=invocation.client_context if invocation.synchronous else None,
            log_sink=invocation.log.write,
            **per.context,
        )
        loop = self.policy.environment_loop
        if loop is not None and not loop._closed:
            # Thaw: overdue timers and frozen tasks run first, inside this invocation (a loop
            # with nothing pending, the usual case, needs no step).
            self.clock.attach(self._driver)
            if (loop._ready or loop._scheduled or loop._io_ready
                    or len(loop._autojump_selector._fd_to_key) > 1):
                self._driver.run_ready(thaw=True)
        fault = isinstance(event_or_fault, runtime.Fault)
        # An async handler's coroutine is made before the observers see the handler start: no
        # handler code runs yet, and the leak detector's window would record where the
        # coroutine was made (three frames and their line numbers, a sixth of what an invoke
        # costs), which for this one, made here, tells nothing.
        coroutine = (self._handler_coroutine(event_or_fault, context)
                     if self.is_async_handler and not fault else None)
        try:
            for observer in self.function.observers:
                observer.before_handler(self, invocation)
        except BaseException:
            if coroutine is not None:
                coroutine.close()  # never to run: no "never awaited" warning for it
            raise
        if fault:
            self._set_fault(invocation, event_or_fault)
            self._handler_returned(invocation)
        elif coroutine is not None:
            self._start_async(invocation, coroutine)
        else:
            self._run_sync(invocation, event_or_fault, context)

    def _event(self, invocation: Invocation) -> Any:
        try:
            return runtime.unmarshal_request(invocation.body)
        except runtime.Fault as fault:
            return fault

    # sync handlers: run inline, then hold the environment busy for the simulated time they took
    def _run_sync(self, invocation: Invocation, event: Any, context: LambdaContext) -> None:
        clock = self.clock
        started = clock.time()
        assert self.handler is not None
        with self.user_code(invocation, invocation.deadline):
            try:
                self._set_value(invocation, self.handler(event, context))
            except InvocationTimeout:
                invocation.timed_out = True
            except Exception as exc:
                self._set_exception(invocation, exc)
            except BaseException as exc:
                # What the AWS runtime does not catch ends its process (asyncio.run inside the
                # handler lets SystemExit and KeyboardInterrupt out too).
                if interrupts.is_real(exc):
                    raise
                self._set_exit(invocation, exc)
        ended = clock.time()
        if ended >= invocation.deadline:
            invocation.timed_out = True
            ended = invocation.deadline
        clock.set_time(started)
        clock.call_at(ended, partial(self._handler_returned, invocation))

    # async handlers: a task on the environment's loop, stepped by the simulation
    def _handler_coroutine(self, event: Any, context: LambdaContext) -> Any:
        handler = self.handler
        assert handler is not None
        if self._plain_coroutine_function:
            # An `async def` function: calling it runs none of its code, so it may be called
            # here; arguments it does not take fail inside the task, as any other error.
            try:
                return handler(event, context)
            except TypeError:
                pass
        # Any other callable is called inside the task, where whatever it does is handler code.
        return _await_handler(handler, event, context)

    def _start_async(self, invocation: Invocation, coroutine: Any) -> None:
        task = self.policy.get_environment_loop().create_task(coroutine)
        task.add_done_callback(partial(self._async_done, invocation))
        self._handler_task = task
        self._timeout_timer = self.clock.call_at(
            invocation.deadline, partial(self._async_timeout, invocation, task)
        )
        self.clock.attach(self._driver)

    def _async_done(self, invocation: Invocation, task: asyncio.Task[Any]) -> None:
        if invocation.done or invocation is not self.current or self._returned is not None:
            return
        self._timeout_timer.cancel()
        if self.clock._now > invocation.deadline:
            # The deadline passed while a nested synchronous invoke held this loop: on Lambda
            # the handler was stopped then, whatever it did afterwards.
            invocation.timed_out = True
            if not task.cancelled():
                task.exception()  # retrieved: nothing for asyncio to log later
        elif task.cancelled():
            # CancelledError is a BaseException: out of the adapter's run_until_complete and
            # through the runtime, it ends the process.
            self._set_exit(invocation, asyncio.CancelledError())
        else:
            exc = task.exception()
            if isinstance(exc, InvocationTimeout):
                invocation.timed_out = True
            elif isinstance(exc, Exception):
                self._set_exception(invocation, exc)
            elif exc is not None:
                self._set_exit(invocation, exc)
            else:
                self._set_value(invocation, task.result())
        # Like run_until_complete: the loop stops after this iteration, then the environment
        # freezes (in _loop_stopped: never from inside the running loop).
        self._returned = invocation
        loop = task.get_loop()
        if loop.is_running():
            loop.stop()

    def _crashed(self, invocation: Invocation, exc: BaseException) -> None:
        """Handler code ended the process while the simulation stepped the loop."""
        if invocation.done or invocation is not self.current or self._returned is not None:
            return
        self._timeout_timer.cancel()
        if isinstance(exc, InvocationTimeout):
            invocation.timed_out = True
        else:
            self._set_exit(invocation, exc)
        self._returned = invocation
        for loop in self._loops():
            for task in list(loop._tasks):
                if task.done() and not task.cancelled() and task._exception is exc:
                    # The crash is reported: asyncio must not log it again from a finalizer.
                    task._log_traceback = False

    def _loop_stopped(self, invocation: Invocation) -> None:
        if invocation.done or invocation is not self.current:
            return
        if self._returned is None:
            if self.clock.time() < invocation.deadline or not self.is_async_handler:
                return
            # The timeout fell while a nested synchronous invoke held this loop.
            invocation.timed_out = True
        self._returned = None
        self._timeout_timer.cancel()
        task, self._handler_task = self._handler_task, None
        if task is not None and task.done() and not task.cancelled():
            # Its exception is the crash just reported: retrieved, so asyncio never logs it
            # from a finalizer (which, inside a compile(), once broke CPython 3.11's AST state).
            task.exception()
        self._handler_returned(invocation, handler_task=task)

    def cut_short(self, invocation: Invocation, what: str) -> None:
        """The invocation used up `lambda_blocking_limit` waiting on `what`: the clock jumps to
        its deadline and it ends as timed out, whatever its own timers would have done."""
        invocation.log.write(blocking_limit_line(self.function.real_time_budget, what))
        self.clock.set_time(max(self.clock.time(), invocation.deadline))
        timer = self._timeout_timer
        if timer is not None and not timer.cancelled and not invocation.done:
            timeout = timer.callback
            timer.cancel()
            timeout()

    def _async_timeout(self, invocation: Invocation, task: asyncio.Task[Any]) -> None:
        if invocation.done:
            return
        if task.get_loop().is_running():
            # A nested synchronous invoke from this handler holds its loop: the handler's next
            # wait raises the timeout, or _loop_stopped ends it once the loop stops.
            return
        invocation.timed_out = True
        self._handler_returned(invocation, handler_task=task)

    # -- results ---------------------------------------------------------------------------
    def _set_value(self, invocation: Invocation, value: Any) -> None:
        invocation.returned = value
        try:
            invocation.response = runtime.marshal_response(value)
        except runtime.Fault as fault:
            self._set_fault(invocation, fault)
            if inspect.iscoroutine(value):
                # What the AWS runtime leaves behind: the coroutine is never awaited.
                invocation.log.write(
                    f"RuntimeWarning: coroutine '{value.__qualname__}' was never awaited\n"
                )
                value.close()

    def _set_fault(self, invocation: Invocation, fault: runtime.Fault) -> None:
        payload = runtime.make_error(fault.message, fault.error_type, fault.trace, invocation.request_id)
        invocation.log.write(runtime.error_log_lines(payload))
        self._set_error_payload(invocation, payload)

    def _set_exception(self, invocation: Invocation, exc: BaseException) -> None:
        payload = runtime.error_payload(exc, invocation.request_id)
        invocation.log.write(runtime.error_log_lines(payload))
        self._set_error_payload(invocation, payload)

    def _set_exit(self, invocation: Invocation, exc: BaseException) -> None:
        payload = runtime.exit_payload(invocation.request_id, exits.exit_reason(exc))
        invocation.log.write(f"{exits.exit_output(exc)}{payload['errorMessage']}\n{runtime.EXIT_ERROR}\n")
        self._set_error_payload(invocation, payload)

    def _set_error_payload(self, invocation: Invocation, payload: dict[str, Any]) -> None:
        invocation.response = runtime.marshal_response(payload)
        invocation.function_error = "Unhandled"
        invocation.error_type = payload.get("errorType")

    def _handler_returned(self, invocation: Invocation, handler_task: Any = None) -> None:
        for observer in self.function.observers:
            observer.after_handler(self, invocation)
        reset = None
        if invocation.timed_out:
            self._set_error_payload(
                invocation, runtime.timeout_payload(invocation.request_id, self.function.settings.timeout)
            )
            stamp = self.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            invocation.log.write(
                f"{stamp} {invocation.request_id} Task timed out after "
                f"{self.function.settings.timeout:.2f} seconds\n"
            )
            reset = "timeout"
        elif invocation.error_type == runtime.EXIT_ERROR:
            reset = "crash"
        elif invocation.synchronous and len(invocation.response) > runtime.MAX_RESPONSE_PAYLOAD:
            self._set_error_payload(invocation, runtime.response_too_large_payload())
        self._finish(invocation, reset=reset, handler_task=handler_task)

    def _finish(self, invocation: Invocation, *, reset: str | None, handler_task: Any = None) -> None:
        clock = self.clock
        invocation.ended_at = self.last_used = clock._now
        self._write_end(invocation)
        self.current = None
        clock.detach(self._driver)
        if reset is not None:
            self.shutdown(reason=f"reset after {reset}", skip=handler_task)
        else:
            self.state = EnvironmentState.FROZEN
        for observer in self.function.observers:
            observer.invocation_finished(self, invocation)
        invocation._complete(clock._now)

    def _write_end(self, invocation: Invocation) -> None:
        duration_ms = invocation.ended_at - invocation.handler_started_at
        duration_ms = duration_ms * 1000 if duration_ms > 0 else 0.0
        request_id = invocation.request_id
        init = invocation.init_duration
        # The REPORT line ends with a tab (`test_invocation_with_logs`).
        invocation.log.write(
            f"END RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: "
            f"{duration_ms:.2f} ms\tBilled Duration: {max(1, int(-(-duration_ms // 1)))} ms\t"
            f"{self._per.memory_report}"
            f"{'' if init is None else f'{_INIT_DURATION}{init * 1000:.2f} ms'}\t\n"
        )

    # -- going away ----------------------------------------------------------------------------
    def pending_work(self, skip: Any = None) -> list[Any]:
        """Tasks and callbacks still frozen in this environment's loops."""
        pending: list[Any] = []
        for loop in self._loops():
            pending.extend(task for task in loop.pending_tasks() if task is not skip)
            pending.extend(
                h for h in loop.pending_handles()
                if not _is_task_wakeup(h)
            )
        return pending

    def _loops(self) -> list[VirtualEventLoop]:
        loops = list(self.policy.created)
        return [loop for loop in loops if not loop.is_closed()]

    def shutdown(self, *, reason: str, skip: Any = None) -> None:
        """End this environment: what is still frozen in it is lost (and reported)."""
        if self.state is EnvironmentState.GONE:
            return
        self.state = EnvironmentState.GONE
        self.clock.detach(self._driver)
        pending = self.pending_work(skip=skip)
        try:
            if pending:
                for observer in self.function.observers:
                    observer.work_lost(self, pending, reason)
        finally:  # an observer's error still leaves the environment gone
            for loop in self._loops():
                _discard_loop(loop)
            tmp = self.tmp
            if tmp is not None:
                self.tmp = None
                self.function.tmp_dirs.release(tmp)


def _runs_as_task(handler: Callable[..., Any], settings: FunctionSettings) -> bool:
    # The strict runtime calls every handler as a plain function, as the AWS runtime does.
    if settings.strict:
        return False
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - a callable object's async __call__
    )


async def _await_handler(handler: Callable[..., Any], event: Any, context: LambdaContext) -> Any:
    return await handler(event, context)


def _is_task_wakeup(handle: Any) -> bool:
    # A task's own wake-ups (its step, or the timer of the asyncio.sleep it awaits) are
    # reported as the task, not as separate callbacks.
    callback = getattr(handle, "_callback", None)
    if callback is asyncio.futures._set_result_unless_cancelled:  # type: ignore[attr-defined]
        return True
    return isinstance(getattr(callback, "__self__", None), asyncio.Task)


def _discard_loop(loop: VirtualEventLoop) -> None:
    """Close a frozen loop without running it: Lambda kills the process, it does not ask."""
    for task in loop.pending_tasks():
        task._log_destroy_pending = False  # type: ignore[attr-defined]
        coro = task.get_coro()
        # A coroutine that refuses to close is lost anyway.
        with contextlib.suppress(BaseException):
            coro.close()
    loop._ready.clear()
    loop._scheduled.clear()
    loop.close()
