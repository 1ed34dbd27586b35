"""Checks for the values a test hands the plugin, by type and range, with AWS's rules.

Each check raises `LambdaUsageError` with what was wrong and how to fix it; the caller (a
marker, an ini option, a call) adds where the value came from. Whole numbers are checked as
AWS checks its integer fields: `3` and `3.0` are fine, `2.5` is not.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .errors import LambdaUsageError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# SQS queue names: 1-80 letters, digits, hyphens and underscores (".fifo" for FIFO queues).
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


def _kind(value: Any) -> str:
    return type(value).__name__


def whole_number(value: Any, what: str, fix: str) -> int:
    """An integer setting: an int, or a float with no fraction. Never a bool or a string."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LambdaUsageError(f"{what} must be a whole number, got {value!r} ({_kind(value)}). Fix: {fix}.")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise LambdaUsageError(
            f"{what} must be a whole number (AWS takes an integer here), got {value!r}. Fix: {fix}."
        )
    return int(value)


def finite_number(value: Any, what: str, fix: str) -> float:
    """A number: an int or float that is neither NaN nor infinite. Never a bool or a string."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LambdaUsageError(f"{what} must be a number, got {value!r} ({_kind(value)}). Fix: {fix}.")
    if not math.isfinite(value):
        raise LambdaUsageError(f"{what} must be a finite number, got {value!r}. Fix: {fix}.")
    return float(value)


def positive_number(value: Any, what: str, fix: str) -> float:
    number = finite_number(value, what, fix)
    if number <= 0:
        raise LambdaUsageError(f"{what} must be greater than 0, got {value!r}. Fix: {fix}.")
    return number


def boolean(value: Any, what: str) -> bool:
    """True or False, not a string or a number that looks like one ("no" is truthy)."""
    if not isinstance(value, bool):
        raise LambdaUsageError(
            f"{what} must be True or False, got {value!r} ({_kind(value)}). "
            f"Fix: write {what}=True or {what}=False."
        )
    return value


def one_of(value: Any, what: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise LambdaUsageError(
            f"{what}={value!r} is not valid. Fix: use one of {', '.join(map(repr, choices))}."
        )
    return value


def text(value: Any, what: str, fix: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise LambdaUsageError(f"{what} must be a non-empty string, got {value!r}. Fix: {fix}.")
    return value


def patterns(value: Any, what: str) -> list[str]:
    """A pattern or a list of patterns (strings)."""
    if isinstance(value, str):
        return [value]
    try:
        items = list(value)
    except TypeError:
        items = None
    if items is None or not all(isinstance(item, str) for item in items):
        raise LambdaUsageError(
            f"{what} takes a list of name or file:line patterns (strings), got {value!r}. "
            f"Fix: write {what}=['pattern', ...]."
        )
    return items


def handler_string(handler: Any, call: str) -> str:
    """A Lambda handler string: `module.function`, the module dotted or with `/` as AWS allows."""
    fix = ("give 'module.function' (for example 'app.handler' or 'pkg/app.handler'), or the "
           "handler function itself")
    if not isinstance(handler, str):
        raise LambdaUsageError(f"{call}: the handler must be a callable or a string, got {handler!r}. "
                               f"Fix: {fix}.")
    modname, dot, fname = handler.rpartition(".")
    parts = modname.replace("/", ".").split(".") if modname else []
    if not dot or not parts or not all(_IDENTIFIER.fullmatch(p) for p in parts) \
            or not _IDENTIFIER.fullmatch(fname):
        raise LambdaUsageError(
            f"{call}: the handler string {handler!r} is not 'module.function' (AWS would fail "
            f"it with Runtime.MalformedHandlerName). Fix: {fix}."
        )
    return handler


def sink_name(name: Any) -> str:
    """A sink is an in-memory standard SQS queue: its name follows SQS's rules, FIFO refused."""
    if not isinstance(name, str):
        raise LambdaUsageError(
            f"lambda_invoker.sink() takes a queue name (a string), got {name!r} ({_kind(name)}). "
            "Fix: lambda_invoker.sink('failures'); pass a Sink you already have as it is."
        )
    if name.endswith(".fifo"):
        raise LambdaUsageError(
            f"lambda_invoker.sink({name!r}): FIFO queues and topics are not supported as "
            "destinations by AWS Lambda. Fix: use a standard queue name, without '.fifo'."
        )
    if not _QUEUE_NAME.fullmatch(name):
        raise LambdaUsageError(
            f"lambda_invoker.sink({name!r}): a queue name is 1 to 80 letters, digits, hyphens or "
            "underscores. Fix: use a name such as 'failures'."
        )
    return name
