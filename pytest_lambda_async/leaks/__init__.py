"""The leaked-work detector: work a handler started and left pending when it returned.

On Lambda the execution environment is frozen the moment the handler returns. Whatever the
handler left running (a task, a timer, a thread, an executor job) stops there: it resumes
during some later invocation if the environment is reused, or it is lost. A coroutine that
was never awaited never runs at all. The detector finds each of these and names the line of
user code that created it.

How it sees creation sites cheaply (no asyncio debug mode): while a watch window is open it
wraps the few places where work is created (`create_task`, `call_soon`/`call_at`,
`Thread.start`, `ThreadPoolExecutor.submit`) and records the first frame of user code
above the call; coroutines get their origin from CPython's coroutine origin tracking (the
first three frames of their creation stack; eight with `stacks=True`). The wrappers are
installed when the first window opens and removed when the last one closes.

A window is either one invocation in an execution environment (the invoker's environments
call `LeakObserver`), or a block of test code (`LeakDetector.watch()`). Work is charged to
the window whose code created it: an environment's window sees only what that environment's
code did, so work the test itself starts is never reported as the handler's.

The package, one concern per module: `findings` (what is reported), `sites` (where work was
created), `window` (what a window records), `tracking` (the wrappers that record it),
`collect` (turning it into findings), `detector` (the public `LeakDetector` and `Watch`),
`report` (the failure message).
"""

from .detector import LeakDetector, LeakObserver, Watch
from .findings import FROZEN, Finding, LeakKind
from .report import failure_message

__all__ = ("FROZEN", "Finding", "LeakDetector", "LeakKind", "LeakObserver", "Watch", "failure_message")
