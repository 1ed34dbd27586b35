"""Handlers that tests create with boto3 `create_function(Handler="aws_handlers....")`."""

import json
import os


def echo(event, context):
    print("echo got", json.dumps(event))
    return {"echo": event, "function": context.function_name}


def fail(event, context):
    raise RuntimeError(f"failed on {json.dumps(event)}")


def settings(event, context):
    return {"greeting": os.environ.get("GREETING"), "memory": context.memory_limit_in_mb,
            "remaining_ms": context.get_remaining_time_in_millis()}


def call_other(event, context):
    import boto3

    client = boto3.client("lambda")
    response = client.invoke(FunctionName=event["target"], Payload=json.dumps(event["payload"]))
    return {"inner": json.loads(response["Payload"].read()),
            "region": os.environ["AWS_REGION"]}


def sqs_batch(event, context):
    """Fails the messages whose body starts with 'bad' (a partial batch response)."""
    records = event["Records"]
    return {
        "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records
                              if r["body"].startswith("bad")],
        "seen": [[r["body"], r["attributes"]["ApproximateReceiveCount"]] for r in records],
    }


def sqs_fail_all(event, context):
    raise RuntimeError(f"batch of {len(event['Records'])} failed")
