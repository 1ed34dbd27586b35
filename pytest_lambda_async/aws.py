"""The moto bridge: real boto3 clients under `moto.mock_aws` drive the plugin.

While a test's `lambda_invoker` is active and moto's in-memory mock is on (a `mock_aws`
decorator, context manager or fixture), the bridge patches a handful of moto's internals so
that, with no Docker:

- functions deployed with `lambda_invoker.deploy()` exist in moto's Lambda, and functions made
  with boto3 `create_function(Handler="pkg.module.function")` run in-process through the
  invoker (deployed on first use) when their handler's module is importable;
- boto3 `invoke` (RequestResponse, Event, DryRun) and `invoke_async` answer as AWS does, and
  async events go through the plugin's queue (retries, event age, destinations, DLQ);
- event-invoke configs, `DeadLetterConfig` and reserved concurrency set with boto3 reach the
  invoker;
- destinations and DLQs given as ARNs of moto resources deliver into those resources;
- SNS, S3 and EventBridge invoke asynchronously with AWS's event shapes, and an SQS event
  source mapping polls on the simulated clock with batches, partial batch responses and the
  queue's redrive policy.

Nothing runs inside `publish`/`put_object`/`send_message`: events are queued and run when
the test drains the queue (`lambda_invoker.run_until_idle()`) or moves `lambda_clock`.
Every patch is removed when the mock stops or the test ends, leaving moto exactly as it was.
moto and boto3 are imported only when a test has imported moto itself. Spec:
`reference/aws-lambda-semantics.md` §1-3, §6, §8.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as _dt
import importlib.util
import io
import itertools
import json
import sys
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from . import destinations, runtime
from .destinations import Delivery, ParsedArn, s3_key, timestamp
from .errors import AWSError, LambdaUsageError

if TYPE_CHECKING:
    from .clock import TimerHandle
    from .invoker import Invoker, LambdaFunction

# The IAM role the bridge creates in moto for the functions it mirrors (moto requires one).
ROLE_NAME = "pytest-lambda-async"
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
# The deprecated InvokeAsync API keeps the old 256 KB limit [DOC A9].
INVOKE_ASYNC_LIMIT = 256 * 1024
# How long (real seconds) a message an event source mapping took stays hidden in moto: the
# simulated clock decides when it shows again, so moto's real-time timeout must not.
_HIDDEN = 43200
_DEFAULT_BATCH_SIZE = 10
_MISSING = object()


def _empty_zip() -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w"):
        pass
    return base64.b64encode(buffer.getvalue()).decode()


# -- activation (the lambda_invoker fixture) ------------------------------------------------------
_bridge: Bridge | None = None
_hooked: tuple[Any, Any] | None = None


def activate(invoker: Invoker) -> Bridge:
    """Bridge `invoker` to moto for the current test (a no-op cost while moto is not imported)."""
    global _bridge
    if _bridge is not None:
        deactivate()
    bridge = _bridge = Bridge(invoker)
    invoker.deploy_hooks.append(bridge.deployed)
    invoker.pending_work.append(bridge.busy)
    if "moto" in sys.modules:  # a suite that never imports moto never pays for it
        _hook_mock_aws()
        if _mock_active():
            bridge.start()
    return bridge


def deactivate() -> None:
    """End the bridge: moto is restored exactly, even if its mock is still on."""
    global _bridge
    bridge, _bridge = _bridge, None
    if bridge is None:
        return
    try:
        bridge.stop()
    finally:
        invoker = bridge.invoker
        if bridge.deployed in invoker.deploy_hooks:
            invoker.deploy_hooks.remove(bridge.deployed)
        if bridge.busy in invoker.pending_work:
            invoker.pending_work.remove(bridge.busy)
        _unhook_mock_aws()


def active() -> Bridge | None:
    """The bridge of the current test, if any."""
    return _bridge


def _mock_active() -> bool:
    from moto.core.models import MockAWS, botocore_stubber

    return MockAWS._nested_count > 0 and bool(botocore_stubber.enabled)


def _hook_mock_aws() -> None:
    """Follow moto's in-memory mock starting and stopping (only the outermost start/stop)."""
    global _hooked
    if _hooked is not None:
        return
    from moto.core.models import MockAWS

    enable = MockAWS.__dict__["_enable_patching"]
    disable = MockAWS.__dict__["_disable_patching"]

    def _enable_patching(self: Any, reset: bool = True) -> None:
        enable(self, reset)
        # Server and proxy modes keep their backends in another process: nothing to bridge.
        if type(self) is MockAWS and _bridge is not None:
            _bridge.start()

    def _disable_patching(self: Any, remove_data: bool) -> None:
        try:
            if type(self) is MockAWS and _bridge is not None:
                _bridge.stop()
        finally:
            disable(self, remove_data)

    MockAWS._enable_patching = _enable_patching  # type: ignore[method-assign]
    MockAWS._disable_patching = _disable_patching  # type: ignore[method-assign]
    _hooked = (enable, disable)


