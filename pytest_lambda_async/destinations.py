"""Where an async event's result goes: invocation records, dead-letter messages, and targets.

The documents are AWS's exact shapes (`reference/aws-lambda-semantics.md` §2, §3). A target
is a `Sink` (in memory), another deployed function, or an ARN. An ARN is delivered into moto's
resource when moto is active (see `aws/delivery.py`); otherwise into an in-memory `Sink` that
carries that ARN, so nothing is ever dropped.

This module never imports the invoker: a deployed function is a `FunctionTarget` here (the
invoker's `LambdaFunction` is one), and `deliver` reaches the invoker through `Targets`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from . import runtime
from .errors import InvalidParameterValueException
from .events._base import iso
from .events.records import eventbridge_event

if TYPE_CHECKING:
    from .config import FunctionSettings

SUCCESS_DETAIL_TYPE = "Lambda Function Invocation Result - Success"
FAILURE_DETAIL_TYPE = "Lambda Function Invocation Result - Failure"
# The DLQ's ErrorMessage attribute carries the first 1 KB of the error message.
DLQ_MESSAGE_LIMIT = 1024

_ARN = re.compile(r"arn:aws[a-zA-Z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):"
                  r"(?P<account>\d{12})?:(?P<resource>.+)")


class Sink:
    """An in-memory destination: `.records` holds every document delivered, as dicts."""

    def __init__(self, name: str, arn: str) -> None:
        self.name = name
        self.arn = arn
        self.records: list[dict[str, Any]] = []
        # Documents for an ARN that no moto resource took (moto off, or no such resource).
        self.undelivered = 0

    def __repr__(self) -> str:
        return f"<Sink {self.name} records={len(self.records)}>"

    def __len__(self) -> int:
        return len(self.records)


class FunctionTarget:
    """A deployed function as a destination: `function.LambdaFunction` is the one subclass."""

    settings: FunctionSettings

    def invoke_async(self, event: Any) -> Any:
        raise NotImplementedError


class Deployed(Protocol):
    """The function a document comes from: its settings name it (ARN, region, account)."""

    @property
    def settings(self) -> FunctionSettings: ...


class Targets(Protocol):
    """What `deliver` needs from the invoker: functions and sinks by ARN."""

    @property
    def eventbridge_source(self) -> str: ...

    def function_for_arn(self, arn: str) -> FunctionTarget | None: ...

    def sink_for_arn(self, arn: str, name: str | None = None) -> Sink: ...


@dataclass(frozen=True)
class ParsedArn:
    arn: str
    service: str
    region: str
    account: str
    resource: str

    @property
    def resource_name(self) -> str:
        return self.resource.split(":")[-1].split("/")[-1]


def parse_arn(arn: str, role: str) -> ParsedArn:
    match = _ARN.fullmatch(arn)
    if match is None:
        raise InvalidParameterValueException(
            f"The {role} target {arn!r} is not a valid ARN.",
            "use the ARN of an SQS queue, SNS topic, Lambda function, EventBridge bus or S3 "
            "bucket, a Sink from lambda_invoker.sink(), or a deployed LambdaFunction.",
        )
    return ParsedArn(arn, match["service"], match["region"], match["account"] or "",
                     match["resource"])


# What each role accepts, as AWS documents it.
_SERVICES = {
    "on_success": {"sqs", "sns", "lambda", "events"},
    "on_failure": {"sqs", "sns", "lambda", "events", "s3"},
    "dead_letter_target": {"sqs", "sns"},
}


def check_target(target: Any, role: str) -> None:
    """Raise AWS's validation error if `target` cannot serve as `role`."""
    if target is None or isinstance(target, (Sink, FunctionTarget)):
        if role == "dead_letter_target" and isinstance(target, FunctionTarget):
            raise InvalidParameterValueException(
                "A dead-letter queue must be an SQS queue or an SNS topic.",
                "use a Sink or an SQS/SNS ARN as dead_letter_target.",
            )
        return
    if not isinstance(target, str):
        raise InvalidParameterValueException(
            f"{role} must be a Sink, a LambdaFunction or an ARN string, got "
            f"{type(target).__name__}.",
            "use lambda_invoker.sink('name'), a deployed function, or an ARN.",
        )
    parsed = parse_arn(target, role)
    allowed = _SERVICES[role]
    if parsed.service not in allowed:
        if parsed.service == "s3" and role == "on_success":
            message = "S3 buckets are supported only for on-failure destinations."
        else:
            message = f"The {role} target {target} uses service '{parsed.service}', which is not supported."
        raise InvalidParameterValueException(
            message, f"use one of: {', '.join(sorted(allowed))}."
        )
    if parsed.service in {"sqs", "sns"} and parsed.resource_name.endswith(".fifo"):
        raise InvalidParameterValueException(
            f"FIFO queues and topics are not supported as destinations: {target}.",
            "use a standard queue or topic.",
        )


