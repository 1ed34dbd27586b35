"""Handlers for the scenarios of AWS's recordings (`test_aws_recordings.py`), each doing what
the recorded test's function does."""

import asyncio
import json
import logging
import time

logger = logging.getLogger()
logger.setLevel(logging.INFO)


class CustomException(Exception):
    pass


def sleep_past_timeout(event, context):  # test_lambda_invoke_with_timeout (timeout 1 s)
    time.sleep(3)
    return "never"


async def async_sleep_past_timeout(event, context):
    await asyncio.sleep(3)
    return "never"


def too_large(event, context):  # test_lambda_too_large_response
    return "a" * (7 * 1024 * 1024)


def echo_print(event, context):  # test_invocation_with_logs (the echo function prints the event)
    print(json.dumps(event))
    return event


def raise_custom(event, context):  # test_invocation_type_event_error
    raise CustomException("some error occurred")


def log_request_id(event, context):  # test_request_id_invoke
    logger.info("RequestId log message")
    return context.aws_request_id


async def wait_then_answer(event, context):  # test_reserved_concurrency_async_queue
    await asyncio.sleep(event.get("wait", 0))
    return {"request_id": context.aws_request_id}


def fail_with_event(event, context):  # test_sns_topic_as_lambda_dead_letter_queue
    if event.get("raise_error") or "Records" in event:
        raise Exception("Test exception (this is intentional)")
    return event


def succeed_or_fail(event, context):  # test_invoke_lambda_eventbridge
    if event.get("mode") == "failure":
        raise Exception("intentional failure!")
    return {"hello": "world", "test": "abc", "val": 5, "success": True}
