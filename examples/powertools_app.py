"""A payments service written with aws-lambda-powertools, exactly as it is deployed.

Nothing here knows about tests. The tests deploy these handlers by their handler strings and
set Powertools' own environment variables (service name, tracing off) through `environment=`.

- `handler`: an API call, with the structured logger and the tracer.
- `process_payments`: an SQS batch, reporting partial failures (`batchItemFailures`).
- `process_payments_async`: the same batch with asyncio record handlers, run concurrently.
- `charge`: charges a card once per order, however often it is invoked (idempotency, DynamoDB).
"""

import asyncio
import json
import os
import time
import uuid

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    BatchProcessor,
    EventType,
    async_process_partial_response,
    process_partial_response,
)
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME
tracer = Tracer()  # off when POWERTOOLS_TRACE_DISABLED is true

processor = BatchProcessor(event_type=EventType.SQS)
async_processor = AsyncBatchProcessor(event_type=EventType.SQS)

persistence = DynamoDBPersistenceLayer(table_name=os.environ.get("IDEMPOTENCY_TABLE", "idempotency"))
idempotency = IdempotencyConfig(event_key_jmespath="order_id")
dynamodb = boto3.client("dynamodb")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event, context):
    logger.append_keys(order_id=event["order_id"])
    logger.info("payment requested")
    return {"statusCode": 202, "body": json.dumps({"order_id": event["order_id"]})}


def _pay(record):
    payment = json.loads(record.body)
    if payment["amount"] <= 0:
        raise ValueError(f"invalid amount {payment['amount']} for {payment['order_id']}")
    logger.info("paid", extra={"order_id": payment["order_id"]})


@logger.inject_lambda_context
def process_payments(event, context):
    return process_partial_response(event=event, record_handler=_pay, processor=processor,
                                    context=context)


async def _pay_async(record):
    payment = json.loads(record.body)
    await asyncio.sleep(1)  # the payment gateway takes a second
    if payment["amount"] <= 0:
        raise ValueError(f"invalid amount {payment['amount']} for {payment['order_id']}")
    logger.info("paid", extra={"order_id": payment["order_id"]})


@logger.inject_lambda_context
def process_payments_async(event, context):
    return async_process_partial_response(event=event, record_handler=_pay_async,
                                          processor=async_processor, context=context)


@logger.inject_lambda_context
@idempotent(persistence_store=persistence, config=idempotency)
def charge(event, context):
    logger.info("charging the card", extra={"order_id": event["order_id"]})
    time.sleep(event.get("gateway_seconds", 0.5))  # the card gateway
    payment_id = uuid.uuid4().hex
    dynamodb.put_item(TableName=os.environ["PAYMENTS_TABLE"], Item={
        "payment_id": {"S": payment_id}, "order_id": {"S": event["order_id"]}})
    return {"order_id": event["order_id"], "payment_id": payment_id}
