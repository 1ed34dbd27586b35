"""The asynchronous event queue of one deployed function (`InvocationType=Event`).

`LambdaFunction.invoke_async` hands the event to its function's `AsyncQueue`, which returns
202 at once and delivers the event on the simulated clock with AWS's rules: retries 1 and 2
minutes after a failure, the maximum event age, throttling back-off, then exactly one
`Outcome`, sent to the on-success or on-failure destination and, for a failure, to the
dead-letter queue. Spec: `reference/aws-lambda-semantics.md` §1-§3.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from . import runtime
from .clock import TimerHandle, VirtualClock
from .destinations import Delivery, Targets, deliver, dlq_attributes, invocation_record
from .errors import LambdaUsageError
from .validation import finite_number, text, whole_number

if TYPE_CHECKING:
    from .config import FunctionSettings
    from .environment import ExecutionEnvironment
    from .invocation import Invocation

# Retry delays after the first and the second failure [DOC A1].
RETRY_DELAYS = (60.0, 120.0)
# Throttle back-off: 1 s doubling to at most 5 minutes [DOC A1]; the growth factor is not
# documented (UNCONFIRMED) and 2 matches LocalStack.
THROTTLE_BACKOFF_FIRST = 1.0
THROTTLE_BACKOFF_MAX = 300.0


@dataclass(frozen=True)
class DeliverySettings:
    """How the async queue delivers (the `lambda_delivery` marker and `--lambda-delivery`)."""

    mode: str = "exact"
    seed: int = 0
    duplicate_rate: float = 0.2
    # The destination condition when reserved concurrency is 0, and the EventBridge
    # destination's `source`: both as AWS was recorded answering in November 2025
    # (LocalStack's `test_reserved_concurrency`, `test_invoke_lambda_eventbridge`); AWS's docs
    # say "aws.lambda" for the source. Settings, so a test can follow a change on AWS.
    zero_concurrency_condition: str = "ZeroReservedConcurrency"
    eventbridge_source: str = "lambda"

    def __post_init__(self) -> None:
        if self.mode not in ("exact", "at-least-once"):
            raise LambdaUsageError(
                f"delivery mode {self.mode!r} is unknown; use 'exact' (each event once, in "
                "order: the default) or 'at-least-once' (some events twice, order shuffled)."
            )
        rate = finite_number(self.duplicate_rate, "duplicate_rate",
                             "give the share of events delivered twice, between 0 and 1")
        if not 0 <= rate <= 1:
            raise LambdaUsageError(
                f"duplicate_rate must be between 0 and 1, got {self.duplicate_rate!r}. Fix: give "
                "the share of events delivered twice, such as duplicate_rate=0.2."
            )
        whole_number(self.seed, "seed", "give an integer seed, such as seed=1")
        text(self.zero_concurrency_condition, "zero_concurrency_condition",
             "give the destination condition name, such as 'ZeroReservedConcurrency'")
        text(self.eventbridge_source, "eventbridge_source",
             "give the EventBridge source, such as 'lambda' or 'aws.lambda'")


@dataclass(frozen=True)
class Accepted:
    """What `Invoke` with `InvocationType=Event` returns: 202, and the event is queued."""

    status_code: int
    request_id: str


@dataclass(frozen=True)
class Attempt:
    """One delivery of an async event: an invocation, or a throttle."""

    number: int
    started_at: float
    ended_at: float
    status: str  # "succeeded", "failed" or "throttled"
    environment_id: str | None = None
    cold_start: bool = False
    error_type: str | None = None
    log_result: str = ""


@dataclass(frozen=True)
class Outcome:
    """How an accepted async event ended: exactly one per event."""

    request_id: str
    event: Any
    status: str  # "succeeded" or "failed"
    condition: str  # "Success", "RetriesExhausted", "EventAgeExceeded", or the zero-concurrency one
    attempts: int
    payload: Any
    function_error: str | None
    function_name: str
    accepted_at: float
    finished_at: float
    history: tuple[Attempt, ...] = ()
    environment_id: str | None = None
    cold_start: bool = False
    init_duration: float | None = None


def decode(body: bytes) -> Any:
    """A request or response body as the runtime decodes it; the bytes themselves if not JSON."""
    try:
        return runtime.unmarshal_request(body)
    except runtime.Fault:
        return body


class _Last(NamedTuple):
    """An event's last invocation, as its outcome and its destinations read it."""

    response: bytes
    function_error: str | None
    environment_id: str | None
    cold_start: bool
    init_duration: float | None

    def error_payload(self) -> dict[str, Any] | None:
        """`Invocation.error_payload`: the error document of a failed invocation."""
        return runtime.error_document(self.function_error, self.response)


