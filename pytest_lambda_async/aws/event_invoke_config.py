"""The event-invoke-config API (Put/Update/Get/Delete/List) as AWS answers it through boto3.

moto keeps one config per function whatever the qualifier, answers `get` with the first one
ever put, and checks little. These handlers replace moto's five, keep each function's configs
by qualifier in the bridge (`Bridge.invoke_configs`), and answer with AWS's responses and
errors as recorded in `test_lambda_api.py::TestLambdaEventInvokeConfig` (LocalStack's
AWS-validated snapshots). The `$LATEST` config steers the invoker's function: its retries,
event age and destinations.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from .. import destinations
from ..errors import (
    InvalidParameterValueException,
    ResourceNotFoundException,
    ValidationException,
)
from .bridge import (
    LATEST,
    Bridge,
    Patch,
    api_error,
    as_api_errors,
    current,
    event_invoke_settings,
    moto_errors,
)

# The Destination pattern of Lambda's API model, quoted in its ValidationException.
DESTINATION_PATTERN = (
    r"$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:"
    r"((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)"
)
_DESTINATION = re.compile(DESTINATION_PATTERN)
_SETTINGS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
_SERVICES = {"OnSuccess": {"sqs", "sns", "lambda", "events"},
             "OnFailure": {"sqs", "sns", "lambda", "events", "s3"}}


def patches() -> list[Patch]:
    """moto's event-invoke-config handlers and their replacements."""
    from moto.awslambda.responses import LambdaResponse

    return [
        (LambdaResponse, "put_function_event_invoke_config", _put),
        (LambdaResponse, "update_function_event_invoke_config", _update),
        (LambdaResponse, "get_function_event_invoke_config", _get),
        (LambdaResponse, "delete_function_event_invoke_config", _delete),
        (LambdaResponse, "list_function_event_invoke_configs", _list),
    ]


def store(bridge: Bridge, arn: str, qualifier: str, config: dict[str, Any]) -> dict[str, Any]:
    """Keep `config` (request fields) for `arn:qualifier`; return it as AWS answers it."""
    kept = {key: config[key] for key in _SETTINGS if config.get(key) is not None}
    kept["LastModified"] = bridge.clock.time()
    bridge.invoke_configs.setdefault(arn, {})[qualifier] = kept
    return _response(arn, qualifier, kept)


def latest_config(bridge: Bridge, arn: str) -> dict[str, Any]:
    return dict(bridge.invoke_configs.get(arn, {}).get(LATEST, {}))


def _response(arn: str, qualifier: str, kept: dict[str, Any]) -> dict[str, Any]:
    destination = kept.get("DestinationConfig") or {}
    response: dict[str, Any] = {
        "LastModified": kept["LastModified"],
        "FunctionArn": f"{arn}:{qualifier}",
        # Both always present, `{}` when unset (`put_destination_other_lambda`).
        "DestinationConfig": {"OnSuccess": dict(destination.get("OnSuccess") or {}),
                              "OnFailure": dict(destination.get("OnFailure") or {})},
    }
    for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        if key in kept:
            response[key] = kept[key]
    return response


# -- requests -----------------------------------------------------------------------------------
class _Request:
    """The function and qualifier an event-invoke-config request names."""

    def __init__(self, response: Any, *, list_path: bool = False) -> None:
        self.backend = response.backend
        parts = response.path.rstrip("/").split("/")
        name = unquote(parts[-3] if list_path else parts[-2])
        param = response.querystring.get("Qualifier", [None])[0] or None
        derived = None
        if name.startswith("arn:"):
            fields = name.split(":")
            name = fields[6] if len(fields) > 6 else name
            derived = fields[7] if len(fields) > 7 else None
        elif ":" in name:
            name, derived = name.split(":", 1)
        self.name = name
        self.conflict = derived is not None and param is not None and derived != param
        self.qualifier = derived or param or LATEST
        self.arn = f"arn:aws:lambda:{response.region}:{response.current_account}:function:{name}"

    @property
    def qualified_arn(self) -> str:
        return f"{self.arn}:{self.qualifier}"

    def function(self) -> Any:
        """moto's function, or AWS's 404 (`put_functionname_name_notfound`)."""
        try:
            return self.backend.get_function(self.name)
        except moto_errors():
            raise api_error(ResourceNotFoundException("The function doesn't exist.")) from None

    def check_qualifier(self) -> None:
        if self.conflict:
            raise api_error(InvalidParameterValueException(
                "The derived qualifier from the function name does not match the specified "
                "qualifier."))
        if self.qualifier != LATEST:
            try:
                self.backend.get_function(self.name, self.qualifier)
            except moto_errors():
                raise api_error(ResourceNotFoundException("The function doesn't exist.")) from None

    def no_config(self) -> Exception:
        return api_error(ResourceNotFoundException(
            f"The function {self.qualified_arn} doesn't have an EventInvokeConfig"))


# The model's bounds on the two numbers (botocore checks the lower ones unless told not to).
_BOUNDS = {"MaximumRetryAttempts": (0, 2), "MaximumEventAgeInSeconds": (60, 21600)}


def _check_settings(config: dict[str, Any]) -> None:
    if not any(key in config for key in _SETTINGS):
        raise api_error(InvalidParameterValueException(
            "You must specify at least one of error handling or destination setting."))
    for key, (low, high) in _BOUNDS.items():
        value = config.get(key)
        if value is None:
            continue
        field = key[0].lower() + key[1:]
        for bad, rule in ((value > high, f"less than or equal to {high}"),
                          (value < low, f"greater than or equal to {low}")):
            if bad:
                raise api_error(ValidationException(
                    f"1 validation error detected: Value '{value}' at '{field}' failed to "
                    f"satisfy constraint: Member must have value {rule}"))


