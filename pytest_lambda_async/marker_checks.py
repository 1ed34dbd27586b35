"""The plugin's markers, checked before a test runs: keywords, types and ranges.

Each marker's keywords are the keywords of the object it configures, so each is checked by
building that object from the marker alone; `check_marker` raises `LambdaUsageError` saying
what was wrong and how to fix it (the plugin adds the marker and the test).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import LambdaError, LambdaUsageError
from .validation import boolean, one_of, patterns

LEAK_MODES = ("fail", "warn", "off")
ENVIRONMENT_KEYWORDS = frozenset({"reuse", "idle_timeout", "max_environments", "account_concurrency"})
DELIVERY_KEYWORDS = frozenset({"mode", "seed", "duplicate_rate", "zero_concurrency_condition",
                               "eventbridge_source"})
LEAK_KEYWORDS = frozenset({"mode", "ignore", "stacks", "library"})


def _keywords(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any],
              allowed: frozenset[str]) -> None:
    if args:
        raise LambdaUsageError(
            "the marker takes keyword arguments only, got the positional "
            f"argument(s) {', '.join(map(repr, args))}. Fix: name them, such as "
            f"{name}({sorted(allowed)[0]}=...)." if allowed else
            f"{name} takes no arguments, got {', '.join(map(repr, args))}. Fix: write "
            f"@pytest.mark.{name} alone, or use lambda_environment(...) for other settings."
        )
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        if not allowed:
            raise LambdaUsageError(
                f"{name} takes no arguments, got {', '.join(unknown)}=. Fix: write "
                f"@pytest.mark.{name} alone, or use lambda_environment(...) for other settings."
            )
        raise LambdaUsageError(
            f"unknown keyword(s) {', '.join(map(repr, unknown))}. "
            f"Fix: use only {', '.join(sorted(allowed))}."
        )


def check_marker(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Raise `LambdaUsageError` (or AWS's own validation error) if the marker is wrong."""
    if name == "lambda_function":
        from .config import SETTING_NAMES, FunctionSettings
        from .destinations import check_target

        _keywords(name, args, kwargs, SETTING_NAMES)
        settings = FunctionSettings().replace(**kwargs)
        for role in ("on_success", "on_failure", "dead_letter_target"):
            if role in kwargs:
                check_target(getattr(settings, role), role)
    elif name == "lambda_environment":
        from .invoker import EnvironmentSettings

        _keywords(name, args, kwargs, ENVIRONMENT_KEYWORDS)
        EnvironmentSettings(**kwargs)
    elif name in ("lambda_cold_start", "lambda_warm_start"):
        _keywords(name, args, kwargs, frozenset())
    elif name == "lambda_delivery":
        from .invoker import DeliverySettings

        _keywords(name, args, kwargs, DELIVERY_KEYWORDS)
        DeliverySettings(**kwargs)
    elif name == "lambda_leaks":
        _keywords(name, args, kwargs, LEAK_KEYWORDS)
        if "mode" in kwargs:
            one_of(kwargs["mode"], "mode", LEAK_MODES)
        if "ignore" in kwargs:
            patterns(kwargs["ignore"], "ignore")
        for flag in ("stacks", "library"):
            if flag in kwargs:
                boolean(kwargs[flag], flag)


def describe(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    """The marker as the user wrote it, shortened."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    text = ", ".join(parts)
    if len(text) > 120:
        text = text[:117] + "..."
    return f"@pytest.mark.{name}({text})" if parts else f"@pytest.mark.{name}"


def marker_problem(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str | None:
    """The message for a wrong marker, or None."""
    try:
        check_marker(name, args, kwargs)
    except LambdaError as exc:
        return f"{describe(name, args, kwargs)}: {exc}"
    return None


def check_settings(kind: str, values: Mapping[str, Any]) -> None:
    """Check settings from an ini option as the marker of that `kind` would take them."""
    check_marker(kind, (), values)