class _QueuedEvent:
    """An accepted event on its way to its outcome: O(1) to update at each attempt."""

    __slots__ = ("accepted_at", "body", "duplicate", "history", "invocations", "last", "request_id",
                 "throttles", "timer")

    def __init__(self, request_id: str, body: bytes, accepted_at: float, *,
                 duplicate: bool = False) -> None:
        self.request_id = request_id
        self.body = body
        self.accepted_at = accepted_at
        self.duplicate = duplicate
        # Every delivery (invocations and throttles), in order; the outcome's history.
        self.history: list[Attempt] = []
        # Attempts that reached the handler (throttles do not count against retries).
        self.invocations = 0
        self.throttles = 0
        # What the outcome takes from the last invocation, without the invocation itself (its log,
        # its environment): an event waiting minutes for its retry keeps only these.
        self.last: _Last | None = None
        self.timer: TimerHandle | None = None

    def twin(self) -> _QueuedEvent:
        """A second delivery of this event (at-least-once): its own history, no outcome."""
        return _QueuedEvent(self.request_id, self.body, self.accepted_at, duplicate=True)


class QueueFunction(Protocol):
    """What a queue needs from its function (`function.LambdaFunction`, which this module does
    not import: the invoker imports the queue)."""

    outcomes: list[Outcome]
    _clock: VirtualClock

    @property
    def name(self) -> str: ...

    @property
    def settings(self) -> FunctionSettings: ...

    def _take_fault(self) -> Exception | None: ...

    def _acquire(self) -> ExecutionEnvironment | None: ...

    def _new_invocation(self, body: bytes, *, request_id: str, synchronous: bool,
                        client_context: dict[str, Any] | None = None, attempt: int = 1) -> Invocation: ...


class QueueInvoker(Targets, Protocol):
    """What a queue needs from the invoker (`invoker.Invoker`)."""

    delivery: DeliverySettings
    random: random.Random
    closed: bool

    def _check_open(self, call: str) -> None: ...

    def _request_id(self) -> str: ...

    def _record_invocation(self, function: Any, invocation: Invocation, *, kind: str) -> None: ...

    def _outcome_finished(self, function: Any, outcome: Outcome) -> None: ...