def _check_destinations(bridge: Bridge, request: _Request, config: dict[str, Any]) -> None:
    destination = config.get("DestinationConfig") or {}
    targets = {role: (destination.get(role) or {}).get("Destination") for role in _SERVICES}
    for role, arn in targets.items():
        if arn is not None and not _DESTINATION.fullmatch(arn):
            field = "onSuccess" if role == "OnSuccess" else "onFailure"
            raise api_error(ValidationException(
                f"1 validation error detected: Value '{arn}' at 'destinationConfig.{field}."
                f"destination' failed to satisfy constraint: Member must satisfy regular "
                f"expression pattern: {DESTINATION_PATTERN}"))
    for role, arn in targets.items():
        if not arn:
            continue
        service = arn.split(":")[2]
        if service not in _SERVICES[role]:
            raise api_error(InvalidParameterValueException(
                f"The provided destination config {_describe(targets)} is invalid."))
        if service == "lambda":
            if arn.split(":")[:7] == request.arn.split(":"):
                raise api_error(InvalidParameterValueException(
                    "You can't specify the function as a destination for itself."))
            if bridge.function_at(arn) is None and not _moto_has(bridge, arn):
                raise api_error(InvalidParameterValueException(
                    f"The destination ARN {arn} is invalid."))
    with as_api_errors():  # the plugin's own checks (FIFO queues and topics)
        settings = event_invoke_settings(config)
        for role in ("on_success", "on_failure"):
            destinations.check_target(settings[role], role)


def _describe(targets: dict[str, str | None]) -> str:
    """A destination config as AWS's error message prints it (`put_destination_invalid_service_arn`)."""
    success, failure = targets["OnSuccess"], targets["OnFailure"]
    on_success = "null" if success is None else f"OnSuccess(destination={success})"
    on_failure = "null" if failure is None else f"OnFailure(destination={failure})"
    return f"DestinationConfig(onSuccess={on_success}, onFailure={on_failure})"


def _moto_has(bridge: Bridge, arn: str) -> bool:
    parts = arn.split(":")
    if len(parts) < 7:
        return False
    try:
        bridge.lambda_backend(parts[4], parts[3]).get_function(arn)
    except moto_errors():
        return False
    return True


def _apply(bridge: Bridge, request: _Request, moto_fn: Any) -> None:
    if request.qualifier == LATEST:
        bridge.reconfigure(moto_fn, **event_invoke_settings(latest_config(bridge, request.arn)))


# -- the patched handlers (plain functions: moto lists its actions with inspect.isfunction) --------
def _put(self: Any) -> Any:
    bridge = current()
    request = _Request(self)
    config = self.json_body or {}
    _check_settings(config)
    moto_fn = request.function()
    request.check_qualifier()
    _check_destinations(bridge, request, config)
    # Put replaces the whole configuration: what it leaves out returns to AWS's defaults.
    response = store(bridge, request.arn, request.qualifier, config)
    _apply(bridge, request, moto_fn)
    return 200, {"status": "200"}, json.dumps(response)


def _update(self: Any) -> Any:
    bridge = current()
    request = _Request(self)
    changes = self.json_body or {}
    moto_fn = request.function()
    request.check_qualifier()
    existing = bridge.invoke_configs.get(request.arn, {}).get(request.qualifier)
    if existing is None:
        raise request.no_config()
    _check_settings(changes)
    merged = dict(existing)
    for key, value in changes.items():
        if key == "DestinationConfig":
            merged[key] = {**(merged.get(key) or {}), **(value or {})}
        elif key in _SETTINGS:
            merged[key] = value
    _check_destinations(bridge, request, merged)
    response = store(bridge, request.arn, request.qualifier, merged)
    _apply(bridge, request, moto_fn)
    return 200, {"status": "200"}, json.dumps(response)


def _get(self: Any) -> Any:
    bridge = current()
    request = _Request(self)
    kept = bridge.invoke_configs.get(request.arn, {}).get(request.qualifier)
    if kept is None or request.conflict:
        raise request.no_config()
    return 200, {"status": "200"}, json.dumps(_response(request.arn, request.qualifier, kept))


def _delete(self: Any) -> Any:
    bridge = current()
    request = _Request(self)
    configs = bridge.invoke_configs.get(request.arn, {})
    if request.qualifier not in configs or request.conflict:
        raise request.no_config()
    del configs[request.qualifier]
    try:
        moto_fn = request.backend.get_function(request.name)
    except moto_errors():
        moto_fn = None
    if moto_fn is not None:
        _apply(bridge, request, moto_fn)
    return 204, {"status": "204"}, ""


def _list(self: Any) -> Any:
    bridge = current()
    request = _Request(self, list_path=True)
    request.function()
    configs = bridge.invoke_configs.get(request.arn, {})
    items = [_response(request.arn, qualifier, kept) for qualifier, kept in configs.items()]
    start = int(self.querystring.get("Marker", ["0"])[0] or 0)
    limit = int(self.querystring.get("MaxItems", ["50"])[0] or 50)
    answer: dict[str, Any] = {"FunctionEventInvokeConfigs": items[start:start + limit]}
    if start + limit < len(items):
        answer["NextMarker"] = str(start + limit)
    return 200, {"status": "200"}, json.dumps(answer)
