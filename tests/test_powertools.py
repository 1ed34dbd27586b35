"""Handlers written with aws-lambda-powertools run under the plugin as they run on AWS.

Powertools is imported once per test process, but on Lambda once per execution environment:
what it keeps in process-wide state (its cold-start flags, the X-Ray SDK switch, the stream
its Logger writes to) must behave as if every environment were a process of its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

REGION = "us-east-1"
POWERTOOLS = {"POWERTOOLS_SERVICE_NAME": "payments", "POWERTOOLS_TRACE_DISABLED": "true"}


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def sqs_event(*bodies: Any) -> dict[str, Any]:
    return {"Records": [
        {"messageId": f"m-{n}", "receiptHandle": f"r-{n}", "body": json.dumps(body),
         "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "s",
                        "ApproximateFirstReceiveTimestamp": "0"},
         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
         "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:q", "awsRegion": REGION}
        for n, body in enumerate(bodies, 1)]}


# -- logs --------------------------------------------------------------------------------------
def test_a_stream_handler_made_at_init_writes_into_each_invocations_own_log(lambda_invoker, handler_module):
    # logging.StreamHandler(sys.stdout) at import keeps the stdout of the init phase; on Lambda
    # that is the process's one stdout, and a line belongs to the invocation that writes it.
    mod = handler_module("""
        import logging, sys
        log = logging.getLogger("plain-init-handler")
        log.propagate = False
        log.addHandler(logging.StreamHandler(sys.stdout))
        log.setLevel(logging.INFO)
        err = sys.stderr

        def handler(event, context):
            log.info("line for %s", event)
            err.write(f"stderr for {event}\\n")
    """)
    fn = lambda_invoker.deploy(f"{mod}.handler")

    first, second, third = (fn.invoke(n) for n in (1, 2, 3))

    for n, result in enumerate((first, second, third), 1):
        assert f"line for {n}\n" in result.log_result
        assert f"stderr for {n}\n" in result.log_result
        assert [m for m in (1, 2, 3) if f"line for {m}" in result.log_result] == [n]
    assert not third.cold_start


def test_a_nested_invocations_output_stays_in_its_own_log(lambda_invoker, handler_module):
    inner_mod = handler_module("""
        def handler(event, context):
            print("inner ran")
            return "inner"
    """)
    inner = lambda_invoker.deploy(f"{inner_mod}.handler", name="inner")

    def outer(event, context):
        print("outer before")
        result = inner.invoke({})
        print("outer after")
        return result.payload

    result = lambda_invoker.deploy(outer, name="outer").invoke({})

    assert result.payload == "inner"
    assert "outer before\n" in result.log_result and "outer after\n" in result.log_result
    assert "inner ran" not in result.log_result  # it is in the inner function's log
    assert "inner ran\n" in inner.invocations[0].log_result


def test_logger_lines_carry_the_context_of_their_own_invocation(lambda_invoker, handler_module):
    mod = handler_module("""
        from aws_lambda_powertools import Logger

        logger = Logger()

        @logger.inject_lambda_context(log_event=True)
        def handler(event, context):
            logger.info("handled", extra={"n": event["n"]})
            return context.aws_request_id
    """)
    fn = lambda_invoker.deploy(f"{mod}.handler", name="api", environment=POWERTOOLS, memory_size=512)

    results = [fn.invoke({"n": n}) for n in range(3)]

    for n, result in enumerate(results):
        event_line, handled = json_lines(result.log_result)
        assert event_line["message"] == {"n": n}  # log_event=True
        assert handled["message"] == "handled"
        assert handled["n"] == n
        assert handled["service"] == "payments"  # POWERTOOLS_SERVICE_NAME from environment=
        assert handled["function_request_id"] == result.request_id == result.payload
        assert (handled["function_name"], handled["function_memory_size"]) == ("api", "512")
        assert handled["function_arn"] == fn.arn
        assert handled["xray_trace_id"].startswith("1-")
        assert handled["cold_start"] is (n == 0)
        # The platform's lines frame them, as in CloudWatch.
        kinds = [line.split()[0] if not line.startswith("{") else "json"
                 for line in result.log_result.splitlines()]
        assert kinds[kinds.index("START"):] == ["START", "json", "json", "END", "REPORT"]


POWERTOOLS_CALLABLE = """
    from aws_lambda_powertools import Logger

    logger = Logger(service="orders-callable")

    @logger.inject_lambda_context
    def handler(event, context):
        logger.info("handled %s", event["n"])
        return context.aws_request_id