class AsyncQueue:
    """One function's accepted events without an outcome yet, and their delivery."""

    def __init__(self, function: QueueFunction, invoker: QueueInvoker) -> None:
        self.function = function
        self.invoker = invoker
        self._clock = function._clock
        # Accepted events without an outcome yet (a dict: removal in O(1), insertion order kept).
        self.events: dict[int, _QueuedEvent] = {}
        # The function's qualified ARN, and the settings it was read from.
        self._arn_of: FunctionSettings | None = None
        self._qualified_arn = ""

    def __len__(self) -> int:
        return len(self.events)

    def accept(self, event: Any) -> Accepted:
        """Queue `event` (`invoke_async`) and return 202 at once."""
        invoker = self.invoker
        if invoker.closed:  # the message (and its f-string) only for the error
            invoker._check_open(f"{self.function.name}.invoke_async()")
        body = runtime.encode_event(event, limit=runtime.MAX_ASYNC_PAYLOAD)
        now = self._clock._now
        queued = _QueuedEvent(invoker._request_id(), body, now)
        self.events[id(queued)] = queued
        delivery = invoker.delivery
        delay = 0.0
        if delivery.mode == "at-least-once":
            rng = invoker.random
            delay = rng.random()  # shuffles events accepted together
            if rng.random() < delivery.duplicate_rate:
                twin = queued.twin()
                self.events[id(twin)] = twin
                self._schedule(twin, now + delay + rng.random())
        self._schedule(queued, now + delay)
        return Accepted(status_code=202, request_id=queued.request_id)

    def unfinished(self) -> list[str]:
        """Request ids of accepted events that have no outcome yet."""
        return [queued.request_id for queued in self.events.values() if not queued.duplicate]

    def close(self) -> None:
        for queued in self.events.values():
            if queued.timer is not None:
                queued.timer.cancel()

    def _schedule(self, queued: _QueuedEvent, when: float) -> None:
        queued.timer = self._clock.call_at(when, partial(self._deliver, queued))

    def _deliver(self, queued: _QueuedEvent) -> None:
        queued.timer = None
        function = self.function
        if function.settings.reserved_concurrent_executions == 0:
            self._finish(queued, self.invoker.delivery.zero_concurrency_condition)
            return
        env = None if function._take_fault() is not None else function._acquire()
        if env is None:
            now = self._clock._now
            queued.throttles += 1
            history = queued.history
            history.append(Attempt(number=len(history) + 1, started_at=now, ended_at=now,
                                   status="throttled", error_type="TooManyRequestsException"))
            backoff = min(THROTTLE_BACKOFF_FIRST * 2 ** (queued.throttles - 1), THROTTLE_BACKOFF_MAX)
            self._retry_or_expire(queued, now + backoff)
            return
        invocation = function._new_invocation(
            queued.body, request_id=queued.request_id, synchronous=False,
            attempt=queued.invocations + 1,
        )
        invocation.add_done_callback(partial(self._attempt_done, queued))
        env.begin(invocation)

    def _attempt_done(self, queued: _QueuedEvent, invocation: Invocation) -> None:
        env = invocation.environment
        env_id = env.id if env is not None else None
        function_error = invocation.function_error
        failed = function_error is not None
        queued.last = _Last(invocation.response, function_error, env_id, invocation.cold_start,
                            invocation.init_duration)
        queued.invocations = made = queued.invocations + 1
        history = queued.history
        history.append(Attempt(
            number=len(history) + 1, started_at=invocation.started_at,
            ended_at=invocation.ended_at, status="failed" if failed else "succeeded",
            environment_id=env_id, cold_start=invocation.cold_start,
            error_type=invocation.error_type, log_result=invocation.log.tail(),
        ))
        self.invoker._record_invocation(self.function, invocation, kind="Event")
        if queued.duplicate:
            # An extra delivery of an event whose outcome its original decides.
            del self.events[id(queued)]
            return
        if not failed:
            self._finish(queued, "Success")
            return
        settings = self.function.settings
        if made > settings.maximum_retry_attempts:
            self._finish(queued, "RetriesExhausted")
            return
        self._retry_or_expire(queued, self._clock._now + RETRY_DELAYS[made - 1])

    def _retry_or_expire(self, queued: _QueuedEvent, when: float) -> None:
        # The event age is checked before the next attempt is scheduled [OBS L1/L2].
        if when - queued.accepted_at >= self.function.settings.maximum_event_age_in_seconds:
            self._finish(queued, "EventAgeExceeded")
        else:
            self._schedule(queued, when)

    def _finish(self, queued: _QueuedEvent, condition: str) -> None:
        if queued.duplicate:
            del self.events[id(queued)]
            return
        function = self.function
        last = queued.last
        success = condition == "Success"
        # A dataclass's own __init__: building its __dict__ at once would be faster, but a dict
        # made that way does not share its keys with the class's other instances (twice the size).
        outcome = Outcome(
            request_id=queued.request_id,
            event=decode(queued.body),
            status="succeeded" if success else "failed",
            condition=condition,
            attempts=queued.invocations,
            payload=decode(last.response) if last is not None else None,
            function_error=last.function_error if last is not None else None,
            function_name=function.name,
            accepted_at=queued.accepted_at,
            finished_at=self._clock._now,
            history=tuple(queued.history),
            environment_id=last.environment_id if last is not None else None,
            cold_start=last.cold_start if last is not None else False,
            init_duration=last.init_duration if last is not None else None,
        )
        del self.events[id(queued)]
        function.outcomes.append(outcome)
        self.invoker._outcome_finished(function, outcome)
        self._send_to_destinations(queued, outcome, last)

    def _send_to_destinations(self, queued: _QueuedEvent, outcome: Outcome,
                              last: _Last | None) -> None:
        function = self.function
        settings = function.settings
        success = outcome.status == "succeeded"
        target = settings.on_success if success else settings.on_failure
        now = self._clock.time()
        if target is not None:
            if self._arn_of is not settings:  # one ARN string for all the records
                self._arn_of, self._qualified_arn = settings, settings.qualified_arn
            record = invocation_record(
                when=now, request_id=queued.request_id, function_arn=self._qualified_arn,
                condition=outcome.condition, approximate_invoke_count=outcome.attempts,
                request_payload=outcome.event, executed_version=settings.version,
                function_error=outcome.function_error,
                # A response that is not JSON (bytes, checked to be UTF-8) goes in as its text.
                response_payload=(outcome.payload.decode("utf-8", "replace")
                                  if isinstance(outcome.payload, bytes) else outcome.payload),
                with_response=last is not None,
            )
            deliver(target, Delivery(
                role="on_success" if success else "on_failure", record=record, when=now,
                function=function, success=success,
            ), self.invoker)
        if not success and settings.dead_letter_target is not None:
            error = last.error_payload() if last is not None else None
            if error is not None:
                code, message = 200, str(error.get("errorMessage", ""))
            else:
                code, message = 429, "Rate Exceeded."
            attributes = dlq_attributes(queued.request_id, code, message)
            deliver(settings.dead_letter_target, Delivery(
                role="dead_letter_target",
                record={"body": outcome.event, "messageAttributes": attributes},
                text=queued.body.decode("utf-8", "replace"), when=now, function=function,
                success=False,
            ), self.invoker)
