"""SQS event source mappings: a poller per mapping, on the simulated clock [DOC E4].

moto would poll inside `send_message`, once per message; the bridge's pollers take batches
when the clock says so, honour partial batch responses, and let failed messages show again
after the visibility timeout so the queue's redrive policy moves them on.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from ..errors import AWSError, LambdaUsageError
from ..events import records
from .bridge import Bridge, Patch, current, moto_errors

if TYPE_CHECKING:
    from ..clock import TimerHandle
    from ..invoker import LambdaFunction

# How long (real seconds) a message an event source mapping took stays hidden in moto: the
# simulated clock decides when it shows again, so moto's real-time timeout must not.
_HIDDEN = 43200
_DEFAULT_BATCH_SIZE = 10


def patches() -> list[Patch]:
    """moto's event-source-mapping and queue methods and their replacements."""
    from moto.awslambda.models import LambdaBackend
    from moto.sqs.models import Queue

    return [
        (LambdaBackend, "create_event_source_mapping", _create_esm),
        (LambdaBackend, "update_event_source_mapping", _update_esm),
        (Queue, "add_message", _queue_add_message),
    ]


def poller(bridge: Bridge, esm: Any) -> SqsPoller:
    """The poller of an event source mapping (made on first use)."""
    found = bridge.pollers.get(esm.uuid)
    if not isinstance(found, SqsPoller):
        found = bridge.pollers[esm.uuid] = SqsPoller(bridge, esm)
    return found


def wake_queue(bridge: Bridge, queue: Any) -> None:
    backend = bridge.lambda_backend(queue.account_id, queue.region)
    for esm in backend.list_event_source_mappings(queue.queue_arn, None):
        if esm.enabled:
            # MaximumBatchingWindowInSeconds: wait that long to gather a batch.
            poller(bridge, esm).wake(float(esm.max_batch_window or 0))


