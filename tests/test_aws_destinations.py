"""Destinations and DLQs given as ARNs of moto resources deliver into those resources."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from aws_support import REGION, Clients
from moto import mock_aws

ACCOUNT = "123456789012"


@pytest.fixture
def aws() -> Iterator[Clients]:
    with mock_aws():
        yield Clients()


def boom(event, context):
    raise ValueError("boom")


def test_sqs_destination_receives_the_record(aws, lambda_invoker):
    url, arn = aws.queue("results")
    fn = lambda_invoker.deploy(lambda event, context: {"ok": event["n"]}, name="ok", on_success=arn)
    accepted = fn.invoke_async({"n": 7})
    lambda_invoker.run_until_idle()
    (record,) = aws.receive_json(url)
    assert record["requestContext"] == {
        "requestId": accepted.request_id, "functionArn": fn.settings.qualified_arn,
        "condition": "Success", "approximateInvokeCount": 1}
    assert record["requestPayload"] == {"n": 7}
    assert record["responsePayload"] == {"ok": 7}
    assert lambda_invoker.sink_for_arn(arn).undelivered == 0


def test_sns_destination_publishes_the_record(aws, lambda_invoker):
    topic, url = aws.topic_into_queue("failures", "from-topic")
    lambda_invoker.deploy(boom, maximum_retry_attempts=0, on_failure=topic)
    aws.lam.invoke(FunctionName="boom", InvocationType="Event", Payload=b'{"k": 1}')
    lambda_invoker.run_until_idle()
    (record,) = aws.receive_json(url)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["responsePayload"]["errorMessage"] == "boom"


def test_sns_dead_letter_topic_keeps_the_message_attributes(aws, lambda_invoker):
    topic, url = aws.topic_into_queue("dlq-topic", "from-dlq-topic")
    lambda_invoker.deploy(boom, maximum_retry_attempts=0, dead_letter_target=topic)
    aws.lam.invoke(FunctionName="boom", InvocationType="Event", Payload=b'{"k": 1}')
    lambda_invoker.run_until_idle()
    (message,) = aws.receive(url)
    assert json.loads(message["Body"]) == {"k": 1}
    assert message["MessageAttributes"]["ErrorMessage"]["StringValue"] == "boom"


def test_eventbridge_destination_puts_the_event_and_rules_route_it(aws, lambda_invoker):
    bus = aws.events.create_event_bus(Name="results")["EventBusArn"]
    url, queue_arn = aws.queue("routed")
    aws.events.put_rule(Name="failures", EventBusName="results", EventPattern=json.dumps(
        {"detail-type": ["Lambda Function Invocation Result - Failure"]}))
    aws.events.put_targets(Rule="failures", EventBusName="results",
                           Targets=[{"Id": "q", "Arn": queue_arn}])
    fn = lambda_invoker.deploy(boom, maximum_retry_attempts=0, on_failure=bus)
    fn.invoke_async({"k": 2})
    lambda_invoker.run_until_idle()
    (event,) = aws.receive_json(url)
    assert event["source"] == "lambda"
    assert event["resources"] == [bus, fn.settings.qualified_arn]
    assert event["detail"]["requestContext"]["condition"] == "RetriesExhausted"
    assert event["detail"]["requestPayload"] == {"k": 2}


def test_s3_destination_stores_the_record_under_aws_key_layout(aws, lambda_invoker):
    aws.s3.create_bucket(Bucket="failed-events")
    fn = lambda_invoker.deploy(boom, maximum_retry_attempts=0,
                               on_failure="arn:aws:s3:::failed-events")
    fn.invoke_async({"k": 3})
    lambda_invoker.run_until_idle()
    (obj,) = aws.s3.list_objects_v2(Bucket="failed-events")["Contents"]
    day = lambda_invoker.clock.now()
    assert re.fullmatch(
        rf"aws/lambda/async/boom/{day:%Y/%m/%d}/{day:%Y-%m-%d}T\d\d\.\d\d\.\d\d-[0-9a-f-]{{36}}",
        obj["Key"])
    record = json.loads(aws.s3.get_object(Bucket="failed-events", Key=obj["Key"])["Body"].read())
    assert record["requestPayload"] == {"k": 3}


def test_lambda_destination_invokes_the_function_asynchronously(aws, lambda_invoker):
    aws.create_function("audit", "aws_handlers.echo")
    lambda_invoker.deploy(boom, maximum_retry_attempts=0,
                          on_failure=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:audit")
    aws.lam.invoke(FunctionName="boom", InvocationType="Event", Payload=b'{"k": 4}')
    outcomes = lambda_invoker.run_until_idle()
    assert [(o.function_name, o.condition) for o in outcomes] == [
        ("boom", "RetriesExhausted"), ("audit", "Success")]
    assert outcomes[1].event["requestPayload"] == {"k": 4}


def test_a_missing_resource_is_counted_as_undelivered(aws, lambda_invoker):
    missing = f"arn:aws:sqs:{REGION}:{ACCOUNT}:no-such-queue"
    fn = lambda_invoker.deploy(boom, maximum_retry_attempts=0, on_failure=missing)
    fn.invoke_async({})
    lambda_invoker.run_until_idle()
    sink = lambda_invoker.sink_for_arn(missing)
    assert (len(sink.records), sink.undelivered) == (1, 1)
