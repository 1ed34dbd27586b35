"""One invocation (one run of a handler for one request), and what observes environments.

An `Invocation` is what the invoker and an execution environment share about one request, or
one attempt of an async event: its body, its log, its timings and its result. Observers (the
leak detector, the report) are told as it starts and ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import runtime
from .logs import InvocationLog

if TYPE_CHECKING:
    from .environment import ExecutionEnvironment


class Invocation:
    """One run of the handler for one request (one attempt of an async event)."""

    __slots__ = ("_callbacks", "attempt", "body", "client_context", "cold_start", "deadline",
                 "done", "ended_at", "environment", "error_type", "function_error",
                 "handler_started_at", "init_duration", "log", "real_wait_mark", "real_waited",
                 "request_id", "response", "returned", "started_at", "synchronous", "timed_out",
                 "trace_header")

    def __init__(
        self,
        *,
        request_id: str,
        body: bytes,
        synchronous: bool,
        trace_header: bytes,
        client_context: dict[str, Any] | None = None,
        attempt: int = 1,
    ) -> None:
        self.request_id = request_id
        self.body = body
        self.synchronous = synchronous
        # `_X_AMZN_TRACE_ID` as os.environ holds it (encoded), for the user-code scope to set.
        self.trace_header = trace_header
        self.client_context = client_context
        self.attempt = attempt
        self.log = InvocationLog()
        self.environment: ExecutionEnvironment | None = None
        self.cold_start = False
        self.init_duration: float | None = None
        self.started_at = 0.0
        self.handler_started_at = 0.0
        self.ended_at = 0.0
        self.deadline = 0.0
        self.response: bytes = b"null"
        self.function_error: str | None = None
        self.error_type: str | None = None
        self.timed_out = False
        # Real seconds the simulation waited on this invocation's real work (sockets, threads).
        self.real_waited = 0.0
        self.real_wait_mark: float | None = None
        self.done = False
        self.returned: Any = None
        self._callbacks: list[Callable[[Invocation], None]] = []

    @property
    def duration(self) -> float:
        return self.ended_at - self.handler_started_at

    def add_done_callback(self, callback: Callable[[Invocation], None]) -> None:
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def error_payload(self) -> dict[str, Any] | None:
        return runtime.error_document(self.function_error, self.response)

    def _complete(self, ended_at: float) -> None:
        self.ended_at = ended_at
        self.done = True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)


class EnvironmentObserver:
    """Sees what happens inside environments (the leak detector, the report). All no-ops here."""

    def before_handler(self, env: ExecutionEnvironment, invocation: Invocation) -> None:
        """Handler code for `invocation` is about to start."""

    def after_handler(self, env: ExecutionEnvironment, invocation: Invocation) -> None:
        """The handler returned (or failed); the environment is about to freeze."""

    def work_lost(self, env: ExecutionEnvironment, pending: list[Any], reason: str) -> None:
        """`env` is going away with `pending` tasks/callbacks still frozen in it."""

    def invocation_finished(self, env: ExecutionEnvironment, invocation: Invocation) -> None:
        """The invocation's result is final."""