class SqsPoller:
    """One SQS event source mapping, polling on the simulated clock [DOC E4]."""

    def __init__(self, bridge: Bridge, esm: Any) -> None:
        self.bridge = bridge
        self.clock = bridge.clock
        self.uuid = esm.uuid
        arn = esm.event_source_arn.split(":")
        self.account, self.region, self.queue_name = arn[4], arn[3], arn[5]
        self.timer: TimerHandle | None = None
        # Failed batches waiting out the visibility timeout: (timer, counts for run_until_idle).
        self.retries: list[tuple[TimerHandle, bool]] = []

    def busy(self) -> bool:
        self.retries = [(t, urgent) for t, urgent in self.retries if not t.cancelled]
        return (self.timer is not None and not self.timer.cancelled) or any(
            urgent for _, urgent in self.retries)

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        for timer, _ in self.retries:
            timer.cancel()
        self.retries = []

    def wake(self, delay: float = 0.0) -> None:
        when = self.clock.time() + delay
        if self.timer is not None and not self.timer.cancelled:
            if self.timer.when <= when:
                return
            self.timer.cancel()
        self.timer = self.clock.call_at(when, self.poll)

    def _sqs(self) -> Any:
        from moto.backends import get_backend

        return get_backend("sqs")[self.account][self.region]

    def poll(self) -> None:
        self.timer = None
        bridge = self.bridge
        backend = bridge.lambda_backend(self.account, self.region)
        esm = backend.get_event_source_mapping(self.uuid)
        if esm is None or not esm.enabled or not bridge.started:
            return
        try:
            function = bridge.function_for(backend.get_function(esm.function_arn))
            sqs = self._sqs()
            queue = sqs.get_queue(self.queue_name)
        except moto_errors():
            return
        if function is None:
            return
        batch_size = int(esm.batch_size or _DEFAULT_BATCH_SIZE)
        messages = sqs.receive_message(self.queue_name, batch_size, 0, _HIDDEN,
                                       message_attribute_names=["All"])
        if not messages:
            return
        records = [self._record(m, queue) for m in messages]
        failed = self._invoke(function, esm, {"Records": records}, {m.id for m in messages})
        retry = []
        for message in messages:
            if message.id in failed:
                retry.append(message.receipt_handle)
            else:
                sqs.delete_message(self.queue_name, message.receipt_handle)
        if retry:
            # Failed messages show again after the visibility timeout, with their receive
            # count raised; the queue's redrive policy moves them on after maxReceiveCount.
            delay = float(queue.visibility_timeout or 0)
            redrive = bool(queue.redrive_policy) and queue.dead_letter_queue is not None
            timer = self.clock.call_at(self.clock.time() + delay,
                                       lambda: self._show_again(retry))
            self.retries.append((timer, redrive))
        if len(messages) >= batch_size:
            self.wake()  # more may be waiting

    def _show_again(self, handles: list[str]) -> None:
        sqs = self._sqs()
        for handle in handles:
            # A message deleted meanwhile (by the test, or purged) has nothing to show again.
            with contextlib.suppress(*moto_errors()):
                sqs.change_message_visibility(self.queue_name, handle, 0)
        self.wake()

    def _invoke(self, function: LambdaFunction, esm: Any, event: dict[str, Any],
                ids: set[str]) -> set[str]:
        """Run one batch synchronously; return the ids of the messages that failed."""
        try:
            result = function.invoke(event)
        except (AWSError, LambdaUsageError):
            return ids  # throttled: the whole batch shows again after the visibility timeout
        if result.function_error:
            return ids
        if "ReportBatchItemFailures" not in (esm.function_response_types or []):
            return set()
        return _batch_item_failures(result.payload, ids)

    def _record(self, message: Any, queue: Any) -> dict[str, Any]:
        return records.sqs_record(
            message_id=message.id, receipt_handle=message.receipt_handle, body=message.body,
            attributes=records.sqs_attributes(
                receive_count=message.approximate_receive_count,
                sent_timestamp=message.sent_timestamp, sender_id=message.sender_id,
                first_receive_timestamp=message.approximate_first_receive_timestamp,
                sequence_number=message.sequence_number, group_id=message.group_id,
                deduplication_id=message.deduplication_id),
            message_attributes=message.message_attributes or {},
            md5_of_body=message.body_md5, md5_of_message_attributes=message.attribute_md5,
            queue_arn=queue.queue_arn, region=self.region)


def _batch_item_failures(payload: Any, ids: set[str]) -> set[str]:
    """The failed message ids of a partial batch response [DOC E4]; all of them when the
    response is malformed. An empty or null response (or list) is complete success."""
    if not isinstance(payload, dict):
        return set()
    failures = payload.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return ids
    failed = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in ids:
            return ids
        failed.add(identifier)
    return failed


# -- patched moto methods ----------------------------------------------------------------------
def _wake_esm(bridge: Bridge, esm: Any) -> None:
    if esm is not None and esm.enabled and ":sqs:" in str(esm.event_source_arn):
        poller(bridge, esm).wake()  # messages already waiting are polled too


def _create_esm(self: Any, spec: dict[str, Any]) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = current()
    esm = bridge.original(LambdaBackend, "create_event_source_mapping")(self, spec)
    _wake_esm(bridge, esm)
    return esm


def _update_esm(self: Any, uuid_: str, spec: dict[str, Any]) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = current()
    esm = bridge.original(LambdaBackend, "update_event_source_mapping")(self, uuid_, spec)
    _wake_esm(bridge, esm)
    return esm


def _queue_add_message(self: Any, message: Any) -> None:
    from moto.sqs.models import Queue

    bridge = current()
    mappings = self.lambda_event_source_mappings
    ours = {arn for arn, esm in mappings.items() if bridge.function_at(esm.function_arn)}
    # moto would poll inside send_message, once per message; ours poll on the simulated clock.
    self.lambda_event_source_mappings = {a: e for a, e in mappings.items() if a not in ours}
    try:
        bridge.original(Queue, "add_message")(self, message)
    finally:
        self.lambda_event_source_mappings = mappings
    if ours:
        wake_queue(bridge, self)

