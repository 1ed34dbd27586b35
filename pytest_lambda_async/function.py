"""A deployed function: `LambdaFunction` (synchronous invoke, its environments, its async
queue's front door) and `InvokeResult`, what a synchronous invoke returns.

`Invoker.deploy` (`invoker.py`) makes each `LambdaFunction`. `invoke` runs one request to its
end on the simulated clock; `invoke_async` hands the event to the function's `AsyncQueue`
(`asyncqueue.py`). Spec: `reference/aws-lambda-semantics.md` §1-§3.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from . import runtime
from .asyncqueue import Accepted, AsyncQueue, Outcome, QueueInvoker
from .asyncqueue import decode as _decode
from .asyncwait import driven_loop, in_simulation, stepper
from .config import EnvironmentSettings, FunctionSettings, Reuse
from .destinations import FunctionTarget, check_target
from .environment import EnvironmentState, ExecutionEnvironment
from .errors import (
    InvalidParameterValueException,
    LambdaUsageError,
    ServiceException,
    TooManyRequestsException,
)
from .functionruntime import FunctionRuntime
from .handover import Handover, invoke_from_another_thread
from .invocation import Invocation
from .scopes import simulation_scope
from .validation import handler_string


class FunctionInvoker(QueueInvoker, Protocol):
    """What a function needs from its invoker (`invoker.Invoker`, which this module does not
    import: the invoker imports the functions)."""

    busy: int
    account_concurrency: int
    closed: bool
    handover: Handover

    def _trace_header(self) -> bytes: ...

    def _raise_misuse(self) -> None: ...


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

    def __init__(self, invoker: FunctionInvoker, runtime_: FunctionRuntime,
                 environments: EnvironmentSettings):
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