"""


@pytest.mark.parametrize("capture", ["fd", "sys", "no"])
def test_a_logger_made_when_the_test_module_imports_the_handler_follows_the_invocation(
        pytester, capture):
    # Deployed as a callable the test module imported: Logger made its handler (on the stdout
    # of the collection) before any invocation. Its JSON lines still land in each invocation's
    # log, and only once: not as a runtime "[INFO]" line too (Powertools filters its service
    # from the runtime's root handler, which on Lambda is there before any import).
    pytester.makepyfile(orders_callable=POWERTOOLS_CALLABLE)
    pytester.makepyfile(test_orders="""
        import json
        from orders_callable import handler

        def test_logs(lambda_invoker):
            fn = lambda_invoker.deploy(handler, environment={"POWERTOOLS_TRACE_DISABLED": "true"})
            for n in (1, 2):
                result = fn.invoke({"n": n})
                lines = [json.loads(l) for l in result.log_result.splitlines() if l.startswith("{")]
                assert [(l["message"], l["function_request_id"]) for l in lines] == [
                    (f"handled {n}", result.request_id)]
                assert "[INFO]" not in result.log_result
    """)
    result = pytester.runpytest_subprocess("-p", "no:randomly", f"--capture={capture}",
                                           timeout=120)
    result.assert_outcomes(passed=1)


# -- cold starts -----------------------------------------------------------------------------
_COLD_STARTS = """
    from aws_lambda_powertools import Logger, Metrics, Tracer

    logger = Logger()
    tracer = Tracer()
    metrics = Metrics(namespace="Payments")

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event, context):
        metrics.add_metric(name="Handled", unit="Count", value=1)
        logger.info("handled")
