"""Property-based: random schedules of failures, timeouts and throttles keep AWS's rules."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_lambda_async import Invoker, VirtualClock

behaviour = st.sampled_from(["ok", "fail", "timeout"])
plans = st.lists(st.lists(behaviour, min_size=1, max_size=4), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plans=plans,
    retries=st.integers(0, 2),
    age=st.integers(60, 400),
    throttles=st.integers(0, 6),
    concurrency=st.sampled_from([None, 1, 2]),
)
def test_every_event_follows_aws_rules(
    plans: list[list[str]], retries: int, age: int, throttles: int, concurrency: int | None
) -> None:
    invoker = Invoker(VirtualClock(start=1_700_000_000.0))
    ok_sink, fail_sink, dlq = invoker.sink("ok"), invoker.sink("fail"), invoker.sink("dlq")
    attempts_seen: Counter[str] = Counter()

    async def handler(event: Any, context: Any) -> str:
        n = attempts_seen[context.aws_request_id]
        attempts_seen[context.aws_request_id] += 1
        step = event["plan"][min(n, len(event["plan"]) - 1)]
        await asyncio.sleep(1)
        if step == "fail":
            raise RuntimeError("planned failure")
        if step == "timeout":
            await asyncio.sleep(60)
        return "ok"

    fn = invoker.deploy(
        handler, name="prop", timeout=5, maximum_retry_attempts=retries,
        maximum_event_age_in_seconds=age, reserved_concurrent_executions=concurrency,
        on_success=ok_sink, on_failure=fail_sink, dead_letter_target=dlq,
    )
    fn.inject_faults(throttles=throttles)
    accepted = [fn.invoke_async({"plan": plan}) for plan in plans]
    outcomes = invoker.run_until_idle()
    invoker.close()

    # exactly one outcome per accepted event
    assert sorted(o.request_id for o in outcomes) == sorted(a.request_id for a in accepted)
    for outcome in outcomes:
        history = outcome.history
        invocations = [a for a in history if a.status != "throttled"]
        assert outcome.attempts == len(invocations) == attempts_seen[outcome.request_id]
        assert len(invocations) <= retries + 1
        # no attempt starts at or after the event's maximum age
        assert all(a.started_at - outcome.accepted_at < age for a in history)
        # AWS's schedule: 1 and 2 minutes after a failure; 1 s doubling (max 5 min) after throttles
        failures = throttled = 0
        for previous, current in itertools.pairwise(history):
            if previous.status == "throttled":
                throttled += 1
                expected = previous.started_at + min(2 ** (throttled - 1), 300)
            else:
                assert previous.status == "failed"
                failures += 1
                expected = previous.ended_at + (60 if failures == 1 else 120)
            assert current.started_at == expected
        last = invocations[-1] if invocations else None
        if last is not None and last.status == "succeeded":
            assert outcome.condition == "Success"
        elif last is not None and len(invocations) == retries + 1:
            assert outcome.condition == "RetriesExhausted"
        else:
            assert outcome.condition == "EventAgeExceeded"

    # destinations and the DLQ receive exactly what AWS would send them
    by_id = {o.request_id: o for o in outcomes}
    succeeded = {o.request_id for o in outcomes if o.status == "succeeded"}
    failed = {o.request_id for o in outcomes if o.status == "failed"}
    assert {r["requestContext"]["requestId"] for r in ok_sink.records} == succeeded
    assert {r["requestContext"]["requestId"] for r in fail_sink.records} == failed
    assert len(ok_sink.records) == len(succeeded) and len(fail_sink.records) == len(failed)
    for record in ok_sink.records + fail_sink.records:
        outcome = by_id[record["requestContext"]["requestId"]]
        assert record["requestContext"]["condition"] == outcome.condition
        assert record["requestContext"]["approximateInvokeCount"] == outcome.attempts
    assert sorted(m["messageAttributes"]["RequestID"]["StringValue"] for m in dlq.records) == sorted(failed)
