"""What every execution environment of one deployed function shares (`FunctionRuntime`: its
settings, handler, clock and Lambda's environment variables), and what an environment's
invocations derive from one version of those settings (`PerSettings`).

`environment.py` builds each `ExecutionEnvironment` from these.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import runtime
from .clock import VirtualClock
from .config import FunctionSettings
from .invocation import EnvironmentObserver
from .scopes import encode_environ
from .tmpdirs import TmpDirs

_FAKE_CREDENTIALS = "testing"
_PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"


@dataclass
class FunctionRuntime:
    """What every environment of one deployed function shares."""

    settings: FunctionSettings
    handler: Callable[..., Any] | str
    clock: VirtualClock
    real_time_budget: float = 10.0
    # Makes the environments' /tmp, and removes them (or keeps them for reuse).
    tmp_dirs: TmpDirs = field(default_factory=TmpDirs)
    observers: list[EnvironmentObserver] = field(default_factory=list)
    # Started by the first handler code of a test (freezegun, simulated time.sleep).
    on_first_code: Callable[[], None] | None = None
    # What `shared_environment` made last, and for what (settings, their variables, task root).
    _shared: tuple[Any, ...] | None = field(default=None, init=False, repr=False, compare=False)

    def shared_environment(self, task_root: str) -> tuple[dict[str, str], dict[Any, Any]]:
        """The Lambda variables every environment of this function has, with empty values for
        the two of each its own (the log stream and `TMPDIR`), and them encoded as `os.environ`
        stores them. Made once, and again when the settings or the task root change."""
        settings = self.settings
        shared = self._shared
        if (shared is not None and shared[0] is settings and shared[2] == task_root
                and shared[1] == settings.environment):
            return shared[3], shared[4]
        variables = {
            "AWS_LAMBDA_FUNCTION_NAME": settings.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(settings.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": settings.version,
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{settings.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{_PYTHON}",
            "AWS_REGION": settings.region,
            "AWS_DEFAULT_REGION": settings.region,
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "_HANDLER": self.handler_name,
            "TZ": ":UTC",
            # Fake credentials: code under test can never reach real AWS.
            "AWS_ACCESS_KEY_ID": _FAKE_CREDENTIALS,
            "AWS_SECRET_ACCESS_KEY": _FAKE_CREDENTIALS,
            "AWS_SESSION_TOKEN": _FAKE_CREDENTIALS,
        }
        variables.update(settings.environment)
        variables["TMPDIR"] = ""
        encoded = encode_environ(variables)
        self._shared = (settings, dict(settings.environment), task_root, variables, encoded)
        return variables, encoded

    @property
    def handler_name(self) -> str:
        if isinstance(self.handler, str):
            return self.handler
        module = getattr(self.handler, "__module__", None) or "handler"
        return f"{module}.{getattr(self.handler, '__qualname__', 'handler')}"

    def task_root(self) -> str:
        """Where the handler's code lives (`LAMBDA_TASK_ROOT`): the directory its top package is in."""
        if isinstance(self.handler, str):
            top = runtime.split_handler(self.handler)[0].replace("/", ".").split(".")[0]
            try:
                spec = importlib.util.find_spec(top)
            except (ImportError, ValueError):
                spec = None
            if spec is not None and spec.origin and spec.has_location:
                directory = os.path.dirname(os.path.abspath(spec.origin))
                return os.path.dirname(directory) if spec.submodule_search_locations else directory
        return os.getcwd()


class PerSettings:
    """What an environment's invocations derive from one version of the function's settings."""

    __slots__ = ("budget", "context", "memory_report", "settings", "timeout", "version")

    def __init__(self, settings: FunctionSettings, *, real_time_budget: float, log_stream_name: str,
                 clock: VirtualClock) -> None:
        self.settings = settings
        self.timeout = settings.timeout
        self.version = settings.version
        # Real time the code may hold the thread in one stretch: CPU work costs no simulated
        # time, so this is bounded by the whole timeout, not by what is left of it.
        self.budget = min(real_time_budget, settings.timeout)
        memory = settings.memory_size
        self.memory_report = f"Memory Size: {memory} MB\tMax Memory Used: {min(memory, 64)} MB"
        self.context: dict[str, Any] = {
            "function_name": settings.name,
            "function_version": settings.version,
            "memory_limit_in_mb": str(memory),
            "invoked_function_arn": settings.arn,
            "log_group_name": f"/aws/lambda/{settings.name}",
            "log_stream_name": log_stream_name,
            "clock": clock,
            "tenant_id": settings.tenant_id,
        }
