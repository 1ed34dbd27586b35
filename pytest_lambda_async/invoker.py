"""Deployed functions, synchronous invoke, and draining the asynchronous event queues.

`Invoker.deploy` makes a `LambdaFunction`. `invoke` runs one request to its end on the
simulated clock. `invoke_async` puts the event on the function's queue (`asyncqueue.py`) and
returns 202 at once; the queue delivers it with AWS's rules for retries (1 and 2 minutes after
a failure), event age, throttling back-off, destinations and dead-letter queues, when the test
drains it (`run_until_idle`) or moves the clock (`lambda_clock.advance`). Spec:
`reference/aws-lambda-semantics.md` §1-§3.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import deadline, runtime
from .asyncqueue import Accepted as Accepted
from .asyncqueue import AsyncQueue
from .asyncqueue import Attempt as Attempt
from .asyncqueue import DeliverySettings as DeliverySettings
from .asyncqueue import Outcome as Outcome
from .asyncqueue import decode as _decode
from .asyncwait import driven_loop, in_simulation, stepper
from .clock import VirtualClock
from .config import EnvironmentSettings as EnvironmentSettings
from .config import FunctionSettings, Reuse
from .deadline import real_time_guard
from .destinations import FunctionTarget, Sink, check_target
from .environment import EnvironmentState, ExecutionEnvironment, FunctionRuntime
from .errors import (
    InvalidParameterValueException,
    LambdaUsageError,
    ServiceException,
    TooManyRequestsException,
)
from .handover import Handover, invoke_from_another_thread
from .invocation import EnvironmentObserver, Invocation
from .process import ProcessSnapshot, chdir_watch
from .scopes import simulation_scope
from .timepatch import TimePatches
from .validation import handler_string, positive_number, sink_name, whole_number

# A UUID's version (4) and variant (10xx) bits.
_UUID4_CLEAR = ~((0xF << 76) | (0x4 << 60))
_UUID4_SET = (0x4 << 76) | (0x8 << 60)
_LOW_96 = (1 << 96) - 1


# Settings that only steer the async queue and its targets: changing them keeps environments.
_ASYNC_ONLY_SETTINGS = frozenset({
    "maximum_retry_attempts", "maximum_event_age_in_seconds", "on_success", "on_failure",
    "dead_letter_target", "reserved_concurrent_executions",
})


@dataclass(frozen=True)
class InvokeResult:
    """What a synchronous `Invoke` returns."""

    status_code: int
    payload: Any
    function_error: str | None
    executed_version: str
    request_id: str
    log_result: str
    environment_id: str
    cold_start: bool
    init_duration: float | None
    duration: float
    raw_payload: bytes = dataclasses.field(repr=False, default=b"")


class LambdaFunction(FunctionTarget):
    """A deployed function: `invoke`, `invoke_async`, its environments and `outcomes`."""

    def __init__(self, invoker: Invoker, runtime_: FunctionRuntime, environments: EnvironmentSettings):
        self.invoker = invoker
        self.runtime = runtime_
        self.settings = runtime_.settings
        self.environment_settings = environments
        self.environments: list[ExecutionEnvironment] = []
        self.outcomes: list[Outcome] = []
        self.invocations: list[InvokeResult] = []
        self._frozen: list[ExecutionEnvironment] = []
        self._busy = 0
        self._faults: list[str] = []
        self._clock = runtime_.clock
        # Accepted events without an outcome yet, and their delivery.
        self.queue = AsyncQueue(self, invoker)
        # The concurrency limit, and the settings it was worked out from.
        self._limit_for: FunctionSettings | None = None
        self._limit: int | None = None

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def arn(self) -> str:
        return self.settings.arn

    def __repr__(self) -> str:
        return f"<LambdaFunction {self.name}>"

    # -- environments --------------------------------------------------------------------------
    def _concurrency_limit(self) -> int | None:
        settings = self.settings
        if self._limit_for is not settings:
            self._limit_for, self._limit = settings, self._compute_concurrency_limit()
        return self._limit

    def _compute_concurrency_limit(self) -> int | None:
        limits = [
            limit for limit in (
                self.settings.reserved_concurrent_executions,
                self.environment_settings.max_environments,
                1 if self.environment_settings.reuse == Reuse.ALWAYS else None,
            ) if limit is not None
        ]
        return min(limits) if limits else None

    def _acquire(self) -> ExecutionEnvironment | None:
        """An environment for a new invocation, or None when the function is at its concurrency."""
        self._reclaim_idle()
        # The limits hold for warm environments too: reserved concurrency 0 throttles every
        # invocation (`test_reserved_concurrency`).
        limit = self._limit if self._limit_for is self.settings else self._concurrency_limit()
        invoker = self.invoker
        if (limit is not None and self._busy >= limit) or invoker.busy >= invoker.account_concurrency:
            return None
        frozen = self._frozen
        if frozen and self.environment_settings.reuse != Reuse.NEVER:
            while frozen:
                env = frozen.pop()  # the most recently used, as warm as it gets
                if env.state is EnvironmentState.FROZEN:
                    return self._claim(env)
        env = ExecutionEnvironment(self.runtime, len(self.environments) + 1)
        self.environments.append(env)
        return self._claim(env)

    def _throttle(self) -> TooManyRequestsException:
        """AWS's answer to a synchronous invoke with no concurrency left: 429, "Rate Exceeded.",
        and the limit that was reached in `Reason` (`test_reserved_concurrency`)."""
        function_limit = self._concurrency_limit()
        if function_limit is not None and self._busy >= function_limit:
            return TooManyRequestsException(
                "Rate Exceeded.",
                "every environment of this function is busy: raise reserved_concurrent_executions "
                "or max_environments, or wait for running invocations to finish.",
                reason="ReservedFunctionConcurrentInvocationLimitExceeded",
            )
        return TooManyRequestsException(
            "Rate Exceeded.",
            "the account's concurrency is used up: raise account_concurrency, or wait for "
            "running invocations to finish.",
            reason="ConcurrentInvocationLimitExceeded",
        )

    def _claim(self, env: ExecutionEnvironment) -> ExecutionEnvironment:
        self._busy += 1
        self.invoker.busy += 1
        return env

    def _reclaim_idle(self) -> None:
        # Oldest-used first: the frozen list is ordered by when each environment froze.
        frozen = self._frozen
        if not frozen:
            return
        now = self._clock._now
        idle = self.environment_settings.idle_timeout
        while self._frozen and now - self._frozen[0].last_used > idle:
            env = self._frozen.pop(0)
            if env.state is EnvironmentState.FROZEN:
                env.shutdown(reason=f"shut down after {idle:g} s idle")

    def _released(self, invocation: Invocation) -> None:
        self._busy -= 1
        self.invoker.busy -= 1
        env = invocation.environment
        if env is None or env.state is not EnvironmentState.FROZEN:
            return
        if self.environment_settings.reuse == Reuse.NEVER:
            env.shutdown(reason="shut down: a cold start every time (reuse='never')")
        else:
            self._frozen.append(env)

    def _new_invocation(self, body: bytes, *, request_id: str, synchronous: bool,
                        client_context: dict[str, Any] | None = None, attempt: int = 1) -> Invocation:
        invocation = Invocation(
            request_id=request_id, body=body, synchronous=synchronous,
            trace_header=self.invoker._trace_header(), client_context=client_context, attempt=attempt,
        )
        invocation.add_done_callback(self._released)
        return invocation

    # -- synchronous ---------------------------------------------------------------------------
    def invoke(self, event: Any, *, client_context: dict[str, Any] | None = None) -> InvokeResult:
        """Invoke synchronously (`RequestResponse`): run the request to its end and return the result."""
        if not simulation_scope.enter_if_free():
            return invoke_from_another_thread(
                self.name, self._clock, self.invoker.handover,
                lambda: self._new_request(event, client_context), self._request_result)
        try:
            invocation, env = self._new_request(event, client_context)
            env.begin(invocation)
            self._clock.run_in_scope(until=lambda: invocation.done)
        finally:
            simulation_scope.__exit__()
        self.invoker._raise_misuse()
        return self._request_result(invocation)

    async def ainvoke(self, event: Any, *, client_context: dict[str, Any] | None = None) -> InvokeResult:
        """`invoke`, for async tests and async handler code.

        The request begins at once (or is throttled at once); while it runs, the awaiting loop
        runs too. Gathered `ainvoke`s are concurrent requests: each has its own environment,
        and their simulated durations overlap.
        """
        with simulation_scope():
            invocation, env = self._new_request(event, client_context)
            env.begin(invocation)
        loop = driven_loop(self._clock)
        if loop is not None:
            # Awaited by handler code: the simulation that runs that code runs this request too.
            await in_simulation(loop, lambda done: invocation.add_done_callback(lambda _: done()))
        else:
            steps = stepper(self._clock)
            invocation.add_done_callback(lambda _: steps.wake())
            await steps.until(lambda: invocation.done, calls_back=True)
        if not invocation.done:  # pragma: no cover - the timeout timer always ends a request
            raise RuntimeError(f"The simulation stopped before request {invocation.request_id} ended.")
        return self._request_result(invocation)

    def _new_request(self, event: Any, client_context: dict[str, Any] | None,
                     ) -> tuple[Invocation, ExecutionEnvironment]:
        if self.invoker.closed:
            self.invoker._check_open(f"{self.name}.invoke()")
        body = runtime.encode_event(event, limit=runtime.MAX_SYNC_PAYLOAD)
        if client_context is not None and not isinstance(client_context, dict):
            raise LambdaUsageError(
                "client_context must be a dict (with 'custom', 'env', 'client' keys), "
                f"got {type(client_context).__name__}. Fix: client_context={{'custom': {{...}}}}."
            )
        if self._faults:
            raise self._take_fault()  # type: ignore[misc]
        env = self._acquire()
        if env is None:
            raise self._throttle()
        invocation = self._new_invocation(
            body, request_id=self.invoker._request_id(), synchronous=True, client_context=client_context
        )
        return invocation, env

    def _request_result(self, invocation: Invocation) -> InvokeResult:
        result = self._result(invocation)
        self.invocations.append(result)
        self.invoker._record_invocation(self, invocation, kind="RequestResponse")
        return result

    def _result(self, invocation: Invocation) -> InvokeResult:
        env = invocation.environment
        result = object.__new__(InvokeResult)
        # A frozen dataclass's __init__ sets each field through object.__setattr__. Set in the
        # instance's own dict instead, in field order, so its keys stay shared with every other
        # result's (one dict.update would give each result a dict of its own: 3x the memory).
        fields = result.__dict__
        fields["status_code"] = 200
        fields["payload"] = _decode(invocation.response)
        fields["function_error"] = invocation.function_error
        fields["executed_version"] = self.settings.version
        fields["request_id"] = invocation.request_id
        fields["log_result"] = invocation.log.tail()
        fields["environment_id"] = env.id if env is not None else ""
        fields["cold_start"] = invocation.cold_start
        fields["init_duration"] = invocation.init_duration
        fields["duration"] = invocation.duration
        fields["raw_payload"] = invocation.response
        return result

    # -- asynchronous --------------------------------------------------------------------------
    def invoke_async(self, event: Any) -> Accepted:
        """Invoke asynchronously (`Event`): queue the event and return 202 at once."""
        return self.queue.accept(event)

    async def ainvoke_async(self, event: Any) -> Accepted:
        """`invoke_async`, for async tests."""
        return self.invoke_async(event)

    def inject_faults(self, *, throttles: int = 0, service_errors: int = 0) -> None:
        """Make the next deliveries fail before reaching the handler.

        The next `throttles` deliveries are throttled (429) and the `service_errors` after them
        get a Lambda service error (5xx): async events go back on the queue with back-off,
        without using up retry attempts; a synchronous `invoke` raises the error.
        """
        for count in (throttles, service_errors):
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise LambdaUsageError(
                    f"inject_faults takes whole-number counts >= 0, got {count!r}. Fix: "
                    "inject_faults(throttles=2, service_errors=1)."
                )
        self._faults.extend(["throttle"] * throttles + ["service"] * service_errors)

    def _take_fault(self) -> Exception | None:
        if not self._faults:
            return None
        kind = self._faults.pop(0)
        if kind == "throttle":
            return TooManyRequestsException(
                "Rate Exceeded.", "injected by inject_faults(throttles=...).",
                reason="ReservedFunctionConcurrentInvocationLimitExceeded")
        return ServiceException("Lambda service error (injected)")

    def reconfigure(self, *, handler: Callable[..., Any] | str | None = None,
                    **changes: Any) -> None:
        """Change this function's settings, as UpdateFunctionConfiguration,
        PutFunctionEventInvokeConfig and PutFunctionConcurrency do on AWS.

        Takes `deploy()`'s keywords (not `name`). A change to the code (`handler`) or to what an
        environment is built from (timeout, memory, environment variables...) retires the idle
        environments, so the next invocation is a cold start with the new configuration.
        """
        if "name" in changes:
            raise LambdaUsageError(
                "reconfigure(name=...): a deployed function cannot be renamed. Fix: deploy another "
                "function with that name."
            )
        if isinstance(handler, str):
            handler_string(handler, "reconfigure()")
        elif handler is not None and not callable(handler):
            raise LambdaUsageError(
                f"reconfigure(handler=...) needs a function taking (event, context) or a Lambda "
                f"handler string; got {handler!r}. Fix: pass the function, or a string such as 'app.handler'."
            )
        settings = self.settings.replace(**changes)
        for role in ("on_success", "on_failure", "dead_letter_target"):
            check_target(getattr(settings, role), role)
            _not_itself(settings, getattr(settings, role), self)
        self.settings = self.runtime.settings = settings
        if handler is not None:
            self.runtime.handler = handler
        if handler is not None or set(changes) - _ASYNC_ONLY_SETTINGS:
            for env in self.environments:
                if env.state is EnvironmentState.FROZEN:
                    env.shutdown(reason="shut down: the function's configuration changed")

    def unfinished(self) -> list[str]:
        """Request ids of accepted events that have no outcome yet."""
        return self.queue.unfinished()

    def close(self) -> None:
        """Shut every environment down; an error in one does not keep the others running."""
        self.queue.close()
        failure: BaseException | None = None
        for env in self.environments:
            try:
                env.shutdown(reason="shut down at the end of the test")
            except BaseException as exc:  # an observer's error: raised once all are down
                failure = failure or exc
        if failure is not None:
            raise failure


def _not_itself(settings: FunctionSettings, target: Any, function: LambdaFunction | None) -> None:
    """AWS refuses a function as a destination of its own (PutFunctionEventInvokeConfig)."""
    if target is None:
        return
    itself = target is function if isinstance(target, LambdaFunction) else (
        isinstance(target, str) and target.split(":")[:7] == settings.arn.split(":")
    )
    if itself:
        raise InvalidParameterValueException(
            "You can't specify the function as a destination for itself.",
            f"send {settings.name}'s results to a Sink, a queue or another function; a function "
            "that invokes itself again on each result never stops.",
        )


class Invoker:
    """Deploys functions and runs their invocations on one simulated clock."""

    def __init__(
        self,
        clock: VirtualClock,
        *,
        defaults: FunctionSettings | None = None,
        environments: EnvironmentSettings | None = None,
        delivery: DeliverySettings | None = None,
        observers: list[EnvironmentObserver] | None = None,
        real_time_budget: float = 10.0,
        tmp_root: str | None = None,
        account_concurrency: int | None = None,
    ) -> None:
        if not isinstance(clock, VirtualClock):
            raise LambdaUsageError(
                f"Invoker() needs a VirtualClock, got {clock!r}. Fix: Invoker(VirtualClock()), or "
                "use the lambda_invoker fixture."
            )
        positive_number(real_time_budget, "Invoker(real_time_budget)",
                        "give the real seconds handler code may hold the thread, such as 10")
        if account_concurrency is not None and whole_number(
                account_concurrency, "Invoker(account_concurrency)",
                "give the account's concurrency limit, such as 1000") < 1:
            raise LambdaUsageError(
                f"Invoker(account_concurrency={account_concurrency!r}): the account's limit is at "
                "least 1. Fix: give a whole number >= 1, such as 1000."
            )
        if tmp_root is not None and not isinstance(tmp_root, str):
            raise LambdaUsageError(f"Invoker(tmp_root) must be a directory path (str) or None, got "
                                   f"{tmp_root!r}.")
        self.clock = clock
        clock.run_scope = simulation_scope
        clock.before_advance = lambda: self._refuse_in_handler_code("lambda_clock.advance()")
        self._misuse: LambdaUsageError | None = None
        # Set by close() (the end of the test): nothing may run afterwards.
        self.closed = False
        # What handler code sees as the time: started by the first handler code, stopped by close().
        self.time_patches = TimePatches(clock)
        self.on_first_code = self.time_patches.ensure_started
        # What handler code may change in the process, handed back by close().
        self.process: ProcessSnapshot | None = ProcessSnapshot()
        chdir_watch.install()
        self.defaults = defaults or FunctionSettings()
        self.environment_settings = environments or EnvironmentSettings()
        self.delivery = delivery or DeliverySettings()
        self.observers = list(observers or [])
        self.real_time_budget = real_time_budget
        self.tmp_root = tmp_root
        self.random = random.Random(self.delivery.seed)
        self.functions: list[LambdaFunction] = []
        # Environments busy across all functions, and the account's limit on them (AWS's
        # default quota of concurrent executions is 1,000).
        self.busy = 0
        self.account_concurrency = (self.environment_settings.account_concurrency
                                    if account_concurrency is None else account_concurrency)
        self.sinks: dict[str, Sink] = {}
        self.history: list[dict[str, Any]] = []
        self._finished: list[Outcome] = []
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        # Called with each newly deployed function (the moto bridge mirrors it into moto).
        self.deploy_hooks: list[Callable[[LambdaFunction], None]] = []
        # Requests from other threads, waiting for the thread that runs the simulation.
        self.handover = Handover(clock)
        # Work outside the functions' queues that run_until_idle must also wait for (an SQS
        # event source mapping's next poll): each returns True while it has some.
        self.pending_work: list[Callable[[], bool]] = []

    @property
    def eventbridge_source(self) -> str:
        return self.delivery.eventbridge_source

    def _request_id(self) -> str:
        # A version-4 UUID from the seeded generator, so request ids repeat with the seed.
        h = (self.random.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET).to_bytes(16, "big").hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _trace_header(self) -> bytes:
        """The `_X_AMZN_TRACE_ID` value, encoded as `os.environ` holds it (ASCII)."""
        # One draw of 160 bits is the 96-bit root then the 64-bit parent, as two draws were.
        bits = self.random.getrandbits(160)
        return b"Root=1-%08x-%024x;Parent=%016x;Sampled=0" % (int(self.clock._now), bits & _LOW_96,
                                                              bits >> 96)

    def deploy(
        self,
        handler: Callable[..., Any] | str,
        *,
        name: str | None = None,
        **settings: Any,
    ) -> LambdaFunction:
        """Deploy `handler` (a callable or a `"module.function"` string) as a Lambda function."""
        self._check_open("deploy()")
        if isinstance(handler, str):
            handler_string(handler, "deploy()")  # a malformed string fails here, at the user's line
        elif not callable(handler):
            raise LambdaUsageError(
                f"deploy() needs a handler: a function taking (event, context), or a Lambda "
                f"handler string; got {handler!r}. Fix: pass the function, or a string such as 'app.handler'."
            )
        if name is None:
            name = self._default_name(handler)
        function_settings = self.defaults.replace(name=name, **settings)
        for role in ("on_success", "on_failure", "dead_letter_target"):
            check_target(getattr(function_settings, role), role)
            _not_itself(function_settings, getattr(function_settings, role), None)
        if any(fn.name == name for fn in self.functions):
            raise LambdaUsageError(
                f"A function named {name!r} is already deployed in this test; give deploy() "
                "another name=."
            )
        function = LambdaFunction(self, FunctionRuntime(
            settings=function_settings, handler=handler, clock=self.clock,
            real_time_budget=self.real_time_budget, tmp_root=self.tmp_root,
            observers=self.observers, on_first_code=self.on_first_code,
        ), self.environment_settings)
        self.functions.append(function)
        for hook in list(self.deploy_hooks):
            hook(function)
        return function

    def _default_name(self, handler: Callable[..., Any] | str) -> str:
        if self.defaults.name != FunctionSettings().name or isinstance(handler, str):
            base = self.defaults.name if not isinstance(handler, str) else (
                runtime.split_handler(handler)[0].replace("/", ".").replace(".", "-")
            )
        else:
            base = getattr(handler, "__name__", "function").replace("<", "").replace(">", "")
        base = "".join(c if c.isalnum() or c in "-_" else "-" for c in base)[:64] or "function"
        name, n = base, 1
        while any(fn.name == name for fn in self.functions):
            n += 1
            name = f"{base[:60]}-{n}"
        return name

    def sink(self, name: str) -> Sink:
        """An in-memory destination named `name` (the same object each time)."""
        sink_name(name)
        arn = f"arn:aws:sqs:{self.defaults.region}:{self.defaults.account_id}:{name}"
        return self.sink_for_arn(arn, name=name)

    def sink_for_arn(self, arn: str, name: str | None = None) -> Sink:
        if not isinstance(arn, str):
            raise LambdaUsageError(
                f"sink_for_arn() takes an ARN string, got {arn!r} ({type(arn).__name__}). Fix: "
                "pass the destination's ARN, such as 'arn:aws:sqs:us-east-1:123456789012:failures' "
                "(a Sink's own .arn)."
            )
        check_target(arn, "on_failure")  # a sink may stand for any destination there is
        sink = self.sinks.get(arn)
        if sink is None:
            sink = self.sinks[arn] = Sink(name or arn.rsplit(":", 1)[-1], arn)
        return sink

    def function_for_arn(self, arn: str) -> LambdaFunction | None:
        for function in self.functions:
            if arn in (function.arn, function.settings.qualified_arn):
                return function
        return None

    # -- draining --------------------------------------------------------------------------
    def run_until_idle(self) -> list[Outcome]:
        """Deliver every queued event, through every retry and back-off; return the outcomes."""
        self._check_open("run_until_idle()")
        self._refuse_in_handler_code("run_until_idle()")
        start = len(self._finished)
        with simulation_scope():
            self.clock.run(until=self._idle)
        self._raise_misuse()
        return self._finished[start:]

    async def arun_until_idle(self) -> list[Outcome]:
        """`run_until_idle`, for async tests: the test's loop runs while the simulation waits
        on real work."""
        self._check_open("arun_until_idle()")
        self._refuse_in_handler_code("arun_until_idle()")
        start = len(self._finished)
        await stepper(self.clock).until(self._idle)
        return self._finished[start:]

    def _idle(self) -> bool:
        # Asked at every step of a drain: the cheapest answer first.
        if self.busy:
            return False
        for fn in self.functions:
            if fn.queue.events:
                return False
        return not any(pending() for pending in self.pending_work)

    def unfinished(self) -> dict[str, list[str]]:
        """Accepted events without an outcome yet, by function name."""
        return {fn.name: ids for fn in self.functions if (ids := fn.unfinished())}

    def _outcome_finished(self, function: LambdaFunction, outcome: Outcome) -> None:
        self._finished.append(outcome)
        for listener in self.listeners:
            listener("outcome", {"function": function.name, "outcome": outcome})

    def _record_invocation(self, function: LambdaFunction, invocation: Invocation, *, kind: str) -> None:
        env = invocation.environment
        entry = {
            "function": function.name,
            "type": kind,
            "request_id": invocation.request_id,
            "attempt": invocation.attempt,
            "environment": env.id if env is not None else None,
            "cold_start": invocation.cold_start,
            "start": invocation.started_at,
            "duration": invocation.duration,
            "status": "failed" if invocation.function_error else "succeeded",
            "error_type": invocation.error_type,
        }
        self.history.append(entry)
        for listener in self.listeners:
            listener("invocation", entry)

    def _check_open(self, call: str) -> None:
        if self.closed:
            raise LambdaUsageError(
                f"{call} was called after the test that owned this invoker ended. Its functions, "
                "environments and clock were shut down with that test, and nothing of it may run "
                "in another. Fix: deploy the function in each test that invokes it (in the test, "
                "or in a function-scoped fixture that takes lambda_invoker), not at module level "
                "or in a longer-lived fixture."
            )

    def close(self) -> None:
        """Shut every environment down (the end of a test)."""
        if self.closed:
            return
        self.closed = True
        failure: BaseException | None = None
        try:
            with simulation_scope():
                for function in self.functions:
                    try:
                        function.close()
                    except BaseException as exc:  # raised once every function is down
                        failure = failure or exc
        finally:
            # Whatever happened above, the process goes back to the test as it was.
            real_time_guard.release()
            self.time_patches.stop()
            self._restore_process()
        if failure is not None:
            raise failure
        self._raise_misuse()

    def _restore_process(self) -> None:
        # cwd, sys.path, sys.modules, signal handlers and logging: as the test had them.
        if self.process is not None:
            process, self.process = self.process, None
            chdir_watch.uninstall()
            process.restore(keep_signal_handler=deadline._on_alarm)

    def _refuse_in_handler_code(self, call: str) -> None:
        """`call` drives the simulation: from handler code, which the simulation is running,
        it would run that same code's loop and clock from inside it."""
        if deadline.current() is None:
            return
        error = LambdaUsageError(
            f"{call} was called from handler code. It runs the simulation, and the simulation is "
            "running this handler already: time and the event queue cannot be driven from "
            f"inside it. Fix: call {call} from the test, after invoke() or invoke_async() "
            "returns; in handler code, wait with `await asyncio.sleep(...)` or `time.sleep(...)`, "
            "which take simulated time."
        )
        # Raised here, and again to the test when its call returns: handler code may catch it.
        self._misuse = error
        raise error

    def _raise_misuse(self) -> None:
        error = self._misuse
        if error is not None and simulation_scope.depth == 0:
            self._misuse = None
            raise error
