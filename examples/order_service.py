"""The SNS fan-out of seeds/async-lambda-with-sns.md, in Python.

`place_order` is on the critical path: it publishes the order to SNS and returns at once.
`send_receipt` subscribes to the topic; Lambda runs it later, asynchronously, with retries.
"""

import json
import os

import boto3

sns = boto3.client("sns")  # created once per environment, in the init phase
dynamodb = boto3.client("dynamodb")


def place_order(event, context):
    sns.publish(TopicArn=os.environ["ORDER_TOPIC"], Message=json.dumps(event),
                Subject="order placed")
    return {"status": "accepted", "order_id": event["order_id"]}


def send_receipt(event, context):
    for record in event["Records"]:
        order = json.loads(record["Sns"]["Message"])
        if "@" not in order["email"]:
            raise ValueError(f"cannot email a receipt to {order['email']!r}")
        dynamodb.put_item(TableName=os.environ["RECEIPTS_TABLE"], Item={
            "order_id": {"S": order["order_id"]}, "email": {"S": order["email"]}})
