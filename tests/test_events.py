"""The event factories: defaults, overrides, consistency between fields, usage errors, response
helpers, the `lambda_events` fixture, and the moto bridge delivering the factories' shapes."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_support import Clients
from moto import mock_aws

from pytest_lambda_async import LambdaUsageError, events
from pytest_lambda_async.events import Events


# -- HTTP ------------------------------------------------------------------------------------------
def test_api_gateway_v1_keeps_single_and_multi_value_fields_consistent():
    event = events.api_gateway_v1("GET", "/items", query="tag=a&tag=b&page=1",
                                  headers={"Accept": ["text/html", "application/json"]})
    assert event["queryStringParameters"] == {"tag": "b", "page": "1"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "page": ["1"]}
    assert event["headers"]["Accept"] == "application/json"
    assert event["multiValueHeaders"]["Accept"] == ["text/html", "application/json"]
    assert all(event["headers"][k] == v[-1] for k, v in event["multiValueHeaders"].items())
    empty = events.api_gateway_v1()
    assert (empty["queryStringParameters"], empty["multiValueQueryStringParameters"],
            empty["pathParameters"], empty["body"]) == (None, None, None, None)


def test_a_header_given_in_other_case_replaces_the_default():
    event = events.api_gateway_v1(headers={"user-agent": "mine"})
    assert [k for k in event["headers"] if k.lower() == "user-agent"] == ["user-agent"]
    assert event["requestContext"]["identity"]["userAgent"] == "mine"


@pytest.mark.parametrize("factory", [events.api_gateway_v1, events.api_gateway_v2,
                                     events.function_url, events.alb])
def test_bodies_json_text_and_binary(factory):
    as_json = factory("POST", body={"a": 1})
    assert (json.loads(as_json["body"]), as_json["isBase64Encoded"]) == ({"a": 1}, False)
    headers = as_json.get("headers") or {}
    assert {k.lower(): v for k, v in headers.items()}["content-type"] == "application/json"
    binary = factory("POST", body=b"\x00\xff")
    assert (base64.b64decode(binary["body"]), binary["isBase64Encoded"]) == (b"\x00\xff", True)
    text = factory("POST", body="plain", headers={"Content-Type": "text/plain"})
    assert (text["body"], text["isBase64Encoded"]) == ("plain", False)


def test_http_api_v2_joins_repeated_values_with_commas_and_lowercases_names():
    event = events.api_gateway_v2("GET", "/p", query={"a": ["1", "2"]},
                                  headers={"X-Multi": ["x", "y"]}, cookies=["s=1"],
                                  route_key="GET /p", path_parameters={"id": "7"})
    assert (event["rawQueryString"], event["queryStringParameters"]) == ("a=1&a=2", {"a": "1,2"})
    assert event["headers"]["x-multi"] == "x,y"
    assert event["cookies"] == ["s=1"]
    assert (event["routeKey"], event["requestContext"]["routeKey"]) == ("GET /p", "GET /p")
    assert event["pathParameters"] == {"id": "7"}
    assert "body" not in events.api_gateway_v2()


def test_claims_become_the_authorizer_context():
    v1 = events.api_gateway_v1(claims={"sub": "u-1", "email": "a@example.com"})
    assert v1["requestContext"]["authorizer"] == {"claims": {"sub": "u-1", "email": "a@example.com"}}
    v2 = events.api_gateway_v2(claims={"sub": "u-1"}, scopes=["read"])
    assert v2["requestContext"]["authorizer"] == {"jwt": {"claims": {"sub": "u-1"},
                                                          "scopes": ["read"]}}
    assert "authorizer" not in events.function_url()["requestContext"]
    iam = events.function_url(iam={"userId": "AIDAEXAMPLE"})["requestContext"]["authorizer"]["iam"]
    assert iam["userId"] == "AIDAEXAMPLE" and iam["accountId"] == "123456789012"


def test_overrides_replace_fields_by_their_aws_name():
    event = events.api_gateway_v1(stageVariables={"env": "test"})
    assert event["stageVariables"] == {"env": "test"}
    (record,) = events.sqs("x", messageId="fixed-id")["Records"]
    assert record["messageId"] == "fixed-id"
    (sns,) = events.sns("x", Subject="from override", EventVersion="2.0")["Records"]
    assert (sns["Sns"]["Subject"], sns["EventVersion"]) == ("from override", "2.0")


# -- usage errors ----------------------------------------------------------------------------------
def test_an_unknown_override_names_the_field_and_the_valid_ones():
    with pytest.raises(LambdaUsageError) as caught:
        events.api_gateway_v1(bdy="x")
    message = str(caught.value)
    assert message.startswith("events.api_gateway_v1(): 'bdy' is not a keyword of this factory "
                              "nor a field of the event it builds.")
    assert "body" in message and "requestContext" in message


def test_a_body_that_cannot_be_encoded_names_the_field():
    with pytest.raises(LambdaUsageError, match=r"events\.api_gateway_v2\(\): body cannot be "
                       r"encoded: Object of type object is not JSON serializable"):
        events.api_gateway_v2(body={"x": object()})
    with pytest.raises(LambdaUsageError, match=r"events\.sqs\(\): body is bytes"):
        events.sqs(b"raw")
    with pytest.raises(LambdaUsageError, match=r"body cannot be encoded: Out of range float"):
        events.alb(body={"x": float("nan")})


def test_a_fifo_attribute_on_a_standard_queue_is_refused():
    with pytest.raises(LambdaUsageError) as caught:
        events.sqs("x", queue="orders", message_group_id="g")
    assert str(caught.value) == (
        "events.sqs(): message_group_id is set, but queue 'orders' is a standard queue.\n"
        "  Fix: FIFO queue names end in '.fifo': use queue='orders.fifo', or drop message_group_id.")
    with pytest.raises(LambdaUsageError, match="message_deduplication_id is set"):
        events.sqs("x", message_deduplication_id="d")


def test_other_usage_errors_name_their_field():
    cases = [
        (lambda: events.sqs(), "bodies are missing"),
        (lambda: events.s3(event_name="ObjectCreated"), "event_name is 'ObjectCreated'"),
        (lambda: events.dynamodb_record("INSERT", keys=["id"]), "new_image is missing"),
        (lambda: events.dynamodb_record("INSERT", keys=["nope"], new_image={"id": 1}),
         "keys names \\['nope'\\]"),
        (lambda: events.dynamodb_record("REMOVE", keys=["id"], old_image={"id": 1},
                                        new_image={"id": 1}), "new_image is set"),
        (lambda: events.dynamodb_record("INSERT", keys=["id"], new_image={"id": object()}),
         "new_image\\['id'\\] is object"),
        (lambda: events.dynamodb_record("INSERT", keys=["id"], new_image={"id": set()}),
         "empty set"),
        (lambda: events.api_gateway_v1(headers={"A": 1}), "headers\\['A'\\] is 1"),
        (lambda: events.api_gateway_v1(query={"q": 1}), "query\\['q'\\] is 1"),
        (lambda: events.eventbridge([1]), "detail is list"),
        (lambda: events.cloudformation_custom_resource("Create", physical_resource_id="x"),
         "physical_resource_id is set"),
        (lambda: events.kinesis(), "data is missing"),
        (lambda: events.cognito("PreSignUp"), "trigger_source is 'PreSignUp'"),
        (lambda: events.cognito("PostConfirmation_ConfirmSignUp", groups=["g"]), "groups is set"),
        (lambda: events.cognito("CustomMessage_SignUp", validation_data={}),
         "validation_data is set"),
        (lambda: events.batch_item_failures({"x": 1}), "not an SQS, Kinesis or DynamoDB"),
    ]
    for call, message in cases:
        with pytest.raises(LambdaUsageError, match=message):
            call()


# -- messaging and streams -------------------------------------------------------------------------
def test_sqs_batch_has_one_record_per_body_with_its_md5():
    batch = events.sqs({"n": 1}, "two", queue="jobs")["Records"]
    assert [r["body"] for r in batch] == ['{"n": 1}', "two"]
    assert [r["md5OfBody"] for r in batch] == [hashlib.md5(r["body"].encode()).hexdigest()
                                              for r in batch]
    assert len({r["messageId"] for r in batch}) == 2
    assert batch[0]["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:jobs"
    assert "md5OfMessageAttributes" not in batch[0]


def test_sqs_fifo_records_carry_group_deduplication_and_increasing_sequence():
    batch = events.sqs("a", "b", queue="jobs.fifo", message_group_id="g1")["Records"]
    attributes = [r["attributes"] for r in batch]
    assert [a["MessageGroupId"] for a in attributes] == ["g1", "g1"]
    assert [a["MessageDeduplicationId"] for a in attributes] == [
        hashlib.sha256(b).hexdigest() for b in (b"a", b"b")]  # content-based deduplication
    first, second = (int(a["SequenceNumber"]) for a in attributes)
    assert first < second


def test_dynamodb_images_are_typed_and_the_view_type_decides_which_are_sent():
    from decimal import Decimal

    image = {"id": "1", "n": 3, "f": 1.5, "d": Decimal("2.50"), "ok": True, "none": None,
             "b": b"\x01", "ss": {"b", "a"}, "ns": {2, 1}, "l": [1, "x"], "m": {"k": "v"}}
    record = events.dynamodb_record("MODIFY", keys=["id"], new_image=image,
                                    old_image={"id": "1"})
    assert record["dynamodb"]["NewImage"] == {
        "id": {"S": "1"}, "n": {"N": "3"}, "f": {"N": "1.5"}, "d": {"N": "2.50"},
        "ok": {"BOOL": True}, "none": {"NULL": True}, "b": {"B": "AQ=="},
        "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]},
        "l": {"L": [{"N": "1"}, {"S": "x"}]}, "m": {"M": {"k": {"S": "v"}}}}
    assert record["dynamodb"]["Keys"] == {"id": {"S": "1"}}
    keys_only = events.dynamodb_record("MODIFY", keys=["id"], new_image=image,
                                       old_image={"id": "1"}, stream_view_type="KEYS_ONLY")
    assert "NewImage" not in keys_only["dynamodb"] and "OldImage" not in keys_only["dynamodb"]
    batch = events.dynamodb(record, keys_only)["Records"]
    assert int(batch[0]["dynamodb"]["SequenceNumber"]) < int(batch[1]["dynamodb"]["SequenceNumber"])


def test_kinesis_data_is_base64_of_bytes_text_or_json():
    records = events.kinesis(b"\x00", "text", {"a": 1}, partition_key="pk")["Records"]
    assert [base64.b64decode(r["kinesis"]["data"]) for r in records] == [
        b"\x00", b"text", b'{"a": 1}']
    assert {r["kinesis"]["partitionKey"] for r in records} == {"pk"}


def test_cloudwatch_logs_data_is_gzipped_json():
    event = Events(account_id="210987654321").cloudwatch_logs("one", "two", log_group="/g")
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    assert (data["messageType"], data["owner"], data["logGroup"]) == (
        "DATA_MESSAGE", "210987654321", "/g")
    assert [e["message"] for e in data["logEvents"]] == ["one", "two"]


def test_s3_keys_are_url_encoded_as_s3_sends_them():
    (record,) = events.s3("photos/summer 2024/a+b.jpg", content=b"12345")["Records"]
    assert record["s3"]["object"]["key"] == "photos/summer+2024/a%2Bb.jpg"
    assert (record["s3"]["object"]["size"], record["s3"]["object"]["eTag"]) == (
        5, hashlib.md5(b"12345").hexdigest())


# -- responses -------------------------------------------------------------------------------------
def test_response_helpers():
    assert events.api_gateway_response(201, {"id": 1}) == {
        "statusCode": 201, "headers": {"Content-Type": "application/json"},
        "body": '{"id": 1}', "isBase64Encoded": False}
    assert events.http_api_response(200, b"\x01", cookies=["a=1"]) == {
        "statusCode": 200, "headers": {}, "cookies": ["a=1"], "body": "AQ==",
        "isBase64Encoded": True}
    assert events.function_url_response is events.http_api_response
    assert events.alb_response(404, "missing", headers={"X-A": ["1", "2"]}) == {
        "statusCode": 404, "statusDescription": "404 Not Found", "headers": {"X-A": "2"},
        "body": "missing", "isBase64Encoded": False}
    assert events.alb_response(200, multi_value_headers=True, headers={"X-A": ["1", "2"]})[
        "multiValueHeaders"] == {"X-A": ["1", "2"]}
    batch = events.sqs("a", "b")["Records"]
    assert events.batch_item_failures(batch[1], "other-id") == {"batchItemFailures": [
        {"itemIdentifier": batch[1]["messageId"]}, {"itemIdentifier": "other-id"}]}
    assert events.batch_item_failures() == {"batchItemFailures": []}
    assert events.json_body(events.api_gateway_v1(body=b'{"a": 1}')) == {"a": 1}


# -- the fixture -----------------------------------------------------------------------------------
def test_lambda_events_uses_the_function_settings_and_the_simulated_clock(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.lambda_function(name="orders", region="eu-west-1", account_id="210987654321")
        def test_events(lambda_events, lambda_clock):
            lambda_clock.advance(3600)
            (record,) = lambda_events.sqs("x", queue="q")["Records"]
            assert record["eventSourceARN"] == "arn:aws:sqs:eu-west-1:210987654321:q"
            assert record["attributes"]["SentTimestamp"] == str(round(lambda_clock.time() * 1000))
            event = lambda_events.cloudformation_custom_resource()
            assert event["ServiceToken"] == "arn:aws:lambda:eu-west-1:210987654321:function:orders"
            assert lambda_events.scheduled_event()["time"] == lambda_clock.now().strftime(
                "%Y-%m-%dT%H:%M:%SZ")
    """)
    pytester.runpytest_subprocess("-p", "no:randomly", timeout=120).assert_outcomes(passed=1)


