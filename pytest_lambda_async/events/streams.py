"""Stream events: DynamoDB stream records (typed images from plain dicts), Kinesis records
(base64 data), and CloudWatch Logs subscriptions (gzip + base64).

Shapes: LocalStack's AWS-validated snapshots of DynamoDB and Kinesis event source mappings,
and AWS's CloudWatch Logs sample (`tests/test_events_recorded.py`)."""

from __future__ import annotations

import base64
import decimal
import gzip
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from ._base import (
    EventSource,
    apply_overrides,
    encode_body,
    hex_id,
    iso,
    millis,
    pick,
    sequence_number,
    usage,
)

STREAM_VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")


# -- DynamoDB's typed attribute values -------------------------------------------------------------
def to_dynamodb(value: Any, *, field: str = "value", factory: str = "dynamodb_record") -> dict[str, Any]:
    """A plain Python value as a DynamoDB attribute value (`{"S": "x"}`, `{"N": "1"}`, ...)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, float, decimal.Decimal)):
        return {"N": _number(value, field, factory)}
    if isinstance(value, (bytes, bytearray)):
        return {"B": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, (set, frozenset)):
        items = list(value)
        if not items:
            raise usage(factory, field, "is an empty set, which DynamoDB cannot store.",
                        "leave the attribute out, or store an empty list.")
        if all(isinstance(i, str) for i in items):
            return {"SS": sorted(items)}
        if all(isinstance(i, (int, float, decimal.Decimal)) and not isinstance(i, bool) for i in items):
            return {"NS": sorted((_number(i, field, factory) for i in items), key=decimal.Decimal)}
        if all(isinstance(i, (bytes, bytearray)) for i in items):
            return {"BS": [base64.b64encode(bytes(i)).decode() for i in sorted(items)]}
        raise usage(factory, field, "is a set of mixed types.",
                    "use a set of str, of numbers or of bytes only.")
    if isinstance(value, Mapping):
        return {"M": {str(k): to_dynamodb(v, field=f"{field}[{k!r}]", factory=factory)
                      for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_dynamodb(v, field=f"{field}[{i}]", factory=factory)
                      for i, v in enumerate(value)]}
    raise usage(factory, field, f"is {type(value).__name__}, which DynamoDB has no type for.",
                "use str, int, float, Decimal, bool, None, bytes, set, list or dict.")


def _number(value: Any, field: str, factory: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise usage(factory, field, f"is {value!r}; DynamoDB numbers are finite.",
                    "use a finite number.")
    return str(value) if not isinstance(value, float) else repr(value)


def _item_size(item: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB counts it (names plus values)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    (kind, data), = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "B":
        return len(base64.b64decode(data))
    if kind == "N":
        digits = data.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in data)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in data)
    return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in data.items())  # M


def dynamodb_record(*, event_id: str, event_name: str, region: str, when: float,
                    keys: Mapping[str, Any], new_image: Mapping[str, Any] | None,
                    old_image: Mapping[str, Any] | None, sequence: str, stream_view_type: str,
                    stream_arn: str) -> dict[str, Any]:
    """One DynamoDB stream record; keys and images already typed."""
    change: dict[str, Any] = {"ApproximateCreationDateTime": float(int(when)), "Keys": dict(keys)}
    if new_image is not None:
        change["NewImage"] = dict(new_image)
    if old_image is not None:
        change["OldImage"] = dict(old_image)
    change.update({
        "SequenceNumber": sequence,
        "SizeBytes": _item_size(keys) + _item_size(new_image or {}) + _item_size(old_image or {}),
        "StreamViewType": stream_view_type,
    })
    return {"eventID": event_id, "eventName": event_name, "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": region, "dynamodb": change,
            "eventSourceARN": stream_arn}


# -- Kinesis -----------------------------------------------------------------------------------------
def kinesis_record(*, data: str, partition_key: str, sequence: str, arrival: float,
                   shard_id: str, region: str, stream_arn: str, role_arn: str) -> dict[str, Any]:
    """One Kinesis stream record; `data` already base64."""
    return {
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": partition_key,
                    "sequenceNumber": sequence, "data": data,
                    "approximateArrivalTimestamp": arrival},
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role_arn,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


class StreamEvents(EventSource):
    """Factories for DynamoDB stream, Kinesis and CloudWatch Logs events."""

    def dynamodb_record(
        self, event_name: str = "INSERT", *, keys: Mapping[str, Any] | Iterable[str] | None = None,
        new_image: Mapping[str, Any] | None = None, old_image: Mapping[str, Any] | None = None,
        table: str = "test-table", stream_view_type: str = "NEW_AND_OLD_IMAGES", **fields: Any,
    ) -> dict[str, Any]:
        """One stream record from plain dicts. `keys` is a dict, or the key attribute names to
        take from the image. The images the view type does not carry are left out."""
        name = "dynamodb_record"
        pick(name, "event_name", event_name, ("INSERT", "MODIFY", "REMOVE"))
        pick(name, "stream_view_type", stream_view_type, STREAM_VIEW_TYPES)
        needs = {"INSERT": ("new_image",), "MODIFY": ("new_image", "old_image"),
                 "REMOVE": ("old_image",)}[event_name]
        given = {"new_image": new_image, "old_image": old_image}
        for field in needs:
            if given[field] is None and not (keys is not None and isinstance(keys, Mapping)):
                raise usage(name, field, f"is missing: a {event_name} record carries it.",
                            f"pass {field}={{...}} (or keys={{...}} for a KEYS_ONLY view).")
        for field, value in given.items():
            if value is not None and field not in needs:
                raise usage(name, field, f"is set, but a {event_name} record has no {field}.",
                            f"drop {field}.")
        image = new_image if new_image is not None else old_image or {}
        if keys is None:
            raise usage(name, "keys", "is missing.",
                        "pass the key attributes, keys={'id': '1'}, or their names, keys=['id'].")
        if not isinstance(keys, Mapping):
            names = [keys] if isinstance(keys, str) else list(keys)
            missing = [k for k in names if k not in image]
            if missing:
                raise usage(name, "keys", f"names {missing} that the image lacks.",
                            "name attributes of the image, or pass keys as a dict.")
            keys = {k: image[k] for k in names}

        def typed(item: Mapping[str, Any] | None, field: str) -> dict[str, Any] | None:
            if item is None:
                return None
            return {k: to_dynamodb(v, field=f"{field}[{k!r}]", factory=name) for k, v in item.items()}

        carries_new = stream_view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
        carries_old = stream_view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
        typed_new, typed_old = typed(new_image, "new_image"), typed(old_image, "old_image")
        when = self.now()
        label = iso(when).rstrip("Z")
        record = dynamodb_record(
            event_id=hex_id(32), event_name=event_name, region=self.region, when=when,
            keys=typed(keys, "keys") or {},
            new_image=typed_new if carries_new else None,
            old_image=typed_old if carries_old else None,
            sequence=sequence_number(21), stream_view_type=stream_view_type,
            stream_arn=self.arn("dynamodb", f"table/{table}/stream/{label}"))
        return apply_overrides(name, record, fields, _DYNAMODB_KEYWORDS)

    def dynamodb(self, *records: Mapping[str, Any]) -> dict[str, Any]:
        """A DynamoDB stream batch of `dynamodb_record(...)`s."""
        if not records:
            raise usage("dynamodb", "records", "are missing: streams never send an empty batch.",
                        "pass records: events.dynamodb(events.dynamodb_record('INSERT', ...)).")
        return {"Records": [dict(r) for r in records]}

    def kinesis(self, *data: Any, stream: str = "test-stream",
                partition_key: str = "partition-key", shard_id: str = "shardId-000000000000",
                **fields: Any) -> dict[str, Any]:
        """A Kinesis batch, one record per item of `data` (bytes as is, str UTF-8, else JSON)."""
        name = "kinesis"
        if not data:
            raise usage(name, "data", "is missing: streams never send an empty batch.",
                        "pass at least one record: events.kinesis({'id': 1}).")
        arrival = round(self.now(), 3)
        records = []
        for item in data:
            if isinstance(item, str):
                item = item.encode("utf-8")
            encoded, is_b64, _ = encode_body(name, "data", item)
            if not is_b64:
                encoded = base64.b64encode((encoded or "").encode()).decode()
            record = kinesis_record(
                data=encoded or "", partition_key=partition_key, sequence=sequence_number(56),
                arrival=arrival, shard_id=shard_id, region=self.region,
                stream_arn=self.arn("kinesis", f"stream/{stream}"),
                role_arn=self.arn("iam", "role/lambda-kinesis-role", region=False))
            records.append(apply_overrides(name, record, fields, _KINESIS_KEYWORDS))
        return {"Records": records}

    def cloudwatch_logs(self, *messages: str, log_group: str = "/aws/lambda/test-function",
                        log_stream: str | None = None, subscription_filter: str = "test-filter",
                        ) -> dict[str, Any]:
        """A CloudWatch Logs subscription delivery: the log events gzipped and base64-encoded."""
        name = "cloudwatch_logs"
        if not messages or not all(isinstance(m, str) for m in messages):
            raise usage(name, "messages", f"are {messages!r}.",
                        "pass one or more log lines as str.")
        when = millis(self.now())
        data = {
            "messageType": "DATA_MESSAGE",
            "owner": self.account_id,
            "logGroup": log_group,
            "logStream": log_stream or f"{iso(when / 1000)[:10].replace('-', '/')}/[$LATEST]{hex_id(32)}",
            "subscriptionFilters": [subscription_filter],
            "logEvents": [{"id": sequence_number(56), "timestamp": when, "message": message}
                          for message in messages],
        }
        packed = gzip.compress(json.dumps(data, separators=(",", ":")).encode(), mtime=0)
        return {"awslogs": {"data": base64.b64encode(packed).decode()}}


_DYNAMODB_KEYWORDS = ("event_name", "keys", "new_image", "old_image", "table", "stream_view_type")
_KINESIS_KEYWORDS = ("data", "stream", "partition_key", "shard_id")
