"""Events as AWS sends them, from `lambda_events` (or `pytest_lambda_async.events`): one short
test per event source, each invoking a deployed handler with the factory's event."""

from __future__ import annotations

import base64
import json

from pytest_lambda_async import events


# -- handlers -----------------------------------------------------------------------------------
async def get_order(event, context):
    order_id = event["pathParameters"]["id"]
    user = event["requestContext"]["authorizer"]["claims"]["sub"]
    return events.api_gateway_response(200, {"id": order_id, "user": user})


def create_order(event, context):
    body = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"]
    return events.http_api_response(201, json.loads(body), cookies=["seen=1"])


def health(event, context):
    return events.alb_response(200, "ok", headers={"Content-Type": "text/plain"})


def process_jobs(event, context):
    failed = [r for r in event["Records"] if json.loads(r["body"]).get("bad")]
    return events.batch_item_failures(*failed)


def first_record(event, context):
    return event["Records"][0]


def echo(event, context):
    return event


def auto_confirm(event, context):
    if event["request"]["userAttributes"]["email"].endswith("@example.com"):
        event["response"]["autoConfirmUser"] = True
    return event


# -- tests --------------------------------------------------------------------------------------
def test_api_gateway_rest_event(lambda_invoker, lambda_events):
    fn = lambda_invoker.deploy(get_order)
    event = lambda_events.api_gateway_v1("GET", "/orders/42", resource="/orders/{id}",
                                         path_parameters={"id": "42"}, claims={"sub": "user-1"})
    response = fn.invoke(event).payload
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"id": "42", "user": "user-1"}


def test_http_api_and_function_url_events(lambda_invoker, lambda_events):
    fn = lambda_invoker.deploy(create_order)
    for event in (lambda_events.api_gateway_v2("POST", "/orders", body={"sku": "A1"}),
                  lambda_events.function_url("POST", "/", body=b'{"sku": "A1"}')):
        response = fn.invoke(event).payload
        assert (response["statusCode"], response["cookies"]) == (201, ["seen=1"])
        assert events.json_body(response) == {"sku": "A1"}


def test_alb_event(lambda_invoker, lambda_events):
    fn = lambda_invoker.deploy(health)
    response = fn.invoke(lambda_events.alb("GET", "/health", multi_value_headers=True)).payload
    assert (response["statusCode"], response["statusDescription"]) == (200, "200 OK")


def test_sqs_batch_with_a_partial_failure(lambda_invoker, lambda_events):
    fn = lambda_invoker.deploy(process_jobs)
    event = lambda_events.sqs({"job": 1}, {"job": 2, "bad": True}, queue="jobs.fifo",
                              message_group_id="customer-7")
    bad = event["Records"][1]["messageId"]
    assert fn.invoke(event).payload == {"batchItemFailures": [{"itemIdentifier": bad}]}


def test_sns_s3_and_eventbridge_events(lambda_invoker, lambda_events):
    fn = lambda_invoker.deploy(first_record)
    sns = fn.invoke(lambda_events.sns({"order": 42}, topic="orders", subject="new")).payload
    assert json.loads(sns["Sns"]["Message"]) == {"order": 42}
    put = fn.invoke(lambda_events.s3("uploads/cat photo.jpg", bucket="photos",
                                     content=b"...")).payload
    assert put["s3"]["object"]["key"] == "uploads/cat+photo.jpg"  # URL-encoded, as S3 sends it
    delete = fn.invoke(lambda_events.s3("old.jpg", event_name="ObjectRemoved:Delete")).payload
    assert "size" not in delete["s3"]["object"]

    echo_fn = lambda_invoker.deploy(echo)
    event = lambda_events.eventbridge({"orderId": 42}, source="shop.orders",
                                      detail_type="Order Placed")
    assert echo_fn.invoke(event).payload["detail"] == {"orderId": 42}
    assert echo_fn.invoke(lambda_events.scheduled_event("nightly")).payload["source"] == "aws.events"


def test_dynamodb_and_kinesis_streams(lambda_invoker, lambda_events):
    fn = lambda_invoker.deploy(first_record)
    change = lambda_events.dynamodb_record("MODIFY", keys=["pk"],
                                           old_image={"pk": "order#1", "total": 10},
                                           new_image={"pk": "order#1", "total": 12.5})
    record = fn.invoke(lambda_events.dynamodb(change)).payload
    assert record["dynamodb"]["NewImage"]["total"] == {"N": "12.5"}
    record = fn.invoke(lambda_events.kinesis({"reading": 7}, partition_key="sensor-1")).payload
    assert json.loads(base64.b64decode(record["kinesis"]["data"])) == {"reading": 7}


def test_cloudwatch_logs_and_cloudformation_events(lambda_invoker, lambda_events):
    fn = lambda_invoker.deploy(echo)
    logs = fn.invoke(lambda_events.cloudwatch_logs("ERROR boom")).payload
    assert set(logs["awslogs"]) == {"data"}  # gzip + base64, as CloudWatch Logs sends it
    request = fn.invoke(lambda_events.cloudformation_custom_resource(
        "Update", properties={"Size": 2}, old_properties={"Size": 1})).payload
    assert (request["RequestType"], request["OldResourceProperties"]["Size"]) == ("Update", 1)


def test_cognito_trigger(lambda_invoker, lambda_events):
    fn = lambda_invoker.deploy(auto_confirm)
    event = lambda_events.cognito("PreSignUp_SignUp", user_attributes={"email": "a@example.com"})
    assert fn.invoke(event).payload["response"]["autoConfirmUser"] is True
