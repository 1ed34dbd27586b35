"""pytest-lambda-async: test AWS Lambda handlers, asyncio ones above all, with AWS's exact
synchronous and asynchronous invocation semantics, in virtual time."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Public names, imported on first use: the pytest plugin imports this package at start-up,
# and a suite that never touches the plugin must not pay for loading all of it.
_EXPORTS = {
    "AWSError": "errors",
    "Accepted": "asyncqueue",
    "Attempt": "asyncqueue",
    "Client": "context",
    "ClientContext": "context",
    "CognitoIdentity": "context",
    "DeliverySettings": "asyncqueue",
    "EnvironmentSettings": "invoker",
    "EnvironmentState": "environment",
    "Events": "events",
    "ExecutionEnvironment": "environment",
    "Finding": "leaks",
    "FunctionSettings": "config",
    "InvalidParameterValueException": "errors",
    "InvalidRequestContentException": "errors",
    "InvocationTimeout": "deadline",
    "InvokeResult": "function",
    "Invoker": "invoker",
    "LambdaContext": "context",
    "LambdaError": "errors",
    "LambdaFunction": "function",
    "LambdaLeakWarning": "plugin",
    "LambdaUsageError": "errors",
    "LeakDetector": "leaks",
    "LeakKind": "leaks",
    "Outcome": "asyncqueue",
    "RequestTooLargeException": "errors",
    "ResourceNotFoundException": "errors",
    "ServiceException": "errors",
    "Sink": "destinations",
    "TooManyRequestsException": "errors",
    "ValidationException": "errors",
    "VirtualClock": "clock",
    "VirtualEventLoop": "loop",
}

if TYPE_CHECKING:
    from .asyncqueue import Accepted as Accepted
    from .asyncqueue import Attempt as Attempt
    from .asyncqueue import DeliverySettings as DeliverySettings
    from .asyncqueue import Outcome as Outcome
    from .clock import VirtualClock as VirtualClock
    from .config import FunctionSettings as FunctionSettings
    from .context import Client as Client
    from .context import ClientContext as ClientContext
    from .context import CognitoIdentity as CognitoIdentity
    from .context import LambdaContext as LambdaContext
    from .deadline import InvocationTimeout as InvocationTimeout
    from .destinations import Sink as Sink
    from .environment import EnvironmentState as EnvironmentState
    from .environment import ExecutionEnvironment as ExecutionEnvironment
    from .errors import AWSError as AWSError
    from .errors import InvalidParameterValueException as InvalidParameterValueException
    from .errors import InvalidRequestContentException as InvalidRequestContentException
    from .errors import LambdaError as LambdaError
    from .errors import LambdaUsageError as LambdaUsageError
    from .errors import RequestTooLargeException as RequestTooLargeException
    from .errors import ResourceNotFoundException as ResourceNotFoundException
    from .errors import ServiceException as ServiceException
    from .errors import TooManyRequestsException as TooManyRequestsException
    from .errors import ValidationException as ValidationException
    from .events import Events as Events
    from .function import InvokeResult as InvokeResult
    from .function import LambdaFunction as LambdaFunction
    from .invoker import EnvironmentSettings as EnvironmentSettings
    from .invoker import Invoker as Invoker
    from .leaks import Finding as Finding
    from .leaks import LeakDetector as LeakDetector
    from .leaks import LeakKind as LeakKind
    from .loop import VirtualEventLoop as VirtualEventLoop
    from .plugin import LambdaLeakWarning as LambdaLeakWarning

__all__ = (
    "AWSError",
    "Accepted",
    "Attempt",
    "Client",
    "ClientContext",
    "CognitoIdentity",
    "DeliverySettings",
    "EnvironmentSettings",
    "EnvironmentState",
    "Events",
    "ExecutionEnvironment",
    "Finding",
    "FunctionSettings",
    "InvalidParameterValueException",
    "InvalidRequestContentException",
    "InvocationTimeout",
    "InvokeResult",
    "Invoker",
    "LambdaContext",
    "LambdaError",
    "LambdaFunction",
    "LambdaLeakWarning",
    "LambdaUsageError",
    "LeakDetector",
    "LeakKind",
    "Outcome",
    "RequestTooLargeException",
    "ResourceNotFoundException",
    "ServiceException",
    "Sink",
    "TooManyRequestsException",
    "ValidationException",
    "VirtualClock",
    "VirtualEventLoop",
    "__version__",
)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("pytest-lambda-async")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.0.0"
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
