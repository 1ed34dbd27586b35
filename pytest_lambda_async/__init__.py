"""pytest-lambda-async: test AWS Lambda handlers, asyncio ones above all, with AWS's exact
synchronous and asynchronous invocation semantics, in virtual time."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .clock import VirtualClock
from .config import FunctionSettings
from .context import Client, ClientContext, CognitoIdentity, LambdaContext
from .deadline import InvocationTimeout
from .destinations import Sink
from .environment import EnvironmentState, ExecutionEnvironment
from .errors import (
    AWSError,
    InvalidParameterValueException,
    InvalidRequestContentException,
    LambdaError,
    LambdaUsageError,
    RequestTooLargeException,
    ResourceNotFoundException,
    ServiceException,
    TooManyRequestsException,
    ValidationException,
)
from .invoker import (
    Accepted,
    Attempt,
    DeliverySettings,
    EnvironmentSettings,
    Invoker,
    InvokeResult,
    LambdaFunction,
    Outcome,
)
from .loop import VirtualEventLoop

try:
    __version__ = version("pytest-lambda-async")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

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
    "ExecutionEnvironment",
    "FunctionSettings",
    "InvalidParameterValueException",
    "InvalidRequestContentException",
    "InvocationTimeout",
    "InvokeResult",
    "Invoker",
    "LambdaContext",
    "LambdaError",
    "LambdaFunction",
    "LambdaUsageError",
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
