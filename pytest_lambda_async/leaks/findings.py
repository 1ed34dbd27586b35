"""What the leak detector reports: a finding's kind, its fields, what Lambda does with the work."""

from __future__ import annotations

import enum
import fnmatch
import os
from dataclasses import asdict, dataclass
from typing import Any


class LeakKind(str, enum.Enum):
    """What a finding is."""

    PENDING_TASK = "pending-task"
    CANCELLED_AT_EXIT = "cancelled-at-exit"
    NEVER_AWAITED = "never-awaited"
    AWAITABLE_RETURNED = "awaitable-returned"
    THREAD = "thread"
    EXECUTOR_JOB = "executor-job"
    CALLBACK = "callback"
    WORK_LOST = "work-lost"


_FIXES = {
    LeakKind.PENDING_TASK: "await the task (asyncio.gather for several) before returning",
    LeakKind.CANCELLED_AT_EXIT: "await the task inside the coroutine you pass to asyncio.run()",
    LeakKind.NEVER_AWAITED: "add `await` where the coroutine is called",
    LeakKind.AWAITABLE_RETURNED: "await it in the handler and return its result",
    LeakKind.THREAD: "join() the thread before returning",
    LeakKind.EXECUTOR_JOB: "wait for the job: `await loop.run_in_executor(...)` or `future.result()`",
    LeakKind.CALLBACK: "cancel the handle, or await the work (`await asyncio.sleep(delay)`, then call it)",
    LeakKind.WORK_LOST: "finish this work inside the invocation that starts it",
}

FROZEN = ("frozen with the environment when the handler returned: it resumes during a later "
          "invocation if the environment is reused, and is lost if it is not")
_FATE_CLOSED = "lost: its event loop was closed before it ran"
_FATE_CANCELLED = "lost: asyncio.run() cancelled it when its main coroutine returned"
_FATE_NEVER_RAN = "never ran: a coroutine does nothing until something awaits it"
_FATE_RETURNED = ("never ran: the runtime cannot serialise an awaitable (Runtime.MarshalError) "
                  "and nothing awaits it")


@dataclass(frozen=True)
class Finding:
    """One piece of leaked work."""

    kind: LeakKind
    name: str  # coroutine or function qualname, or thread name
    what: str  # how it reads in a message: "task send_metrics()", "timer flush() due in 5 s"
    site: str  # "path/to/app.py:12" in user code, or "" when unknown
    fate: str  # what Lambda does with it
    function: str | None = None
    request_id: str | None = None
    stack: tuple[str, ...] = ()
    defined: str = ""  # where the function is defined: the fallback when `site` is unknown

    @property
    def fix(self) -> str:
        return _FIXES[self.kind]

    def __str__(self) -> str:
        where = f"created at {self.site}" if self.site else (
            f"creation site unknown (defined at {self.defined})" if self.defined else "creation site unknown"
        )
        scope = ", ".join(part for part in (
            f"function {self.function}" if self.function else "",
            f"request {self.request_id}" if self.request_id else "",
        ) if part)
        text = f"[{self.kind.value}] {self.what}, {where}"
        if scope:
            text += f" ({scope})"
        text += f": {self.fate}. Fix: {self.fix}."
        for line in self.stack:
            text += f"\n      {line}"
        return text

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["stack"] = list(self.stack)
        return data

    def matches(self, pattern: str) -> bool:
        """True if the `ignore` pattern (fnmatch) matches its name, kind, site or site's file name."""
        candidates = [self.name, self.kind.value, self.site, os.path.basename(self.site)]
        return any(candidate and fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates)
