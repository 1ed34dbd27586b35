"""The invoker: deploys functions (`function.py`) on one simulated clock, and drains the
asynchronous event queues.

`Invoker.deploy` makes a `LambdaFunction`, whose `invoke` runs one request to its end on the
simulated clock and whose `invoke_async` puts the event on its queue (`asyncqueue.py`), which
delivers it with AWS's rules for retries (1 and 2 minutes after a failure), event age,
throttling back-off, destinations and dead-letter queues, when the test drains it
(`run_until_idle`) or moves the clock (`lambda_clock.advance`). The invoker also holds what
the test's functions share: request and trace ids, the account's concurrency, the invocation
history, sinks, and the process state handed back at the end of the test. Spec:
`reference/aws-lambda-semantics.md` §1-§3.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from typing import Any

from . import deadline, runtime
from .asyncqueue import Accepted as Accepted
from .asyncqueue import Attempt as Attempt
from .asyncqueue import DeliverySettings as DeliverySettings
from .asyncqueue import Outcome as Outcome
from .asyncwait import stepper
from .clock import VirtualClock
from .config import EnvironmentSettings as EnvironmentSettings
from .config import FunctionSettings
from .deadline import real_time_guard
from .destinations import Sink, check_target
from .errors import LambdaUsageError
from .function import InvokeResult as InvokeResult
from .function import LambdaFunction as LambdaFunction
from .function import _not_itself
from .functionruntime import FunctionRuntime
from .handover import Handover
from .invocation import EnvironmentObserver, Invocation
from .process import ProcessSnapshot, chdir_watch
from .scopes import simulation_scope
from .timepatch import TimePatches
from .tmpdirs import TmpDirs
from .validation import handler_string, positive_number, sink_name, whole_number

# A UUID's version (4) and variant (10xx) bits.
_UUID4_CLEAR = ~((0xF << 76) | (0x4 << 60))
_UUID4_SET = (0x4 << 76) | (0x8 << 60)
_LOW_96 = (1 << 96) - 1


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
        tmp_dirs: TmpDirs | None = None,
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
        # The environments' /tmp directories. Given (the plugin's, kept for the session), empty
        # ones of gone environments serve later cold starts of other tests too. Else each is
        # made in `tmp_root`, or in tempfile's directory as it is now (not as it is inside some
        # environment's code: one environment's /tmp inside another's), and removed when its
        # environment goes.
        if tmp_dirs is None:
            tmp_dirs = TmpDirs(tempfile.gettempdir() if tmp_root is None else tmp_root)
        self.tmp_dirs = tmp_dirs
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
            real_time_budget=self.real_time_budget, tmp_dirs=self.tmp_dirs,
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
