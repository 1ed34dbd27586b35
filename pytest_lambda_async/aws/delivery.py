"""Delivery into moto's resources: destinations and DLQs given as ARNs of moto resources.

`destinations.deliver` calls this (through `destinations.moto_delivery`) while the bridge
runs; a document no moto resource takes stays in the in-memory `Sink` for that ARN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import destinations
from ..destinations import s3_key
from .bridge import moto_errors

if TYPE_CHECKING:
    from ..destinations import Delivery, ParsedArn
    from .bridge import Bridge


def deliver(bridge: Bridge, parsed: ParsedArn, delivery: Delivery) -> bool:
    """Put an invocation record (or DLQ message) into the moto resource `parsed` names."""
    from moto.backends import get_backend

    settings = delivery.function.settings
    account = parsed.account or settings.account_id
    region = parsed.region or settings.region
    dlq = delivery.role == "dead_letter_target"
    attributes = delivery.record.get("messageAttributes") if dlq else None
    try:
        if parsed.service == "sqs":
            get_backend("sqs")[account][region].send_message(
                parsed.resource_name, delivery.body, message_attributes=attributes)
            return True
        if parsed.service == "sns":
            sns_attributes = None
            if attributes:
                sns_attributes = {k: {"Type": v["DataType"], "Value": v["StringValue"]}
                                  for k, v in attributes.items()}
            bridge.lambda_publishing += 1  # the envelope's SignatureVersion: see push_sources
            try:
                get_backend("sns")[account][region].publish(
                    delivery.body, arn=parsed.arn, message_attributes=sns_attributes)
            finally:
                bridge.lambda_publishing -= 1
            return True
        if parsed.service == "events":
            entries = get_backend("events")[account][region].put_events([{
                "Source": bridge.invoker.eventbridge_source,
                "DetailType": (destinations.SUCCESS_DETAIL_TYPE if delivery.success
                               else destinations.FAILURE_DETAIL_TYPE),
                "Detail": delivery.body,
                "EventBusName": parsed.arn,
                "Resources": [parsed.arn, settings.qualified_arn],
            }])
            return bool(entries) and "EventId" in entries[0]
        if parsed.service == "s3":
            bucket = parsed.resource.split("/")[0]
            get_backend("s3")[settings.account_id]["aws"].put_object(
                bucket, s3_key(settings.name, delivery.when), delivery.body.encode("utf-8"))
            return True
        if parsed.service == "lambda":
            function = bridge.function_at(parsed.arn)
            if function is None:
                return False
            bridge.invoke_async_quietly(function, delivery.record)
            return True
    except moto_errors():
        return False
    return False

