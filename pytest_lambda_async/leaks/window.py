"""What one watch window records: the work created in it, and the findings made while it was open."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .findings import Finding, LeakKind
from .sites import _Site

if TYPE_CHECKING:
    from ..environment import ExecutionEnvironment
    from ..invocation import Invocation
    from .detector import LeakDetector


class _Created:
    """One piece of work created in a window."""

    __slots__ = ("detail", "loop", "obj", "site", "target")

    def __init__(self, obj: Any, site: _Site, loop: Any = None, detail: str = "", target: Any = None) -> None:
        self.obj = obj
        self.site = site
        self.loop = loop
        self.detail = detail
        self.target = target


class _Window:
    """What one window recorded. A plain slotted class: one is made per invocation."""

    __slots__ = ("context", "detector", "env", "findings", "futures", "handles", "housekeeping",
                 "invocation", "returned", "tasks", "thread", "threads")

    def __init__(self, detector: LeakDetector, env: ExecutionEnvironment | None = None,
                 invocation: Invocation | None = None, context: Any = None) -> None:
        self.detector = detector
        self.env = env
        self.invocation = invocation
        self.context = context  # a watch()'s Lambda context, if it was given one
        # The thread whose code this window watches (with the threads working for it).
        self.thread = threading.get_ident()
        self.tasks: list[_Created] = []
        self.handles: list[_Created] = []
        self.threads: list[_Created] = []
        self.futures: list[_Created] = []
        self.findings: list[Finding] = []
        self.returned: list[Any] = []
        # Timers library code set for itself (a cache's TTL eviction): not the handler's work,
        # and not "work lost" when the environment goes away.
        self.housekeeping: list[Any] = []

    @property
    def function(self) -> str | None:
        if self.env is not None:
            return self.env.function.settings.name
        return getattr(self.context, "function_name", None)

    @property
    def request_id(self) -> str | None:
        if self.invocation is not None:
            return self.invocation.request_id
        return getattr(self.context, "aws_request_id", None)

    @property
    def stacks(self) -> bool:
        return self.detector.stacks

    def finding(self, kind: LeakKind, name: str, what: str, site: _Site | None, fate: str,
                defined: str = "") -> Finding:
        return Finding(
            kind=kind, name=name, what=what, site=site.site if site else "", fate=fate,
            function=self.function, request_id=self.request_id,
            stack=site.stack if site else (), defined=defined,
        )