def _unhook_mock_aws() -> None:
    global _hooked
    if _hooked is None:
        return
    from moto.core.models import MockAWS

    MockAWS._enable_patching, MockAWS._disable_patching = _hooked  # type: ignore[method-assign]
    _hooked = None


# -- errors -------------------------------------------------------------------------------------
def _moto_errors() -> tuple[type[BaseException], ...]:
    """What moto raises for a missing resource or a bad request."""
    from moto.core.exceptions import ServiceException
    from werkzeug.exceptions import HTTPException

    return (ServiceException, HTTPException)


def _api_error(message: str, code: str, status: int) -> Exception:
    from moto.core.exceptions import AWSError as MotoAWSError

    return MotoAWSError(message, code, status)


@contextmanager
def _as_api_errors() -> Iterator[None]:
    """The plugin's AWS errors become moto errors: boto3 raises them as ClientError."""
    try:
        yield
    except AWSError as exc:
        raise _api_error(exc.aws_message, exc.code, exc.status_code) from None
    except LambdaUsageError as exc:
        raise _api_error(str(exc), "InvalidParameterValueException", 400) from None


# -- helpers ------------------------------------------------------------------------------------
def _unqualified_arn(moto_fn: Any) -> str:
    return f"arn:aws:lambda:{moto_fn.region}:{moto_fn.account_id}:function:{moto_fn.function_name}"


def _resolvable(handler: Any) -> bool:
    """True when a handler string's top-level module is on the test's import path."""
    if not isinstance(handler, str):
        return False
    try:
        modname, _ = runtime.split_handler(handler)
    except Exception:  # a malformed string is simply not ours to run
        return False
    top = modname.replace("/", ".").split(".")[0]
    if top in sys.modules:
        return True
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _request_body(body: Any) -> bytes:
    """A Lambda Invoke payload: JSON text (an empty payload is `{}`, as on AWS)."""
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
    if not data.strip():
        return b"{}"
    try:
        json.loads(data)
    except ValueError as exc:
        raise _api_error(
            f"Could not parse request body into json: Could not parse payload into json: {exc}",
            "InvalidRequestContentException", 400,
        ) from None
    return data


def _client_context(header: str | None) -> dict[str, Any] | None:
    if not header:
        return None
    try:
        value = json.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError):
        value = None
    if not isinstance(value, dict):
        raise _api_error("Client context must be a valid Base64-encoded JSON object.",
                         "InvalidRequestContentException", 400)
    return value


def _iso(when: float, *, milliseconds: bool = True) -> str:
    return timestamp(when, milliseconds=milliseconds)


def _target_arn(target: Any) -> str | None:
    """How a target shows in moto's configuration: its ARN."""
    if target is None:
        return None
    return target if isinstance(target, str) else str(getattr(target, "arn", target))


def _event_invoke_settings(config: dict[str, Any]) -> dict[str, Any]:
    """deploy() keywords from an event-invoke config (missing keys take AWS's defaults)."""
    destination = config.get("DestinationConfig") or {}
    return {
        "maximum_retry_attempts": config.get("MaximumRetryAttempts", 2),
        "maximum_event_age_in_seconds": config.get("MaximumEventAgeInSeconds", 21600),
        "on_success": (destination.get("OnSuccess") or {}).get("Destination") or None,
        "on_failure": (destination.get("OnFailure") or {}).get("Destination") or None,
    }


