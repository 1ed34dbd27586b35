"""A function's settings, validated with AWS's own rules and messages, and how invocations
find execution environments (`EnvironmentSettings`).

The `lambda_function` and `lambda_environment` markers, the ini options and `Invoker.deploy`
all end here, so each setting is defined, defaulted and checked in one place.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidParameterValueException, LambdaUsageError, ValidationException
from .validation import boolean, positive_number, text, whole_number

_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")
_ACCOUNT = re.compile(r"\d{12}")
_VERSION = re.compile(r"\$LATEST|[0-9]+")

# Keys Lambda sets itself; CreateFunction refuses them in Environment.Variables.
RESERVED_ENVIRONMENT_KEYS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_REGION",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
    }
)


@dataclasses.dataclass(frozen=True)
class FunctionSettings:
    """Everything `deploy` and the `lambda_function` marker can set, with AWS's defaults."""

    name: str = "test-function"
    timeout: float = 3.0
    memory_size: int = 128
    environment: Mapping[str, str] = dataclasses.field(default_factory=dict)
    region: str = "us-east-1"
    account_id: str = "123456789012"
    version: str = "$LATEST"
    tenant_id: str | None = None
    strict: bool = False
    maximum_retry_attempts: int = 2
    maximum_event_age_in_seconds: int = 21600
    on_success: Any = None
    on_failure: Any = None
    dead_letter_target: Any = None
    reserved_concurrent_executions: int | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"

    @property
    def qualified_arn(self) -> str:
        return f"{self.arn}:{self.version}"

    def replace(self, **changes: Any) -> FunctionSettings:
        """A copy with `changes` applied and checked."""
        unknown = sorted(set(changes) - SETTING_NAMES)
        if unknown:
            raise LambdaUsageError(
                f"Unknown Lambda function setting(s) {', '.join(map(repr, unknown))}. "
                f"Fix: use only the valid settings: {', '.join(sorted(SETTING_NAMES))}."
            )
        settings = dataclasses.replace(self, **changes)
        settings.validate()
        # Whole numbers given as floats (128.0) are AWS's integers from here on.
        floats: dict[str, Any] = {name: int(getattr(settings, name)) for name in _INTEGER_FIELDS
                  if isinstance(getattr(settings, name), float)}
        if not isinstance(settings.timeout, float):
            floats["timeout"] = float(settings.timeout)
        return dataclasses.replace(settings, **floats) if floats else settings

    def validate(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValidationException(
                f"1 validation error detected: Value '{self.name}' at 'functionName' failed to "
                "satisfy constraint: Member must satisfy regular expression pattern: "
                "[a-zA-Z0-9-_]+ and have length less than or equal to 64",
                "use 1-64 letters, digits, hyphens or underscores.",
            )
        _check_range("timeout", self.timeout, 1, 900, "a timeout in seconds between 1 and 900",
                     name="timeout")
        _check_range("memorySize", self.memory_size, 128, 10240, "memory between 128 and 10240 MB",
                     name="memory_size")
        if not isinstance(self.region, str) or not _REGION.fullmatch(self.region):
            raise LambdaUsageError(
                f"region {self.region!r} is not an AWS region name. Fix: use one such as 'us-east-1'."
            )
        if not isinstance(self.account_id, str) or not _ACCOUNT.fullmatch(self.account_id):
            raise LambdaUsageError(
                f"account_id {self.account_id!r} is not a 12-digit AWS account id. "
                "Fix: use one such as '123456789012'."
            )
        if not isinstance(self.version, str) or not _VERSION.fullmatch(self.version):
            raise LambdaUsageError(
                f"version {self.version!r} is not a Lambda version. Fix: use '$LATEST' or a number."
            )
        if self.tenant_id is not None:
            text(self.tenant_id, "tenant_id", "give the tenant id as a string, or None")
        boolean(self.strict, "strict")
        self._validate_environment()
        _check_range(
            "maximumRetryAttempts", self.maximum_retry_attempts, 0, 2,
            "maximum_retry_attempts between 0 and 2", name="maximum_retry_attempts",
        )
        _check_range(
            "maximumEventAgeInSeconds", self.maximum_event_age_in_seconds, 60, 21600,
            "maximum_event_age_in_seconds between 60 and 21600", name="maximum_event_age_in_seconds",
        )
        if self.reserved_concurrent_executions is not None:
            _check_range(
                "reservedConcurrentExecutions", self.reserved_concurrent_executions, 0, 1000,
                "reserved_concurrent_executions of 0 or more (None for unreserved)",
                name="reserved_concurrent_executions",
            )

    def _validate_environment(self) -> None:
        if not isinstance(self.environment, Mapping):
            raise LambdaUsageError(
                f"environment must be a mapping of str to str, got {type(self.environment).__name__}. "
                "Fix: environment={'NAME': 'value'}."
            )
        for key, value in self.environment.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise LambdaUsageError(
                    f"environment variables are strings: {key!r}: {value!r} is not. "
                    "Fix: convert the key and value with str()."
                )
        reserved = sorted(set(self.environment) & RESERVED_ENVIRONMENT_KEYS)
        if reserved:
            raise InvalidParameterValueException(
                "Lambda was unable to configure your environment variables because the "
                "environment variables you have provided contains reserved keys that are "
                "currently not supported for modification. Reserved keys used in this request: "
                + ", ".join(reserved),
                "remove these keys; Lambda sets them itself.",
            )


SETTING_NAMES = frozenset(f.name for f in dataclasses.fields(FunctionSettings))
_INTEGER_FIELDS = ("memory_size", "maximum_retry_attempts", "maximum_event_age_in_seconds",
                   "reserved_concurrent_executions")


def _check_range(field: str, value: Any, low: float, high: float, hint: str, *, name: str) -> None:
    # Every one of these is an integer on AWS.
    whole_number(value, name, f"use {hint}")
    if value < low:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {low}",
            f"use {hint}.",
        )
    if value > high:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
            f"constraint: Member must have value less than or equal to {high}",
            f"use {hint}.",
        )


