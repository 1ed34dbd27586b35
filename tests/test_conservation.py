"""Conservation over the whole matrix, with hypothesis: every accepted event ends in exactly
one outcome, destination and DLQ records match the outcomes, and nothing escapes, whatever
the handler kind, environment reuse, way of ending, invoke type and retry settings."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_lambda_async import (
    EnvironmentSettings,
    Invoker,
    TooManyRequestsException,
    VirtualClock,
)

KINDS = ["def", "async def", "asyncio.run in def", "loop for the environment's life"]
ENDS = ["return", "raise", "timeout", "SystemExit", "KeyboardInterrupt"]
SCHEDULES = int(os.environ.get("CONSERVATION_SCHEDULES", "1000"))


def end_now(step: str) -> str:
    if step == "raise":
        raise RuntimeError("planned failure")
    if step == "SystemExit":
        sys.exit(2)
    if step == "KeyboardInterrupt":
        raise KeyboardInterrupt
    return "ok"


def make_handler(kind: str, calls: Counter[str]) -> Any:
    def next_step(event: Any, context: Any) -> str:
        n = calls[context.aws_request_id]
        calls[context.aws_request_id] += 1
        plan = event["plan"]
        return str(plan[min(n, len(plan) - 1)])

    async def body(step: str) -> str:
        await asyncio.sleep(1)
        if step == "timeout":
            await asyncio.sleep(60)
        return end_now(step)

    if kind == "async def":
        async def handler(event: Any, context: Any) -> str:
            return await body(next_step(event, context))
        return handler

    loops: dict[str, asyncio.AbstractEventLoop] = {}

    def sync_handler(event: Any, context: Any) -> str:
        step = next_step(event, context)
        if kind == "def":
            time.sleep(1)
            if step == "timeout":
                time.sleep(60)
            return end_now(step)
        if kind == "asyncio.run in def":
            return asyncio.run(body(step))
        # One loop per environment, made by handler code and kept for the environment's life.
        stream = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        if stream not in loops or loops[stream].is_closed():
            loops[stream] = asyncio.new_event_loop()
        return loops[stream].run_until_complete(body(step))

    return sync_handler


plans = st.lists(st.sampled_from(ENDS), min_size=1, max_size=3)
requests = st.lists(st.tuples(st.sampled_from(["sync", "async"]), plans), min_size=1, max_size=4)
seen: list[int] = []


@settings(max_examples=SCHEDULES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(
    kind=st.sampled_from(KINDS),
    reuse=st.sampled_from(["auto", "always", "never"]),
    requests=requests,
    throttles=st.integers(0, 3),
    retries=st.integers(0, 2),
    age=st.sampled_from([60, 90, 200, 21600]),
    targets=st.tuples(st.booleans(), st.booleans(), st.booleans()),
)
def check_schedule(kind: str, reuse: str, requests: list[tuple[str, list[str]]], throttles: int,
                   retries: int, age: int, targets: tuple[bool, bool, bool]) -> None:
    seen.append(1)
    invoker = Invoker(VirtualClock(start=1_700_000_000.0),
                      environments=EnvironmentSettings(reuse=reuse))
    ok, failed, dlq = (invoker.sink(name) if on else None
                       for name, on in zip(("ok", "failed", "dlq"), targets, strict=True))
    calls: Counter[str] = Counter()
    fn = invoker.deploy(make_handler(kind, calls), name="conserved", timeout=5,
                        maximum_retry_attempts=retries, maximum_event_age_in_seconds=age,
                        on_success=ok, on_failure=failed, dead_letter_target=dlq)
    fn.inject_faults(throttles=throttles)
    accepted, answered = [], 0
    try:
        for how, plan in requests:
            if how == "async":
                accepted.append(fn.invoke_async({"plan": plan}).request_id)
                continue
            try:
                result = fn.invoke({"plan": plan})
            except TooManyRequestsException:
                answered += 1  # a throttled synchronous request is answered with 429
                continue
            answered += 1
            assert calls[result.request_id] == 1
            expected = plan[0]
            if expected == "return":
                assert result.function_error is None and result.payload == "ok"
            else:
                error = {"raise": "RuntimeError", "timeout": "Sandbox.Timedout",
                         "SystemExit": "Runtime.ExitError",
                         "KeyboardInterrupt": "Runtime.ExitError"}[expected]
                assert result.payload["errorType"] == error
        invoker.run_until_idle()
        # Sync invokes move the clock too: some events may have ended before run_until_idle.
        outcomes = list(fn.outcomes)
    finally:
        invoker.close()

    assert answered == sum(1 for how, _ in requests if how == "sync")
    # One outcome per accepted event, and only for those.
    assert sorted(o.request_id for o in outcomes) == sorted(accepted)
    assert fn.unfinished() == [] and invoker.busy == 0
    succeeded = [o for o in outcomes if o.status == "succeeded"]
    failures = [o for o in outcomes if o.status == "failed"]
    for outcome in outcomes:
        assert outcome.attempts == calls[outcome.request_id] <= retries + 1
    # Records equal outcomes, target by target.
    if ok is not None:
        assert sorted(r["requestContext"]["requestId"] for r in ok.records) == sorted(
            o.request_id for o in succeeded)
    if failed is not None:
        assert sorted(r["requestContext"]["requestId"] for r in failed.records) == sorted(
            o.request_id for o in failures)
    if dlq is not None:
        assert len(dlq.records) == len(failures)
    # Every environment is gone and every loop the plugin made is closed.
    for env in fn.environments:
        assert env.state.value == "gone"
        assert all(loop.is_closed() for loop in env.policy.created)


def test_conservation_holds_in_every_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    seen.clear()
    check_schedule()
    with capsys.disabled():
        print(f"\nconservation: {len(seen)} schedules checked")
    assert len(seen) >= SCHEDULES
