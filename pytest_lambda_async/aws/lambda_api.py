"""The Lambda API through boto3: moto's handlers, patched to run functions through the invoker.

`Invoke` (RequestResponse, Event, DryRun) and `InvokeAsync` answer as AWS does; the
event-invoke config, `DeadLetterConfig` and reserved concurrency set with boto3 reach the
invoker's functions. Spec: `reference/aws-lambda-semantics.md` §1-3.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from .. import destinations, runtime
from ..errors import InvalidRequestContentException, ResourceNotFoundException
from .bridge import (
    Patch,
    api_error,
    as_api_errors,
    current,
    unqualified_arn,
)

# The deprecated InvokeAsync API keeps the old 256 KB limit [DOC A9].
INVOKE_ASYNC_LIMIT = 256 * 1024


def patches() -> list[Patch]:
    """moto's Lambda API methods and their replacements."""
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda.models import LambdaFunction as MotoFunction
    from moto.awslambda.responses import LambdaResponse
    from moto.awslambda_simple.models import LambdaSimpleBackend

    try:
        from moto.utilities.aws_headers import amz_crc32

        response_invoke = amz_crc32(_response_invoke)
    except ImportError:  # pragma: no cover - older moto layouts
        response_invoke = _response_invoke
    return [
        (LambdaResponse, "setup_class", _setup_class),
        (LambdaResponse, "call_action", _call_action),
        (LambdaResponse, "invoke", response_invoke),
        (LambdaResponse, "invoke_async", _response_invoke_async),
        (MotoFunction, "invoke", _function_invoke),
        (MotoFunction, "get_configuration", _function_get_configuration),
        (LambdaBackend, "invoke", _backend_invoke(LambdaBackend)),
        (LambdaSimpleBackend, "invoke", _backend_invoke(LambdaSimpleBackend)),
        (LambdaBackend, "create_function", _create_function),
        (LambdaBackend, "update_function_configuration", _update_function_configuration),
        (LambdaBackend, "put_function_concurrency", _put_concurrency),
        (LambdaBackend, "delete_function_concurrency", _delete_concurrency),
    ]


def _request_body(body: Any) -> bytes:
    """A Lambda Invoke payload: JSON text (an empty payload is `{}`, as on AWS)."""
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
    if not data.strip():
        return b"{}"
    with as_api_errors():
        runtime.check_request_body(data)
    return data


def _client_context(header: str | None) -> dict[str, Any] | None:
    if not header:
        return None
    try:
        value = json.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError):
        value = None
    if not isinstance(value, dict):
        raise api_error(InvalidRequestContentException(
            "Client context must be a valid Base64-encoded JSON object."))
    return value


# -- patched moto methods (plain functions: moto lists its actions with inspect.isfunction) --------
def _setup_class(self: Any, request: Any, full_url: str | None = None, headers: Any = None,
                 use_raw_body: bool | None = None) -> None:
    from moto.awslambda.responses import LambdaResponse

    # moto decodes every body as UTF-8 and fails on other bytes; the Invoke handler gets them
    # as they came, and answers InvalidRequestContentException as AWS does.
    if not use_raw_body and "/invocations" in request.path:
        try:
            request.data.decode("utf-8")
        except UnicodeDecodeError:
            use_raw_body = True
    current().original(LambdaResponse, "setup_class")(self, request, full_url, headers,
                                                      use_raw_body)


# Lambda's errors answer with `Type` and the message field its model names (`message` for most,
# `Message` for ResourceNotFoundException), as every recorded error does.
_MESSAGE_FIELDS = {"ResourceNotFoundException": "Message"}
_UNTYPED_ERRORS = {"ValidationException"}


def _call_action(self: Any) -> Any:
    from moto.awslambda.responses import LambdaResponse

    status, headers, body = current().original(LambdaResponse, "call_action")(self)
    # The invocation's request id, as AWS answers it (`test_request_id_invoke`); moto puts
    # its own random one in every response.
    request_id = self.__dict__.pop("_invocation_request_id", None)
    if request_id is not None:
        headers["x-amzn-requestid"] = request_id
    if int(status) >= 400:
        body = _aws_error_body(headers, body)
    return status, headers, body


def _aws_error_body(headers: dict[str, Any], body: Any) -> Any:
    """moto's `{"__type", "message"}` error body as AWS's Lambda writes it."""
    try:
        document = json.loads(body)
    except (TypeError, ValueError):
        return body
    if not isinstance(document, dict) or "Type" in document:
        return body
    code = str(headers.get("X-Amzn-ErrorType") or document.get("__type") or "").split("#")[-1]
    message = document.get("message", document.get("Message"))
    if not code or message is None:
        return body
    rewritten = {} if code in _UNTYPED_ERRORS else {"Type": "User"}
    rewritten[_MESSAGE_FIELDS.get(code, "message")] = message
    return json.dumps(rewritten)