# -- one source of truth with the moto bridge ------------------------------------------------------
def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


@pytest.fixture
def aws() -> Iterator[Clients]:
    with mock_aws():
        yield Clients()


def test_the_bridge_delivers_records_of_the_factories_shape(aws, lambda_invoker, lambda_events):
    arn = aws.create_function("subscriber", "aws_handlers.echo")
    url, queue_arn = aws.queue("jobs")
    aws.lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=arn, BatchSize=1)
    aws.sqs.send_message(QueueUrl=url, MessageBody="hello", MessageAttributes={
        "n": {"DataType": "Number", "StringValue": "1"}})
    topic = aws.sns.create_topic(Name="news")["TopicArn"]
    aws.sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    aws.sns.publish(TopicArn=topic, Message="hi", MessageAttributes={
        "k": {"DataType": "String", "StringValue": "v"}})
    aws.s3.create_bucket(Bucket="photos")
    aws.s3.put_bucket_notification_configuration(Bucket="photos", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    aws.s3.put_object(Bucket="photos", Key="a.jpg", Body=b"jpg")
    lambda_clock_events = [o.event for o in lambda_invoker.run_until_idle()]
    sqs_event = next(r.payload["echo"] for r in lambda_invoker.function_for_arn(arn).invocations
                     if r.payload["echo"]["Records"][0].get("eventSource") == "aws:sqs")
    delivered = {
        "sqs": sqs_event,
        "sns": next(e for e in lambda_clock_events if "Sns" in e["Records"][0]),
        "s3": next(e for e in lambda_clock_events if "s3" in e["Records"][0]),
    }
    built = {
        "sqs": lambda_events.sqs("hello", queue="jobs", message_attributes={"n": 1}),
        "sns": lambda_events.sns("hi", topic="news", message_attributes={"k": "v"}),
        "s3": lambda_events.s3("a.jpg", bucket="photos", content=b"jpg"),
    }
    for source, event in delivered.items():
        assert _shape(event) == _shape(built[source]), source
        assert list(event["Records"][0]) == list(built[source]["Records"][0]), source
    (sqs,) = delivered["sqs"]["Records"]
    (mine,) = built["sqs"]["Records"]
    assert sqs["md5OfMessageAttributes"] == mine["md5OfMessageAttributes"]  # moto's == ours


def test_ids_are_version_4_uuids():
    import uuid

    from pytest_lambda_async.events._base import uuid4

    for _ in range(200):
        text = uuid4()
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)
