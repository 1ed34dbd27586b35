"""`LambdaContext`: the context object the AWS Python runtime passes to a handler.

Attributes, types and `repr` follow awslambdaric 4.x `lambda_context.py`; the deadline is on
the simulated clock, so `get_remaining_time_in_millis()` counts down in simulated time.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .clock import VirtualClock


class CognitoIdentity:
    """`context.identity`: always present; both ids are None unless Cognito supplied them."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(
        self, cognito_identity_id: str | None = None, cognito_identity_pool_id: str | None = None
    ) -> None:
        self.cognito_identity_id = cognito_identity_id
        self.cognito_identity_pool_id = cognito_identity_pool_id

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(["
            f"cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}"
            "])"
        )


class Client:
    """`context.client_context.client`: the mobile client that made the call."""

    __slots__ = (
        "app_package_name",
        "app_title",
        "app_version_code",
        "app_version_name",
        "installation_id",
    )

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.installation_id = data.get("installation_id")
        self.app_title = data.get("app_title")
        self.app_version_name = data.get("app_version_name")
        self.app_version_code = data.get("app_version_code")
        self.app_package_name = data.get("app_package_name")

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(["
            f"installation_id={self.installation_id},"
            f"app_title={self.app_title},"
            f"app_version_name={self.app_version_name},"
            f"app_version_code={self.app_version_code},"
            f"app_package_name={self.app_package_name}"
            "])"
        )


class ClientContext:
    """`context.client_context`: given only to synchronous invocations that pass one."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.custom = data.get("custom")
        self.env = data.get("env")
        client = data.get("client")
        self.client = Client(client) if isinstance(client, Mapping) else client

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(["
            f"custom={self.custom},"
            f"env={self.env},"
            f"client={self.client}"
            "])"
        )


if TYPE_CHECKING:
    # To a type checker the context is also each context type a handler may be annotated
    # with: Powertools' `LambdaContext`, aws-lambda-typing's `Context`, a suite's own. They
    # disagree with one another (`memory_limit_in_mb` is an int in one, a str in the other),
    # so no class can inherit them all; a base of type Any makes it assignable to each, and
    # the attributes declared here keep their types.
    _AssignableToAnyContext: Any = object
else:
    _AssignableToAnyContext = object


class LambdaContext(_AssignableToAnyContext):  # type: ignore[misc]
    """The runtime's context object, with its deadline on the simulated clock."""

    def __init__(
        self,
        *,
        aws_request_id: str,
        function_name: str,
        function_version: str,
        memory_limit_in_mb: str,
        invoked_function_arn: str,
        log_group_name: str,
        log_stream_name: str,
        deadline_ms: int,
        clock: VirtualClock,
        client_context: Mapping[str, Any] | None = None,
        identity: Mapping[str, Any] | None = None,
        tenant_id: str | None = None,
        log_sink: Any = None,
    ) -> None:
        self.aws_request_id = aws_request_id
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.function_name = function_name
        self.memory_limit_in_mb = memory_limit_in_mb
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self.client_context = None if client_context is None else ClientContext(client_context)
        identity = identity or {}
        self.identity = CognitoIdentity(
            identity.get("cognitoIdentityId"), identity.get("cognitoIdentityPoolId")
        )
        self._epoch_deadline_time_in_ms = deadline_ms
        self._clock = clock
        self._log_sink = log_sink

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out, on the simulated clock; never < 0."""
        delta = self._epoch_deadline_time_in_ms - int(self._clock.time() * 1000)
        return delta if delta > 0 else 0

    def log(self, msg: object) -> None:
        """Write to the invocation's log, as the runtime's log sink does."""
        if self._log_sink is not None:
            self._log_sink(str(msg))
        else:
            sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(["
            f"aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},"
            f"identity={self.identity},"
            f"tenant_id={self.tenant_id}"
            "])"
        )
