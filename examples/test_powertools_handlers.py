"""Handlers written with aws-lambda-powertools, tested unmodified (see powertools_app.py).

Powertools is configured as on AWS, by the function's environment variables: the service
name, and tracing switched off (there is no X-Ray daemon in a test; `Tracer` still needs
aws-xray-sdk installed: `pip install "aws-lambda-powertools[tracer]"`). Each invocation's
`log_result` holds Powertools' JSON log lines, with the Lambda context's fields in them.
"""

import json
import sys

import boto3
import pytest
from moto import mock_aws

POWERTOOLS = {"POWERTOOLS_SERVICE_NAME": "payments", "POWERTOOLS_TRACE_DISABLED": "true",
              "IDEMPOTENCY_TABLE": "idempotency", "PAYMENTS_TABLE": "payments"}


@pytest.fixture(scope="module", autouse=True)
def _close_xray_socket():
    """Close the UDP socket aws-xray-sdk's global recorder opens (Powertools' Tracer makes one).

    Nothing closes it, so at interpreter exit Python 3.10 prints an unclosed-socket
    ResourceWarning after the run's results."""
    yield
    recorder = sys.modules.get("aws_xray_sdk.core")
    emitter = getattr(getattr(recorder, "xray_recorder", None), "_emitter", None)
    sock = getattr(emitter, "_socket", None)
    if sock is not None:
        sock.close()


def log_lines(result):
    """Powertools' structured lines in an invocation's log (the platform's lines are text)."""
    return [json.loads(line) for line in result.log_result.splitlines() if line.startswith("{")]


def sqs_event(*payments):
    return {"Records": [
        {"messageId": f"m-{n}", "receiptHandle": f"r-{n}", "body": json.dumps(payment),
         "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0",
                        "SenderId": "sender", "ApproximateFirstReceiveTimestamp": "0"},
         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:payments",
         "awsRegion": "us-east-1"}
        for n, payment in enumerate(payments, 1)]}


def test_log_lines_carry_the_lambda_context(lambda_invoker):
    api = lambda_invoker.deploy("powertools_app.handler", name="payments-api", environment=POWERTOOLS)

    cold = api.invoke({"order_id": "o-1"})
    warm = api.invoke({"order_id": "o-2"})

    assert cold.payload["statusCode"] == 202
    (first,) = log_lines(cold)
    assert first["message"] == "payment requested"
    assert first["service"] == "payments"
    assert first["order_id"] == "o-1"
    assert first["function_name"] == "payments-api"
    assert first["function_request_id"] == cold.request_id
    assert first["cold_start"] is True
    (second,) = log_lines(warm)  # a warm invocation's lines land in its own log
    assert (second["function_request_id"], second["cold_start"]) == (warm.request_id, False)


def test_sqs_batch_reports_only_the_failed_records(lambda_invoker):
    batch = lambda_invoker.deploy("powertools_app.process_payments", environment=POWERTOOLS)

    result = batch.invoke(sqs_event({"order_id": "o-1", "amount": 10},
                                    {"order_id": "o-2", "amount": 0},
                                    {"order_id": "o-3", "amount": 5}))

    assert result.function_error is None
    assert result.payload == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert [line["order_id"] for line in log_lines(result) if line["message"] == "paid"] == ["o-1", "o-3"]


def test_async_batch_runs_records_concurrently_in_virtual_time(lambda_invoker):
    batch = lambda_invoker.deploy("powertools_app.process_payments_async", environment=POWERTOOLS)
    payments = [{"order_id": f"o-{n}", "amount": n % 4} for n in range(1, 9)]

    cold = batch.invoke(sqs_event(*payments))
    warm = batch.invoke(sqs_event(*payments))  # the same environment, its loop reused

    for result in (cold, warm):
        # Failures are listed as the records finish; concurrent records finish in any order.
        failed = sorted(item["itemIdentifier"] for item in result.payload["batchItemFailures"])
        assert failed == ["m-4", "m-8"]
        assert result.duration == pytest.approx(1.0)  # 8 one-second payments, side by side
    assert (cold.cold_start, warm.cold_start) == (True, False)
    assert warm.environment_id == cold.environment_id


@pytest.fixture
def tables(lambda_invoker):
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="idempotency", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        dynamodb.create_table(
            TableName="payments", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "payment_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "payment_id", "AttributeType": "S"}])
        yield dynamodb


def test_a_repeated_charge_returns_the_stored_result(tables, lambda_invoker):
    charge = lambda_invoker.deploy("powertools_app.charge", environment=POWERTOOLS)

    first = charge.invoke({"order_id": "o-1"})
    again = charge.invoke({"order_id": "o-1"})

    assert first.function_error is None
    assert again.payload == first.payload
    assert "charging the card" not in again.log_result  # the body did not run
    assert tables.scan(TableName="payments")["Count"] == 1


def test_a_charge_that_timed_out_runs_again_once_its_record_expires(tables, lambda_invoker, lambda_clock):
    charge = lambda_invoker.deploy("powertools_app.charge", environment=POWERTOOLS, timeout=3)
    started = lambda_clock.time()

    stuck = charge.invoke({"order_id": "o-1", "gateway_seconds": 60})

    assert stuck.payload["errorType"] == "Sandbox.Timedout"
    (record,) = tables.scan(TableName="idempotency")["Items"]
    assert record["status"] == {"S": "INPROGRESS"}
    # Powertools held the record until the invocation's deadline, which it read from
    # context.get_remaining_time_in_millis(): 3 s after the start, on the simulated clock.
    assert int(record["in_progress_expiration"]["N"]) == int((started + 3) * 1000)

    lambda_clock.advance(1)
    retried = charge.invoke({"order_id": "o-1"})

    assert retried.function_error is None
    assert "charging the card" in retried.log_result
    assert tables.scan(TableName="payments")["Count"] == 1
