"""SNS, S3 and EventBridge invoking functions asynchronously, with AWS's event shapes.

Nothing runs inside `publish`/`put_object`/`put_events`: the event is queued on the
function and runs when the test drains the queue or moves the clock [DOC E1-E3].
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from ..events import records
from ..events._base import iso
from .bridge import Patch, current


def patches() -> list[Patch]:
    """moto's notification methods and their replacements."""
    import moto.s3.notifications as s3_notifications
    from moto.events.models import Rule
    from moto.sns.models import Subscription

    return [
        (Subscription, "publish", _subscription_publish),
        (s3_notifications, "_invoke_awslambda", _s3_invoke_lambda),
        (Rule, "send_to_targets", _rule_send_to_targets),
    ]


@contextlib.contextmanager
def _signature_version_1(subscription: Any, active: bool) -> Iterator[None]:
    """What Lambda publishes to SNS (a DLQ message, a destination record) reaches subscribers
    in an envelope with `"SignatureVersion": "1"`, a topic's default on AWS
    (`test_sns_topic_as_lambda_dead_letter_queue`); moto always writes "2"."""
    if not active:
        yield
        return
    post_data = subscription.get_post_data

    def version_1(*args: Any, **kwargs: Any) -> Any:
        data = post_data(*args, **kwargs)
        if "SignatureVersion" in data:
            data["SignatureVersion"] = "1"
        return data

    subscription.get_post_data = version_1  # this subscription, for this one publish
    try:
        yield
    finally:
        del subscription.get_post_data


def _subscription_publish(self: Any, message: str, message_id: str, subject: str | None = None,
                          message_attributes: dict[str, Any] | None = None,
                          group_id: str | None = None, deduplication_id: str | None = None,
                          message_structure: str | None = None) -> None:
    from moto.sns.models import Subscription

    bridge = current()
    function = bridge.function_at(self.endpoint) if self.protocol == "lambda" else None
    if function is None:
        with _signature_version_1(self, bridge.lambda_publishing > 0):
            return bridge.original(Subscription, "publish")(  # type: ignore[no-any-return]
                self, message, message_id, subject=subject,
                message_attributes=message_attributes, group_id=group_id,
                deduplication_id=deduplication_id, message_structure=message_structure)
    if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
            message_attributes, message):
        return None
    if message_structure == "json":
        message = self._parse_message_structure(message, self.protocol)
    event = {"Records": [records.sns_record(
        subscription_arn=self.arn, topic_arn=self.topic.arn, message_id=message_id,
        message=message, subject=subject, message_attributes=message_attributes or {},
        when=bridge.clock.time(), region=self.topic.arn.split(":")[3])]}
    bridge.invoke_async_quietly(function, event)
    return None


def _s3_invoke_lambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
    import moto.s3.notifications as s3_notifications

    bridge = current()
    function = bridge.function_at(fn_arn)
    if function is None:
        bridge.original(s3_notifications, "_invoke_awslambda")(
            account_id, event_body, fn_arn, region_name)
        return
    built = []
    for record in event_body.get("Records", []):
        s3 = dict(record["s3"])
        s3["bucket"] = records.s3_bucket(s3["bucket"]["name"])
        s3["object"] = {**s3["object"], "sequencer": bridge.next_sequencer()}
        built.append(records.s3_record(
            region=record["awsRegion"], event_name=record["eventName"],
            when=bridge.clock.time(), principal_id=f"AWS:{account_id}", s3=s3))
    bridge.invoke_async_quietly(function, {"Records": built})


def _rule_send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
    from moto.events.models import Rule

    bridge = current()
    send = bridge.original(Rule, "send_to_targets")
    ours = [(t, f) for t in self.targets if ":lambda:" in t["Arn"]
            for f in [bridge.function_at(t["Arn"])] if f is not None]
    if not ours:
        send(self, original_event, transform_input)
        return
    if self.state == "ENABLED" and self.event_pattern.matches_event(original_event):
        event = _eventbridge_event(original_event)
        for target, function in ours:
            bridge.invoke_async_quietly(function, _target_input(target, event, transform_input))
    taken = [t for t, _ in ours]
    saved = self.targets
    self.targets = [t for t in saved if all(t is not o for o in taken)]
    try:
        if self.targets:
            send(self, original_event, transform_input)
    finally:
        self.targets = saved


def _eventbridge_event(event: dict[str, Any]) -> dict[str, Any]:
    """moto's event message in EventBridge's envelope [DOC E3] (time as ISO text)."""
    when = event.get("time")
    if isinstance(when, (int, float)):
        when = iso(when, milliseconds=False)
    return records.eventbridge_event(
        event_id=event.get("id"), detail_type=event.get("detail-type"),
        source=event.get("source"), account=event.get("account"), time=when,
        region=event.get("region"), resources=event.get("resources", []),
        detail=event.get("detail", {}))


def _target_input(target: dict[str, Any], event: dict[str, Any], transform_input: bool) -> Any:
    """What a target receives: the event, or its Input, InputPath or InputTransformer."""
    if not transform_input:
        return event
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        value: Any = event
        for part in [p for p in target["InputPath"].lstrip("$").split(".") if p]:
            value = value.get(part) if isinstance(value, dict) else None
        return value
    transformer = target.get("InputTransformer")
    if transformer:
        from moto.events.utils import EventTemplateParser

        parse: Any = EventTemplateParser.parse
        return parse(input_template=transformer.get("InputTemplate"),
                     input_paths_map=transformer.get("InputPathsMap", {}), event=event)
    return event
