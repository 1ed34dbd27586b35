"""Asynchronous invocation: the queue, retries, event age, throttling, destinations, DLQs."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest

from pytest_lambda_async import (
    InvalidParameterValueException,
    Invoker,
    RequestTooLargeException,
    ValidationException,
)


def always_fails(event: Any, context: Any) -> Any:
    calls.append((context.aws_request_id, context.client_context))
    raise RuntimeError("Test exception (this is intentional)")


calls: list[Any] = []


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    calls.clear()


def attempt_offsets(outcome: Any) -> list[float]:
    return [a.started_at - outcome.accepted_at for a in outcome.history if a.status != "throttled"]


def test_accepted_at_once_and_delivered_when_drained(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(lambda event, context: calls.append(event) or "done")
    accepted = fn.invoke_async({"n": 1})
    assert accepted.status_code == 202 and len(accepted.request_id) == 36
    assert calls == []  # queued, not run inline
    outcomes = lambda_invoker.run_until_idle()
    assert calls == [{"n": 1}]
    (outcome,) = outcomes
    assert outcome.request_id == accepted.request_id
    assert (outcome.status, outcome.condition, outcome.attempts, outcome.payload) == (
        "succeeded", "Success", 1, "done")
    assert fn.outcomes == [outcome]


def test_retry_schedule_same_request_id_then_destination_and_dlq(lambda_invoker: Invoker) -> None:
    failures = lambda_invoker.sink("failures")
    dlq = lambda_invoker.sink("dlq")
    fn = lambda_invoker.deploy(always_fails, name="fails", on_failure=failures, dead_letter_target=dlq)
    accepted = fn.invoke_async({"raise_error": 1})
    (outcome,) = lambda_invoker.run_until_idle()
    assert attempt_offsets(outcome) == [0.0, 60.0, 180.0]
    assert [request_id for request_id, _ in calls] == [accepted.request_id] * 3
    assert all(client_context is None for _, client_context in calls)
    assert (outcome.condition, outcome.attempts) == ("RetriesExhausted", 3)
    (record,) = failures.records
    assert record == {
        "version": "1.0",
        "timestamp": record["timestamp"],
        "requestContext": {
            "requestId": accepted.request_id,
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:fails:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"raise_error": 1},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                            "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": "Test exception (this is intentional)",
            "errorType": "RuntimeError",
            "requestId": accepted.request_id,
            "stackTrace": record["responsePayload"]["stackTrace"],
        },
    }
    assert record["timestamp"].endswith("Z") and len(record["timestamp"]) == 24
    assert dlq.records == [{
        "body": {"raise_error": 1},
        "messageAttributes": {
            "RequestID": {"DataType": "String", "StringValue": accepted.request_id},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String",
                             "StringValue": "Test exception (this is intentional)"},
        },
    }]


def test_success_record(lambda_invoker: Invoker) -> None:
    successes = lambda_invoker.sink("ok")
    fn = lambda_invoker.deploy(lambda event, context: {"doubled": event["n"] * 2}, name="ok-fn",
                               on_success=successes)
    fn.invoke_async({"n": 4})
    lambda_invoker.run_until_idle()
    (record,) = successes.records
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"doubled": 8}


def test_advance_delivers_only_what_falls_due(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(always_fails, maximum_retry_attempts=2)
    fn.invoke_async({})
    lambda_invoker.clock.advance(0)
    assert len(calls) == 1
    lambda_invoker.clock.advance(59)
    assert len(calls) == 1
    lambda_invoker.clock.advance(1)
    assert len(calls) == 2
    lambda_invoker.clock.advance(120)
    assert len(calls) == 3 and fn.outcomes[0].condition == "RetriesExhausted"


@pytest.mark.parametrize(("age", "attempts"), [(60, 1), (90, 2), (180, 2), (181, 3)])
def test_event_age_checked_before_each_retry(lambda_invoker: Invoker, age: int, attempts: int) -> None:
    failures = lambda_invoker.sink("f")
    fn = lambda_invoker.deploy(always_fails, maximum_event_age_in_seconds=age, on_failure=failures)
    fn.invoke_async({})
    (outcome,) = lambda_invoker.run_until_idle()
    condition = "RetriesExhausted" if attempts == 3 else "EventAgeExceeded"
    assert (outcome.condition, outcome.attempts) == (condition, attempts)
    record = failures.records[0]
    assert record["requestContext"]["approximateInvokeCount"] == attempts
    assert record["responsePayload"]["errorType"] == "RuntimeError"  # still the last error


def test_maximum_retry_attempts_zero(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(always_fails, maximum_retry_attempts=0)
    fn.invoke_async({})
    (outcome,) = lambda_invoker.run_until_idle()
    assert (outcome.condition, outcome.attempts) == ("RetriesExhausted", 1)


async def slow(event: Any, context: Any) -> str:
    await asyncio.sleep(10)
    return "slow done"


def test_events_run_concurrently_in_their_own_environments(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(slow, timeout=30)
    start = lambda_invoker.clock.time()
    for n in range(3):
        fn.invoke_async({"n": n})
    outcomes = lambda_invoker.run_until_idle()
    assert [o.finished_at - start for o in outcomes] == [10.0, 10.0, 10.0]
    assert len({o.environment_id for o in outcomes}) == 3


def test_throttled_events_back_off_without_using_retries(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(slow, timeout=30, reserved_concurrent_executions=1)
    start = lambda_invoker.clock.time()
    fn.invoke_async({"n": 1})
    fn.invoke_async({"n": 2})
    first, second = lambda_invoker.run_until_idle()
    assert first.finished_at - start == 10.0
    throttles = [a for a in second.history if a.status == "throttled"]
    # back-off 1, 2, 4 s ... until the one environment is free at t=10 (t=15 after 1+2+4+8)
    assert [a.started_at - start for a in throttles] == [0.0, 1.0, 3.0, 7.0]
    assert (second.condition, second.attempts) == ("Success", 1)
    assert second.finished_at - start == 25.0


def test_throttles_end_in_event_age_exceeded(lambda_invoker: Invoker) -> None:
    dlq = lambda_invoker.sink("dlq")
    fn = lambda_invoker.deploy(always_fails, maximum_event_age_in_seconds=100, dead_letter_target=dlq)
    fn.inject_faults(throttles=100)
    fn.invoke_async({})
    (outcome,) = lambda_invoker.run_until_idle()
    assert (outcome.condition, outcome.attempts) == ("EventAgeExceeded", 0)
    assert [a.started_at - outcome.accepted_at for a in outcome.history] == [0, 1, 3, 7, 15, 31, 63]
    assert calls == []
    assert dlq.records[0]["messageAttributes"]["ErrorCode"]["StringValue"] == "429"


def test_injected_faults_do_not_use_retry_attempts(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(lambda e, c: "ok", maximum_retry_attempts=0)
    fn.inject_faults(throttles=2, service_errors=1)
    fn.invoke_async({})
    (outcome,) = lambda_invoker.run_until_idle()
    assert (outcome.condition, outcome.attempts) == ("Success", 1)
    assert [a.status for a in outcome.history] == ["throttled"] * 3 + ["succeeded"]


def test_throttle_backoff_is_capped_at_five_minutes(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(lambda e, c: "ok")
    fn.inject_faults(throttles=12)
    fn.invoke_async({})
    (outcome,) = lambda_invoker.run_until_idle()
    starts = [a.started_at - outcome.accepted_at for a in outcome.history]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]


def test_six_hour_throttled_expiry(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(lambda e, c: "ok")
    fn.inject_faults(throttles=1000)
    fn.invoke_async({})
    (outcome,) = lambda_invoker.run_until_idle()
    assert outcome.condition == "EventAgeExceeded"
    assert outcome.finished_at - outcome.accepted_at <= 21600
    assert outcome.history[-1].started_at - outcome.accepted_at > 21600 - 300


@pytest.mark.parametrize("condition", [None, "SomethingElse"])
def test_zero_reserved_concurrency(lambda_invoker: Invoker, condition: str | None) -> None:
    if condition:
        lambda_invoker.delivery = type(lambda_invoker.delivery)(zero_concurrency_condition=condition)
    failures = lambda_invoker.sink("f")
    fn = lambda_invoker.deploy(always_fails, reserved_concurrent_executions=0, on_failure=failures)
    fn.invoke_async({"x": 1})
    (outcome,) = lambda_invoker.run_until_idle()
    assert calls == []
    assert (outcome.condition, outcome.attempts) == (condition or "ZeroReservedConcurrency", 0)
    (record,) = failures.records
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in record and "responsePayload" not in record


def test_lambda_function_destination_gets_the_record_async(lambda_invoker: Invoker) -> None:
    received: list[Any] = []
    auditor = lambda_invoker.deploy(lambda event, context: received.append(event), name="auditor")
    fn = lambda_invoker.deploy(lambda e, c: "ok", on_success=auditor)
    fn.invoke_async({"n": 1})
    lambda_invoker.run_until_idle()
    assert received[0]["requestContext"]["condition"] == "Success"
    assert auditor.outcomes[0].condition == "Success"


def test_arn_targets_without_moto_are_kept_in_memory(lambda_invoker: Invoker) -> None:
    bus = "arn:aws:events:us-east-1:123456789012:event-bus/default"
    bucket = "arn:aws:s3:::failed-events"
    ok = lambda_invoker.deploy(lambda e, c: 1, name="to-bus", on_success=bus)
    bad = lambda_invoker.deploy(always_fails, name="to-s3", on_failure=bucket,
                                maximum_retry_attempts=0)
    ok.invoke_async({})
    bad.invoke_async({})
    lambda_invoker.run_until_idle()
    (envelope,) = lambda_invoker.sinks[bus].records
    assert envelope["detail-type"] == "Lambda Function Invocation Result - Success"
    assert envelope["source"] == "lambda"
    assert envelope["resources"] == [bus, "arn:aws:lambda:us-east-1:123456789012:function:to-bus:$LATEST"]
    assert envelope["detail"]["requestContext"]["condition"] == "Success"
    (stored,) = lambda_invoker.sinks[bucket].records
    assert stored["key"].startswith("aws/lambda/async/to-s3/")
    assert stored["body"]["requestContext"]["condition"] == "RetriesExhausted"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"maximum_retry_attempts": 3}, ValidationException,
         "'maximumRetryAttempts'.*less than or equal to 2"),
        ({"maximum_event_age_in_seconds": 59}, ValidationException, "greater than or equal to 60"),
        ({"maximum_event_age_in_seconds": 21601}, ValidationException, "less than or equal to 21600"),
        ({"on_success": "arn:aws:s3:::bucket"}, InvalidParameterValueException, "only for on-failure"),
        ({"on_failure": "arn:aws:dynamodb:us-east-1:123456789012:table/t"},
         InvalidParameterValueException, "'dynamodb', which is not supported"),
        ({"on_failure": "arn:aws:sqs:us-east-1:123456789012:q.fifo"}, InvalidParameterValueException, "FIFO"),
        ({"dead_letter_target": "arn:aws:sns:us-east-1:123456789012:t.fifo"},
         InvalidParameterValueException, "FIFO"),
        ({"dead_letter_target": "arn:aws:events:us-east-1:123456789012:event-bus/b"},
         InvalidParameterValueException, "'events', which is not supported"),
        ({"on_success": "not-an-arn"}, InvalidParameterValueException, "not a valid ARN"),
    ],
)
def test_bad_async_configuration(lambda_invoker: Invoker, kwargs: dict[str, Any],
                                 error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        lambda_invoker.deploy(always_fails, **kwargs)


def test_async_payload_over_1mb_is_refused(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(always_fails)
    with pytest.raises(RequestTooLargeException, match="smaller than 1048576 bytes"):
        fn.invoke_async({"data": "x" * (1024 * 1024)})
    fn.invoke({"data": "x" * 10})  # the synchronous limit is larger


@pytest.mark.lambda_delivery(mode="at-least-once", duplicate_rate=1.0, seed=7)
def test_at_least_once_delivers_duplicates_with_the_same_request_id(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(lambda event, context: calls.append(context.aws_request_id))
    accepted = fn.invoke_async({})
    outcomes = lambda_invoker.run_until_idle()
    assert len(outcomes) == 1  # still exactly one outcome
    assert calls == [accepted.request_id, accepted.request_id]


def test_at_least_once_shuffles_order_reproducibly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.lambda_delivery(mode="at-least-once", duplicate_rate=0.0)
        def test_order(lambda_invoker):
            seen = []
            fn = lambda_invoker.deploy(lambda e, c: seen.append(e["n"]))
            for n in range(20):
                fn.invoke_async({"n": n})
            lambda_invoker.run_until_idle()
            assert sorted(seen) == list(range(20))
            print("ORDER", seen)
    """)
    first = pytester.runpytest("-s", "--lambda-seed=5")
    second = pytester.runpytest("-s", "--lambda-seed=5")
    first.assert_outcomes(passed=1)
    order = [line for line in first.outlines if line.startswith("ORDER")]
    assert order == [line for line in second.outlines if line.startswith("ORDER")]
    assert order != [f"ORDER {list(range(20))}"]
    assert "delivery=exact (seed 5)" in first.stdout.str()