class Reuse(str, enum.Enum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True)
class EnvironmentSettings:
    """How invocations find execution environments (the `lambda_environment` marker)."""

    reuse: str = "auto"
    # AWS does not document how long an idle environment lives; observed lifetimes run from
    # about 5 to over 60 minutes. 15 minutes sits inside that range (UNCONFIRMED).
    idle_timeout: float = 900.0
    max_environments: int | None = None
    # Environments busy at once across all functions (AWS's default account quota is 1,000).
    account_concurrency: int = 1000

    def __post_init__(self) -> None:
        if self.reuse not in {r.value for r in Reuse}:
            raise LambdaUsageError(
                f"reuse={self.reuse!r} is not a reuse policy; use 'auto' (like AWS), 'always' "
                "(one warm environment) or 'never' (a cold start every time)."
            )
        positive_number(self.idle_timeout, "idle_timeout",
                        "give the seconds an environment may stay idle before it is shut down, "
                        "such as idle_timeout=900")
        self._at_least_one("max_environments", "give a whole number >= 1, or None for no limit",
                           "give a whole number >= 1, or None for no limit.")
        self._at_least_one("account_concurrency",
                           "give the account's limit on concurrent executions, such as 1000",
                           "the account's limit is at least 1. Fix: give a whole number >= 1 (AWS's "
                           "default is 1000).")

    def _at_least_one(self, name: str, fix: str, too_small: str) -> None:
        """A whole number >= 1 (3.0 taken as 3), or None."""
        value = getattr(self, name)
        if value is None:
            return
        number = whole_number(value, name, fix)
        if number < 1:
            raise LambdaUsageError(f"{name}={value!r}: {too_small}")
        object.__setattr__(self, name, number)
