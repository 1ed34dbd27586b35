"""Events as AWS sends them to a function, and what a handler sends back.

`Events` builds each source's event with realistic defaults (ids, ARNs, timestamps) for one
account, region and clock; keyword arguments set what a test cares about, and any other
keyword replaces the event's field of that AWS name. The `lambda_events` fixture is an
`Events` on `lambda_clock` with the test's function settings; the module-level functions
use real time, `us-east-1` and account `123456789012`.

    from pytest_lambda_async import events

    event = events.sqs({"order": 1}, {"order": 2}, queue="orders.fifo")

The record builders the moto bridge delivers with live in `records` and `streams`.
"""

from __future__ import annotations

from typing import Any

from ._base import DEFAULT_ACCOUNT, DEFAULT_REGION
from .cloudformation import CloudFormationEvents
from .cognito import CognitoEvents
from .http import (
    HttpEvents,
    alb_response,
    api_gateway_response,
    function_url_response,
    http_api_response,
    json_body,
)
from .records import MessagingEvents
from .streams import StreamEvents, to_dynamodb


class Events(HttpEvents, MessagingEvents, StreamEvents, CloudFormationEvents, CognitoEvents):
    """Event factories for one account, region and clock (anything with `time()`)."""

    def __init__(self, *, region: str = DEFAULT_REGION, account_id: str = DEFAULT_ACCOUNT,
                 clock: Any = None, function_name: str = "test-function") -> None:
        super().__init__(region=region, account_id=account_id, clock=clock)
        self.function_name = function_name

    def __repr__(self) -> str:
        return f"<Events {self.account_id} {self.region}>"


def batch_item_failures(*items: Any) -> dict[str, Any]:
    """A partial batch response: the records (or their ids) that failed, for SQS, Kinesis and
    DynamoDB streams. No items means the whole batch succeeded."""
    failures = []
    for item in items:
        if isinstance(item, dict):
            identifier = (item.get("messageId") or item.get("kinesis", {}).get("sequenceNumber")
                          or item.get("dynamodb", {}).get("SequenceNumber"))
            if identifier is None:
                from ._base import usage

                raise usage("batch_item_failures", "items", "holds a dict that is not an SQS, "
                            "Kinesis or DynamoDB stream record.",
                            "pass the failed records, or their message ids / sequence numbers.")
            item = identifier
        failures.append({"itemIdentifier": str(item)})
    return {"batchItemFailures": failures}


_default = Events()
api_gateway_v1 = _default.api_gateway_v1
api_gateway_v2 = _default.api_gateway_v2
function_url = _default.function_url
alb = _default.alb
sqs = _default.sqs
sns = _default.sns
s3 = _default.s3
eventbridge = _default.eventbridge
scheduled_event = _default.scheduled_event
dynamodb_record = _default.dynamodb_record
dynamodb = _default.dynamodb
kinesis = _default.kinesis
cloudwatch_logs = _default.cloudwatch_logs
cloudformation_custom_resource = _default.cloudformation_custom_resource
cognito = _default.cognito

__all__ = (
    "Events",
    "alb",
    "alb_response",
    "api_gateway_response",
    "api_gateway_v1",
    "api_gateway_v2",
    "batch_item_failures",
    "cloudformation_custom_resource",
    "cloudwatch_logs",
    "cognito",
    "dynamodb",
    "dynamodb_record",
    "eventbridge",
    "function_url",
    "function_url_response",
    "http_api_response",
    "json_body",
    "kinesis",
    "s3",
    "scheduled_event",
    "sns",
    "sqs",
    "to_dynamodb",
)
