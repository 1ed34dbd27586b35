"""The state of one test's moto bridge: its patches, and the functions it maps to moto's.

`Bridge` installs the patches it is given (the Lambda API in `lambda_api.py`, the event
sources in `push_sources.py` and `sqs_poller.py`) and hands invocation records to the
delivery function it is given (`delivery.py`); `activation.py` builds it and follows
`mock_aws`. The patched moto methods find the running bridge with `current()`.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import io
import itertools
import json
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, Protocol

from .. import destinations, runtime
from ..errors import AWSError, InvalidParameterValueException, LambdaUsageError

if TYPE_CHECKING:
    from ..destinations import Delivery, ParsedArn
    from ..invoker import Invoker, LambdaFunction

# The IAM role the bridge creates in moto for the functions it mirrors (moto requires one).
ROLE_NAME = "pytest-lambda-async"
LATEST = "$LATEST"
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
_MISSING = object()

# A patch: (owner, attribute name, replacement).
Patch = tuple[Any, str, Any]


class Poller(Protocol):
    """An event source mapping's poller, as the bridge holds it (see `sqs_poller.py`)."""

    def busy(self) -> bool: ...

    def cancel(self) -> None: ...


def _empty_zip() -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w"):
        pass
    return base64.b64encode(buffer.getvalue()).decode()


# -- the running bridge ---------------------------------------------------------------------------
_active: Bridge | None = None


def active() -> Bridge | None:
    """The bridge of the current test, if any."""
    return _active


def set_active(bridge: Bridge | None) -> None:
    global _active
    _active = bridge


def current() -> Bridge:
    """The running bridge, from inside a patched moto method."""
    bridge = _active
    assert bridge is not None and bridge.started, "moto patch called without an active bridge"
    return bridge


# -- moto errors -------------------------------------------------------------------------------------
def moto_errors() -> tuple[type[BaseException], ...]:
    """What moto raises for a missing resource or a bad request."""
    from moto.core.exceptions import ServiceException
    from werkzeug.exceptions import HTTPException

    return (ServiceException, HTTPException)


def api_error(error: AWSError) -> Exception:
    """A moto error that answers with AWS's status, error code and JSON body for `error`
    (`Type`, the message, `Reason`): boto3 raises it as ClientError with those fields."""
    from moto.core.exceptions import JsonRESTError

    exc = JsonRESTError(error.code, error.aws_message)
    exc.code = error.status_code
    exc.description = json.dumps(error.body())
    return exc


@contextmanager
def as_api_errors() -> Iterator[None]:
    """The plugin's AWS errors become moto errors: boto3 raises them as ClientError."""
    try:
        yield
    except AWSError as exc:
        raise api_error(exc) from None
    except LambdaUsageError as exc:
        raise api_error(InvalidParameterValueException(str(exc))) from None


# -- helpers ------------------------------------------------------------------------------------
def unqualified_arn(moto_fn: Any) -> str:
    return f"arn:aws:lambda:{moto_fn.region}:{moto_fn.account_id}:function:{moto_fn.function_name}"


def resolvable(handler: Any) -> bool:
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


def target_arn(target: Any) -> str | None:
    """How a target shows in moto's configuration: its ARN."""
    if target is None:
        return None
    return target if isinstance(target, str) else str(getattr(target, "arn", target))


def event_invoke_settings(config: dict[str, Any]) -> dict[str, Any]:
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

    def __init__(self, invoker: Invoker, patches: Callable[[], list[Patch]],
                 deliver: Callable[[Bridge, ParsedArn, Delivery], bool]) -> None:
        self.invoker = invoker
        self._patches = patches
        self.deliver = functools.partial(deliver, self)
        self.clock = invoker.clock
        self.started = False
        self._originals: dict[tuple[Any, str], Any] = {}
        # Functions created through boto3 (not lambda_invoker.deploy), by name.
        self.from_moto: set[str] = set()
        # DeadLetterConfig target by unqualified function ARN (moto does not store it).
        self.dead_letter: dict[str, str] = {}
        # Event-invoke configs by unqualified function ARN, then qualifier: the request's
        # settings and LastModified (see event_invoke_config.py; moto keeps one per function).
        self.invoke_configs: dict[str, dict[str, dict[str, Any]]] = {}
        self.pollers: dict[str, Poller] = {}
        # Above 0 while Lambda publishes a destination record or DLQ message to SNS.
        self.lambda_publishing = 0
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
        self.invoke_configs.clear()
        self._uninstall()

    def busy(self) -> bool:
        """True while an event source mapping has a poll or a redrive-bound retry coming."""
        return any(poller.busy() for poller in self.pollers.values())

    def deployed(self, function: LambdaFunction) -> None:
        if self.started and function.name not in self.from_moto:
            self.mirror(function)

    # -- patches --------------------------------------------------------------------------------
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
        except moto_errors():
            policy = json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]})
            return str(iam.create_role(ROLE_NAME, policy, "/", None, "", [], None).arn)

    def mirror(self, function: LambdaFunction) -> None:
        """Create a deployed function in moto's Lambda (unless it is there already)."""
        settings = function.settings
        backend = self.lambda_backend(settings.account_id, settings.region)
        try:
            backend.get_function(settings.name)
            return
        except moto_errors():
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
                destination = {"Destination": target_arn(target)}
                config.setdefault("DestinationConfig", {})[key] = destination
        if config:
            config["LastModified"] = self.clock.time()
            self.invoke_configs.setdefault(settings.arn, {})[LATEST] = config
        if settings.reserved_concurrent_executions is not None:
            backend.get_function(settings.name).reserved_concurrency = (
                settings.reserved_concurrent_executions)
        dead_letter = target_arn(settings.dead_letter_target)
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
        if not resolvable(latest.handler):
            return None
        with as_api_errors():
            function = self.invoker.deploy(
                latest.handler, name=latest.function_name, region=latest.region,
                account_id=latest.account_id, **self.settings_from(latest),
            )
        self.from_moto.add(function.name)
        return function

    def settings_from(self, latest: Any) -> dict[str, Any]:
        """deploy() keywords from what moto stores for a function (and the side tables)."""
        arn = unqualified_arn(latest)
        reserved = latest.reserved_concurrency
        return {
            "timeout": latest.timeout,
            "memory_size": int(latest.memory_size),
            "environment": dict(latest.environment_vars or {}),
            **event_invoke_settings(self.invoke_configs.get(arn, {}).get(LATEST, {})),
            "dead_letter_target": self.dead_letter.get(arn),
            "reserved_concurrent_executions": None if reserved is None else int(reserved),
        }

    def reconfigure(self, moto_fn: Any, handler: str | None = None, **changes: Any) -> None:
        function = self.existing(moto_fn)
        if function is None:
            return
        if handler is not None and (function.name not in self.from_moto
                                    or handler == function.runtime.handler):
            handler = None  # a deployed callable keeps running; moto's string is a label
        with as_api_errors():
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
        except moto_errors():
            return None
        return self.function_for(moto_fn)

    def next_sequencer(self) -> str:
        return f"{next(self._sequencer):016X}"