@functools.lru_cache(maxsize=64)
def timestamp(when: float, *, milliseconds: bool = True) -> str:
    # Cached: the outcomes of a drain finish at a few simulated instants, and each record
    # and envelope is stamped with one.
    return iso(when, milliseconds=milliseconds)


def invocation_record(
    *,
    when: float,
    request_id: str,
    function_arn: str,
    condition: str,
    approximate_invoke_count: int,
    request_payload: Any,
    executed_version: str | None,
    function_error: str | None,
    response_payload: Any,
    with_response: bool = True,
) -> dict[str, Any]:
    """The record an on-success or on-failure destination receives."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": timestamp(when),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": approximate_invoke_count,
        },
        "requestPayload": request_payload,
    }
    if with_response:
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": executed_version}
        if function_error is not None:
            response_context["functionError"] = function_error
        record["responseContext"] = response_context
        record["responsePayload"] = response_payload
    return record


def eventbridge_envelope(
    record: dict[str, Any], *, bus_arn: str, function_arn: str, region: str, account: str,
    when: float, source: str, success: bool,
) -> dict[str, Any]:
    return eventbridge_event(
        event_id=str(uuid.uuid4()),
        detail_type=SUCCESS_DETAIL_TYPE if success else FAILURE_DETAIL_TYPE,
        source=source, account=account, time=timestamp(when, milliseconds=False), region=region,
        resources=[bus_arn, function_arn], detail=record)


def s3_key(function_name: str, when: float) -> str:
    moment = _dt.datetime.fromtimestamp(when, _dt.timezone.utc)
    return (
        f"aws/lambda/async/{function_name}/{moment:%Y/%m/%d}/"
        f"{moment:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"
    )


def dlq_attributes(request_id: str, error_code: int, error_message: str) -> dict[str, Any]:
    encoded = error_message.encode("utf-8")[:DLQ_MESSAGE_LIMIT].decode("utf-8", errors="ignore")
    return {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": str(error_code)},
        "ErrorMessage": {"DataType": "String", "StringValue": encoded},
    }


@dataclass
class Delivery:
    """One document on its way to a target."""

    role: str  # "on_success", "on_failure" or "dead_letter_target"
    record: dict[str, Any]  # the invocation record; for a DLQ, {"body": ..., "messageAttributes": ...}
    when: float
    function: Deployed
    success: bool
    # The message body when it is not the record's JSON (a DLQ message: the event as sent).
    text: str | None = None

    @functools.cached_property
    def body(self) -> str:
        """The message body as sent (JSON text), made when a target first needs it: a `Sink`
        or a function takes the record itself."""
        if self.text is not None:
            return self.text
        return runtime.marshal_response(self.record).decode()


# moto delivery, installed by the moto bridge (aws/) while moto is active: returns True when it delivered.
moto_delivery: list[Callable[[ParsedArn, Delivery], bool]] = []


def deliver(target: Any, delivery: Delivery, invoker: Targets) -> None:
    """Send `delivery` to `target`."""
    if isinstance(target, Sink):
        target.records.append(delivery.record)
        return
    if isinstance(target, FunctionTarget):
        target.invoke_async(delivery.record)
        return
    parsed = parse_arn(target, delivery.role)
    if parsed.service == "lambda":
        function = invoker.function_for_arn(target)
        if function is not None:
            function.invoke_async(delivery.record)
            return
    delivered = any(hook(parsed, delivery) for hook in moto_delivery)
    document = delivery.record
    if parsed.service == "events" and delivery.role != "dead_letter_target":
        settings = delivery.function.settings
        document = eventbridge_envelope(
            delivery.record, bus_arn=target, function_arn=settings.qualified_arn,
            region=settings.region, account=settings.account_id, when=delivery.when,
            source=invoker.eventbridge_source, success=delivery.success,
        )
    elif parsed.service == "s3":
        document = {"key": s3_key(delivery.function.settings.name, delivery.when),
                    "body": json.loads(delivery.body)}
    # Kept in memory too, whether or not moto took it: a test can always read what was sent.
    sink = invoker.sink_for_arn(target)
    sink.records.append(document)
    if not delivered:
        sink.undelivered += 1
