"""SNS fan-out: the critical path publishes and returns; the subscriber runs later.

Real boto3 clients under moto drive the handlers in-process. When the subscriber fails, Lambda
retries it twice (1 and 2 minutes later, in virtual time), then sends the invocation record to
the on-failure destination, which the test reads back with boto3.
"""

import json

import boto3
import pytest
from moto import mock_aws

REGION = "us-east-1"


@pytest.fixture
def aws(lambda_invoker):
    with mock_aws():
        clients = {name: boto3.client(name, region_name=REGION)
                   for name in ("lambda", "sns", "sqs", "dynamodb", "iam")}
        role = clients["iam"].create_role(RoleName="orders",
                                          AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        topic = clients["sns"].create_topic(Name="orders")["TopicArn"]
        clients["dynamodb"].create_table(
            TableName="receipts", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}])
        failures = clients["sqs"].create_queue(QueueName="receipt-failures")["QueueUrl"]
        failures_arn = clients["sqs"].get_queue_attributes(
            QueueUrl=failures, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        lam = clients["lambda"]
        for name, handler in (("place-order", "order_service.place_order"),
                              ("send-receipt", "order_service.send_receipt")):
            lam.create_function(
                FunctionName=name, Runtime="python3.12", Role=role, Handler=handler,
                Code={"ZipFile": b"runs in-process"},
                Environment={"Variables": {"ORDER_TOPIC": topic, "RECEIPTS_TABLE": "receipts"}})
        receipt_arn = lam.get_function(FunctionName="send-receipt")["Configuration"]["FunctionArn"]
        clients["sns"].subscribe(TopicArn=topic, Protocol="lambda", Endpoint=receipt_arn)
        lam.put_function_event_invoke_config(
            FunctionName="send-receipt",
            DestinationConfig={"OnFailure": {"Destination": failures_arn}})
        clients["failures"] = failures
        yield clients


def place_order(aws, order):
    response = aws["lambda"].invoke(FunctionName="place-order", Payload=json.dumps(order))
    assert "FunctionError" not in response
    return json.loads(response["Payload"].read())


def receipt(aws, order_id):
    return aws["dynamodb"].get_item(TableName="receipts",
                                    Key={"order_id": {"S": order_id}}).get("Item")


def test_the_critical_path_returns_before_the_subscriber_runs(aws, lambda_invoker):
    assert place_order(aws, {"order_id": "o-1", "email": "ada@example.com"}) == {
        "status": "accepted", "order_id": "o-1"}
    assert receipt(aws, "o-1") is None  # the subscriber has not run yet

    (outcome,) = lambda_invoker.run_until_idle()
    assert (outcome.function_name, outcome.condition) == ("send-receipt", "Success")
    assert receipt(aws, "o-1")["email"] == {"S": "ada@example.com"}


def test_a_failing_subscriber_is_retried_then_lands_in_the_destination(aws, lambda_invoker):
    # The customer still gets a fast answer: the failure happens off the critical path.
    assert place_order(aws, {"order_id": "o-2", "email": "nobody"})["status"] == "accepted"

    (outcome,) = lambda_invoker.run_until_idle()
    assert [round(a.started_at - outcome.accepted_at) for a in outcome.history] == [0, 60, 180]
    assert outcome.condition == "RetriesExhausted"

    (message,) = aws["sqs"].receive_message(QueueUrl=aws["failures"])["Messages"]
    record = json.loads(message["Body"])
    print(json.dumps(record["requestContext"], indent=2))
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorMessage"] == "cannot email a receipt to 'nobody'"
    sns_message = record["requestPayload"]["Records"][0]["Sns"]
    assert json.loads(sns_message["Message"])["order_id"] == "o-2"
    assert receipt(aws, "o-2") is None