def _function_or_404(self: Any, name: str, qualifier: str | None) -> Any:
    """moto's function for an Invoke, or AWS's 404 naming the qualified ARN
    (`test_invoke_exceptions`)."""
    from moto.awslambda.exceptions import UnknownFunctionException

    try:
        return self.backend.get_function(name, qualifier)
    except UnknownFunctionException:
        arn = name if name.startswith("arn:") else (
            f"arn:aws:lambda:{self.region}:{self.current_account}:function:{name}")
        if arn.count(":") == 6:
            arn += f":{qualifier or '$LATEST'}"
        raise api_error(ResourceNotFoundException(f"Function not found: {arn}")) from None


def _response_invoke(self: Any) -> Any:
    from moto.awslambda.responses import LambdaResponse

    bridge = current()
    name = unquote(self.path.rsplit("/", 2)[-2])
    qualifier = self.querystring.get("Qualifier", [None])[0]
    moto_fn = _function_or_404(self, name, qualifier)
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
        with as_api_errors():
            accepted = function.invoke_async(body)
        self._invocation_request_id = accepted.request_id
        headers["status"] = "202"
        return 202, headers, ""
    client_context = _client_context(self.headers.get("X-Amz-Client-Context"))
    with as_api_errors():
        result = function.invoke(body, client_context=client_context)
    self._invocation_request_id = result.request_id
    headers.update({"status": "200", "x-amz-executed-version": str(moto_fn.version)})
    if result.function_error:
        headers["x-amz-function-error"] = result.function_error
    if self.headers.get("X-Amz-Log-Type") == "Tail":
        headers["x-amz-log-result"] = base64.b64encode(result.log_result.encode()).decode()
    return 200, headers, result.raw_payload


def _response_invoke_async(self: Any) -> Any:
    from moto.awslambda.responses import LambdaResponse

    bridge = current()
    index = -3 if self.path.endswith("/") else -2
    moto_fn = self.backend.get_function(unquote(self.path.rsplit("/", 3)[index]), None)
    function = bridge.function_for(moto_fn)
    if function is None:
        return bridge.original(LambdaResponse, "invoke_async")(self)
    body = _request_body(self.body)
    with as_api_errors():
        runtime.encode_event(body, limit=INVOKE_ASYNC_LIMIT, operation="InvokeAsync")
        function.invoke_async(body)
    return 202, {"status": "202"}, '{"Status": 202}'


def _function_invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
    from moto.awslambda.models import LambdaFunction as MotoFunction

    bridge = current()
    function = bridge.function_for(self)
    if function is None:
        return bridge.original(MotoFunction, "invoke")(
            self, body, request_headers, response_headers)
    return bridge.run_internal(function, body, request_headers, response_headers)


def _backend_invoke(owner: Any) -> Callable[..., Any]:
    def invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
               response_headers: Any) -> Any:
        bridge = current()
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

    bridge = current()
    config = bridge.original(MotoFunction, "get_configuration")(self, on_create)
    target = bridge.dead_letter.get(unqualified_arn(self))
    if target is not None:
        config["DeadLetterConfig"] = {"TargetArn": target}
    return config


def _check_dead_letter(body: dict[str, Any]) -> str | None:
    """The DeadLetterConfig target of a request ('' clears it), checked as AWS checks it."""
    target = (body.get("DeadLetterConfig") or {}).get("TargetArn")
    if target:
        with as_api_errors():
            destinations.check_target(target, "dead_letter_target")
    return target if isinstance(target, str) else None


def _create_function(self: Any, spec: dict[str, Any]) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = current()
    target = _check_dead_letter(spec)
    moto_fn = bridge.original(LambdaBackend, "create_function")(self, spec)
    arn = unqualified_arn(moto_fn)
    # A new function: nothing is left of one deleted before under this name.
    bridge.invoke_configs.pop(arn, None)
    bridge.dead_letter.pop(arn, None)
    if target:
        bridge.dead_letter[arn] = target
    function = bridge.existing(moto_fn)
    if function is not None and function.name in bridge.from_moto:
        # Created again (in a later mock_aws): the new function's code and configuration.
        bridge.reconfigure(moto_fn, handler=moto_fn.handler, **bridge.settings_from(moto_fn))
    return moto_fn


def _update_function_configuration(self: Any, function_name: str, qualifier: Any,
                                   body: dict[str, Any]) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = current()
    target = _check_dead_letter(body)
    result = bridge.original(LambdaBackend, "update_function_configuration")(
        self, function_name, qualifier, body)
    moto_fn = self.get_function(function_name)
    arn = unqualified_arn(moto_fn)
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


def _put_concurrency(self: Any, function_name: str, reserved_concurrency: Any) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = current()
    result = bridge.original(LambdaBackend, "put_function_concurrency")(
        self, function_name, reserved_concurrency)
    bridge.reconfigure(self.get_function(function_name),
                       reserved_concurrent_executions=int(reserved_concurrency))
    return result


def _delete_concurrency(self: Any, function_name: str) -> Any:
    from moto.awslambda.models import LambdaBackend

    bridge = current()
    result = bridge.original(LambdaBackend, "delete_function_concurrency")(self, function_name)
    bridge.reconfigure(self.get_function(function_name), reserved_concurrent_executions=None)
    return result