# -- the bridge ---------------------------------------------------------------------------------
class Bridge:
    """Connects one test's invoker to moto while moto's mock is on."""

    def __init__(self, invoker: Invoker) -> None:
        self.invoker = invoker
        self.clock = invoker.clock
        self.started = False
        self._originals: dict[tuple[Any, str], Any] = {}
        # Functions created through boto3 (not lambda_invoker.deploy), by name.
        self.from_moto: set[str] = set()
        # DeadLetterConfig target by unqualified function ARN (moto does not store it).
        self.dead_letter: dict[str, str] = {}
        self.pollers: dict[str, _Poller] = {}
        self._sequencer = itertools.count(1)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if self.started:
            return
        self.started = True
        try:
            self._install()
            destinations.moto_delivery.append(self.deliver)
            for function in list(self.invoker.functions):
                if function.name not in self.from_moto:
                    self.mirror(function)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        if self.deliver in destinations.moto_delivery:
            destinations.moto_delivery.remove(self.deliver)
        for poller in self.pollers.values():
            poller.cancel()
        self.pollers.clear()
        self.dead_letter.clear()
        self._uninstall()

    def busy(self) -> bool:
        """True while an event source mapping has a poll or a redrive-bound retry coming."""
        return any(poller.busy() for poller in self.pollers.values())

    def deployed(self, function: LambdaFunction) -> None:
        if self.started and function.name not in self.from_moto:
            self.mirror(function)

    # -- patches --------------------------------------------------------------------------------
    def _patches(self) -> list[tuple[Any, str, Any]]:
        import moto.s3.notifications as s3_notifications
        from moto.awslambda.models import LambdaBackend
        from moto.awslambda.models import LambdaFunction as MotoFunction
        from moto.awslambda.responses import LambdaResponse
        from moto.awslambda_simple.models import LambdaSimpleBackend
        from moto.events.models import Rule
        from moto.sns.models import Subscription
        from moto.sqs.models import Queue

        try:
            from moto.utilities.aws_headers import amz_crc32

            response_invoke = amz_crc32(_response_invoke)
        except ImportError:  # pragma: no cover - older moto layouts
            response_invoke = _response_invoke
        return [
            (LambdaResponse, "invoke", response_invoke),
            (LambdaResponse, "invoke_async", _response_invoke_async),
            (MotoFunction, "invoke", _function_invoke),
            (MotoFunction, "get_configuration", _function_get_configuration),
            (LambdaBackend, "invoke", _backend_invoke(LambdaBackend)),
            (LambdaSimpleBackend, "invoke", _backend_invoke(LambdaSimpleBackend)),
            (LambdaBackend, "create_function", _create_function),
            (LambdaBackend, "update_function_configuration", _update_function_configuration),
            (LambdaBackend, "put_function_event_invoke_config", _put_event_invoke_config),
            (LambdaBackend, "update_function_event_invoke_config", _update_event_invoke_config),
            (LambdaBackend, "delete_function_event_invoke_config", _delete_event_invoke_config),
            (LambdaBackend, "put_function_concurrency", _put_concurrency),
            (LambdaBackend, "delete_function_concurrency", _delete_concurrency),
            (LambdaBackend, "create_event_source_mapping", _create_esm),
            (LambdaBackend, "update_event_source_mapping", _update_esm),
            (Subscription, "publish", _subscription_publish),
            (s3_notifications, "_invoke_awslambda", _s3_invoke_lambda),
            (Rule, "send_to_targets", _rule_send_to_targets),
            (Queue, "add_message", _queue_add_message),
        ]

    def _install(self) -> None:
        for owner, name, replacement in self._patches():
            # From the owner's own __dict__: an inherited method is deleted again, not shadowed.
            self._originals[(owner, name)] = owner.__dict__.get(name, _MISSING)
            setattr(owner, name, replacement)

    def _uninstall(self) -> None:
        originals, self._originals = self._originals, {}
        for (owner, name), original in originals.items():
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)

    def original(self, owner: Any, name: str) -> Any:
        """moto's own implementation of a patched attribute."""
        original = self._originals[(owner, name)]
        if original is _MISSING:  # inherited: the first base class that defines it
            original = next(base.__dict__[name] for base in owner.__mro__[1:]
                            if name in base.__dict__)
        return original

    # -- functions ------------------------------------------------------------------------------
    def lambda_backend(self, account: str, region: str) -> Any:
        from moto.awslambda.utils import get_backend

        return get_backend(account, region)

    def _role(self, account: str) -> str:
        from moto.iam.models import iam_backends

        iam = iam_backends[account]["aws"]
        try:
            return str(iam.get_role(ROLE_NAME).arn)
        except _moto_errors():
            policy = json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]})
            return str(iam.create_role(ROLE_NAME, policy, "/", None, "", [], None).arn)

    def mirror(self, function: LambdaFunction) -> None:
        """Create a deployed function in moto's Lambda (unless it is there already)."""
        from moto.awslambda.models import LambdaBackend

        settings = function.settings
        backend = self.lambda_backend(settings.account_id, settings.region)
        try:
            backend.get_function(settings.name)
            return
        except _moto_errors():
            pass
        timeout = settings.timeout
        backend.create_function({
            "FunctionName": settings.name,
            "Runtime": RUNTIME,
            "Role": self._role(settings.account_id),
            "Handler": function.runtime.handler_name,
            "Code": {"ZipFile": _empty_zip()},
            "Timeout": int(timeout) if float(timeout).is_integer() else timeout,
            "MemorySize": settings.memory_size,
            "Environment": {"Variables": dict(settings.environment)},
        })
        config: dict[str, Any] = {}
        if settings.maximum_retry_attempts != 2:
            config["MaximumRetryAttempts"] = settings.maximum_retry_attempts
        if settings.maximum_event_age_in_seconds != 21600:
            config["MaximumEventAgeInSeconds"] = settings.maximum_event_age_in_seconds
        for key, target in (("OnSuccess", settings.on_success), ("OnFailure", settings.on_failure)):
            if target is not None:
                destination = {"Destination": _target_arn(target)}
                config.setdefault("DestinationConfig", {})[key] = destination
        if config:
            self.original(LambdaBackend, "put_function_event_invoke_config")(
                backend, settings.name, config)
        if settings.reserved_concurrent_executions is not None:
            backend.get_function(settings.name).reserved_concurrency = (
                settings.reserved_concurrent_executions)
        dead_letter = _target_arn(settings.dead_letter_target)
        if dead_letter is not None:
            self.dead_letter[settings.arn] = dead_letter

    def existing(self, moto_fn: Any) -> LambdaFunction | None:
        """The invoker's function for a moto function, if it has one already."""
        for function in self.invoker.functions:
            settings = function.settings
            if (settings.name, settings.region, settings.account_id) == (
                    moto_fn.function_name, moto_fn.region, moto_fn.account_id):
                return function
        return None

    def function_for(self, moto_fn: Any) -> LambdaFunction | None:
        """The invoker's function for a moto function, deployed on first use; None when the
        function's handler is not importable here (moto then runs it its own way)."""
        function = self.existing(moto_fn)
        if function is not None:
            return function
        latest = self.lambda_backend(moto_fn.account_id, moto_fn.region).get_function(
            moto_fn.function_name)
        if not _resolvable(latest.handler):
            return None
        with _as_api_errors():
            function = self.invoker.deploy(
                latest.handler, name=latest.function_name, region=latest.region,
                account_id=latest.account_id, **self.settings_from(latest),
            )
        self.from_moto.add(function.name)
        return function

    def settings_from(self, latest: Any) -> dict[str, Any]:
        """deploy() keywords from what moto stores for a function (and the DLQ side table)."""
        configs = latest.event_invoke_config
        reserved = latest.reserved_concurrency
        return {
            "timeout": latest.timeout,
            "memory_size": int(latest.memory_size),
            "environment": dict(latest.environment_vars or {}),
            **_event_invoke_settings(configs[-1].config if configs else {}),
            "dead_letter_target": self.dead_letter.get(_unqualified_arn(latest)),
            "reserved_concurrent_executions": None if reserved is None else int(reserved),
        }

    def reconfigure(self, moto_fn: Any, handler: str | None = None, **changes: Any) -> None:
        function = self.existing(moto_fn)
        if function is None:
            return
        if handler is not None and (function.name not in self.from_moto
                                    or handler == function.runtime.handler):
            handler = None  # a deployed callable keeps running; moto's string is a label
        with _as_api_errors():
            function.reconfigure(handler=handler, **changes)

    # -- running --------------------------------------------------------------------------------
    def run_internal(self, function: LambdaFunction, body: Any, headers: Any,
                     response_headers: dict[str, Any]) -> bytes:
        """An invocation from inside moto (another service): never raises into moto's caller."""
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
        if not data.strip():
            data = b"{}"
        kind = ""
        for key, value in dict(headers or {}).items():
            if key.lower() == "x-amz-invocation-type":
                kind = value
        try:
            if kind == "Event":
                function.invoke_async(data)
                return b""
            result = function.invoke(data)
        except (AWSError, LambdaUsageError) as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__}).encode()
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        return result.raw_payload

    def invoke_async_quietly(self, function: LambdaFunction, event: Any) -> None:
        """Queue an event from an async source: a refusal never reaches the source's caller."""
        # AWS drops a refused event too (and counts it in the source's delivery-failure metric).
        with suppress(AWSError, LambdaUsageError):
            function.invoke_async(event)

    def function_at(self, arn: str) -> LambdaFunction | None:
        """The invoker's function for a Lambda ARN in moto, or None."""
        parts = arn.split(":")
        if len(parts) < 7:
            return None
        try:
            moto_fn = self.lambda_backend(parts[4], parts[3]).get_function(arn)
        except _moto_errors():
            return None
        return self.function_for(moto_fn)

    # -- destinations and DLQs into moto resources ------------------------------------------------
    def deliver(self, parsed: ParsedArn, delivery: Delivery) -> bool:
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
                get_backend("sns")[account][region].publish(
                    delivery.body, arn=parsed.arn, message_attributes=sns_attributes)
                return True
            if parsed.service == "events":
                entries = get_backend("events")[account][region].put_events([{
                    "Source": self.invoker.eventbridge_source,
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
                function = self.function_at(parsed.arn)
                if function is None:
                    return False
                self.invoke_async_quietly(function, delivery.record)
                return True
        except _moto_errors():
            return False
        return False

    # -- SQS event source mappings --------------------------------------------------------------
    def poller(self, esm: Any) -> _Poller:
        poller = self.pollers.get(esm.uuid)
        if poller is None:
            poller = self.pollers[esm.uuid] = _Poller(self, esm)
        return poller

    def wake_queue(self, queue: Any) -> None:
        backend = self.lambda_backend(queue.account_id, queue.region)
        for esm in backend.list_event_source_mappings(queue.queue_arn, None):
            if esm.enabled:
                # MaximumBatchingWindowInSeconds: wait that long to gather a batch.
                self.poller(esm).wake(float(esm.max_batch_window or 0))

    def next_sequencer(self) -> str:
        return f"{next(self._sequencer):016X}"


class _Poller:
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
        except _moto_errors():
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
            with contextlib.suppress(*_moto_errors()):
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
        attributes = {
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "SentTimestamp": str(message.sent_timestamp),
            "SenderId": str(message.sender_id),
            "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        }
        if message.sequence_number is not None:
            attributes["SequenceNumber"] = str(message.sequence_number)
        if message.group_id is not None:
            attributes["MessageGroupId"] = str(message.group_id)
        if message.deduplication_id is not None:
            attributes["MessageDeduplicationId"] = str(message.deduplication_id)
        record: dict[str, Any] = {
            "messageId": message.id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": attributes,
            "messageAttributes": {
                name: _sqs_event_attribute(value)
                for name, value in (message.message_attributes or {}).items()
            },
            "md5OfBody": message.body_md5,
        }
        if message.message_attributes:
            record["md5OfMessageAttributes"] = message.attribute_md5
        record.update({"eventSource": "aws:sqs", "eventSourceARN": queue.queue_arn,
                       "awsRegion": self.region})
        return record


def _sqs_event_attribute(value: dict[str, Any]) -> dict[str, Any]:
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


# -- patched moto methods (plain functions: moto lists its actions with inspect.isfunction) --------
def _current() -> Bridge:
    bridge = _bridge
    assert bridge is not None and bridge.started, "moto patch called without an active bridge"
    return bridge


def _response_invoke(self: Any) -> Any:
    from moto.awslambda.responses import LambdaResponse

    bridge = _current()
    name = unquote(self.path.rsplit("/", 2)[-2])
    qualifier = self.querystring.get("Qualifier", [None])[0]
    moto_fn = self.backend.get_function(name, qualifier)  # ResourceNotFoundException
    function = bridge.function_for(moto_fn)
    if function is None:
        return bridge.original(LambdaResponse, "invoke")(self)
    kind = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    headers = {"content-type": "application/json"}
    if kind == "DryRun":
        headers["status"] = "204"
        return 204, headers, ""
    body = _request_body(self.body)
    if kind == "Event":
        with _as_api_errors():
            function.invoke_async(body)
        headers["status"] = "202"
        return 202, headers, ""
    client_context = _client_context(self.headers.get("X-Amz-Client-Context"))
    with _as_api_errors():
        result = function.invoke(body, client_context=client_context)
    headers.update({"status": "200", "x-amz-executed-version": str(moto_fn.version)})
    if result.function_error:
        headers["x-amz-function-error"] = result.function_error
    if self.headers.get("X-Amz-Log-Type") == "Tail":
        headers["x-amz-log-result"] = base64.b64encode(result.log_result.encode()).decode()
    return 200, headers, result.raw_payload


def _response_invoke_async(self: Any) -> Any:
    from moto.awslambda.responses import LambdaResponse

    bridge = _current()
    index = -3 if self.path.endswith("/") else -2
    moto_fn = self.backend.get_function(unquote(self.path.rsplit("/", 3)[index]), None)
    function = bridge.function_for(moto_fn)
    if function is None:
        return bridge.original(LambdaResponse, "invoke_async")(self)
    body = _request_body(self.body)
    with _as_api_errors():
        runtime.encode_event(body, limit=INVOKE_ASYNC_LIMIT, operation="InvokeAsync")
        function.invoke_async(body)
    return 202, {"status": "202"}, '{"Status": 202}'


def _function_invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
    from moto.awslambda.models import LambdaFunction as MotoFunction

    bridge = _current()
    function = bridge.function_for(self)
    if function is None:
        return bridge.original(MotoFunction, "invoke")(
            self, body, request_headers, response_headers)
    return bridge.run_internal(function, body, request_headers, response_headers)


def _backend_invoke(owner: Any) -> Callable[..., Any]:
    def invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
               response_headers: Any) -> Any:
        bridge = _current()
        moto_fn = self.get_function(function_name, qualifier)
        function = bridge.function_for(moto_fn)
        if function is None:
            return bridge.original(owner, "invoke")(
                self, function_name, qualifier, body, headers, response_headers)
        payload = bridge.run_internal(function, body, headers, response_headers)
        response_headers["Content-Length"] = str(len(payload))
        return payload

    return invoke


def _function_get_configuration(self: Any, on_create: bool = False) -> Any:
    from moto.awslambda.models import LambdaFunction as MotoFunction

    bridge = _current()
    config = bridge.original(MotoFunction, "get_configuration")(self, on_create)
    target = bridge.dead_letter.get(_unqualified_arn(self))
    if target is not None:
        config["DeadLetterConfig"] = {"TargetArn": target}
    return config


def _check_dead_letter(body: dict[str, Any]) -> str | None:
    """The DeadLetterConfig target of a request ('' clears it), checked as AWS checks it."""
    target = (body.get("DeadLetterConfig") or {}).get("TargetArn")
    if target:
        with _as_api_errors():
            destinations.check_target(target, "dead_letter_target")
    return target if isinstance(target, str) else None


def _create_function(self: Any, spec: dict[str, Any]) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = _current()
    target = _check_dead_letter(spec)
    moto_fn = bridge.original(LambdaBackend, "create_function")(self, spec)
    if target:
        bridge.dead_letter[_unqualified_arn(moto_fn)] = target
    function = bridge.existing(moto_fn)
    if function is not None and function.name in bridge.from_moto:
        # Created again (in a later mock_aws): the new function's code and configuration.
        bridge.reconfigure(moto_fn, handler=moto_fn.handler, **bridge.settings_from(moto_fn))
    return moto_fn


def _update_function_configuration(self: Any, function_name: str, qualifier: Any,
                                   body: dict[str, Any]) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = _current()
    target = _check_dead_letter(body)
    result = bridge.original(LambdaBackend, "update_function_configuration")(
        self, function_name, qualifier, body)
    moto_fn = self.get_function(function_name)
    arn = _unqualified_arn(moto_fn)
    changes: dict[str, Any] = {}
    if target is not None:
        if target:
            bridge.dead_letter[arn] = target
        else:
            bridge.dead_letter.pop(arn, None)
        changes["dead_letter_target"] = target or None
    if "Timeout" in body:
        changes["timeout"] = body["Timeout"]
    if "MemorySize" in body:
        changes["memory_size"] = int(body["MemorySize"])
    if "Environment" in body:
        changes["environment"] = dict((body["Environment"] or {}).get("Variables") or {})
    bridge.reconfigure(moto_fn, handler=body.get("Handler"), **changes)
    if target is not None and result is not None:
        result = moto_fn.get_configuration()
    return result


def _check_destinations(config: dict[str, Any]) -> None:
    settings = _event_invoke_settings(config)
    with _as_api_errors():
        for role in ("on_success", "on_failure"):
            destinations.check_target(settings[role], role)


def _keep_one_config(backend: Any, function_name: str) -> None:
    # moto appends every put/update and answers `get` with the first: keep only the newest.
    moto_fn = backend.get_function(function_name)
    moto_fn.event_invoke_config = moto_fn.event_invoke_config[-1:]


def _put_event_invoke_config(self: Any, function_name: str, config: dict[str, Any]) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = _current()
    _check_destinations(config)
    response = bridge.original(LambdaBackend, "put_function_event_invoke_config")(
        self, function_name, config)
    _keep_one_config(self, function_name)
    # Put replaces the whole configuration: what it leaves out returns to AWS's defaults.
    bridge.reconfigure(self.get_function(function_name), **_event_invoke_settings(config))
    return response


def _update_event_invoke_config(self: Any, function_name: str, config: dict[str, Any]) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = _current()
    moto_fn = self.get_function(function_name)
    merged: dict[str, Any] = dict(moto_fn.event_invoke_config[-1].config
                                  if moto_fn.event_invoke_config else {})
    for key, value in config.items():
        if key == "DestinationConfig":
            merged[key] = {**(merged.get(key) or {}), **(value or {})}
        else:
            merged[key] = value
    _check_destinations(merged)
    response = bridge.original(LambdaBackend, "put_function_event_invoke_config")(
        self, function_name, merged)
    _keep_one_config(self, function_name)
    bridge.reconfigure(moto_fn, **_event_invoke_settings(merged))
    return response


def _delete_event_invoke_config(self: Any, function_name: str) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = _current()
    result = bridge.original(LambdaBackend, "delete_function_event_invoke_config")(
        self, function_name)
    bridge.reconfigure(self.get_function(function_name), **_event_invoke_settings({}))
    return result


def _put_concurrency(self: Any, function_name: str, reserved_concurrency: Any) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = _current()
    result = bridge.original(LambdaBackend, "put_function_concurrency")(
        self, function_name, reserved_concurrency)
    bridge.reconfigure(self.get_function(function_name),
                       reserved_concurrent_executions=int(reserved_concurrency))
    return result


def _delete_concurrency(self: Any, function_name: str) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = _current()
    result = bridge.original(LambdaBackend, "delete_function_concurrency")(self, function_name)
    bridge.reconfigure(self.get_function(function_name), reserved_concurrent_executions=None)
    return result


def _wake_esm(bridge: Bridge, esm: Any) -> None:
    if esm is not None and esm.enabled and ":sqs:" in str(esm.event_source_arn):
        bridge.poller(esm).wake()  # messages already waiting are polled too


def _create_esm(self: Any, spec: dict[str, Any]) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = _current()
    esm = bridge.original(LambdaBackend, "create_event_source_mapping")(self, spec)
    _wake_esm(bridge, esm)
    return esm


def _update_esm(self: Any, uuid_: str, spec: dict[str, Any]) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = _current()
    esm = bridge.original(LambdaBackend, "update_event_source_mapping")(self, uuid_, spec)
    _wake_esm(bridge, esm)
    return esm


def _queue_add_message(self: Any, message: Any) -> None:
    from moto.sqs.models import Queue

    bridge = _current()
    mappings = self.lambda_event_source_mappings
    ours = {arn for arn, esm in mappings.items() if bridge.function_at(esm.function_arn)}
    # moto would poll inside send_message, once per message; ours poll on the simulated clock.
    self.lambda_event_source_mappings = {a: e for a, e in mappings.items() if a not in ours}
    try:
        bridge.original(Queue, "add_message")(self, message)
    finally:
        self.lambda_event_source_mappings = mappings
    if ours:
        bridge.wake_queue(self)


def _subscription_publish(self: Any, message: str, message_id: str, subject: str | None = None,
                          message_attributes: dict[str, Any] | None = None,
                          group_id: str | None = None, deduplication_id: str | None = None,
                          message_structure: str | None = None) -> None:
    from moto.sns.models import Subscription

    bridge = _current()
    function = bridge.function_at(self.endpoint) if self.protocol == "lambda" else None
    if function is None:
        return bridge.original(Subscription, "publish")(  # type: ignore[no-any-return]
            self, message, message_id, subject=subject, message_attributes=message_attributes,
            group_id=group_id, deduplication_id=deduplication_id,
            message_structure=message_structure)
    if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
            message_attributes, message):
        return None
    if message_structure == "json":
        message = self._parse_message_structure(message, self.protocol)
    region = self.topic.arn.split(":")[3]
    endpoint = f"https://sns.{region}.amazonaws.com"
    event = {"Records": [{
        "EventVersion": "1.0",
        "EventSubscriptionArn": self.arn,
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1",
            "Timestamp": _iso(bridge.clock.time()),
            "Signature": "EXAMPLE",
            "SigningCertUrl": f"{endpoint}/SimpleNotificationService-0000000000000000000000.pem",
            "MessageId": message_id,
            "Message": message,
            "MessageAttributes": dict(message_attributes or {}),
            "Type": "Notification",
            "UnsubscribeUrl": f"{endpoint}/?Action=Unsubscribe&SubscriptionArn={self.arn}",
            "TopicArn": self.topic.arn,
            "Subject": subject,
        },
    }]}
    bridge.invoke_async_quietly(function, event)
    return None


def _s3_invoke_lambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
    import moto.s3.notifications as s3_notifications

    bridge = _current()
    function = bridge.function_at(fn_arn)
    if function is None:
        bridge.original(s3_notifications, "_invoke_awslambda")(
            account_id, event_body, fn_arn, region_name)
        return
    records = []
    for record in event_body.get("Records", []):
        s3 = dict(record["s3"])
        s3["bucket"] = {"name": s3["bucket"]["name"],
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": s3["bucket"]["arn"]}
        s3["object"] = {**s3["object"], "sequencer": bridge.next_sequencer()}
        records.append({
            "eventVersion": record["eventVersion"],
            "eventSource": "aws:s3",
            "awsRegion": record["awsRegion"],
            "eventTime": _iso(bridge.clock.time()),
            "eventName": record["eventName"],
            "userIdentity": {"principalId": f"AWS:{account_id}"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                                 "x-amz-id-2": base64.b64encode(uuid.uuid4().bytes).decode()},
            "s3": s3,
        })
    bridge.invoke_async_quietly(function, {"Records": records})


def _rule_send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
    from moto.events.models import Rule

    bridge = _current()
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
        when = _dt.datetime.fromtimestamp(when, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": event.get("version", "0"),
        "id": event.get("id"),
        "detail-type": event.get("detail-type"),
        "source": event.get("source"),
        "account": event.get("account"),
        "time": when,
        "region": event.get("region"),
        "resources": event.get("resources", []),
        "detail": event.get("detail", {}),
    }


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
