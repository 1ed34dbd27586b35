"""Event sources invoke with AWS's event shapes: SNS, S3 and EventBridge asynchronously, through
the queue; an SQS event source mapping polls on the simulated clock."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from aws_support import REGION, Clients
from moto import mock_aws

ACCOUNT = "123456789012"


@pytest.fixture
def aws() -> Iterator[Clients]:
    with mock_aws():
        yield Clients()


def test_sns_publish_invokes_the_subscriber_later_with_the_sns_event(aws, lambda_invoker):
    arn = aws.create_function("subscriber", "aws_handlers.echo")
    topic = aws.sns.create_topic(Name="orders")["TopicArn"]
    subscription = aws.sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)[
        "SubscriptionArn"]
    message_id = aws.sns.publish(
        TopicArn=topic, Message="order 42", Subject="new order",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "retail"}})["MessageId"]
    assert lambda_invoker.function_for_arn(arn).invocations == []  # not inside publish

    (outcome,) = lambda_invoker.run_until_idle()
    (record,) = outcome.event["Records"]
    assert (record["EventSource"], record["EventVersion"]) == ("aws:sns", "1.0")
    assert record["EventSubscriptionArn"] == subscription
    sns = record["Sns"]
    assert (sns["TopicArn"], sns["MessageId"], sns["Message"], sns["Subject"]) == (
        topic, message_id, "order 42", "new order")
    assert sns["MessageAttributes"] == {"kind": {"Type": "String", "Value": "retail"}}
    assert sns["Type"] == "Notification"


def test_sns_filter_policy_applies(aws, lambda_invoker):
    arn = aws.create_function("subscriber", "aws_handlers.echo")
    topic = aws.sns.create_topic(Name="orders")["TopicArn"]
    aws.sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn, Attributes={
        "FilterPolicy": json.dumps({"kind": ["retail"]})})
    for kind in ("retail", "wholesale"):
        aws.sns.publish(TopicArn=topic, Message=kind, MessageAttributes={
            "kind": {"DataType": "String", "StringValue": kind}})
    assert [o.event["Records"][0]["Sns"]["Message"]
            for o in lambda_invoker.run_until_idle()] == ["retail"]


def test_sns_handler_failures_are_retried_and_never_reach_publish(aws, lambda_invoker):
    arn = aws.create_function("fail", "aws_handlers.fail")
    topic = aws.sns.create_topic(Name="t")["TopicArn"]
    aws.sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    aws.sns.publish(TopicArn=topic, Message="x")  # no exception here
    (outcome,) = lambda_invoker.run_until_idle()
    assert (outcome.condition, outcome.attempts) == ("RetriesExhausted", 3)


def test_s3_put_object_invokes_with_the_s3_event(aws, lambda_invoker):
    arn = aws.create_function("thumbs", "aws_handlers.echo")
    aws.s3.create_bucket(Bucket="photos")
    aws.s3.put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"Id": "new-photo", "LambdaFunctionArn": arn,
                                          "Events": ["s3:ObjectCreated:*"]}]})
    aws.s3.put_object(Bucket="photos", Key="red flower.jpg", Body=b"12345")
    aws.s3.put_object(Bucket="photos", Key="b.jpg", Body=b"1")
    assert lambda_invoker.function_for_arn(arn).invocations == []

    first, second = lambda_invoker.run_until_idle()
    (record,) = first.event["Records"]
    assert list(record) == ["eventVersion", "eventSource", "awsRegion", "eventTime", "eventName",
                            "userIdentity", "requestParameters", "responseElements", "s3"]
    assert (record["eventVersion"], record["eventSource"], record["eventName"]) == (
        "2.1", "aws:s3", "ObjectCreated:Put")
    s3 = record["s3"]
    assert s3["configurationId"] == "new-photo"
    assert s3["bucket"]["name"] == "photos" and s3["bucket"]["arn"] == "arn:aws:s3:::photos"
    assert (s3["object"]["key"], s3["object"]["size"]) == ("red+flower.jpg", 5)
    later = second.event["Records"][0]["s3"]["object"]["sequencer"]
    assert later > s3["object"]["sequencer"]


def test_eventbridge_rule_with_a_lambda_target(aws, lambda_invoker):
    arn = aws.create_function("on-order", "aws_handlers.echo")
    url, queue_arn = aws.queue("also")
    aws.events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    aws.events.put_targets(Rule="orders", Targets=[{"Id": "fn", "Arn": arn},
                                                   {"Id": "q", "Arn": queue_arn}])
    aws.events.put_rule(Name="only-detail", EventPattern=json.dumps({"source": ["shop"]}))
    aws.events.put_targets(Rule="only-detail", Targets=[
        {"Id": "fn", "Arn": arn, "InputPath": "$.detail"}])
    aws.events.put_rule(Name="off", EventPattern=json.dumps({"source": ["shop"]}),
                        State="DISABLED")
    aws.events.put_targets(Rule="off", Targets=[{"Id": "fn", "Arn": arn}])
    aws.events.put_events(Entries=[{"Source": "shop", "DetailType": "OrderPlaced",
                                    "Detail": json.dumps({"order": 42})}])
    assert len(aws.receive(url)) == 1  # other targets still get it from moto

    events = sorted((o.event for o in lambda_invoker.run_until_idle()), key=len)
    assert events[0] == {"order": 42}
    envelope = events[1]
    assert list(envelope) == ["version", "id", "detail-type", "source", "account", "time",
                              "region", "resources", "detail"]
    assert (envelope["source"], envelope["detail-type"], envelope["account"],
            envelope["region"]) == ("shop", "OrderPlaced", ACCOUNT, REGION)
    assert envelope["time"].endswith("Z") and envelope["detail"] == {"order": 42}
    assert len(events) == 2  # the disabled rule did not fire


def test_sqs_event_source_mapping_batches_and_reports_item_failures(aws, lambda_invoker):
    dlq_url, dlq_arn = aws.queue("jobs-dlq")
    url, queue_arn = aws.queue("jobs", VisibilityTimeout="30", RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
    aws.create_function("worker", "aws_handlers.sqs_batch")
    aws.lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="worker",
                                        BatchSize=2,
                                        FunctionResponseTypes=["ReportBatchItemFailures"])
    for body in ("good1", "bad1", "good2"):
        aws.sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
            "origin": {"DataType": "String", "StringValue": "test"}})
    fn = lambda_invoker.function_for_arn(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker")
    assert fn.invocations == []  # nothing polled inside send_message

    start = lambda_invoker.clock.time()
    lambda_invoker.run_until_idle()
    seen = [result.payload["seen"] for result in fn.invocations]
    # Batches of 2; bad1 fails and shows again after the 30 s visibility timeout with its
    # receive count raised; after maxReceiveCount (2) the queue's redrive moves it to the DLQ.
    assert seen == [[["good1", "1"], ["bad1", "1"]], [["good2", "1"]], [["bad1", "2"]]]
    assert lambda_invoker.clock.time() - start >= 60
    (dead,) = aws.receive(dlq_url)
    assert dead["Body"] == "bad1"
    assert aws.receive(url) == []


def test_sqs_event_source_mapping_record_shape(aws, lambda_invoker):
    url, queue_arn = aws.queue("shape")
    seen = []

    def handler(event, context):
        seen.extend(event["Records"])

    lambda_invoker.deploy(handler, name="shape")
    aws.lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="shape")
    aws.sqs.send_message(QueueUrl=url, MessageBody="hello", MessageAttributes={
        "origin": {"DataType": "String", "StringValue": "test"}})
    lambda_invoker.run_until_idle()
    (record,) = seen
    assert record["body"] == "hello"
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == (
        "aws:sqs", queue_arn, REGION)
    assert record["messageAttributes"] == {"origin": {
        "stringValue": "test", "stringListValues": [], "binaryListValues": [],
        "dataType": "String"}}
    assert set(record["attributes"]) >= {"ApproximateReceiveCount", "SentTimestamp", "SenderId",
                                         "ApproximateFirstReceiveTimestamp"}
    assert all(isinstance(v, str) for v in record["attributes"].values())
    assert aws.receive(url) == []  # deleted after success


def test_sqs_whole_batch_fails_without_partial_responses(aws, lambda_invoker, lambda_clock):
    url, queue_arn = aws.queue("all-or-nothing", VisibilityTimeout="10")
    aws.create_function("worker", "aws_handlers.sqs_fail_all")
    aws.lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="worker")
    aws.sqs.send_message(QueueUrl=url, MessageBody="a")
    aws.sqs.send_message(QueueUrl=url, MessageBody="b")
    # Without a redrive policy the batch keeps coming back: drain, then watch the clock.
    lambda_invoker.run_until_idle()
    fn = lambda_invoker.function_for_arn(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker")
    assert len(fn.invocations) == 1
    lambda_clock.advance(25)
    assert len(fn.invocations) == 3  # after 10 s and 20 s
    aws.lam.delete_event_source_mapping(UUID=aws.lam.list_event_source_mappings()[
        "EventSourceMappings"][0]["UUID"])
    lambda_clock.advance(60)
    assert len(fn.invocations) == 3  # a deleted mapping stops polling


def test_messages_waiting_before_the_mapping_is_created_are_polled(aws, lambda_invoker):
    url, queue_arn = aws.queue("backlog")
    aws.sqs.send_message(QueueUrl=url, MessageBody="early")
    aws.create_function("worker", "aws_handlers.sqs_batch")
    aws.lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="worker")
    lambda_invoker.run_until_idle()
    fn = lambda_invoker.function_for_arn(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker")
    assert fn.invocations[0].payload["seen"] == [["early", "1"]]
