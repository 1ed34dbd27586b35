"""Messaging events: SQS batches, SNS notifications, S3 notifications, EventBridge events.

The `*_record` builders here are the one place these shapes are written down: the moto bridge
delivers records built by them, and the factories fill in realistic defaults and call them.
Shapes: LocalStack's AWS-validated snapshots (`tests/test_events_recorded.py`)."""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote_plus

from ._base import (
    EventSource,
    apply_overrides,
    b64_id,
    hex_id,
    iso,
    millis,
    pick,
    sequence_number,
    text_body,
    upper_id,
    usage,
    uuid4,
)

SENDER_ID = "AIDAIENQZJOLO23YVJ4VO"  # the sender id of AWS's documentation samples
S3_OWNER = "A3NL1KOZZKExample"
S3_EVENT_NAMES = (
    "ObjectCreated:Put", "ObjectCreated:Post", "ObjectCreated:Copy",
    "ObjectCreated:CompleteMultipartUpload", "ObjectRemoved:Delete",
    "ObjectRemoved:DeleteMarkerCreated", "ObjectRestore:Post", "ObjectRestore:Completed",
    "ObjectTagging:Put", "ObjectTagging:Delete",
)


# -- SQS -------------------------------------------------------------------------------------------
def sqs_attributes(*, receive_count: int, sent_timestamp: Any, sender_id: str,
                   first_receive_timestamp: Any, sequence_number: Any = None,
                   group_id: Any = None, deduplication_id: Any = None) -> dict[str, str]:
    """The `attributes` of an SQS record (FIFO queues add the last three)."""
    attributes = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(sent_timestamp),
        "SenderId": str(sender_id),
        "ApproximateFirstReceiveTimestamp": str(first_receive_timestamp),
    }
    if sequence_number is not None:
        attributes["SequenceNumber"] = str(sequence_number)
    if group_id is not None:
        attributes["MessageGroupId"] = str(group_id)
    if deduplication_id is not None:
        attributes["MessageDeduplicationId"] = str(deduplication_id)
    return attributes


def sqs_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """An SQS API message attribute (`DataType`, `StringValue`/`BinaryValue`) as the event
    carries it."""
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        raw = value["BinaryValue"]
        attribute["binaryValue"] = (base64.b64encode(raw).decode() if isinstance(raw, bytes)
                                    else raw)
    attribute.update({"stringListValues": [], "binaryListValues": [],
                      "dataType": value.get("DataType", "String")})
    return attribute


def sqs_record(*, message_id: str, receipt_handle: str, body: str, attributes: dict[str, str],
               message_attributes: Mapping[str, Mapping[str, Any]], md5_of_body: str,
               md5_of_message_attributes: str | None, queue_arn: str,
               region: str) -> dict[str, Any]:
    """One record of an SQS batch; `message_attributes` in the SQS API's form."""
    record: dict[str, Any] = {
        "messageId": message_id,
        "receiptHandle": receipt_handle,
        "body": body,
        "attributes": attributes,
        "messageAttributes": {name: sqs_message_attribute(value)
                              for name, value in message_attributes.items()},
    }
    if message_attributes:
        record["md5OfMessageAttributes"] = md5_of_message_attributes
    record.update({"md5OfBody": md5_of_body, "eventSource": "aws:sqs",
                   "eventSourceARN": queue_arn, "awsRegion": region})
    return record


def md5_of_message_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """SQS's MD5OfMessageAttributes: names sorted, each part length-prefixed, big-endian."""
    digest = hashlib.md5()
    for name in sorted(attributes):
        value = attributes[name]
        data_type = str(value["DataType"])
        for part in (name.encode(), data_type.encode()):
            digest.update(struct.pack(">I", len(part)) + part)
        if "BinaryValue" in value:
            raw = value["BinaryValue"]
            data = raw if isinstance(raw, bytes) else base64.b64decode(raw)
            digest.update(b"\x02")
        else:
            data = str(value["StringValue"]).encode()
            digest.update(b"\x01")
        digest.update(struct.pack(">I", len(data)) + data)
    return digest.hexdigest()


def _api_attributes(factory: str, attributes: Mapping[str, Any] | None,
                    field: str) -> dict[str, dict[str, Any]]:
    """Plain values (str, int, float, bytes) or API-form dicts, in the SQS API's form."""
    result: dict[str, dict[str, Any]] = {}
    for name, value in (attributes or {}).items():
        if isinstance(value, Mapping) and "DataType" in value:
            result[name] = dict(value)
        elif isinstance(value, bool) or not isinstance(value, (str, int, float, bytes)):
            raise usage(factory, f"{field}[{name!r}]", f"is {value!r}.",
                        "give a str, a number, bytes, or {'DataType': ..., 'StringValue': ...}.")
        elif isinstance(value, bytes):
            result[name] = {"DataType": "Binary", "BinaryValue": value}
        elif isinstance(value, str):
            result[name] = {"DataType": "String", "StringValue": value}
        else:
            result[name] = {"DataType": "Number", "StringValue": str(value)}
    return result