"""


def _cold_starts(results: list[Any]) -> list[tuple[bool, bool]]:
    """(Logger's cold_start, whether Metrics emitted its ColdStart metric) per invocation."""
    seen = []
    for result in results:
        lines = json_lines(result.log_result)
        (logged,) = [line for line in lines if line.get("message") == "handled"]
        metrics = [line for line in lines if "_aws" in line]
        seen.append((logged["cold_start"], any("ColdStart" in line for line in metrics)))
    return seen


def test_powertools_sees_a_cold_start_once_in_every_environment(lambda_invoker, handler_module):
    mod = handler_module(_COLD_STARTS)
    first = lambda_invoker.deploy(f"{mod}.handler", name="first", environment=POWERTOOLS)
    second = lambda_invoker.deploy(f"{mod}.handler", name="second", environment=POWERTOOLS)

    results = [first.invoke({}), first.invoke({}), second.invoke({}), first.invoke({}), second.invoke({})]

    assert [r.cold_start for r in results] == [True, False, True, False, False]
    assert _cold_starts(results) == [(True, True), (False, False), (True, True), (False, False),
                                     (False, False)]


@pytest.mark.lambda_cold_start
def test_powertools_sees_every_fresh_environment_as_cold(lambda_invoker, handler_module):
    mod = handler_module(_COLD_STARTS)
    fn = lambda_invoker.deploy(f"{mod}.handler", environment=POWERTOOLS)

    results = [fn.invoke({}) for _ in range(3)]

    assert len({r.environment_id for r in results}) == 3
    assert _cold_starts(results) == [(True, True)] * 3


def test_the_test_process_keeps_its_own_powertools_flags(lambda_invoker, handler_module):
    from aws_lambda_powertools.logging import logger as powertools_logger

    mod = handler_module(_COLD_STARTS)
    fn = lambda_invoker.deploy(f"{mod}.handler", environment=POWERTOOLS)
    powertools_logger.is_cold_start = "the test's own value"
    try:
        fn.invoke({})
        assert powertools_logger.is_cold_start == "the test's own value"
    finally:
        powertools_logger.is_cold_start = False


# -- tracer ----------------------------------------------------------------------------------
_TRACED = """
    import aws_xray_sdk
    from aws_lambda_powertools import Tracer

    tracer = Tracer()

    @tracer.capture_method
    def work():
        return 2

    @tracer.capture_lambda_handler
    def handler(event, context):
        return {"work": work(), "service": tracer.service,
                "xray_sdk_enabled": aws_xray_sdk.global_sdk_config.sdk_enabled()}
"""


def test_tracer_is_disabled_by_the_functions_environment(lambda_invoker, handler_module):
    # Inside an environment LAMBDA_TASK_ROOT is set, so Powertools would trace (and patch
    # botocore for X-Ray, process-wide): tests switch it off with POWERTOOLS_TRACE_DISABLED.
    mod = handler_module(_TRACED)
    fn = lambda_invoker.deploy(f"{mod}.handler", environment=POWERTOOLS)

    cold, warm = fn.invoke({}), fn.invoke({})

    for result in (cold, warm):
        assert result.function_error is None
        assert result.payload == {"work": 2, "service": "payments", "xray_sdk_enabled": False}


# -- batch processing ------------------------------------------------------------------------
_BATCH = """
    import json
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record):
        if json.loads(record.body) < 0:
            raise ValueError(f"negative: {record.body}")

    def handler(event, context):
        return process_partial_response(event=event, record_handler=record_handler,
                                        processor=processor, context=context)
"""


def test_batch_processor_reports_partial_failures(lambda_invoker, handler_module):
    fn = lambda_invoker.deploy(f"{handler_module(_BATCH)}.handler", environment=POWERTOOLS)

    partial = fn.invoke(sqs_event(1, -2, 3, -4))
    clean = fn.invoke(sqs_event(5))

    assert partial.function_error is None
    assert partial.payload == {"batchItemFailures": [{"itemIdentifier": "m-2"},
                                                     {"itemIdentifier": "m-4"}]}
    assert clean.payload == {"batchItemFailures": []}


def test_a_batch_whose_every_record_failed_fails_the_invocation(lambda_invoker, handler_module):
    fn = lambda_invoker.deploy(f"{handler_module(_BATCH)}.handler", environment=POWERTOOLS)

    result = fn.invoke(sqs_event(-1, -2))

    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "BatchProcessingError"
    assert "All records failed processing" in result.payload["errorMessage"]


_ASYNC_BATCH = """
    import asyncio, json
    from aws_lambda_powertools.utilities.batch import (
        AsyncBatchProcessor, EventType, async_process_partial_response)

    processor = AsyncBatchProcessor(event_type=EventType.SQS)
    loops = []

    async def record_handler(record):
        loops.append(asyncio.get_running_loop())
        delay = json.loads(record.body)
        await asyncio.sleep(abs(delay))
        if delay < 0:
            raise ValueError(f"negative: {delay}")

    def handler(event, context):
        return async_process_partial_response(event=event, record_handler=record_handler,
                                              processor=processor, context=context)
"""


def test_async_batch_processor_reuses_its_environments_loop_when_warm(lambda_invoker, handler_module):
    fn = lambda_invoker.deploy(f"{handler_module(_ASYNC_BATCH)}.handler", environment=POWERTOOLS,
                               timeout=90)

    results = [fn.invoke(sqs_event(30, -60, 45)) for _ in range(3)]

    for result in results:
        assert result.function_error is None
        assert result.payload == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
        assert result.duration == pytest.approx(60.0)  # concurrent, in simulated time
    assert [r.cold_start for r in results] == [True, False, False]
    (env,) = fn.environments
    loops = env.module.loops
    assert len(loops) == 9
    # One loop for the life of the environment: the environment's own, never closed between
    # invocations (asyncio.run would close it and break the next warm invocation).
    assert all(loop is env.loop for loop in loops)
    assert not env.loop.is_closed()


@pytest.mark.lambda_cold_start
def test_async_batch_processor_gets_a_new_loop_in_a_new_environment(lambda_invoker, handler_module):
    fn = lambda_invoker.deploy(f"{handler_module(_ASYNC_BATCH)}.handler", environment=POWERTOOLS)

    fn.invoke(sqs_event(1))
    fn.invoke(sqs_event(1))

    first, second = fn.environments
    assert first.module.loops == [first.policy.environment_loop]
    assert second.module.loops == [second.policy.environment_loop]
    assert first.module.loops[0] is not second.module.loops[0]


# -- idempotency -----------------------------------------------------------------------------
_IDEMPOTENT = """
    import os, time, uuid
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer, IdempotencyConfig, idempotent)

    persistence = DynamoDBPersistenceLayer(table_name="idempotency")
    runs = []

    @idempotent(persistence_store=persistence,
                config=IdempotencyConfig(event_key_jmespath="order_id"))
    def handler(event, context):
        runs.append(event)
        time.sleep(event.get("seconds", 1))
        return {"order_id": event["order_id"], "payment_id": uuid.uuid4().hex}
"""


@pytest.fixture
def idempotency_table(lambda_invoker: Any) -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="idempotency", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        yield dynamodb


def _record(table: Any) -> dict[str, Any]:
    (item,) = table.scan(TableName="idempotency")["Items"]
    return item  # type: ignore[no-any-return]


def test_idempotent_handler_returns_the_stored_result_without_running_again(
        idempotency_table, lambda_invoker, handler_module, lambda_clock):
    fn = lambda_invoker.deploy(f"{handler_module(_IDEMPOTENT)}.handler", environment=POWERTOOLS)
    started = lambda_clock.time()

    first = fn.invoke({"order_id": "o-1"})
    again = fn.invoke({"order_id": "o-1", "seconds": 5})
    other = fn.invoke({"order_id": "o-2"})

    assert again.payload == first.payload
    assert other.payload["payment_id"] != first.payload["payment_id"]
    (env,) = fn.environments
    assert [run["order_id"] for run in env.module.runs] == ["o-1", "o-2"]
    assert again.duration < 0.001  # the stored result, without the one-second body
    record = idempotency_table.get_item(TableName="idempotency", Key={"id": _record_key(fn, env, "o-1")})
    assert record["Item"]["status"] == {"S": "COMPLETED"}
    # Records expire an hour (the default) after they were written, on the simulated clock.
    assert int(record["Item"]["expiration"]["N"]) == int(started + 1) + 3600


def _record_key(fn: Any, env: Any, order_id: str) -> dict[str, str]:
    # Powertools' key: "<function name>.<module>.<handler>#<md5 of the key's JSON>".
    digest = hashlib.md5(json.dumps(order_id).encode()).hexdigest()
    return {"S": f"{fn.name}.{env.module.__name__}.handler#{digest}"}


def test_in_progress_record_expires_at_the_invocations_deadline(
        idempotency_table, lambda_invoker, handler_module, lambda_clock):
    fn = lambda_invoker.deploy(f"{handler_module(_IDEMPOTENT)}.handler", environment=POWERTOOLS,
                               timeout=10)
    started = lambda_clock.time()

    stuck = fn.invoke({"order_id": "o-1", "seconds": 60})

    assert stuck.payload["errorType"] == "Sandbox.Timedout"
    record = _record(idempotency_table)
    assert record["status"] == {"S": "INPROGRESS"}
    # From context.get_remaining_time_in_millis() at the start: 10 s, on the simulated clock.
    assert int(record["in_progress_expiration"]["N"]) == int((started + 10) * 1000)

    lambda_clock.advance(1)
    retried = fn.invoke({"order_id": "o-1"})

    assert retried.function_error is None
    assert retried.cold_start  # the timeout reset the environment
    assert _record(idempotency_table)["status"] == {"S": "COMPLETED"}
    assert [run["order_id"] for env in fn.environments for run in env.module.runs] == ["o-1", "o-1"]


def test_a_record_still_in_progress_elsewhere_is_refused_until_it_expires(
        idempotency_table, lambda_invoker, handler_module, lambda_clock):
    fn = lambda_invoker.deploy(f"{handler_module(_IDEMPOTENT)}.handler", environment=POWERTOOLS)
    fn.invoke({"order_id": "warm-up"})
    (env,) = fn.environments
    now = lambda_clock.time()
    # Another invocation, somewhere else, took order o-1 and has 30 s left.
    idempotency_table.put_item(TableName="idempotency", Item={
        "id": _record_key(fn, env, "o-1"), "status": {"S": "INPROGRESS"},
        "expiration": {"N": str(int(now) + 3600)},
        "in_progress_expiration": {"N": str(int((now + 30) * 1000))}})

    refused = fn.invoke({"order_id": "o-1"})
    lambda_clock.advance(29)
    still_refused = fn.invoke({"order_id": "o-1"})
    lambda_clock.advance(2)
    taken_over = fn.invoke({"order_id": "o-1"})

    for result in (refused, still_refused):
        assert result.function_error == "Unhandled"
        assert result.payload["errorType"] == "IdempotencyAlreadyInProgressError"
    assert taken_over.function_error is None
    assert [run["order_id"] for run in env.module.runs] == ["warm-up", "o-1"]