@pytest.mark.parametrize(("mode", "outcome"), [("fail", "errors"), ("warn", "warnings"), ("off", "passed")])
def test_events_left_queued_at_the_end_of_a_test(pytester: pytest.Pytester, mode: str, outcome: str) -> None:
    pytester.makepyfile("""
        def test_leaves_events(lambda_invoker):
            fn = lambda_invoker.deploy(lambda e, c: None, name="forgotten")
            fn.invoke_async({"n": 1})
    """)
    # -W: the warning must not be turned into an error by this suite's own filterwarnings.
    result = pytester.runpytest(f"--lambda-unfinished={mode}", "-W", "default::pytest.PytestWarning")
    if outcome == "errors":
        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines(["*1 async event(s) still queued*", "*forgotten: *",
                                     "*run_until_idle()*"])
    elif outcome == "warnings":
        result.assert_outcomes(passed=1, warnings=1)
    else:
        result.assert_outcomes(passed=1)


@pytest.mark.asyncio
async def test_async_twins(lambda_invoker: Invoker) -> None:
    fn = lambda_invoker.deploy(slow, timeout=30)
    accepted = await fn.ainvoke_async({})
    (outcome,) = await lambda_invoker.arun_until_idle()
    assert outcome.request_id == accepted.request_id and outcome.payload == "slow done"


def test_records_are_json_documents(lambda_invoker: Invoker) -> None:
    sink = lambda_invoker.sink("s")
    fn = lambda_invoker.deploy(lambda e, c: {"a": 1}, on_success=sink)
    fn.invoke_async({})
    lambda_invoker.run_until_idle()
    assert json.loads(json.dumps(sink.records[0])) == sink.records[0]