# -- SNS -------------------------------------------------------------------------------------------
def sns_record(*, subscription_arn: str, topic_arn: str, message_id: str, message: str,
               subject: str | None, message_attributes: Mapping[str, Any], when: float,
               region: str) -> dict[str, Any]:
    """The one record of an SNS notification; attributes as `{"Type": ..., "Value": ...}`."""
    endpoint = f"https://sns.{region}.amazonaws.com"
    return {
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1",
            "Timestamp": iso(when),
            "Signature": "EXAMPLE",
            "SigningCertUrl": f"{endpoint}/SimpleNotificationService-0000000000000000000000.pem",
            "MessageId": message_id,
            "Message": message,
            "MessageAttributes": dict(message_attributes),
            "Type": "Notification",
            "UnsubscribeUrl": f"{endpoint}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
            "TopicArn": topic_arn,
            "Subject": subject,
        },
    }


# -- S3 --------------------------------------------------------------------------------------------
def s3_record(*, region: str, event_name: str, when: float, principal_id: str,
              s3: Mapping[str, Any]) -> dict[str, Any]:
    """One S3 notification record; `s3` is its `s3` part (schema version, bucket, object)."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": iso(when),
        "eventName": event_name,
        "userIdentity": {"principalId": principal_id},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": hex_id(16).upper(), "x-amz-id-2": b64_id(48)},
        "s3": dict(s3),
    }


def s3_bucket(name: str, owner: str = S3_OWNER) -> dict[str, Any]:
    return {"name": name, "ownerIdentity": {"principalId": owner}, "arn": f"arn:aws:s3:::{name}"}


# -- EventBridge -------------------------------------------------------------------------------------
def eventbridge_event(*, event_id: str | None, detail_type: Any, source: Any, account: Any,
                      time: Any, region: Any, resources: Iterable[str],
                      detail: Any) -> dict[str, Any]:
    """An event in EventBridge's envelope; `time` as ISO text without milliseconds."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": time,
        "region": region,
        "resources": list(resources),
        "detail": detail,
    }


