"""The async queue's drain: what it leaves behind stays byte for byte what it was before it was
made faster (`drain_scenario.py`, `golden/drain.txt`), and the work it skips is skipped."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import drain_scenario
import pytest

from pytest_lambda_async import Invoker, VirtualClock, destinations, runtime, scopes
from pytest_lambda_async.asyncqueue import Accepted, Attempt
from pytest_lambda_async.errors import LambdaUsageError
from pytest_lambda_async.invocation import Invocation
from pytest_lambda_async.invoker import EnvironmentSettings
from pytest_lambda_async.loop import VirtualEventLoop

GOLDEN = Path(__file__).parent / "golden" / "drain.txt"


def test_the_drain_leaves_exactly_what_it_did() -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        lines = drain_scenario.document().splitlines()
    expected = GOLDEN.read_text(encoding="utf-8").splitlines()
    differing = [(n, want, got)
                 for n, (want, got) in enumerate(zip(expected, lines, strict=False)) if want != got]
    assert (len(lines), differing[:3]) == (len(expected), [])


def test_a_sink_takes_the_record_without_its_json_text(lambda_invoker: Invoker,
                                                       monkeypatch: Any) -> None:
    deliveries: list[destinations.Delivery] = []
    deliver = destinations.deliver

    def spy(target: Any, delivery: destinations.Delivery, invoker: Any) -> None:
        deliveries.append(delivery)
        deliver(target, delivery, invoker)

    monkeypatch.setattr("pytest_lambda_async.asyncqueue.deliver", spy)
    fn = lambda_invoker.deploy(lambda event, context: 1 / 0, maximum_retry_attempts=0,
                               on_failure=lambda_invoker.sink("f"),
                               dead_letter_target=lambda_invoker.sink("d"))
    fn.invoke_async({"n": 1})
    lambda_invoker.run_until_idle()
    assert [d.role for d in deliveries] == ["on_failure", "dead_letter_target"]
    assert all("body" not in vars(d) for d in deliveries)  # never made
    # Made when asked for, as it was made before: the record's JSON, the DLQ's event as sent.
    record = lambda_invoker.sinks[fn.settings.on_failure.arn].records[0]
    assert deliveries[0].body == runtime.marshal_response(record).decode()
    assert deliveries[1].body == '{"n": 1}'


def test_timestamps_are_the_iso_text_of_their_instant() -> None:
    for when in (0.0, 1_700_000_000.0005, 1_700_000_000.9999, 1_700_000_000.25):
        for milliseconds in (True, False):
            assert destinations.timestamp(when, milliseconds=milliseconds) == \
                destinations.iso(when, milliseconds=milliseconds)
            assert destinations.timestamp(when, milliseconds=milliseconds) == \
                destinations.iso(when, milliseconds=milliseconds)  # the cached answer too


# -- the drain's fast paths: each does what the slow way did ---------------------------------

def test_attempts_outcomes_and_accepted_are_whole_frozen_dataclasses(lambda_invoker: Invoker) -> None:
    # Built on the drain's fast paths (a throttle, a failure, a retry): every field is there, in
    # order, and they compare, print and refuse changes as dataclasses do.
    fn = lambda_invoker.deploy(lambda event, context: 1 / 0, maximum_retry_attempts=1,
                               on_failure=lambda_invoker.sink("f"))
    fn.inject_faults(throttles=1)
    accepted = fn.invoke_async({"n": 1})
    (outcome,) = lambda_invoker.run_until_idle()
    assert [a.status for a in outcome.history] == ["throttled", "failed", "failed"]
    for value in (accepted, outcome, *outcome.history):
        cls = type(value)
        names = [f.name for f in dataclasses.fields(cls)]
        assert list(vars(value)) == names
        rebuilt = cls(**{name: getattr(value, name) for name in names})
        assert rebuilt == value and repr(rebuilt) == repr(value)
        assert dataclasses.replace(value) == value
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.status = "x"  # type: ignore[misc]
    assert accepted == Accepted(status_code=202, request_id=outcome.request_id)
    throttle = outcome.history[0]
    assert throttle == Attempt(1, throttle.started_at, throttle.started_at, "throttled",
                               error_type="TooManyRequestsException")


def test_a_loop_with_only_cancelled_timers_has_no_work() -> None:
    loop = VirtualEventLoop(VirtualClock())
    try:
        assert not loop.has_work()
        loop.call_later(10, lambda: None).cancel()
        assert loop._scheduled and not loop.has_work()
        assert not loop._scheduled  # the cancelled timer left the heap on the way
        loop.call_later(0, lambda: None)
        assert loop.has_work()
    finally:
        loop.close()


@pytest.mark.lambda_leaks(mode="off")  # the timer is left frozen with the environment on purpose
def test_a_frozen_timer_that_fell_due_runs_when_the_environment_thaws(lambda_invoker: Invoker) -> None:
    # The thaw asks the idle loop whether it has work: a timer due by then is work.
    ran: list[str] = []

    async def handler(event: Any, context: Any) -> str:
        if event == "arm":
            asyncio.get_running_loop().call_later(30, lambda: ran.append("timer"))
        return "ok"

    fn = lambda_invoker.deploy(handler)
    fn.invoke("arm")  # the timer is frozen with the environment
    lambda_invoker.clock.advance(60)
    assert ran == []
    fn.invoke_async("thaw")
    lambda_invoker.run_until_idle()
    assert ran == ["timer"] and [env.id for env in fn.environments] == [f"{fn.name}#1"]


class _Driver:
    def __init__(self, name: str, calls: list[str], work: int = 1,
                 then: Callable[[], None] | None = None) -> None:
        self.name, self.calls, self.work, self.then = name, calls, work, then

    def run_ready(self) -> bool:
        self.calls.append(self.name)
        if self.work <= 0:
            return False
        self.work -= 1
        if self.then is not None:
            self.then()
        return True

    def next_wakeup(self) -> float | None:
        return None

    def real_work(self) -> str | None:
        return None

    def real_wait_allowed(self, what: str) -> bool:
        return True

    def wait_real(self, seconds: float, what: str) -> None:
        pass


def test_a_driver_attached_by_the_only_driver_runs_from_the_next_pass_on() -> None:
    clock = VirtualClock(0)
    calls: list[str] = []
    second = _Driver("second", calls)
    first = _Driver("first", calls, then=lambda: clock.attach(second))
    clock.attach(first)
    clock.run()
    # The pass that ran `first` (the only driver) did not run `second`: the next one did.
    assert calls[:3] == ["first", "first", "second"]


def test_a_driver_detached_during_a_pass_is_not_run_in_it() -> None:
    clock = VirtualClock(0)
    calls: list[str] = []
    second = _Driver("second", calls)
    first = _Driver("first", calls, then=lambda: clock.detach(second))
    clock.attach(first)
    clock.attach(second)
    clock.run()
    assert "second" not in calls


def test_a_timer_set_while_the_queue_waits_keeps_its_place(lambda_invoker: Invoker) -> None:
    # Cancelled timers at the top of the heap are skipped; the first live one runs.
    clock = lambda_invoker.clock
    order: list[str] = []
    start = clock.time()
    for _ in range(3):
        clock.call_at(start + 1, lambda: order.append("cancelled")).cancel()
    clock.call_at(start + 2, lambda: order.append("second"))
    clock.call_at(start + 1, lambda: order.append("first"))
    clock.advance(5)
    assert order == ["first", "second"]


def test_reserved_concurrency_changed_between_drains_holds(lambda_invoker: Invoker) -> None:
    async def handler(event: Any, context: Any) -> str:
        await asyncio.sleep(1)
        return "ok"

    fn = lambda_invoker.deploy(handler)
    for n in range(3):
        fn.invoke_async(n)
    first = lambda_invoker.run_until_idle()
    assert all(len(o.history) == 1 for o in first) and len(fn.environments) == 3
    fn.reconfigure(reserved_concurrent_executions=1)  # the limit worked out before is stale
    for n in range(3):
        fn.invoke_async(n)
    second = lambda_invoker.run_until_idle()
    throttles = sum(a.status == "throttled" for o in second for a in o.history)
    assert throttles > 0 and all(o.status == "succeeded" for o in second)


def test_never_reused_environments_are_never_taken_from_the_frozen_ones() -> None:
    invoker = Invoker(VirtualClock(), environments=EnvironmentSettings(reuse="never"))
    try:
        fn = invoker.deploy(lambda event, context: "ok")
        for n in range(3):
            fn.invoke_async(n)
            invoker.run_until_idle()
        assert [o.cold_start for o in fn.outcomes] == [True, True, True]
    finally:
        invoker.close()


def test_the_drain_waits_for_pending_work_once_the_queues_are_empty(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(lambda event, context: "ok")
    polls: list[bool] = []
    late: list[str] = []

    def pending() -> bool:
        # Work of its own (an event source's next poll): one more event, 5 s after the queue
        # empties; until then there is work pending.
        polls.append(bool(fn.queue))
        if len(polls) == 1:
            lambda_invoker.clock.call_later(5, lambda: late.append(fn.invoke_async("late").request_id))
        return not late

    lambda_invoker.pending_work.append(pending)
    fn.invoke_async("first")
    outcomes = lambda_invoker.run_until_idle()
    assert [o.event for o in outcomes] == ["first", "late"]
    assert not any(polls)  # asked only when nothing was busy or queued


class _Text(str):
    pass


@pytest.mark.parametrize("value", ["caf\u00e9 \u2603", "surrogate \udcff", _Text("a str subclass")])
def test_an_environment_sees_its_variables_as_os_environ_would_encode_them(
        lambda_invoker: Invoker, value: str) -> None:
    variables = {"GREETING": value, "PLAIN": "x"}
    assert scopes.encode_environ(variables) == {
        os.environ.encodekey(k): os.environ.encodevalue(v) for k, v in variables.items()}
    fn = lambda_invoker.deploy(lambda event, context: [os.environ["GREETING"] == value,
                                                       os.environ["TMPDIR"] == tempfile.gettempdir()],
                               environment=variables)
    assert fn.invoke({}).payload == [True, True]


def test_invoke_async_after_the_test_ended_is_refused() -> None:
    # accept() builds the error's message only when the invoker is closed: still the same error.
    invoker = Invoker(VirtualClock())
    fn = invoker.deploy(lambda event, context: "ok", name="late")
    invoker.close()
    with pytest.raises(LambdaUsageError, match=r"^late\.invoke_async\(\) was called after the test"):
        fn.invoke_async({})
    assert len(fn.queue) == 0



def test_an_event_waiting_for_its_retry_keeps_what_its_outcome_needs_not_its_invocation(
        lambda_invoker: Invoker) -> None:
    failed, dlq = lambda_invoker.sink("f"), lambda_invoker.sink("d")
    fn = lambda_invoker.deploy(lambda event, context: 1 / 0, maximum_retry_attempts=1,
                               on_failure=failed, dead_letter_target=dlq)
    request_id = fn.invoke_async({"n": 1}).request_id
    lambda_invoker.clock.advance(30)  # the first attempt failed; its retry is a minute away
    gc.collect()
    assert len(fn.queue) == 1
    assert [o for o in gc.get_objects() if type(o) is Invocation and o.request_id == request_id] == []
    (outcome,) = lambda_invoker.run_until_idle()
    # The outcome, its destination record and the DLQ message still have the last attempt's result.
    assert (outcome.attempts, outcome.function_error, outcome.payload["errorType"],
            outcome.environment_id, outcome.cold_start) == (
        2, "Unhandled", "ZeroDivisionError", outcome.history[-1].environment_id, False)
    (record,) = failed.records
    assert record["responsePayload"] == outcome.payload
    (message,) = dlq.records
    assert message["messageAttributes"]["ErrorMessage"]["StringValue"] == "division by zero"


def test_the_first_due_timer_comes_off_the_heap_past_cancelled_ones() -> None:
    clock = VirtualClock(0)
    ran: list[str] = []
    clock.call_at(1, lambda: ran.append("cancelled")).cancel()
    later = clock.call_at(2, lambda: ran.append("later"))
    assert clock._pop_due() is None  # the first live timer is not due yet
    assert [entry[2] for entry in clock._timers] == [later]  # the cancelled one dropped
    clock.set_time(2)
    clock.call_at(2, lambda: ran.append("also due")).cancel()
    assert clock._pop_due() is later and clock._pop_due() is None and clock._timers == []
    assert clock._cancelled_in_heap == 0


def test_until_is_asked_once_after_each_thing_that_ran() -> None:
    clock = VirtualClock(0)
    calls: list[str] = []
    clock.attach(_Driver("only", calls, work=3))
    clock.call_at(1, lambda: calls.append("timer"))
    clock.run(until=lambda: calls.append("until?") is not None)
    # Asked at the start and after each pass that ran, not again before the next pass (nothing
    # ran since it said no); after a pass that ran nothing, and after the timer, as before.
    assert calls == ["until?", "only", "until?", "only", "until?", "only", "until?", "only",
                     "until?", "only", "timer", "until?", "only"]
