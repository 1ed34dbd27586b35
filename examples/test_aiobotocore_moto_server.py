"""aiobotocore against moto's ThreadedMotoServer on 127.0.0.1: real HTTP, virtual time.

The handler's requests are real I/O: the simulated clock waits for each reply in real time
(and counts it in the invocation's duration), then jumps over the handler's minute-long sleep
and over Lambda's retry schedule as usual.
"""

import time

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
FAILURES = f"arn:aws:sqs:{REGION}:123456789012:order-failures"


@pytest.fixture
def moto_server():
    with mock_aws():  # the plugin delivers destinations into the same moto state
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
        dynamodb.create_table(
            TableName="ledger", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}])
        boto3.client("sqs", region_name=REGION, endpoint_url=endpoint).create_queue(
            QueueName="order-failures")
        yield endpoint
        server.stop()
        server._server.server_close()


@pytest.fixture
def ledger(lambda_invoker, moto_server):
    return lambda_invoker.deploy(
        "order_ledger.handler", name="ledger", timeout=120, on_failure=FAILURES,
        environment={"AWS_ENDPOINT_URL": moto_server, "LEDGER_TABLE": "ledger"})


def test_warm_client_writes_orders_over_real_http(ledger, moto_server):
    started = time.monotonic()
    first = ledger.invoke({"order_id": "o-1", "total": 30})
    second = ledger.invoke({"order_id": "o-2", "total": 12})
    assert first.payload == {"order_id": "o-1", "settled": True}
    assert (first.cold_start, second.cold_start) == (True, False)  # one client, reused warm
    # Each duration is the minute of sleep plus the real round trip to the server.
    assert 60 < second.duration < 65
    assert time.monotonic() - started < 30  # the two minutes of sleep cost no real time
    items = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_server).scan(
        TableName="ledger")["Items"]
    assert sorted(item["order_id"]["S"] for item in items) == ["o-1", "o-2"]


def test_a_refused_order_is_retried_then_sent_to_the_destination(ledger, lambda_invoker, moto_server):
    ledger.invoke({"order_id": "o-1", "total": 30})
    accepted = ledger.invoke_async({"order_id": "o-1", "total": 99})  # the same id again

    (outcome,) = lambda_invoker.run_until_idle()
    assert outcome.condition == "RetriesExhausted"
    assert [attempt.error_type for attempt in outcome.history] == ["ConditionalCheckFailedException"] * 3

    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto_server)
    url = sqs.get_queue_url(QueueName="order-failures")["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert accepted.request_id in message["Body"]
    assert "ConditionalCheckFailedException" in message["Body"]