class MessagingEvents(EventSource):
    """Factories for SQS, SNS, S3 and EventBridge events."""

    def sqs(self, *bodies: Any, queue: str = "test-queue",
            message_attributes: Mapping[str, Any] | None = None,
            message_group_id: str | None = None, message_deduplication_id: str | None = None,
            receive_count: int = 1, **fields: Any) -> dict[str, Any]:
        """A batch of SQS records, one per body (str as is, else JSON). A queue whose name ends
        in `.fifo` is a FIFO queue: its records carry a group, deduplication id and sequence."""
        name = "sqs"
        if not bodies:
            raise usage(name, "bodies", "are missing: SQS never sends an empty batch.",
                        "pass at least one message body: events.sqs({'id': 1}).")
        fifo = queue.endswith(".fifo")
        if not fifo:
            for field, value in (("message_group_id", message_group_id),
                                 ("message_deduplication_id", message_deduplication_id)):
                if value is not None:
                    raise usage(name, field, f"is set, but queue {queue!r} is a standard queue.",
                                "FIFO queue names end in '.fifo': use queue='orders.fifo', or "
                                f"drop {field}.")
        attributes = _api_attributes(name, message_attributes, "message_attributes")
        md5_attributes = md5_of_message_attributes(attributes) if attributes else None
        queue_arn = self.arn("sqs", queue)
        sent = millis(self.now())
        records = []
        for body in bodies:
            text = text_body(name, "body", body)
            dedup = None
            if fifo:
                dedup = message_deduplication_id or hashlib.sha256(text.encode()).hexdigest()
            record = sqs_record(
                message_id=uuid4(), receipt_handle="AQEB" + b64_id(72), body=text,
                attributes=sqs_attributes(
                    receive_count=receive_count, sent_timestamp=sent, sender_id=SENDER_ID,
                    first_receive_timestamp=sent,
                    sequence_number=sequence_number(20) if fifo else None,
                    group_id=(message_group_id or "1") if fifo else None,
                    deduplication_id=dedup),
                message_attributes=attributes,
                md5_of_body=hashlib.md5(text.encode()).hexdigest(),
                md5_of_message_attributes=md5_attributes, queue_arn=queue_arn,
                region=self.region)
            records.append(apply_overrides(name, record, fields, _SQS_KEYWORDS))
        return {"Records": records}

    def sns(self, message: Any = "", *, topic: str = "test-topic", subject: str | None = None,
            message_attributes: Mapping[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """An SNS notification (one record). `message`: str as is, else JSON."""
        name = "sns"
        attributes = {}
        for key, value in _api_attributes(name, message_attributes, "message_attributes").items():
            raw = value.get("StringValue", value.get("BinaryValue"))
            if isinstance(raw, bytes):
                raw = base64.b64encode(raw).decode()
            attributes[key] = {"Type": value["DataType"], "Value": raw}
        topic_arn = self.arn("sns", topic)
        record = sns_record(
            subscription_arn=f"{topic_arn}:{uuid4()}", topic_arn=topic_arn, message_id=uuid4(),
            message=text_body(name, "message", message), subject=subject,
            message_attributes=attributes, when=self.now(), region=self.region)
        unknown = {k: v for k, v in fields.items() if k not in record}
        apply_overrides(name, record["Sns"], unknown, (*_SNS_KEYWORDS, *record))
        record.update({k: v for k, v in fields.items() if k in record})
        return {"Records": [record]}

    def s3(self, key: str = "example.txt", *, bucket: str = "test-bucket",
           event_name: str = "ObjectCreated:Put", content: bytes | None = None,
           size: int | None = None, etag: str | None = None, version_id: str | None = None,
           configuration_id: str = "test-notification", **fields: Any) -> dict[str, Any]:
        """An S3 notification for one object (`event_name`: ObjectCreated:Put, ObjectRemoved:Delete,
        ...). The key is URL-encoded as S3 sends it; size and eTag come from `content`."""
        name = "s3"
        pick(name, "event_name", event_name, S3_EVENT_NAMES)
        if content is not None and not isinstance(content, bytes):
            raise usage(name, "content", f"is {type(content).__name__}.",
                        "pass the object's bytes, e.g. content=b'...'.")
        obj: dict[str, Any] = {"key": quote_plus(key, safe="/")}
        if not event_name.startswith("ObjectRemoved"):
            data = content if content is not None else b""
            obj["size"] = size if size is not None else len(data)
            obj["eTag"] = etag or hashlib.md5(data).hexdigest()
        if version_id is not None:
            obj["versionId"] = version_id
        obj["sequencer"] = hex_id(18).upper()
        record = s3_record(
            region=self.region, event_name=event_name, when=self.now(),
            principal_id=f"AWS:{upper_id(21)}",
            s3={"s3SchemaVersion": "1.0", "configurationId": configuration_id,
                "bucket": s3_bucket(bucket), "object": obj})
        return {"Records": [apply_overrides(name, record, fields, _S3_KEYWORDS)]}

    def eventbridge(self, detail: Any = None, *, source: str = "com.example.app",
                    detail_type: str = "Example Event", resources: Iterable[str] = (),
                    **fields: Any) -> dict[str, Any]:
        """An EventBridge event as a rule target receives it (`detail` a JSON object)."""
        name = "eventbridge"
        if detail is not None and not isinstance(detail, Mapping):
            raise usage(name, "detail", f"is {type(detail).__name__}; EventBridge details are "
                        "JSON objects.", "pass a dict.")
        event = eventbridge_event(
            event_id=uuid4(), detail_type=detail_type, source=source, account=self.account_id,
            time=iso(self.now(), milliseconds=False), region=self.region, resources=resources,
            detail=dict(detail or {}))
        return apply_overrides(name, event, fields, _EVENTBRIDGE_KEYWORDS)

    def scheduled_event(self, rule: str = "test-schedule", **fields: Any) -> dict[str, Any]:
        """The event an EventBridge schedule rule (`rate(...)`, `cron(...)`) sends."""
        event = eventbridge_event(
            event_id=uuid4(), detail_type="Scheduled Event", source="aws.events",
            account=self.account_id, time=iso(self.now(), milliseconds=False),
            region=self.region, resources=[self.arn("events", f"rule/{rule}")], detail={})
        return apply_overrides("scheduled_event", event, fields, ("rule",))


_SQS_KEYWORDS = ("bodies", "queue", "message_attributes", "message_group_id",
                 "message_deduplication_id", "receive_count")
_SNS_KEYWORDS = ("message", "topic", "subject", "message_attributes")
_S3_KEYWORDS = ("key", "bucket", "event_name", "content", "size", "etag", "version_id",
                "configuration_id")
_EVENTBRIDGE_KEYWORDS = ("detail", "source", "detail_type", "resources")
